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

if TYPE_CHECKING:
    from popsim.epidemic import EpidemicParams
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
    contacts: np.ndarray  # (band, band) daily contacts
    coupling: np.ndarray  # (zone, zone) row-stochastic share of contacts by zone


def calibrate(params: EpidemicParams, pop: Population, zone_minutes: np.ndarray) -> Transmission:
    """Community rate from the spectral radius of the next-generation matrix (one
    population, by band) and the household probability from the mean number of other
    household members of an infected resident (size-biased), so that the two together
    give ``r0`` in a fully susceptible population."""
    p = params
    p_sym = np.asarray(p.p_symptomatic, dtype=np.float64)
    n_band = np.maximum(pop.alive_counts.sum(axis=0).astype(np.float64), 1.0)
    contacts = p.contacts(n_band)
    rel_inf = p_sym + (1 - p_sym) * p.rel_trans_asymptomatic
    dur = p.dur_infectious.expected_days()
    ngm = contacts * n_band[:, None] / n_band[None, :] * (rel_inf * dur)[None, :]
    rho = float(np.max(np.abs(np.linalg.eigvals(ngm))))
    beta = p.r0 * (1 - p.household_share) / rho if rho > 0 else 0.0
    sizes = np.diff(pop.hh_start).astype(np.float64)
    others = float((sizes * (sizes - 1)).sum() / max(sizes.sum(), 1.0))
    mean_rel = float((rel_inf * n_band).sum() / n_band.sum())
    want = p.r0 * p.household_share
    p_household = min(1.0, want / (others * mean_rel)) if others > 0 and want > 0 else 0.0
    coupling = gravity_weights(
        pop.alive_counts.sum(axis=1),
        zone_minutes,
        p.coupling,
        p.coupling_minutes,
        p.coupling_pop_exponent,
    )
    return Transmission(beta, p_household, contacts, coupling)


def community_hazard(
    tr: Transmission, pressure: np.ndarray, alive: np.ndarray, rel_community: np.ndarray
) -> np.ndarray:
    """Today's hazard ``(zone, band)`` of a susceptible from infectious ``pressure``
    ``(zone, band)`` among ``alive`` residents; ``rel_community`` scales contacts by zone
    (of the susceptible, and of the other zone for contacts away from home)."""
    prev = pressure / np.maximum(alive, 1)
    w = tr.coupling * rel_community[None, :]
    np.fill_diagonal(w, np.diag(tr.coupling))
    mixed = w @ prev  # prevalence met by a resident of each zone, by band met
    return tr.beta * rel_community[:, None] * (mixed @ tr.contacts.T)


class HazardCache:
    """:func:`community_hazard` with the zone weights, the scaled rate and the transposed
    contacts computed once per ``rel_community`` (set with :meth:`set_rel`, when a contact
    reduction changes it). The same floating-point operations in the same order: equal
    results."""

    def __init__(self, tr: Transmission, rel_community: np.ndarray) -> None:
        self.tr = tr
        self.contacts_t = np.ascontiguousarray(tr.contacts.T)
        self.set_rel(rel_community)

    def set_rel(self, rel_community: np.ndarray) -> None:
        """``rel_community`` changed: recompute the parts that depend on it."""
        w = self.tr.coupling * rel_community[None, :]
        np.fill_diagonal(w, np.diag(self.tr.coupling))
        self.w = w
        self.rate = self.tr.beta * rel_community[:, None]

    def __call__(self, pressure: np.ndarray, alive: np.ndarray) -> np.ndarray:
        """Today's hazard, as :func:`community_hazard` (``alive`` already at least 1)."""
        prev = pressure / alive
        return self.rate * ((self.w @ prev) @ self.contacts_t)


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
