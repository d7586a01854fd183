"""The care network: facilities and patients as Mesa agents, routing between sites.

- :mod:`popsim.care.facility`: a site (beds, census, status) as a Mesa agent;
- :mod:`popsim.care.patient`: a resident in hospital as a Mesa agent, and the journey log;
- :mod:`popsim.care.placement`: where each patient is, and the transitions that move one;
- :mod:`popsim.care.routing`: nearest site, diversion and transfers;
- :mod:`popsim.care.params`: ``CareParams`` and ``ReferralShares`` (also importable from
  :mod:`popsim.care.network`);
- :mod:`popsim.care.network`: ``CareNetwork``, the day of the network.
"""
