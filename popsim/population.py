"""Population: the residents of a region as numpy columns, one row per resident.

Rows are ordered by zone then household at synthesis, so the members of a household
are contiguous. Two indexes make per-day work touch only the rows it needs:

- the *cell* index groups residents by ``zone * N_AGE_BANDS + band``
  (:meth:`Population.cell_members`, :meth:`Population.sample_cell`);
- the *household* index lists the members of each household
  (:meth:`Population.household_members`).

Both are rebuilt by :meth:`Population.reindex` after ageing (demography), never in the
daily step; births only add their rows to them (:meth:`Population.index_appended`). Modules declare extra columns with :class:`Column`.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Literal, overload

import numpy as np

from popsim.core.ages import N_AGE_BANDS
from popsim.core.arrays import insert_sorted, order_within_groups, unique_sorted
from popsim.core.module import Column

if TYPE_CHECKING:
    from popsim.region.load import Region

#: Canadian household sizes 1..6+ (2021 census, approximate shares; mean about 2.4).
HOUSEHOLD_SIZE_SHARES = np.array([0.29, 0.34, 0.15, 0.14, 0.055, 0.025])
ADULT_AGE = 18
#: The oldest age: the life table's last row (110 and over), where everyone dies in the year.
MAX_AGE = 110
#: The shipped life table (``popsim/data/life_tables/``): British Columbia 2020, Statistics
#: Canada Table 13-10-0837-01 (single-year complete life table, by sex, ages 0-110+).
LIFE_TABLE = "bc_2020"
#: Shipped age tables (``popsim/data/ages/``) a region may name (``single_ages`` in its
#: ``region.toml``) to shape single years of age within a band: ``canada_2026``, Canada
#: on 1 July 2026, Statistics Canada Table 17-10-0057-01 (2019 release, scenario M1), by
#: single year of age 0-100+ and sex.
AGE_TABLES = ("canada_2026",)


@cache
def life_table(name: str = LIFE_TABLE) -> np.ndarray:
    """``(MAX_AGE + 1, 2)`` probability of dying within a year by single year of age and
    sex (0 female, 1 male) of a shipped life table (see :data:`LIFE_TABLE`)."""
    text = resources.files("popsim").joinpath(f"data/life_tables/{name}.csv").read_text()
    rows = [line.split(",") for line in text.splitlines() if line and line[0].isdigit()]
    q = np.array([[float(r[1]), float(r[2])] for r in rows], dtype=np.float64)
    if q.shape != (MAX_AGE + 1, 2) or not ((q >= 0) & (q <= 1)).all():
        raise ValueError(f"life table {name!r}: expected ages 0-{MAX_AGE}, q in [0, 1]")
    return q


@cache
def age_counts(name: str) -> np.ndarray:
    """``(101, 2)`` population by single year of age 0-100 (100: 100 and over) and sex (0
    female, 1 male) of a shipped age table (see :data:`AGE_TABLES`)."""
    if name not in AGE_TABLES:
        raise ValueError(f"unknown age table {name!r}; expected one of {AGE_TABLES}")
    text = resources.files("popsim").joinpath(f"data/ages/{name}.csv").read_text()
    rows = [line.split(",") for line in text.splitlines() if line and line[0].isdigit()]
    n = np.array([[float(r[1]), float(r[2])] for r in rows], dtype=np.float64)
    if n.shape != (101, 2) or not (n > 0).all():
        raise ValueError(f"age table {name!r}: expected ages 0-100, counts > 0")
    return n


@cache
def age_weights_in_bands(table: str | None = None) -> list[tuple[np.ndarray, np.ndarray]]:
    """Per band (10-year bands, the last 90-110) and sex, the share of each single year
    of age within the band. Without ``table``: the life table's survivors ``l(x)`` (a
    stationary population, :func:`life_table`), so ages thin out within a band as deaths
    do, and the 90+ band has a tail to 110 rather than 90-99 evenly. With ``table`` (one
    of :data:`AGE_TABLES`, :func:`age_counts`): that table's single years, so a band
    holds the real cohorts' sizes (in Canada's 2026 table the small cohorts born in the
    1930s at 80-89, the larger ones of the 1940s behind them, who reach 90 in the 2030s);
    its 100-and-over is spread over 100-110 as the life table's survivors. Returns
    ``[ages, weights (n, 2)]`` per band."""
    q = life_table()
    lx = np.vstack([np.ones((1, 2)), np.cumprod(1.0 - q[:-1], axis=0)])
    counts = lx
    if table is not None:
        counts = np.empty((MAX_AGE + 1, 2))
        cohorts = age_counts(table)
        counts[:100] = cohorts[:100]
        tail = lx[100:]
        counts[100:] = cohorts[100] * tail / tail.sum(axis=0)
    out = []
    for b in range(N_AGE_BANDS):
        ages = np.arange(b * 10, MAX_AGE + 1 if b == N_AGE_BANDS - 1 else b * 10 + 10)
        w = counts[ages]
        out.append((ages, w / w.sum(axis=0)))
    return out


def draw_ages(
    band: np.ndarray, sex: np.ndarray, rng: np.random.Generator, table: str | None = None
) -> np.ndarray:
    """A single year of age for each resident of a 10-year ``band`` (0-9 .. 90+) and
    ``sex``, drawn from :func:`age_weights_in_bands` of ``table`` (one uniform per
    resident)."""
    band = np.asarray(band, dtype=np.int64)
    sex = np.asarray(sex, dtype=np.int64)
    u = rng.random(len(band))
    age = np.empty(len(band), dtype=np.int64)
    for b, (ages, w) in enumerate(age_weights_in_bands(table)):
        for s in (0, 1):
            rows = np.flatnonzero((band == b) & (sex == s))
            if len(rows):
                cum = np.cumsum(w[:, s])
                pick = np.minimum(
                    np.searchsorted(cum, u[rows] * cum[-1], side="right"), len(ages) - 1
                )
                age[rows] = ages[pick]
    return age


def household_shares(mean_size: float | None) -> np.ndarray:
    """Shares of household sizes 1..6: :data:`HOUSEHOLD_SIZE_SHARES`, tilted (``p_k`` times
    ``exp(theta k)``) to the mean household size ``mean_size`` when given (1.0-5.5)."""
    base = HOUSEHOLD_SIZE_SHARES / HOUSEHOLD_SIZE_SHARES.sum()
    if mean_size is None or not np.isfinite(mean_size):
        return base
    k = np.arange(1, 7)
    target = float(np.clip(mean_size, 1.05, 5.5))
    lo, hi = -10.0, 10.0
    for _ in range(80):  # bisection: the mean rises with theta
        theta = (lo + hi) / 2
        p = base * np.exp(theta * k)
        lo, hi = (theta, hi) if (p * k).sum() / p.sum() < target else (lo, theta)
    p = base * np.exp((lo + hi) / 2 * k)
    return p / p.sum()


def scale_counts(counts: np.ndarray, total: int) -> np.ndarray:
    """Scale integer counts to sum to ``total`` (largest-remainder rounding)."""
    flat = counts.astype(np.float64).ravel()
    if flat.sum() <= 0:
        raise ValueError("cannot scale an empty population")
    exact = flat / flat.sum() * total
    out = np.floor(exact).astype(np.int64)
    short = int(total - out.sum())
    if short > 0:
        out[np.argsort(-(exact - out), kind="stable")[:short]] += 1
    return out.reshape(counts.shape)


def household_layout(
    age: np.ndarray, rng: np.random.Generator, mean_size: float | None = None
) -> tuple[np.ndarray, np.ndarray]:
    """Group residents of one zone into households.

    Sizes are drawn from :data:`HOUSEHOLD_SIZE_SHARES` (tilted to ``mean_size`` when given,
    :func:`household_shares`); each household has an adult head (merging households when
    adults are too few), so children always live with an adult. Returns ``order``
    (residents in household order) and the household ``sizes``.
    """
    n = len(age)
    shares = household_shares(mean_size)
    sizes = rng.choice(np.arange(1, 7), size=n // 2 + 2, p=shares)
    short = n - int(sizes.sum())
    if short > 0:  # a small group drew too many small households: single ones for the rest
        sizes = np.concatenate([sizes, np.ones(short, dtype=sizes.dtype)])
    n_hh = int(np.searchsorted(np.cumsum(sizes), n)) + 1
    sizes = sizes[:n_hh]
    sizes[-1] -= int(sizes.sum() - n)
    adult = np.flatnonzero(age >= ADULT_AGE)
    if len(adult) == 0:  # no adult at all (a tiny group of migrants): one household
        return np.arange(n), np.array([n])
    if len(adult) < n_hh:  # too few adults for one head each: merge households
        n_hh = max(1, len(adult))
        sizes = np.bincount(np.arange(n) % n_hh, minlength=n_hh)
    heads = rng.permutation(adult)[:n_hh]
    rest = np.ones(n, dtype=bool)
    rest[heads] = False
    rest = rng.permutation(np.flatnonzero(rest))
    starts = np.concatenate([[0], np.cumsum(sizes)[:-1]])
    is_head = np.zeros(n, dtype=bool)
    is_head[starts] = True
    order = np.empty(n, dtype=np.int64)
    order[is_head] = heads
    order[~is_head] = rest
    return order, sizes


class Population:
    """Residents as columns.

    Core columns: ``age`` (uint8 years), ``band`` (uint8, ``age // 10`` capped at 9),
    ``sex`` (uint8, 0 female 1 male), ``zone`` (int16), ``household`` (int32),
    ``alive`` (bool), ``in_hospital`` (bool, set by the care network), ``emigrated``
    (bool: left the region alive; not alive, not dead). Resident ids are row numbers and
    never change; births append rows.
    """

    def __init__(
        self,
        age: np.ndarray,
        sex: np.ndarray,
        zone: np.ndarray,
        household: np.ndarray,
        n_zones: int,
    ) -> None:
        self.n_zones = int(n_zones)
        self.age = np.asarray(age, dtype=np.uint8)
        self.band = np.minimum(self.age // 10, N_AGE_BANDS - 1).astype(np.uint8)
        self.sex = np.asarray(sex, dtype=np.uint8)
        self.zone = np.asarray(zone, dtype=np.int16)
        self.household = np.asarray(household, dtype=np.int32)
        self.alive = np.ones(len(self.age), dtype=bool)
        self.in_hospital = np.zeros(len(self.age), dtype=bool)
        self.emigrated = np.zeros(len(self.age), dtype=bool)
        #: residents no longer alive here so far (died or left): a count a module can
        #: compare with the deaths it was told of
        self.n_removed = 0
        self._extra: dict[str, Column] = {}
        #: the shipped age table single years of age are drawn from (None: the life
        #: table's survivors; :func:`age_weights_in_bands`)
        self.age_table: str | None = None
        self._buffers: dict[str, np.ndarray] = {}  # columns' buffers with room (append)
        self.reindex()

    # ----------------------------------------------------------------- columns
    @property
    def n(self) -> int:
        """Rows, dead residents included (ids run from 0 to n - 1)."""
        return len(self.age)

    @property
    def n_alive(self) -> int:
        return int(self.alive_counts.sum())

    def add_column(self, column: Column) -> np.ndarray:
        """Add a module's column filled with its default; returns the array."""
        if hasattr(self, column.name) and column.name not in self._extra:
            raise ValueError(f"column {column.name!r} clashes with a core column")
        arr = np.full(self.n, column.default, dtype=column.dtype)
        setattr(self, column.name, arr)
        self._extra[column.name] = column
        return arr

    @property
    def columns(self) -> dict[str, np.ndarray]:
        names = [
            "age",
            "band",
            "sex",
            "zone",
            "household",
            "alive",
            "in_hospital",
            "emigrated",
            *self._extra,
        ]
        return {name: getattr(self, name) for name in names}

    def nbytes_per_resident(self) -> float:
        """Memory of all columns and indexes, per row."""
        total = sum(a.nbytes for a in self.columns.values())
        total += self.cell_order.nbytes + self.cell_start.nbytes
        total += self.hh_order.nbytes + self.hh_start.nbytes
        return total / max(self.n, 1)

    # ----------------------------------------------------------------- indexes
    @property
    def cell(self) -> np.ndarray:
        """``zone * N_AGE_BANDS + band`` for every row (computed, not stored)."""
        return self.zone.astype(np.int32) * N_AGE_BANDS + self.band

    def reindex(self) -> None:
        """Rebuild the cell and household indexes and the alive counts per cell."""
        # (stable sorts, and starts from counts: the same indexes as a comparison sort and
        # a search, in linear time where numpy allows it; demography re-indexes monthly)
        cell = self.cell
        n_cells = self.n_zones * N_AGE_BANDS
        key = cell.astype(np.uint16) if n_cells <= 2**16 else cell  # 16 bits: a radix sort
        self.cell_order = np.argsort(key, kind="stable").astype(np.int32)
        self.cell_size = np.bincount(cell, minlength=n_cells)  # rows (dead included) per cell
        self.cell_start = np.concatenate([[0], np.cumsum(self.cell_size)]).astype(np.int64)
        hh = self.household
        if len(hh) and np.all(hh[1:] >= hh[:-1]):
            self.hh_order = np.arange(self.n, dtype=np.int32)
            self.hh_in_row_order = True  # then a household's members are its rows
        else:
            self.hh_order = np.argsort(hh, kind="stable").astype(np.int32)
            self.hh_in_row_order = False
        n_hh = int(hh.max()) + 1 if len(hh) else 0
        hh_size = np.bincount(hh, minlength=n_hh)
        self.hh_start = np.concatenate([[0], np.cumsum(hh_size)]).astype(np.int64)
        self.alive_counts = np.bincount(cell[self.alive], minlength=n_cells).reshape(
            self.n_zones, N_AGE_BANDS
        )

    def index_appended(self) -> np.ndarray:
        """Add the rows appended since the last index (births) to the cell and household
        indexes: the indexes :meth:`reindex` would build, at the cost of the new rows and
        one copy of each index, no sort of every row. A new row's id is above every
        indexed one, so it goes at the end of its cell and of its household, where the
        stable sorts of :meth:`reindex` put it. Only for rows added since and nothing else
        changed (ageing or moves change cells: :meth:`reindex`). The living counts per
        cell are kept up to date by :meth:`append` and deaths already. Returns the ids of
        the rows added to the indexes."""
        first = len(self.cell_order)
        ids = np.arange(first, self.n, dtype=np.int64)
        if len(ids) == 0:
            return ids
        cell = self.zone[ids].astype(np.int32) * N_AGE_BANDS + self.band[ids]
        order = cell.argsort(kind="stable")  # by cell, then id
        # (np.insert puts values for the same position in the order given)
        at = self.cell_start[cell[order] + 1]
        self.cell_order = insert_sorted(self.cell_order, at, ids[order].astype(np.int32))
        self.cell_size = self.cell_size + np.bincount(cell, minlength=len(self.cell_size))
        self.cell_start = np.concatenate([[0], np.cumsum(self.cell_size)]).astype(np.int64)
        hh = self.household[ids]
        n_hh_old = len(self.hh_start) - 1
        in_rows = self.hh_in_row_order and bool(np.all(hh[1:] >= hh[:-1]))
        if in_rows and first > 0:
            in_rows = bool(hh[0] >= self.household[first - 1])
        if in_rows:
            self.hh_order = np.arange(self.n, dtype=np.int32)
        else:
            order = hh.argsort(kind="stable")  # by household, then id
            at = self.hh_start[np.minimum(hh[order].astype(np.int64) + 1, n_hh_old)]
            self.hh_order = insert_sorted(self.hh_order, at, ids[order].astype(np.int32))
        self.hh_in_row_order = in_rows
        n_hh = max(n_hh_old, int(hh.max()) + 1)
        # each household's start moves by the new members of the households before it
        # (a new household starts where the old ones end)
        start = np.empty(n_hh + 1, dtype=np.int64)
        start[: n_hh_old + 1] = self.hh_start
        start[n_hh_old + 1 :] = self.hh_start[-1]
        start[1:] += np.cumsum(np.bincount(hh, minlength=n_hh))
        self.hh_start = start
        return ids

    def cell_members(self, cell: int) -> np.ndarray:
        """Row ids in a cell (dead included: filter with ``alive``)."""
        return self.cell_order[self.cell_start[cell] : self.cell_start[cell + 1]]

    def sample_cell(self, cell: int, k: int, rng: np.random.Generator) -> np.ndarray:
        """Up to ``k`` distinct living residents of a cell, drawn uniformly at random."""
        lo, hi = self.cell_start[cell], self.cell_start[cell + 1]
        size = int(hi - lo)
        if size == 0 or k <= 0:
            return np.empty(0, dtype=np.int32)
        if k * 4 < size:
            draw = np.unique(rng.integers(0, size, int(k * 1.2) + 4))
            rng.shuffle(draw)
            ids = self.cell_order[lo + draw]
        else:
            ids = self.cell_order[lo + rng.permutation(size)]
        return ids[self.alive[ids]][:k]

    @overload
    def household_members(
        self, households: np.ndarray, owners: Literal[False] = False
    ) -> np.ndarray: ...

    @overload
    def household_members(
        self, households: np.ndarray, owners: Literal[True]
    ) -> tuple[np.ndarray, np.ndarray]: ...

    def household_members(
        self, households: np.ndarray, owners: bool = False
    ) -> np.ndarray | tuple[np.ndarray, np.ndarray]:
        """Row ids of every member of the given households (dead included), household
        by household. With ``owners``: also, for each member, the position in
        ``households`` of the household it was listed for."""
        hh = np.asarray(households)
        starts = self.hh_start[hh]
        lengths = self.hh_start[hh + 1] - starts
        ends = lengths.cumsum()
        total = int(ends[-1]) if len(ends) else 0
        # each member's row: its place in the output plus its household's offset
        rows = np.arange(total)
        rows += (starts - ends + lengths).repeat(lengths)
        members = rows.astype(np.int32) if self.hh_in_row_order else self.hh_order[rows]
        if owners:
            return np.arange(len(hh)).repeat(lengths), members
        return members

    def draw_rows(self, k: np.ndarray, rng: np.random.Generator) -> np.ndarray:
        """``k[c]`` rows of every cell ``c`` (flat, zone-major), uniformly *with*
        replacement from the cell index as of the last reindex, dead and emigrated rows
        included: a draw that never depends on who is alive.

        With ``k[c]`` Poisson (or binomial) on ``cell_size[c]`` times a per-resident rate
        and the rows that are not living dropped, every living resident has exactly that
        rate, and the draws stay the same when another module's deaths change who is
        alive (common random numbers between scenarios). A resident drawn twice on one
        day (rare) is the caller's to drop."""
        k = np.asarray(k, dtype=np.int64).ravel()
        n = int(k.sum())
        if n == 0:
            return np.empty(0, dtype=np.int64)
        lo = self.cell_start[:-1].repeat(k)
        lo += (rng.random(n) * self.cell_size.repeat(k)).astype(np.int64)
        return self.cell_order[lo].astype(np.int64)

    def sample_cells(
        self,
        k: np.ndarray,
        rng: np.random.Generator,
        accept: Callable[[np.ndarray], np.ndarray] | None = None,
        accept_share: np.ndarray | None = None,
    ) -> np.ndarray:
        """``k[c]`` distinct living residents of every cell ``c`` at once (fewer where a cell
        has fewer), optionally only those for which ``accept(ids)`` is true. Rejection
        sampling from the cell index; cells where it falls short are scanned.
        ``accept_share[c]``, the expected share of cell ``c`` that passes ``accept``, sizes
        the rejection draws (without it: twice what is wanted)."""
        k = np.asarray(k, dtype=np.int64).ravel()
        cells = (k > 0).nonzero()[0]
        if len(cells) == 0:
            return np.empty(0, dtype=np.int64)

        def ok(ids: np.ndarray) -> np.ndarray:
            good = self.alive[ids]
            return good & accept(ids) if accept is not None else good

        want = k[cells]
        lo = self.cell_start[cells]
        size = self.cell_size[cells]
        if accept_share is None:
            reps = 2 * want + 8
        else:
            share = np.maximum(np.asarray(accept_share, dtype=np.float64).ravel()[cells], 1e-9)
            reps = np.ceil(want / share * 1.3).astype(np.int64) + 8
        fast = (reps < size).nonzero()[0]
        got = np.zeros(len(cells), dtype=np.int64)
        picked = np.empty(0, dtype=np.int64)
        if len(fast):
            if len(fast) == len(cells):  # the usual case: no gathers needed
                r, lo_f, size_f, want_f = reps, lo, size, want
            else:
                r, lo_f, size_f, want_f = reps[fast], lo[fast], size[fast], want[fast]
            # (array methods rather than np.repeat etc.: no Python wrapper, a day has many)
            pos = lo_f.repeat(r)
            pos += (rng.random(int(r.sum())) * size_f.repeat(r)).astype(np.int64)
            pos = unique_sorted(pos)
            ids = self.cell_order[pos]
            good = ok(ids)
            pos, ids = pos[good], ids[good]
            group = lo_f.searchsorted(pos, side="right") - 1
            # a random order within each cell, then the first ``want`` of each
            order = order_within_groups(group, rng.random(len(pos)), len(fast))
            ids, group = ids[order], group[order]
            first = group.searchsorted(np.arange(len(fast)))
            keep = np.arange(len(ids)) < (first + want_f)[group]
            picked = ids[keep].astype(np.int64)
            if len(picked) < want_f.sum():  # (else every fast cell got its ``want``)
                got[fast] = np.bincount(group[keep], minlength=len(fast))
            else:
                got[fast] = want_f
        out = [picked]
        for j in (got < want).nonzero()[0]:
            members = self.cell_order[lo[j] : lo[j] + size[j]].astype(np.int64)
            members = members[ok(members)]  # ascending ids (the cell index is stable)
            if got[j] and len(members):  # drop those already picked (binary search)
                at = np.minimum(np.searchsorted(members, picked), len(members) - 1)
                keep_m = np.ones(len(members), dtype=bool)
                keep_m[at[members[at] == picked]] = False
                members = members[keep_m]
            n = min(int(want[j] - got[j]), len(members))
            out.append(rng.choice(members, n, replace=False))
        return np.concatenate(out)

    def emigrate(self, ids: np.ndarray) -> np.ndarray:
        """Residents leave the region alive: no longer counted, not dead. Returns those
        who were living here (each once)."""
        ids = self._remove(ids)
        self.emigrated[ids] = True
        return ids

    def kill(self, ids: np.ndarray) -> np.ndarray:
        """Mark residents dead; returns those who were alive (each counted once)."""
        return self._remove(ids)

    def _remove(self, ids: np.ndarray) -> np.ndarray:
        """No longer alive here (died or left); returns those who were, each once."""
        ids = np.unique(np.asarray(ids, dtype=np.int64))
        ids = ids[self.alive[ids]]
        self.alive[ids] = False
        self.n_removed += len(ids)
        np.subtract.at(self.alive_counts, (self.zone[ids], self.band[ids]), 1)
        return ids

    # ------------------------------------------------------------ demography
    def advance_ages(self, years: int = 1, spare_from: int | None = None) -> None:
        """Everyone (living) is ``years`` older (capped at :data:`MAX_AGE`), except the
        rows from ``spare_from`` on (e.g. the year's newborns, not yet a year old); call
        :meth:`reindex` (through ``model.reindexed()``) afterwards."""
        age = np.minimum(self.age.astype(np.int64) + years, MAX_AGE)
        older = self.alive.copy()
        if spare_from is not None:
            older[spare_from:] = False
        self.age = np.where(older, age, self.age).astype(np.uint8)
        self.band = np.minimum(self.age // 10, N_AGE_BANDS - 1).astype(np.uint8)

    def append(
        self, age: np.ndarray, sex: np.ndarray, zone: np.ndarray, household: np.ndarray
    ) -> np.ndarray:
        """Add living residents (births, migrants) as new rows; returns their ids.

        Every column is extended (a module reads its column from the population, never
        keeps the array): the new rows are written into spare room kept at the end of the
        column's buffer, which grows by about 1.6% when full, so the monthly births copy no
        column. Module columns get their default value. The living counts per cell
        (``alive_counts``) include them at once; the cell and household indexes only
        after :meth:`index_appended` (call ``model.joined()``) or :meth:`reindex` (call
        ``model.reindexed()``), so additions are indexed in batches: demography's
        newborns monthly, migrants yearly. Until then a new row is never drawn from a
        cell.
        """
        n_new = len(age)
        ids = np.arange(self.n, self.n + n_new, dtype=np.int64)
        age = np.asarray(age, dtype=np.uint8)
        self._extend("age", age, n_new)
        self._extend("band", np.minimum(age // 10, N_AGE_BANDS - 1), n_new)
        self._extend("sex", sex, n_new)
        self._extend("zone", zone, n_new)
        self._extend("household", household, n_new)
        self._extend("alive", True, n_new)
        self._extend("in_hospital", False, n_new)
        self._extend("emigrated", False, n_new)
        for name, column in self._extra.items():
            self._extend(name, column.default, n_new)
        np.add.at(self.alive_counts, (self.zone[ids], self.band[ids]), 1)
        return ids

    def _extend(self, name: str, tail: np.ndarray | float | bool, k: int) -> None:
        """Column ``name`` with ``k`` rows of ``tail`` (values, or one value) appended,
        written in place when its buffer has room."""
        arr = getattr(self, name)
        n = len(arr)
        buf = self._buffers.get(name)
        if (
            buf is None
            or arr.base is not buf
            or arr.ctypes.data != buf.ctypes.data
            or len(buf) < n + k
        ):  # no room (or the column was replaced, as ageing does): a new buffer
            buf = np.empty(n + k + (n + k) // 64, dtype=arr.dtype)
            buf[:n] = arr
            self._buffers[name] = buf
        buf[n : n + k] = tail
        setattr(self, name, buf[: n + k])

    def __getstate__(self) -> dict:
        """A copy (the twin's branching deep-copies models) takes the columns, not the
        buffers behind them: the copy's first append makes its own."""
        state = self.__dict__.copy()
        state["_buffers"] = {}
        return state

    @property
    def n_households(self) -> int:
        return len(self.hh_start) - 1

    # --------------------------------------------------------------- synthesis
    @classmethod
    def synthesize(
        cls, region: Region, rng: np.random.Generator, total: int | None = None
    ) -> Population:
        """Residents of ``region`` (scaled to ``total`` if given), deterministic from ``rng``.

        Single years of age within each 10-year band follow the region's age table
        (``single_ages``), else the life table's survivors (:func:`draw_ages`; the 90+
        band runs to 110); the population keeps the table's name (``age_table``) for
        demography's migrants. Households draw sizes from
        :data:`HOUSEHOLD_SIZE_SHARES`, tilted to the zone's mean household size where the
        region gives one (zones' ``household_size``); each has an adult head, so children
        always live with an adult; members of one household share a zone.
        """
        counts = region.age if total is None else scale_counts(region.age, int(total))
        zones = region.zones
        hh_mean = (
            zones["household_size"].to_numpy(dtype=np.float64)
            if "household_size" in zones.columns
            else np.full(region.n_zones, np.nan)
        )
        ages, sexes, zones, households = [], [], [], []
        next_hh = 0
        for z in range(region.n_zones):
            c = counts[z]
            n = int(c.sum())
            if n == 0:
                continue
            band = np.repeat(np.tile(np.arange(N_AGE_BANDS), 2), c.T.ravel())
            sex = np.repeat(np.repeat([0, 1], N_AGE_BANDS), c.T.ravel())
            age = draw_ages(band, sex, rng, region.single_ages)
            order, sizes = household_layout(age, rng, float(hh_mean[z]))
            n_hh = len(sizes)
            ages.append(age[order])
            sexes.append(sex[order])
            zones.append(np.full(n, z, dtype=np.int16))
            households.append(np.repeat(np.arange(n_hh), sizes) + next_hh)
            next_hh += n_hh
        pop = cls(
            np.concatenate(ages),
            np.concatenate(sexes),
            np.concatenate(zones),
            np.concatenate(households),
            region.n_zones,
        )
        pop.age_table = region.single_ages
        return pop
