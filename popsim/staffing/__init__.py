"""Staffing: nurses as residents, rosters, absence and the beds they staff.

- :mod:`popsim.staffing.module`: the ``Staffing`` module (staffed beds each day);
- :mod:`popsim.staffing.workforce`: its posts and their pools of nurses (residents);
- :mod:`popsim.staffing.params`: ``StaffingParams`` and its counter-keyed draws;
- :mod:`popsim.staffing.files`: a region's optional ``staffing.csv``;
- :mod:`popsim.staffing.forecast`: rostering to a census forecast (hub format).

May import :mod:`popsim.core`, :mod:`popsim.errors` and :mod:`popsim.region`; never
the run layer, the twin or analysis.
"""
