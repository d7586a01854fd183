"""Seeding the care network from an observed census (a forecast's warm start).

:func:`seed_census` puts exactly the given number of patients in each site's ward, ICU
and ALC beds and in its ED boarding queue.

From the model's own state (a forecast: ``templates``, the stays the simulated units
held that day, taken by :func:`popsim.twin.warmstart.clear_observed`): the patients
placed in a unit continue stays the simulated unit held, each with its kind, its
remaining phases (ICU, ward, ALC) and its outcome. First its epidemic patients, as many
as it had (at most the census), so the epidemic's own census carries on; the rest are
drawn from its other patients, each once before any twice (from the same unit at the
other observed sites when the site had none). So the seeded census turns over as the
model's own does: childbirth and surgical stays of two or three days among the
medical ones. (Measured on Fraser, 2.0 million residents, from 2026-11-15 with the true
census: with the parametric draw below, every patient a medical one, the region's ED
boarders went from 175 to 510 the next day and 578 the day after, while the true system
had 234 and 244.)

Without templates, or where no simulated patient of the unit is left to copy, a
parametric draw, as a snapshot of a hospital in its steady state would have them: a
patient found in a bed has a length-biased stay
(long stays are more likely to be caught by a snapshot) and is found at a uniform point
of it. For a lognormal stay
``LN(mu, s^2)`` the length-biased stay is ``LN(mu + s^2, s^2)``; the remaining stay is
that times ``1 - U`` with ``U`` uniform, rounded up to whole days (at least one).

Stay distributions (lognormal, arithmetic mean and sd in days):

- ward: mean 7.3 (CIHI Discharge Abstract Database, average acute length of stay
  2023-24), coefficient of variation 1.1 (the everyday demand module's medical stays);
- ICU: mean 3.5, sd 4.0 (the demand module's ICU assumption), then a ward step-down
  drawn from the ward distribution (not length-biased: it has not started);
- ALC: mean 20, sd 18 (the demand module's ALC assumption; CADTH 2024: about 25 ALC days
  per ALC stay among those 65+ waiting for residential care).

ED boarders (admitted, waiting in the ED for a ward bed, first come first served in the
order seeded) have a ward stay that is about to start: drawn from the ward distribution,
not length-biased (assumption: a boarder's wait is short against its stay), counted
from today like a new patient's, who boards on the day it is admitted.

Onward ALC: a seeded ward, ICU or boarding patient who survives goes on to an ALC stay
with the everyday demand module's probability for a medical stay of its age band
(``P_ALC_BAND`` x ``P_ALC_TYPE``, times the demand module's ``rel_alc`` when the model has
one), of a length drawn from the same ALC distribution as a new stay's. Without it no
seeded patient would ever become ALC, and a forecast's ALC census would drain after its
as-of date. Assumption: a patient found on the ward is as likely to go on to ALC as a
new admission of its age band (the length bias of the snapshot is ignored here).

Outcomes: an ICU patient dies at the end of its stay with the care parameters'
``p_death_icu``; ward, ALC and boarding patients with 0.03 (the demand module's
in-hospital death share, about 3% of stays; an assumption). Seeded patients are residents of the site's zone
who are alive and not in hospital (anyone alive, when the zone has too few), of the
medical kind, not counted as arrivals or admissions (journey event ``start``).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from popsim.care.facility import ALC, ED, ICU, WARD
from popsim.care.patient import Patient, plan_path
from popsim.core.requests import MEDICAL
from popsim.demand import (
    ALC_MEAN_DAYS,
    ALC_SD_DAYS,
    P_ALC_BAND,
    P_ALC_TYPE,
    Demand,
    lognormal,
    to_days,
)

#: A :class:`popsim.care.network.CareNetwork` (not imported: the network imports this module).
CareNetwork = Any

#: Unit names accepted by :func:`seed_census` and their codes.
SEED_UNITS: dict[str, int] = {"ward": WARD, "icu": ICU, "alc": ALC, "ed": ED}
#: Stay distributions (mean, sd in days) by unit (see the module docstring).
STAY_DAYS: dict[int, tuple[float, float]] = {WARD: (7.3, 8.0), ICU: (3.5, 4.0), ALC: (20.0, 18.0)}
#: Death at the end of the stay for seeded ward, ALC and boarding patients (ICU:
#: ``p_death_icu``).
P_DEATH_WARD = 0.03

#: A stay to continue: ``(kind, remaining phases, dies, epidemic)``, the remaining phases
#: counted from the seeding day (:meth:`popsim.care.patient.Patient.remaining`).
Template = tuple[int, tuple[tuple[int, int], ...], bool, bool]
#: Templates by ``(facility_index, unit code)``.
Templates = Mapping[tuple[int, int], Sequence[Template]]


def _pick(rng: np.random.Generator, n: int, k: int) -> np.ndarray:
    """``k`` indices of ``0..n-1`` (n > 0): each once, in random order, before any twice."""
    whole, rest = divmod(k, n)
    parts = [rng.permutation(n) for _ in range(whole)]
    parts.append(rng.permutation(n)[:rest])
    return np.concatenate(parts).astype(np.int64)


def from_templates(
    templates: Templates, fac: int, unit: int, count: int, rng: np.random.Generator
) -> list[Template]:
    """Up to ``count`` stays for ``(fac, unit)`` (see the module docstring): its epidemic
    templates first, then its others (the unit's at every site when it has none); fewer
    when there are none to copy."""
    own = templates.get((fac, unit), ())
    epidemic = [t for t in own if t[3]]
    others = [t for t in own if not t[3]]
    if not others:
        others = [t for (f, u), ts in templates.items() if u == unit for t in ts if not t[3]]
    k_epi = min(len(epidemic), count)
    out = [epidemic[i] for i in rng.permutation(len(epidemic))[:k_epi]]
    if others and count > k_epi:
        out += [others[i] for i in _pick(rng, len(others), count - k_epi)]
    return out


def _lognormal_params(mean: float, sd: float) -> tuple[float, float]:
    s2 = float(np.log1p((sd / mean) ** 2))
    return float(np.log(mean)) - s2 / 2, s2


def stay_days(rng: np.random.Generator, unit: int, n: int) -> np.ndarray:
    """Whole days (>= 1) of ``n`` stays in ``unit`` about to start."""
    mu, s2 = _lognormal_params(*STAY_DAYS[unit])
    return np.clip(np.ceil(rng.lognormal(mu, np.sqrt(s2), n)), 1, 3650).astype(np.int64)


def remaining_days(rng: np.random.Generator, unit: int, n: int) -> np.ndarray:
    """Remaining whole days (>= 1) of ``n`` stays in ``unit`` caught by a snapshot."""
    mu, s2 = _lognormal_params(*STAY_DAYS[unit])
    whole = rng.lognormal(mu + s2, np.sqrt(s2), n)  # length-biased stays
    left = whole * (1.0 - rng.random(n))
    return np.clip(np.ceil(left), 1, 3650).astype(np.int64)


def _rel_alc(model: Any) -> float:
    """The demand module's ``rel_alc`` (1.0 when the model has no demand module)."""
    for module in getattr(model, "modules", ()):
        if isinstance(module, Demand):
            return float(module.params.rel_alc)
    return 1.0


def _check(census: Mapping[tuple[int, str], int], n_facilities: int) -> list[tuple[int, int, int]]:
    """``(facility, unit code, count)`` rows of a census, or ValueError naming the entry."""
    rows = []
    for key, count in census.items():
        if not (isinstance(key, tuple) and len(key) == 2):
            raise ValueError(f"census key {key!r}: expected (facility_index, unit)")
        fac, unit = key
        if isinstance(fac, bool) or not isinstance(fac, (int, np.integer)):
            raise ValueError(f"census key {key!r}: facility index must be an integer")
        if not 0 <= int(fac) < n_facilities:
            raise ValueError(f"census key {key!r}: facility index outside 0..{n_facilities - 1}")
        if unit not in SEED_UNITS:
            raise ValueError(f"census key {key!r}: unit must be one of {sorted(SEED_UNITS)}")
        if isinstance(count, bool) or int(count) != count or count < 0:
            raise ValueError(f"census {key!r}: expected a whole number >= 0, got {count!r}")
        rows.append((int(fac), SEED_UNITS[unit], int(count)))
    return rows


def seed_census(
    network: CareNetwork,
    census: Mapping[tuple[int, str], int],
    rng: np.random.Generator,
    templates: Templates | None = None,
) -> None:
    """Place exactly ``census[(facility_index, unit)]`` patients in each unit (``"ward"``,
    ``"icu"``, ``"alc"``; ``"ed"``: ED boarders) today, continuing ``templates`` where
    given; see the module docstring. Raises ValueError on a bad entry (nothing placed)."""
    model = network.model
    pop = model.pop
    rows = _check(census, len(network.facilities))
    free = pop.alive & ~pop.in_hospital
    p_death = {
        WARD: P_DEATH_WARD,
        ALC: P_DEATH_WARD,
        ED: P_DEATH_WARD,
        ICU: network.params.p_death_icu,
    }
    p_alc_band = np.minimum(1.0, P_ALC_BAND * P_ALC_TYPE[MEDICAL] * _rel_alc(model))
    zones: dict[int, np.ndarray] = {}
    for fac_i, unit, count in rows:
        if count == 0:
            continue
        site = network.facilities[fac_i]
        if site.zone not in zones:
            zones[site.zone] = np.flatnonzero(pop.zone == site.zone)
        pool = zones[site.zone]
        pool = pool[free[pool]]
        if len(pool) < count:
            pool = np.flatnonzero(free)
        if len(pool) < count:
            raise ValueError(f"census {fac_i, unit}: {count} patients, {len(pool)} residents free")
        ids = rng.choice(pool, size=count, replace=False)
        free[ids] = False
        copied = from_templates(templates, fac_i, unit, count, rng) if templates else []
        for r, (kind, phases, dies, epidemic) in zip(ids.tolist(), copied, strict=False):
            _place(network, site, unit, r, kind, phases, dies, epidemic)
        ids = ids[len(copied) :]
        count -= len(copied)
        if count == 0:
            continue
        if unit == ED:  # a ward stay about to start
            left = stay_days(rng, WARD, count).tolist()
        else:
            left = remaining_days(rng, unit, count).tolist()
        after = stay_days(rng, WARD, count) if unit == ICU else np.zeros(count, np.int64)
        after = after.tolist()
        dies = rng.random(count) < p_death[unit]
        alc = np.zeros(count, np.int64)
        if unit != ALC:  # onward ALC for survivors (module docstring)
            goes = (rng.random(count) < p_alc_band[pop.band[ids]]) & ~dies
            stays = to_days(lognormal(rng, ALC_MEAN_DAYS, ALC_SD_DAYS, count), 3, 365)
            alc = np.where(goes, stays, 0)
        rows_ = zip(ids.tolist(), left, after, alc.tolist(), dies.tolist(), strict=True)
        for r, days, ward_after, alc_days, die in rows_:
            if unit == ICU:
                phases = plan_path(days, ward_after, alc_days)
            elif unit == ALC:
                phases = ((ALC, days),)
            else:  # ward, or a boarder whose ward stay is about to start
                phases = plan_path(0, days, alc_days)
            _place(network, site, unit, r, MEDICAL, phases, die, False)


def _place(
    network: CareNetwork,
    site: Any,
    unit: int,
    r: int,
    kind: int,
    phases: tuple[tuple[int, int], ...],
    dies: bool,
    epidemic: bool,
) -> None:
    """Resident ``r`` in ``unit`` at ``site`` from today, on ``phases`` (not an arrival
    or an admission: journey event ``start``)."""
    model = network.model
    pop = model.pop
    day = model.day
    p = Patient(model, r, kind, int(pop.zone[r]), int(pop.band[r]), day, phases, dies)
    p.epidemic = epidemic
    p.prevalent = True
    network.place.start(p, site, unit, day)
    network.patients[r] = p
    network.calendar[p.day_next].append(p)
    pop.in_hospital[r] = True
    network.totals["prevalent"] += 1
