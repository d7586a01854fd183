"""Putting an observed census into a running model (the forecast's start from today's state).

A forecast runs the model to the as-of day, then replaces the simulated census by the
observed one, unit by unit: :func:`clear_observed` takes out (uncounted) the patients of
every ``(site, unit)`` whose census was observed that day (ward, ICU and ALC beds, and
ED boarders), and :func:`warm_start` places the observed numbers there with
:meth:`popsim.care.network.CareNetwork.seed_census` (remaining stays of a steady-state
snapshot: length-biased, see :mod:`popsim.care.seeding`). Units not observed keep the
simulated patients (and patients held outside a full ICU are never replaced: the
``icu_census`` counts ICU beds only). The epidemic's share is kept: of the patients
seeded in a unit, as many as the simulated unit had epidemic patients (at most all of
them, drawn at random) are epidemic patients (severe; critical in the ICU), so
``epidemic_census`` carries on from the model's own epidemic.

The clearing draws nothing, so it can be done once on a particle before its branches
are copied (:mod:`popsim.twin.branching`); the seeding draws from the branch's own
stream. After :func:`warm_start`, before any step, each observed site's census in each
observed unit equals the input exactly, and so does the as-of day's ``facility_day`` row
(its census columns are those of the seeded state; its flows stay the simulated day's).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING

import numpy as np

from popsim.care.facility import ICU
from popsim.care.seeding import SEED_UNITS
from popsim.core.requests import EPI_CRITICAL, EPI_SEVERE

if TYPE_CHECKING:
    from popsim.model import RegionModel

#: ``facility_day`` columns that are a state at the end of the day (not the day's flows):
#: rewritten on the as-of day after a warm start.
STATE_COLUMNS: tuple[str, ...] = (
    "ward_census",
    "icu_census",
    "alc_census",
    "ed_boarding",
    "ward_demand",
    "icu_demand",
    "ward_surge",
    "icu_surge",
    "icu_outside",
    "epidemic_census",
)


def clear_observed(
    model: RegionModel, census: Mapping[tuple[int, str], int]
) -> dict[tuple[int, str], int]:
    """Take out, uncounted, the patients of every ``(facility_index, unit)`` of
    ``census`` (unit in ``ward``, ``icu``, ``alc``, ``ed``); returns the number of
    epidemic patients among them, by ``(facility_index, unit)``."""
    net = model.care
    names = {code: name for name, code in SEED_UNITS.items()}
    targets = {(int(fi), SEED_UNITS[unit]) for fi, unit in census}
    leaving = [
        p for p in net.patients.values() if p.site is not None and (p.site.index, p.unit) in targets
    ]
    epidemic = dict.fromkeys(((int(fi), unit) for fi, unit in census), 0)
    for p in leaving:
        if p.epidemic:
            epidemic[(p.site.index, names[p.unit])] += 1
    leave = net.place.leave
    for p in leaving:
        leave(p)  # inactive: its calendar and queue entries would be skipped
    if leaving:
        ids = np.fromiter((p.resident for p in leaving), dtype=np.int64, count=len(leaving))
        model.pop.in_hospital[ids] = False
        # drop those entries now (nothing else changes): a branch copies no departed patient
        for bucket in net.calendar.values():
            bucket[:] = [p for p in bucket if p.active]
        for site in net.facilities:
            for queue in (site.boarding, site.held):
                live = [entry for entry in queue if entry[1].active]
                queue.clear()
                queue.extend(live)
    return epidemic


def warm_start(
    model: RegionModel,
    census: Mapping[tuple[int, str], int],
    rng: np.random.Generator,
    epidemic: Mapping[tuple[int, str], int] | None = None,
) -> None:
    """Replace the census of the observed units with ``census`` (``(facility_index,
    unit) -> count``) on the day just run (``model.day - 1``; the run must have a day
    after it, ValueError otherwise). ``epidemic``: what
    :func:`clear_observed` returned, when the units were already emptied by it."""
    if epidemic is None:
        epidemic = clear_observed(model, census)
    net = model.care
    net.seed_census(census, rng)  # writes row model.day from the seeded state
    _keep_epidemic_share(model, census, epidemic, rng)
    day = model.day
    table = model.facility_day
    if not 1 <= day < len(table):
        raise ValueError(f"a warm start needs a day run before it and one after (day {day})")
    names = list(net.metrics)
    cols = [names.index(c) for c in STATE_COLUMNS if c in names]
    table[day - 1, :, cols] = table[day, :, cols]
    if "epidemic_census" in names:  # changed after seed_census wrote row ``day``
        table[day - 1, :, names.index("epidemic_census")] = [f.n_epidemic for f in net.facilities]


def _keep_epidemic_share(
    model: RegionModel,
    census: Mapping[tuple[int, str], int],
    epidemic: Mapping[tuple[int, str], int],
    rng: np.random.Generator,
) -> None:
    """Make as many of the seeded patients of each unit epidemic patients as
    ``epidemic`` says the unit had (at most all of them), drawn at random."""
    wanted = {
        (fi, SEED_UNITS[u]): min(int(n), int(census[(fi, u)])) for (fi, u), n in epidemic.items()
    }
    wanted = {k: n for k, n in wanted.items() if n > 0}
    if not wanted:
        return
    seeded: dict[tuple[int, int], list] = {k: [] for k in wanted}
    for p in model.care.patients.values():
        key = (p.site.index, p.unit) if p.site is not None else None
        if key in seeded:
            seeded[key].append(p)
    for (fi, unit), n in sorted(wanted.items()):
        found = seeded[(fi, unit)]
        for i in sorted(rng.choice(len(found), size=min(n, len(found)), replace=False).tolist()):
            p = found[i]
            p.kind = EPI_CRITICAL if unit == ICU else EPI_SEVERE
            p.epidemic = True
            p.site.n_epidemic += 1
