"""popsim's modules, registered in day order: a new module is its file plus one line here.

Everything module-shaped derives from this registry (:mod:`popsim.core.registry`): the
run spec's sections and parameter classes, the sections on by default, the event kinds
a spec accepts and who applies them, the per-resident columns and the output columns.
"""

from __future__ import annotations

from popsim.care.module import Care
from popsim.core.registry import REGISTRY
from popsim.demand import Demand
from popsim.demography import Demography
from popsim.epidemic.module import Epidemic
from popsim.ltc.module import LongTermCare
from popsim.staffing.module import Staffing

REGISTRY.register(Epidemic)
REGISTRY.register(LongTermCare)  # before demand: it takes the ALC patients (demand asks)
REGISTRY.register(Demand)
REGISTRY.register(Demography)
REGISTRY.register(Staffing)  # last resident module: it reads the day's census before care
REGISTRY.register(Care)

__all__ = ["REGISTRY"]
