"""Putting an observed census into a running model (the forecast's start from today's state).

:func:`reseed_census` empties the care network of a model that has run to the as-of day
and places exactly the observed number of patients in each site's ward, ICU and ALC.
Their remaining stays are those of residents in hospital on a day in a steady state: the
demand module's prevalent needs (:meth:`popsim.demand.Demand.prevalent_needs`:
admissions of the preceding days whose stays run past today, with the days already
spent taken off), which are length-biased by construction (a long stay is more likely
to be running on a given day). A site's patients get the remaining paths of prevalent
needs whose current unit is the one they are in (drawn with replacement if there are
fewer than needed).

It uses the care network's public attributes (``patients``, ``calendar``, ``place``:
seeded patients are admitted through :meth:`popsim.care.placement.Placement.admit`,
uncounted) and :class:`popsim.care.patient.Patient`; after it,
before any step, each site's ``ward_census``, ``icu_census`` and ``alc_census`` equal
the input exactly.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from popsim.care.facility import ALC, ICU, WARD
from popsim.care.patient import Patient, plan_path

if TYPE_CHECKING:
    from popsim.model import RegionModel

UNITS = {"ward": WARD, "icu": ICU, "alc": ALC}
#: Days of admissions whose running stays make up the pool of remaining paths.
POOL_DAYS = 120
#: Remaining days of a seeded patient when the model has no demand module (assumption:
#: about the mean acute stay).
FALLBACK_DAYS = 7


def _clear(model: RegionModel) -> None:
    """Empty the care network: every patient leaves without a discharge being counted
    (the as-of day is already recorded; nobody left, the census is replaced)."""
    model.care.clear()


def _pool(model: RegionModel, rng: np.random.Generator):
    """Remaining paths by current unit: lists of (resident, kind, phases, dies)."""
    pools: dict[int, list] = {WARD: [], ICU: [], ALC: []}
    demand = getattr(model, "demand", None)
    if demand is None:
        return pools
    needs = demand.prevalent_needs(model, POOL_DAYS)
    for i in range(len(needs)):
        phases = plan_path(int(needs.icu_days[i]), int(needs.ward_days[i]), int(needs.alc_days[i]))
        pools[phases[0][0]].append(
            (int(needs.resident[i]), int(needs.kind[i]), phases, bool(needs.dies[i]))
        )
    return pools


def reseed_census(
    model: RegionModel, census: dict[tuple[int, str], int], rng: np.random.Generator
) -> None:
    """Replace the care network's patients with ``census``: ``(facility_index, unit) ->
    count``, unit in ``ward``, ``icu``, ``alc``; sites not named keep no patients."""
    _clear(model)
    pools = _pool(model, rng)
    pop = model.pop
    net = model.care
    day = model.day
    used: set[int] = set()
    alive = np.flatnonzero(pop.alive & ~pop.in_hospital)
    for (fi, unit_name), count in sorted(census.items()):
        unit = UNITS[unit_name]
        fac = net.facilities[fi]
        pool = pools[unit]
        for _ in range(int(count)):
            if pool:
                r, kind, phases, dies = pool[int(rng.integers(len(pool)))]
            else:
                r, kind, dies = -1, 0, False
                phases = ((unit, FALLBACK_DAYS),)
            if r < 0 or r in used:
                r = int(alive[int(rng.integers(len(alive)))])
                while r in used:
                    r = int(alive[int(rng.integers(len(alive)))])
            used.add(r)
            p = Patient(model, r, kind, int(pop.zone[r]), int(pop.band[r]), day, phases, dies)
            p.prevalent = True
            net.place.admit(p, fac, unit, day, counted=False)  # no admission counted
            net.patients[r] = p
            net.calendar[p.day_next].append(p)
    if used:
        pop.in_hospital[np.fromiter(used, dtype=np.int64)] = True
