"""The likelihood of observed counts given simulated ones.

Each observed daily count ``y`` (site or region total, one metric, one day) is scored
against the simulated mean ``mu`` of the same series (the mean over a trial's
replicates) with a negative binomial of size ``k`` (variance ``mu + mu^2 / k``), or a
Poisson (``k = inf``). The negative binomial is the default: reported hospital counts
are overdispersed relative to Poisson (reporting noise, and the model's own
stochasticity when ``mu`` is a mean of few replicates). ``k = 20`` is an assumption (a
coefficient of variation of about 22% at large counts), not a fitted value.

Census is autocorrelated: today's census is mostly yesterday's patients, so daily
census values are far from independent and a product over days would count the same
information about seven times (the mean stay is about a week). Census metrics
(``*_census``, ``ed_boarding``) are therefore scored on every ``census_every_days``-th
day only (default 7, about one mean stay apart: nearly independent). This is the
documented approximation; it keeps the likelihood-ratio region of the accepted draws
from being about seven times too narrow.

Flows (admissions, visits) are scored as sums over blocks of ``flow_block_days`` days
(the calibration uses 7; 1 scores every day, as the forecast's conditioning does): the
observed days of each block of a series (site or region total, metric), counted from
the first day scored, summed, against the same days of the simulated series summed. A
block's reporting noise is the sum of its days' (independent, each of size ``k``):
size ``k`` times the days summed. The reason is the Monte Carlo error of the simulated
mean. A site's daily admissions are a few a day (about 3 on the synthetic region), and
the mean of a trial's few replicates misses such a mean by about ``1 / sqrt(replicates
* mu)`` (30% with 4 replicates). The likelihood is convex in that error (its score goes
as ``y / mu``): a day whose replicates came out low weighs more and finds the
observation above them, so a rate is pulled upward, by up to ``1 / (replicates * mu)``.
Measured on such counts (a scale parameter of Poisson daily counts of 2.1 to 3.5 a day,
357 days, reporting noise of size 50, 4 replicates with common random numbers, 300 data
sets): scored daily, a true 1.3 was estimated at 1.357 on average (+4.4%, standard
error 0.006); as weekly sums at 1.311 (+0.9%), with the spread of the estimates down
from 0.100 to 0.076. Weekly sums also make a trial's log-likelihood less noisy (fewer
scored values, each better estimated): on the twin tests' system (4 replicates a trial,
a grid of ``demand.rel_admissions`` x ``epidemic.r0``) the residual standard deviation
of a trial's log-likelihood around a smooth surface fell from 10.5 to 6.5, that of the
admissions term from 6.0 to 2.6. What is given up is the timing within a week (a
week's total is what a rate needs).

The replicates' variance enters twice: the observed series varies around the model's
expected value by the process variance, and the replicates' mean misses that expected
value by the process variance over the number of replicates; both are counted
(``var_replicates * (1 + 1 / replicates)``).
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass

import numpy as np
import pandas as pd

from popsim.twin.observed import ALL, Observed

#: Metrics that are a state (a count of patients present), not a daily flow.
CENSUS_METRICS = frozenset(
    {
        "ward_census",
        "icu_census",
        "alc_census",
        "ed_boarding",
        "epidemic_census",
        "ward_demand",
        "icu_demand",
        "ward_surge",
        "icu_surge",
        "icu_outside",
    }
)
#: Smallest simulated mean used (a zero mean would make any observed count impossible).
MU_FLOOR = 0.5


@dataclass(frozen=True)
class Targets:
    """The observed values a likelihood scores, as arrays aligned with simulated ones:
    ``day`` (index into the run), ``facility`` (index, -1 = all sites), ``metric`` (name
    index into ``metrics``) and ``y``; ``group``: the scored value each observation is
    summed into (a block of a flow's days, or the observation alone), ``0..n_groups-1``.
    """

    metrics: tuple[str, ...]
    day: np.ndarray
    facility: np.ndarray
    metric: np.ndarray
    y: np.ndarray
    group: np.ndarray
    n_groups: int

    def __len__(self) -> int:
        return len(self.y)

    def summed(self, values: np.ndarray) -> np.ndarray:
        """Values at the observations ``(..., n)`` summed by group: ``(..., n_groups)``."""
        values = np.asarray(values, dtype=float)
        flat = values.reshape(-1, values.shape[-1])
        out = np.stack([np.bincount(self.group, row, self.n_groups) for row in flat])
        return out.reshape(*values.shape[:-1], self.n_groups)

    @property
    def group_days(self) -> np.ndarray:
        """Observations summed in each group."""
        return np.bincount(self.group, minlength=self.n_groups)


def targets(
    observed: Observed,
    metrics: list[str],
    facility_ids: list[str],
    start: dt.date,
    first: dt.date,
    last: dt.date,
    census_every_days: int = 7,
    flow_block_days: int = 1,
) -> Targets:
    """The observations of ``metrics`` between ``first`` and ``last`` the likelihood uses:
    census every ``census_every_days``-th day, flows every day summed in blocks of
    ``flow_block_days`` days from ``first`` (see the module docstring)."""
    if census_every_days < 1 or flow_block_days < 1:
        raise ValueError("census_every_days and flow_block_days must be at least 1")
    frame = observed.between(first, last).long([m for m in metrics if m in observed.metrics])
    census = np.zeros(0, dtype=bool)
    since = np.zeros(0, dtype=np.int64)
    if len(frame):
        offset = np.array([(d - start).days for d in frame["date"]], dtype=np.int64)
        since = np.array([(d - first).days for d in frame["date"]], dtype=np.int64)
        census = frame["metric"].isin(CENSUS_METRICS).to_numpy()
        keep = ~census | (since % census_every_days == 0)
        frame = frame[keep].reset_index(drop=True)
        offset, since, census = offset[keep], since[keep], census[keep]
    else:
        offset = np.zeros(0, dtype=np.int64)
    fac_index = {f: i for i, f in enumerate(facility_ids)}
    fac = np.array([-1 if f == ALL else fac_index[f] for f in frame["facility"]], dtype=np.int64)
    names = tuple(metrics)
    met = np.array([names.index(m) for m in frame["metric"]], dtype=np.int64)
    y = frame["value"].to_numpy(dtype=float)
    # a census value alone; a flow with the other observed days of its block and series
    block = np.where(census, np.arange(len(y)) - len(y), since // flow_block_days)
    keys = np.stack([fac, met, block], axis=1)
    _, first_seen, group = np.unique(keys, axis=0, return_index=True, return_inverse=True)
    rank = np.empty(len(first_seen), dtype=np.int64)
    rank[np.argsort(first_seen)] = np.arange(len(first_seen))  # groups in order of the rows
    group = rank[group.reshape(-1)]
    return Targets(names, offset, fac, met, y, group, len(first_seen))


def simulated_at(t: Targets, facility_day: np.ndarray, metric_names: list[str]) -> np.ndarray:
    """The simulated values at the targets from ``(days, n_facilities, n_metrics)``
    (or ``(replicates, days, ...)``, giving ``(replicates, n_targets)``)."""
    cols = np.array([metric_names.index(m) for m in t.metrics], dtype=np.int64)
    fd = np.asarray(facility_day, dtype=float)
    total = fd.sum(axis=-2)  # (..., days, n_metrics)
    site = fd[..., t.day, np.maximum(t.facility, 0), cols[t.metric]]
    region = total[..., t.day, cols[t.metric]]
    return np.where(t.facility < 0, region, site)


_lgamma = np.vectorize(math.lgamma, otypes=[float])


def log_probs(y: np.ndarray, mu: np.ndarray, size: np.ndarray | float) -> np.ndarray:
    """Log probabilities of counts ``y`` under negative binomials of mean ``mu`` and
    ``size`` (elementwise; an infinite or very large size is the Poisson)."""
    y = np.asarray(y, dtype=float)
    mu = np.maximum(np.asarray(mu, dtype=float), MU_FLOOR)
    size = np.broadcast_to(np.asarray(size, dtype=float), y.shape)
    poisson = ~np.isfinite(size) | (size > 1e8)
    out = np.empty(len(y))
    m, yy = mu[poisson], y[poisson]
    out[poisson] = yy * np.log(m) - m - _lgamma(yy + 1)
    s, m, yy = size[~poisson], mu[~poisson], y[~poisson]
    out[~poisson] = (
        _lgamma(yy + s)
        - _lgamma(s)
        - _lgamma(yy + 1)
        + s * np.log(s / (s + m))
        + yy * np.log(m / (s + m))
    )
    return out


def log_likelihood(t: Targets, mu: np.ndarray, k: float = 20.0) -> float:
    """Sum of negative-binomial (size ``k`` a day; Poisson for ``k = inf``) log
    probabilities of ``t.y`` with means ``mu``, by group (a block's days summed, size
    ``k`` times its days). Given replicates, see :func:`replicate_log_likelihood`."""
    if len(t) == 0:
        return 0.0
    return float(log_probs(t.summed(t.y), t.summed(mu), k * t.group_days).sum())


def replicate_log_likelihood(t: Targets, sims: np.ndarray, k: float = 20.0) -> float:
    """The log-likelihood of ``t.y`` given ``(replicates, n)`` simulated values.

    The observed series is one realisation of the system, so around the model's expected
    value it varies by the model's own process variance (estimated by the replicates'
    variance) on top of the reporting noise, and the replicates' mean ``mu`` misses that
    expected value by the process variance over the number of replicates ``R``. Each
    scored value (by group: a block's days summed) is scored by a negative binomial with
    mean ``mu`` and variance ``mu + mu^2 / k_g + var_replicates * (1 + 1 / R)`` (``k_g``:
    ``k`` times the days summed; moment-matched size ``mu^2 / (var - mu)``); with one
    replicate, the reporting noise alone. Without the process variance the likelihood
    would be as sharp as if the observed series were the model's mean, and the accepted
    draws far too few.
    """
    sims = np.atleast_2d(np.asarray(sims, dtype=float))
    if len(t) == 0:
        return 0.0
    sims = t.summed(sims)
    n_rep = len(sims)
    mu = np.maximum(sims.mean(axis=0), MU_FLOOR)
    var_proc = np.zeros_like(mu)
    if n_rep > 1:  # around the model's mean, and the replicates' mean around it
        var_proc = sims.var(axis=0, ddof=1) * (1.0 + 1.0 / n_rep)
    noise = 0.0 if math.isinf(k) else mu**2 / (k * t.group_days)
    extra = noise + var_proc
    with np.errstate(divide="ignore"):
        size = np.where(extra > 1e-9, mu**2 / np.maximum(extra, 1e-9), np.inf)
    return float(log_probs(t.summed(t.y), mu, size).sum())


def frame_of(t: Targets, facility_ids: list[str], start: dt.date) -> pd.DataFrame:
    """The targets as a table (for pages and checks)."""
    return pd.DataFrame(
        {
            "date": [start + dt.timedelta(days=int(d)) for d in t.day],
            "facility": [ALL if f < 0 else facility_ids[f] for f in t.facility],
            "metric": [t.metrics[m] for m in t.metric],
            "value": t.y,
        }
    )
