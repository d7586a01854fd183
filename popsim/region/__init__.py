"""Regions: zones, facilities, travel times and the files that describe them.

- :mod:`popsim.region.types`: :class:`Region` and the facility roles and statuses (the
  data a loaded region gives the model);
- :mod:`popsim.region.parse`: the one parsing layer for untrusted region files;
- :mod:`popsim.region.files`: reading and validating a region folder's files;
- :mod:`popsim.region.load`: ``load_region``, ``check_region``, the shipped regions;
- :mod:`popsim.region.importer`: ``popsim regions import`` from official files;
- :mod:`popsim.region.synth`: small synthetic regions for tests and examples;
- :mod:`popsim.region.maps`: ``popsim regions show`` (tables and a PNG map);
- :mod:`popsim.region.geo`: the region as a mesa-geo ``GeoSpace`` (optional).

May import :mod:`popsim.core` and :mod:`popsim.errors`; nothing here imports the model,
its modules or the run layer. Importing the package itself loads nothing.
"""
