"""Transmission helpers shared by the fast epidemic and the reference engine.

- :func:`gravity_weights`: the share of a zone's contacts made in each zone;
- :class:`Transmission` and :func:`calibrate`: the community rate and household
  probability that give the epidemic's ``r0``;
- :func:`community_hazard`: today's hazard of a susceptible, by zone and band;
  :class:`HazardCache` computes the same numbers with the parts that only change when a
  contact reduction does computed once (the fast engine's per-day path);
- :class:`Calendar`: per-day buckets of resident ids and their payload, so only the
  residents whose transition is due today are touched.

At a few tens of thousands of residents the epidemic's daily work is a few hundred
small numpy calls, so these helpers keep the number of calls per day low (this is what
the fast engine's speed at small scale depends on), and never change a result.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np

from popsim.core.ages import N_AGE_BANDS
from popsim.core.seeds import CounterDraws, pair

if TYPE_CHECKING:
    from popsim.epidemic.params import EpidemicParams
    from popsim.population import Population


def gravity_weights(
    pop: np.ndarray, minutes: np.ndarray, coupling: float, scale: float, exponent: float
) -> np.ndarray:
    """Row-stochastic share of a zone's residents' contacts made with each zone.

    Off-diagonal weight ``coupling * (N[z'] / mean N) ** exponent * exp(-minutes / scale)``
    against 1 for the home zone.
    """
    pop = np.asarray(pop, dtype=np.float64)
    rel = (pop / max(pop.mean(), 1.0)) ** exponent
    g = coupling * rel[None, :] * np.exp(-np.asarray(minutes, dtype=np.float64) / scale)
    np.fill_diagonal(g, 1.0)
    return g / g.sum(axis=1, keepdims=True)


@dataclass(frozen=True)
class Transmission:
    """Calibrated transmission of one population (shared with the reference engine)."""

    beta: float  # community rate per contact-day
    p_household: float  # infection probability per susceptible housemate per infector
    contacts: np.ndarray  # (band, band) daily community contacts, school included
    coupling: np.ndarray  # (zone, zone) row-stochastic share of contacts by zone
    school: np.ndarray  # (band, band) the daily contacts at school (a part of contacts)


def household_matrix(pop: Population) -> np.ndarray:
    """``H[a, b]``: mean number of living band-``a`` housemates of a living band-``b``
    resident (the resident not counted), from the population's households."""
    alive = np.flatnonzero(pop.alive)
    hh = pop.household[alive].astype(np.int64)
    band = pop.band[alive].astype(np.int64)
    nb = N_AGE_BANDS
    n_hh = int(pop.household.max()) + 1 if len(pop.household) else 0
    comp = np.bincount(hh * nb + band, minlength=n_hh * nb).reshape(n_hh, nb)
    pairs = np.zeros((nb, nb))
    for lo in range(0, n_hh, 200_000):  # (in chunks: a few MB at a time)
        block = comp[lo : lo + 200_000].astype(np.float64)
        pairs += block.T @ block
    n_band = np.bincount(band, minlength=nb).astype(np.float64)
    pairs -= np.diag(n_band)  # a resident is not their own housemate
    return pairs / np.maximum(n_band, 1.0)[None, :]


def spectral_radius(m: np.ndarray) -> float:
    """Largest absolute eigenvalue of ``m``."""
    return float(np.max(np.abs(np.linalg.eigvals(m))))


def age_counts(pop: Population) -> np.ndarray:
    """Living residents by single year of age."""
    return np.bincount(pop.age[pop.alive], minlength=int(pop.age.max(initial=0)) + 1)


def next_generation(
    params: EpidemicParams,
    pop: Population,
    beta: float,
    p_household: float,
    housemates: np.ndarray | None = None,
    contacts: np.ndarray | None = None,
) -> np.ndarray:
    """The next-generation matrix by band (``K[a, b]``: infections of band ``a`` caused
    by one infected resident of band ``b`` in a fully susceptible population), community
    and household parts together. ``housemates`` (:func:`household_matrix`) and
    ``contacts`` (community contacts by band) are worked out from ``pop`` when not given
    (each depends on the population only)."""
    p = params
    p_sym = np.asarray(p.p_symptomatic, dtype=np.float64)
    n_band = np.maximum(pop.alive_counts.sum(axis=0).astype(np.float64), 1.0)
    rel_inf = p_sym + (1 - p_sym) * p.rel_trans_asymptomatic
    dur = p.dur_infectious.expected_days()
    if contacts is None:
        contacts = p.contact_layers(age_counts(pop))[0]
    if housemates is None:
        housemates = household_matrix(pop)
    community = contacts * n_band[:, None] / n_band[None, :] * (rel_inf * dur)
    household = p_household * housemates * rel_inf[None, :]
    return beta * community + household


def calibrate(params: EpidemicParams, pop: Population, zone_minutes: np.ndarray) -> Transmission:
    """The household probability from ``household_share`` (that share of ``r0`` from the
    mean number of other household members of an infected resident, size-biased), then
    the community rate such that the spectral radius of the next-generation matrix by
    band, community and household infections together (:func:`next_generation`), is
    ``r0`` in a fully susceptible population (bisection; the radius grows with the
    rate). The household part counts first-generation infections only: infections of
    housemates by housemates are in the next generation, so within-household depletion
    makes early growth somewhat slower than ``r0`` implies by the Wallinga-Lipsitch
    relation: :mod:`popsim.epidemic.households` gives the growth rate this definition
    implies (at R0 1.8 on Fraser, that of R 1.76), and the validation report measures
    the model against it."""
    p = params
    p_sym = np.asarray(p.p_symptomatic, dtype=np.float64)
    n_band = np.maximum(pop.alive_counts.sum(axis=0).astype(np.float64), 1.0)
    # the contacts and the housemates by band once (each a pass over every resident: about
    # 0.1 s at 2 million), not once per step of the bisection
    contacts, school = p.contact_layers(age_counts(pop))
    housemates = household_matrix(pop)

    rel_inf = p_sym + (1 - p_sym) * p.rel_trans_asymptomatic
    sizes = np.diff(pop.hh_start).astype(np.float64)
    others = float((sizes * (sizes - 1)).sum() / max(sizes.sum(), 1.0))
    mean_rel = float((rel_inf * n_band).sum() / n_band.sum())
    want = p.r0 * p.household_share
    p_household = min(1.0, want / (others * mean_rel)) if others > 0 and want > 0 else 0.0
    beta = 0.0
    # the two parts of the matrix once: it is linear in beta (K = beta * community +
    # household), so each step of the bisection only scales and adds them
    community = next_generation(p, pop, 1.0, 0.0, housemates, contacts)
    household = next_generation(p, pop, 0.0, p_household, housemates, contacts)
    rho_community = spectral_radius(community)
    if rho_community > 0 and spectral_radius(household) < p.r0:
        lo, hi = 0.0, p.r0 / rho_community
        for _ in range(50):
            mid = (lo + hi) / 2
            if spectral_radius(mid * community + household) < p.r0:
                lo = mid
            else:
                hi = mid
        beta = (lo + hi) / 2
    # rel_transmissibility scales the whole next-generation matrix (r0 times it)
    beta *= p.rel_transmissibility
    p_household = min(1.0, p_household * p.rel_transmissibility)
    coupling = gravity_weights(
        pop.alive_counts.sum(axis=1),
        zone_minutes,
        p.coupling,
        p.coupling_minutes,
        p.coupling_pop_exponent,
    )
    return Transmission(beta, p_household, contacts, coupling, school)


def community_hazard(
    tr: Transmission,
    pressure: np.ndarray,
    alive: np.ndarray,
    rel_community: np.ndarray,
    rel_school: np.ndarray | None = None,
) -> np.ndarray:
    """Today's hazard ``(zone, band)`` of a susceptible from infectious ``pressure``
    ``(zone, band)`` among ``alive`` residents; ``rel_community`` scales contacts by zone
    (of the susceptible, and of the other zone for contacts away from home), and
    ``rel_school`` (None: 1) the school contacts of the susceptible's zone on top."""
    prev = pressure / np.maximum(alive, 1)
    w = tr.coupling * rel_community[None, :]
    np.fill_diagonal(w, np.diag(tr.coupling))
    mixed = w @ prev  # prevalence met by a resident of each zone, by band met
    rate = tr.beta * rel_community[:, None]
    hazard = rate * (mixed @ tr.contacts.T)
    if rel_school is not None and (rel_school != 1.0).any():
        hazard += rate * (rel_school[:, None] - 1.0) * (mixed @ tr.school.T)
    return hazard


class HazardCache:
    """:func:`community_hazard` with the zone weights, the scaled rates and the transposed
    contacts computed once per ``rel_community`` and ``rel_school`` (set with
    :meth:`set_rel`, when a contact reduction changes them). The same floating-point
    operations in the same order: equal results."""

    def __init__(
        self, tr: Transmission, rel_community: np.ndarray, rel_school: np.ndarray | None = None
    ) -> None:
        self.tr = tr
        self.contacts_t = np.ascontiguousarray(tr.contacts.T)
        self.school_t = np.ascontiguousarray(tr.school.T)
        self.set_rel(rel_community, rel_school)

    def set_rel(self, rel_community: np.ndarray, rel_school: np.ndarray | None = None) -> None:
        """``rel_community`` or ``rel_school`` changed: recompute what depends on them."""
        w = self.tr.coupling * rel_community[None, :]
        np.fill_diagonal(w, np.diag(self.tr.coupling))
        self.w = w
        self.rate = self.tr.beta * rel_community[:, None]
        self.school_rate = None  # the school term: only while schools are reduced
        if rel_school is not None and (rel_school != 1.0).any():
            self.school_rate = self.rate * (rel_school[:, None] - 1.0)

    def __call__(self, pressure: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Today's hazard, as :func:`community_hazard` (``alive`` already at least 1)."""
        prev = pressure / alive
        mixed = self.w @ prev
        hazard = self.rate * (mixed @ self.contacts_t)
        if self.school_rate is not None:
            hazard += self.school_rate * (mixed @ self.school_t)
        return hazard


class Calendar:
    """Per-day buckets of column tuples (resident ids and payload).

    :meth:`pop` returns a day's rows in the order they were added (by call, then by
    position within the call). Each :meth:`add` sorts its rows by day once and files, for
    every distinct day, a reference to the sorted columns and that day's row range (no
    copies until the day comes), so a day's rows are one dictionary look-up away. The
    columns must not be modified after they are added.
    """

    def __init__(self) -> None:
        self.buckets: dict[int, list[tuple[tuple[np.ndarray, ...], int, int]]] = {}

    def add(self, days: np.ndarray, *cols: np.ndarray) -> None:
        """File row ``i`` of ``cols`` under day ``days[i]``."""
        n = len(days)
        if n == 0:
            return
        if n > 256 and days.min() >= 0 and days.max() < 2**15:
            order = days.astype(np.int16).argsort(kind="stable")  # radix sort, same order
        else:
            order = days.argsort(kind="stable")
        days = days[order]
        cols = tuple([c[order] for c in cols])
        bounds = [0, *((days[1:] != days[:-1]).nonzero()[0] + 1).tolist(), n]
        buckets = self.buckets
        for day, lo, hi in zip(days[bounds[:-1]].tolist(), bounds[:-1], bounds[1:], strict=True):
            bucket = buckets.get(day)
            if bucket is None:
                buckets[day] = [(cols, lo, hi)]
            else:
                bucket.append((cols, lo, hi))

    def pop(self, day: int) -> tuple[np.ndarray, ...] | None:
        """Remove and return the columns due on ``day`` (None: nothing due)."""
        parts = self.buckets.pop(day, None)
        if parts is None:
            return None
        if len(parts) == 1:
            cols, lo, hi = parts[0]
            return tuple([c[lo:hi] for c in cols])
        return tuple(
            [
                np.concatenate([cols[j][lo:hi] for cols, lo, hi in parts])
                for j in range(len(parts[0][0]))
            ]
        )

    def _rows(self, day: int) -> tuple[np.ndarray, ...]:
        parts = self.buckets[day]
        return tuple(
            np.concatenate([cols[j][lo:hi] for cols, lo, hi in parts])
            for j in range(len(parts[0][0]))
        )

    def drop(self, ids: np.ndarray) -> None:
        """Remove every row whose first column (the resident) is in ``ids``."""
        for day in list(self.buckets):
            cols = self._rows(day)
            keep = ~np.isin(cols[0], ids)
            if keep.all():
                continue
            if keep.any():
                self.buckets[day] = [(tuple(c[keep] for c in cols), 0, int(keep.sum()))]
            else:
                del self.buckets[day]

    def copy_rows(self, src: np.ndarray, dst: np.ndarray) -> None:
        """For every pair ``(src[i], dst[i])`` (``src`` may repeat), file a copy of each
        row of resident ``src[i]`` with ``dst[i]`` as its resident (same day, payload)."""
        order = np.argsort(src, kind="stable")
        s, d = src[order], dst[order]
        for day in list(self.buckets):
            cols = self._rows(day)
            lo = np.searchsorted(s, cols[0], "left")
            n = np.searchsorted(s, cols[0], "right") - lo
            total = int(n.sum())
            if total == 0:
                continue
            row = np.repeat(np.arange(len(n)), n)
            offset = np.arange(total) - np.repeat(np.cumsum(n) - n, n)
            new = d[np.repeat(lo, n) + offset].astype(cols[0].dtype)
            self.buckets[day].append(((new, *(c[row] for c in cols[1:])), 0, total))


def contacts(
    pop: Population,
    draws: CounterDraws,
    day: int,
    hazard: np.ndarray,
    key_gap: int,
    key_row: int,
) -> np.ndarray:
    """Rows of the cell index contacted on ``day`` (dead and immune rows included; the
    caller keeps the susceptible): per cell ``c``, the points of a unit-rate Poisson
    process (exponential gaps keyed by ``key_gap``, day, cell and point) up to
    ``cell_size[c] * hazard[c]``, each on a row of the cell drawn by the same key
    (``key_row``). A susceptible row is contacted at least once with probability
    ``1 - exp(-hazard)``; a higher hazard adds points at the end and moves none
    (counter-based contacts: common random numbers between scenarios)."""
    size = pop.cell_size
    mu = size * hazard
    cells = np.flatnonzero(mu > 0)
    if len(cells) == 0:
        return np.empty(0, dtype=np.int64)
    mu = mu[cells]
    room = np.ceil(mu + 3.0 * np.sqrt(mu) + 4.0).astype(np.int64)
    while True:
        cell = cells.repeat(room)
        starts = np.cumsum(room) - room
        point = np.arange(len(cell)) - starts.repeat(room)
        key = pair(cell, point)
        t = np.cumsum(draws.exponential(key_gap, day, key))
        before = np.concatenate([[0.0], t[np.cumsum(room)[:-1] - 1]])
        t -= before.repeat(room)
        inside = t <= mu.repeat(room)
        n_in = np.bincount(np.arange(len(cells)).repeat(room), weights=inside)
        full = n_in >= room  # (rare: more points than room for them) more room
        if not full.any():
            break
        room[full] *= 2
    cell, key = cell[inside], key[inside]
    row = (draws.uniform(key_row, day, key) * size[cell]).astype(np.int64)
    return pop.cell_order[pop.cell_start[cell] + row].astype(np.int64)
