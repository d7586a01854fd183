"""The staffing module's workforce: its posts (one unit of one site) and their pools of
nurses, who are residents: recruited from the working-age residents nearest the site,
resized with the roster, and leaving when they die or move away. :class:`Workforce` is
the part of :class:`popsim.staffing.module.Staffing` that owns them (its methods use
the module's ``params``, ``key``, ``posts``, ``ids`` and absence arrays), with the
day's overtime search and who is present at work."""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim.staffing.params import StaffingParams, uniforms

if TYPE_CHECKING:
    from popsim.core.module import ModelAPI as RegionModel

_EMPTY = np.zeros(0, dtype=np.int64)
_RECRUIT, _SICK, _EPISODE, _STRIKE = range(4)  # purposes of counter-keyed draws


@dataclass(eq=False)
class Post:
    """One unit of one site: its roster, ratio, pay and pool of nurses (resident ids)."""

    index: int
    facility: int
    unit: int
    nurses: int  # per shift, the roster of the fixed policy
    shifts: int
    ratio: float
    wage: float
    overtime_multiplier: float
    agency_hourly: float
    pool: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))
    roster: int = 0  # per shift, today
    rot: int = 0  # rotation offset into the pool
    idx: np.ndarray = field(default_factory=lambda: np.zeros(0, dtype=np.int64))  # in ids
    prev: tuple[tuple[int, int], ...] = ()  # the last shift's (start, length) in the pool
    prev_extra: tuple[int, ...] | list[int] = ()  # its overtime positions
    history: list[int] = field(default_factory=list)  # daily bed demand, latest last
    waiting: list[bool] = field(default_factory=list)  # patients waiting for a bed, by day

    @property
    def hours(self) -> float:
        return 24.0 / self.shifts


@dataclass
class _Day:
    """The step's arrays for a day's shifts: absence of every pool's nurses (pool after
    pool), its negation and running count, each post's census and ratio, the day's
    staff_day rows and labour costs."""

    away: np.ndarray
    free: np.ndarray
    absent_before: np.ndarray
    census: np.ndarray
    ratio: np.ndarray
    out: np.ndarray
    cost: np.ndarray
    on_lo: list[np.ndarray] = field(default_factory=lambda: [_EMPTY])
    on_hi: list[np.ndarray] = field(default_factory=lambda: [_EMPTY])
    free_bytes: bytes = b""  # ``free`` as bytes, for the overtime search
    extras: list[int] = field(default_factory=list)


class Workforce:
    """Posts and their pools of nurses (see the module docstring)."""

    params: StaffingParams
    key: int
    posts: list[Post]
    ids: np.ndarray
    pool_idx: np.ndarray
    pool_start: list[int]
    n_left: int
    _removed_seen: int  # the population's removals at the last departure check
    _removed_told: int  # deaths told since (``on_deaths``)
    _nurse_died: bool  # a nurse among them
    _arrays: dict[str, np.ndarray]
    _workers: Any

    def pool_target(self, post: Post) -> int:
        """Nurses a pool holds for ``post.nurses`` per shift."""
        p = self.params
        need = post.nurses * post.shifts * 7 / p.shifts_per_nurse_week * p.relief_factor
        return math.ceil(need - 1e-9)

    def _resize_pool(self, model: RegionModel, post: Post) -> None:
        target = self.pool_target(post)
        have = len(post.pool)
        if target < have:  # release the last ones
            gone = post.pool[target:]
            model.pop.nurse_post[gone] = -1
            post.pool = post.pool[:target]
        elif target > have:
            new = self._recruit(model, post, target - have)
            post.pool = np.concatenate([post.pool, new])
        if len(post.pool):
            post.rot %= len(post.pool)

    def _workforce(self, model: RegionModel) -> tuple[np.ndarray, np.ndarray]:
        """Living residents of working age, by zone (ids, and each zone's start in them)."""
        p, pop = self.params, model.pop
        ids = np.flatnonzero(pop.alive & (pop.age >= p.min_age) & (pop.age <= p.max_age))
        zone = pop.zone[ids]
        ids = ids[np.argsort(zone, kind="stable")]
        starts = np.searchsorted(np.sort(zone), np.arange(pop.n_zones + 1))
        return ids, starts

    def _recruit(self, model: RegionModel, post: Post, k: int) -> np.ndarray:
        """``k`` residents not yet staff, of working age, from the zones nearest the site."""
        p, pop = self.params, model.pop
        if self._workers is None:
            self._workers = self._workforce(model)
        workers, starts = self._workers
        minutes = model.region.zone_facility_minutes[:, post.facility]
        order = np.argsort(minutes, kind="stable")
        near = order[minutes[order] <= p.max_commute_minutes]
        rest = order[minutes[order] > p.max_commute_minutes]
        found: list[np.ndarray] = []
        n_found = 0
        for z in (*near, *rest):  # nearest zones first, further ones only if short
            ids = workers[starts[z] : starts[z + 1]]
            ids = ids[(pop.nurse_post[ids] < 0) & pop.alive[ids]]
            found.append(ids)
            n_found += len(ids)
            if n_found >= 4 * k:
                break
        cand = np.concatenate(found) if found else _EMPTY
        if len(cand) <= k:
            chosen = np.sort(cand)
        else:  # weighted sampling without replacement (Efraimidis-Spirakis keys)
            w = np.where(pop.sex[cand] == 0, p.p_female, 1.0 - p.p_female) + 1e-12
            key = np.log(uniforms(self.key, cand, 0, _RECRUIT)) / w
            chosen = np.sort(cand[np.argpartition(-key, k - 1)[:k]])
        pop.nurse_post[chosen] = post.index
        return chosen.astype(np.int64)

    def _rebuild_ids(self) -> None:
        """All nurses, sorted, with their absence arrays carried over."""
        pools = [post.pool for post in self.posts]
        new = np.sort(np.concatenate(pools)) if pools else np.zeros(0, dtype=np.int64)
        old = self.ids
        pos = np.searchsorted(old, new).clip(max=max(len(old) - 1, 0))
        found = (old[pos] == new) if len(old) else np.zeros(len(new), dtype=bool)
        arrays = {}
        for name in ("sick_until", "epi_until", "strike_until", "was_sym"):
            dtype = bool if name == "was_sym" else np.int64
            a = np.zeros(len(new), dtype=dtype)
            if name in self._arrays and len(old):
                a[found] = self._arrays[name][pos[found]]
            arrays[name] = a
        self.ids, self._arrays = new, arrays
        for post in self.posts:  # (positions in pools may have moved: no rest rule today)
            post.idx = np.searchsorted(new, post.pool)
            post.prev, post.prev_extra = (), ()
        # every pool's positions in ids, pool after pool, and where each pool starts
        sizes = [len(post.pool) for post in self.posts]
        self.pool_idx = np.concatenate([post.idx for post in self.posts]) if pools else _EMPTY
        self.pool_start = np.concatenate([[0], np.cumsum(sizes)]).astype(np.int64).tolist()

    def _depart(self, model: RegionModel) -> None:
        """Nurses who died or left the region leave their pool. Looked for only when a
        nurse was among the deaths the module was told of, or when residents left
        otherwise (emigrated): the population's count of removals says so."""
        pop = model.pop
        untold = pop.n_removed - self._removed_seen - self._removed_told
        self._removed_seen, self._removed_told = pop.n_removed, 0
        if not self._nurse_died and untold == 0:
            return
        self._nurse_died = False
        here = pop.alive[self.ids]
        if here.all():
            return
        dead = self.ids[~here]
        self.n_left += len(dead)
        model.pop.nurse_post[dead] = -1
        for post in self.posts:
            keep = model.pop.alive[post.pool]
            if not keep.all():
                post.pool = post.pool[keep]
                post.rot = post.rot % len(post.pool) if len(post.pool) else 0
        self._rebuild_ids()

    @staticmethod
    def _overtime(
        post: Post, a0: int, rostered: int, free: bytes, base: int, want: int
    ) -> list[int]:
        """Up to ``want`` pool positions for overtime: nurses neither absent (``free``, one
        byte per nurse of every pool, 0 for absent; this pool's from ``base``), nor on
        this shift (``a0``, ``rostered``), nor on the unit's previous shift or its
        overtime, the first in rotation order from the next shift's start. A scan of the
        free nurses (``bytes.find``) from there: the first few are usually eligible."""
        size = len(post.pool)
        if want <= 0 or size == 0 or rostered >= size:
            return []
        prev, prev_extra, rot = post.prev, post.prev_extra, post.rot
        found: list[int] = []
        for start, end in ((base + rot, base + size), (base, base + rot)):
            at = free.find(1, start, end)
            while at >= 0:
                q = at - base
                if (q - a0) % size >= rostered and q not in prev_extra:
                    for lo, n in prev:
                        if (q - lo) % size < n:
                            break
                    else:
                        found.append(q)
                        if len(found) == want:
                            return found
                at = free.find(1, at + 1, end)
        return found

    def _present(self, d: _Day) -> np.ndarray:
        """Resident ids, sorted, of the nurses present on any of today's shifts of the
        open sites (rostered and not absent, or on overtime), each once."""
        n = len(d.free)
        lo, hi = np.concatenate(d.on_lo), np.concatenate(d.on_hi)  # (pool-after-pool)
        cover = np.cumsum(np.bincount(lo, minlength=n + 1) - np.bincount(hi, minlength=n + 1))
        on = (cover[:n] > 0) & d.free
        on[np.asarray(d.extras, dtype=np.int64)] = True
        present = np.zeros(len(self.ids), dtype=bool)  # (in ids' order: sorted)
        present[self.pool_idx[on]] = True
        return self.ids[present]
