"""popsim: a population-health agent-based model of a regional health system.

Residents are numpy columns (:mod:`popsim.population`), the care network is Mesa
agents (:mod:`popsim.care`), one step of :class:`popsim.model.RegionModel` is one day.
"""

__version__ = "0.1.0"

__all__ = ["__version__"]
