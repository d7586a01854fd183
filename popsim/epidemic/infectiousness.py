"""Front-loaded infectiousness: an infected resident most infectious at the start of the
infectious period, less each day after (a profile option, off by default).

With ``rel_infectiousness_daily = q`` (0 < q <= 1), day ``k`` (0, 1, ...) of a resident's
infectious period of ``D`` whole days has relative infectiousness ``q**k``, scaled so that
the ``D`` days add up to ``D``: ``w(k) = D q**k (1 - q) / (1 - q**D)``. A resident's total
infectiousness is then what it is with flat infectiousness (``q = 1``, ``w = 1``), so the
next-generation matrix and the calibration of ``beta`` to ``r0`` are unchanged; only when
the infections happen moves earlier, and with it the generation interval
(:func:`popsim.epidemic.households.generation_pmf`) and the growth rate a given ``r0``
implies. COVID-19's infectiousness peaks near symptom onset and falls over the following
week (He et al., Nat Med 2020;26:672; Ferretti et al., Science 2020;368:eabb6936, a
generation time of mean 5.0 days); the shipped profiles keep it flat (see
``docs/epidemic.md``: the ancestral profile's latent period alone is 4.5 days).

Community: the day's infectious pressure by cell is the sum of ``w`` over the infectious
residents (times the asymptomatic's relative infectiousness), instead of their count.
Household: the day a housemate is infected is drawn from ``w`` (inverse of its
distribution, the same counter-based uniform as the flat draw), instead of uniformly over
the period. Nothing else is drawn, so common random numbers hold as before.

Residents a forecast's warm start makes infectious (:mod:`popsim.epidemic.rescale`) are
not in the cohorts and add no pressure: the option is for scenarios from a seeding.
"""

from __future__ import annotations

import numpy as np


def day_weights(q: float, dur: np.ndarray, k: np.ndarray) -> np.ndarray:
    """``w(k)`` of day ``k`` of infectious periods of ``dur`` days (arrays of one shape;
    ``q = 1``: 1)."""
    dur = np.asarray(dur, dtype=np.float64)
    if q == 1.0:
        return np.ones_like(dur)
    return dur * q ** np.asarray(k, dtype=np.float64) * (1.0 - q) / (1.0 - q**dur)


def delay_days(q: float, u: np.ndarray, dur: np.ndarray) -> np.ndarray:
    """The day of the infectious period (0 .. ``dur`` - 1) on which an infection happens,
    from uniforms ``u``: the inverse of ``P(k' <= k) = (1 - q**(k+1)) / (1 - q**dur)``
    (``q = 1``: uniform, ``floor(u dur)``, the flat draw)."""
    dur = np.asarray(dur, dtype=np.int64)
    if q == 1.0:
        return (u * dur).astype(np.int64)
    k = np.floor(np.log1p(-u * (1.0 - q ** dur.astype(np.float64))) / np.log(q))
    return np.clip(k.astype(np.int64), 0, np.maximum(dur - 1, 0))


class FrontLoaded:
    """The infectious residents by the day their infectiousness began (cohorts), and the
    weighted pressure of a day (:meth:`pressure`)."""

    def __init__(self, q: float, n_cells: int) -> None:
        self.q = q
        self.n_cells = n_cells
        # (onset day, ids, infectious days, relative infectiousness)
        self.cohorts: list[tuple[int, np.ndarray, np.ndarray, np.ndarray]] = []

    def add(self, day: int, ids: np.ndarray, dur: np.ndarray, rel: np.ndarray) -> None:
        if len(ids):
            self.cohorts.append((day, ids, np.asarray(dur, np.int64), np.asarray(rel, float)))

    def pressure(
        self,
        day: int,
        state: np.ndarray,
        codes: tuple[int, ...],
        cell_of: np.ndarray,
    ) -> np.ndarray:
        """Pressure by cell on ``day``: ``w`` times the relative infectiousness, summed
        over the residents whose period covers the day and whose ``state`` is still one
        of the infectious ``codes`` (deaths and recoveries drop out); ``cell_of``:
        each resident's cell. Cohorts keep only those, so a day costs about the infectious
        residents."""
        total = np.zeros(self.n_cells)
        kept = []
        for onset, ids, dur, rel in self.cohorts:
            k = day - onset
            on = (k < dur) & np.isin(state[ids], codes)
            if not on.any():
                continue
            ids, dur, rel = ids[on], dur[on], rel[on]
            kept.append((onset, ids, dur, rel))
            w = rel * day_weights(self.q, dur, np.full(len(dur), k))
            total += np.bincount(cell_of[ids], weights=w, minlength=self.n_cells)
        self.cohorts = kept
        return total
