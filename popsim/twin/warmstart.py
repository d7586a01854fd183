"""Putting an observed census into a running model (the forecast's start from today's state).

A forecast runs the model to the as-of day, then replaces the simulated census by the
observed one, unit by unit: :func:`clear_observed` takes out (uncounted) the patients of
every ``(site, unit)`` whose census was observed that day (ward, ICU and ALC beds, and
ED boarders) and keeps their stays as templates, and :func:`warm_start` places the
observed numbers there with :meth:`popsim.care.network.CareNetwork.seed_census`, which
continues those stays (:mod:`popsim.care.seeding`: each seeded patient takes a
simulated one's kind, remaining phases and outcome; the unit's epidemic patients first,
as many as it had, at most the new census, so ``epidemic_census`` carries on from the
model's own epidemic). Units not observed keep the simulated patients (and patients
held outside a full ICU are never replaced: the ``icu_census`` counts ICU beds only).

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

from popsim.care.seeding import SEED_UNITS, Template, Templates

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


def clear_observed(model: RegionModel, census: Mapping[tuple[int, str], int]) -> Templates:
    """Take out, uncounted, the patients of every ``(facility_index, unit)`` of
    ``census`` (unit in ``ward``, ``icu``, ``alc``, ``ed``); returns their stays from
    today on, by ``(facility_index, unit code)``, as templates for
    :func:`warm_start`."""
    net = model.care
    day = model.day
    targets = {(int(fi), SEED_UNITS[unit]) for fi, unit in census}
    leaving = [
        p for p in net.patients.values() if p.site is not None and (p.site.index, p.unit) in targets
    ]
    templates: dict[tuple[int, int], list[Template]] = {key: [] for key in targets}
    for p in leaving:
        templates[(p.site.index, p.unit)].append((p.kind, p.remaining(day), p.dies, p.epidemic))
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
    return templates


def warm_start(
    model: RegionModel,
    census: Mapping[tuple[int, str], int],
    rng: np.random.Generator,
    templates: Templates | None = None,
) -> None:
    """Replace the census of the observed units with ``census`` (``(facility_index,
    unit) -> count``) on the day just run (``model.day - 1``; the run must have a day
    after it, ValueError otherwise). ``templates``: what :func:`clear_observed`
    returned, when the units were already emptied by it."""
    if templates is None:
        templates = clear_observed(model, census)
    net = model.care
    net.seed_census(census, rng, templates)  # writes row model.day from the seeded state
    day = model.day
    table = model.facility_day
    if not 1 <= day < len(table):
        raise ValueError(f"a warm start needs a day run before it and one after (day {day})")
    names = list(net.metrics)
    cols = [names.index(c) for c in STATE_COLUMNS if c in names]
    table[day - 1, :, cols] = table[day, :, cols]
