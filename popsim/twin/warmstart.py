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


#: Unit names by code (the inverse of :data:`popsim.care.seeding.SEED_UNITS`).
UNIT_NAMES = {code: name for name, code in SEED_UNITS.items()}


def _largest_remainder(total: int, shares: np.ndarray) -> np.ndarray:
    """``total`` split in whole numbers in proportion to ``shares`` (sum > 0)."""
    raw = total * shares / shares.sum()
    out = np.floor(raw).astype(np.int64)
    left = int(total - out.sum())
    if left > 0:
        out[np.argsort(-(raw - out), kind="stable")[:left]] += 1
    return out


class StartPlan:
    """What a forecast's warm start sets on the as-of day.

    ``census``: ``(facility_index, unit) -> count`` observed at the sites (set exactly,
    unit by unit). ``epidemic_total``: the region's epidemic census (an ``all`` row of
    ``epidemic_census``), used when no site census was observed that day (the public
    series case): each particle's epidemic patients are scaled to that total, spread over
    sites and units by the particle's own shares (largest remainder), and the other
    patients are kept; so the region's epidemic census on the as-of day is the observed
    one, and its spread over sites is the model's. ``site_epidemic``: a site's observed
    epidemic census (``epidemic_census`` of its row), with a site census: that many of
    the site's seeded patients continue epidemic stays, spread over its observed units by
    the particle's own epidemic patients there (else by the units' census), at most each
    unit's census. ``rescale_infected``: with ``epidemic_total``, the particle's infected
    residents not yet in hospital are scaled by the ratio the census was
    (:meth:`infected_ratio`, applied by :meth:`rescale`)."""

    #: bounds of the ratio applied to a particle's infected residents (an assumption: a
    #: particle more than four times off is not made the observed epidemic by rescaling)
    RATIO_BOUNDS = (0.25, 4.0)

    def __init__(
        self,
        census: Mapping[tuple[int, str], int],
        epidemic_total: int | None,
        site_epidemic: Mapping[int, int] | None = None,
    ):
        self.census = dict(census)
        self.epidemic_total = None if census else epidemic_total
        self.site_epidemic = dict(site_epidemic or {}) if census else {}
        self.rescale_infected = False

    def infected_ratio(self, model: RegionModel) -> float | None:
        """The region's observed epidemic census over the particle's own, bounded to
        :attr:`RATIO_BOUNDS` (None: not asked, no region total, or no epidemic patient)."""
        if not self.rescale_infected or self.epidemic_total is None:
            return None
        own = sum(
            1
            for p in model.care.patients.values()
            if p.epidemic and p.site is not None and p.unit in UNIT_NAMES
        )
        if own == 0:
            return None
        lo, hi = self.RATIO_BOUNDS
        return float(min(max(self.epidemic_total / own, lo), hi))

    @staticmethod
    def rescale(model: RegionModel, ratio: float | None, rng: np.random.Generator) -> None:
        """Scale the model's infected residents not in hospital by ``ratio`` (None: no-op)."""
        epi = getattr(model, "epidemic", None)
        if ratio is not None and epi is not None:
            epi.rescale_infected(model, ratio, rng)

    def prepare(self, model: RegionModel) -> tuple[dict[tuple[int, str], int], dict | None]:
        """The census to seed in ``model`` and the epidemic patients wanted by
        ``(facility_index, unit code)`` (None: keep the unit's own)."""
        if self.epidemic_total is None:
            return self.census, self._site_want(model) if self.site_epidemic else None
        epi: dict[tuple[int, int], int] = {}
        other: dict[tuple[int, int], int] = {}
        for p in model.care.patients.values():
            if p.site is None or p.unit not in UNIT_NAMES:
                continue
            key = (p.site.index, p.unit)
            book = epi if p.epidemic else other
            book[key] = book.get(key, 0) + 1
        keys = sorted(epi)
        if not keys:  # no epidemic stay to continue: the particle keeps its own census
            return {}, None
        shares = np.array([epi[k] for k in keys], dtype=float)
        want = dict(
            zip(keys, _largest_remainder(self.epidemic_total, shares).tolist(), strict=True)
        )
        census = {
            (fi, UNIT_NAMES[code]): other.get((fi, code), 0) + want.get((fi, code), 0)
            for fi, code in keys
        }
        return census, want

    def _site_want(self, model: RegionModel) -> dict[tuple[int, int], int]:
        epi: dict[tuple[int, int], int] = {}
        for p in model.care.patients.values():
            if p.epidemic and p.site is not None and p.unit in UNIT_NAMES:
                key = (p.site.index, p.unit)
                epi[key] = epi.get(key, 0) + 1
        want: dict[tuple[int, int], int] = {}
        for fi, total in self.site_epidemic.items():
            keys = sorted((f, SEED_UNITS[u]) for f, u in self.census if f == fi)
            room = np.array([self.census[(f, UNIT_NAMES[c])] for f, c in keys], dtype=float)
            if not keys or room.sum() <= 0:
                continue
            shares = np.array([epi.get(k, 0) for k in keys], dtype=float)
            if shares.sum() <= 0:
                shares = room
            left = min(total, int(room.sum()))
            got = np.zeros(len(keys), dtype=np.int64)
            while left > 0:  # by shares, at most each unit's room; overflow to the rest
                free = room - got
                w = np.where(free > 0, shares, 0.0)
                if w.sum() <= 0:
                    w = free
                add = np.minimum(_largest_remainder(left, w), free).astype(np.int64)
                got += add
                left -= int(add.sum())
            want.update({k: int(g) for k, g in zip(keys, got, strict=True)})
        return want

    @staticmethod
    def adjust(templates: Templates, want: dict | None, rng: np.random.Generator) -> Templates:
        """Templates with exactly ``want[(fi, code)]`` epidemic stays per unit (the unit's
        own, some dropped or repeated; the same unit's at other sites when it had
        none), so that :func:`popsim.care.seeding.from_templates` seeds that many."""
        if want is None:
            return templates
        out = {key: list(ts) for key, ts in templates.items()}
        for key, k in want.items():
            own = out.get(key, [])
            epi = [t for t in own if t[3]]
            others = [t for t in own if not t[3]]
            pool = epi or [t for (f, u), ts in templates.items() if u == key[1] for t in ts if t[3]]
            if not pool:
                pool = [t for ts in templates.values() for t in ts if t[3]]
            if not pool or k == 0:
                out[key] = others
                continue
            whole, rest = divmod(k, len(pool))
            idx = [*np.tile(np.arange(len(pool)), whole), *rng.permutation(len(pool))[:rest]]
            out[key] = [pool[i] for i in idx] + others
        return out
