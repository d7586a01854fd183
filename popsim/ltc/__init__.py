"""Long-term care (LTC) past the hospital: homes and their beds, the wait list for a place,
home support, and the alternate-level-of-care (ALC) patients who wait in hospital.

Owns: the region's optional ``ltc.csv`` and ``home_support.csv`` (:mod:`popsim.ltc.files`),
the module's parameters (:mod:`popsim.ltc.params`), its scenario events
(:mod:`popsim.ltc.events`) and the module (:mod:`popsim.ltc.module`), which writes
``ltc_day``. May import popsim.core and popsim.region.parse; hands work to the care
network through the model only (ALC starts and ends reported, ALC exits requested).
"""
