"""The epidemic: transmission, natural history and severity over the residents.

- :mod:`popsim.epidemic.module`: the ``Epidemic`` module (SEIR over the columns, its
  draws, its needs for care);
- :mod:`popsim.epidemic.params`: ``EpidemicParams`` and the pathogen profiles shipped
  as data (``popsim/data/pathogens``);
- :mod:`popsim.epidemic.transmission`: gravity coupling, the next-generation matrix
  and R0 calibration;
- :mod:`popsim.epidemic.contacts`: published contact matrices by setting;
- :mod:`popsim.epidemic.households`: the generation interval and the early growth rate
  that ``r0`` implies with households (household outbreaks, the model's own rules);
- :mod:`popsim.epidemic.infectiousness`: front-loaded infectiousness (an option of a
  profile, ``rel_infectiousness_daily``; off by default);
- :mod:`popsim.epidemic.reference`: the one-agent-per-resident reference engine that
  checks the fast one.

May import :mod:`popsim.core`, :mod:`popsim.errors` and :mod:`popsim.population`;
never the run layer, the twin or analysis.
"""
