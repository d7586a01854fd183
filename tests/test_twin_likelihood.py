"""Count likelihoods: normalised, right in their limits, maximal at the true mean."""

from __future__ import annotations

import datetime as dt
import math

import numpy as np
import pandas as pd

from popsim.observed import Observed
from popsim.twin import likelihood as lk

START = dt.date(2026, 9, 1)


def targets_of(values, metric="admissions", every=7):
    rows = [
        {"date": START + dt.timedelta(days=i), "facility": "F1", metric: float(v)}
        for i, v in enumerate(values)
    ]
    obs = Observed(pd.DataFrame(rows))
    last = START + dt.timedelta(days=len(values) - 1)
    return lk.targets(obs, [metric], ["F1", "F2"], START, START, last, every)


def test_negative_binomial_and_poisson_sum_to_one_over_the_counts():
    # the support is cut at 400, where the tails of NB(12, 5) and Poisson(12) are < 1e-30
    y = np.arange(0, 400)
    for size in (5.0, math.inf):
        total = np.exp(lk.log_probs(y, np.full(len(y), 12.0), size)).sum()
        assert abs(total - 1) < 1e-9
    # and the negative binomial's variance is mu + mu^2 / size
    p = np.exp(lk.log_probs(y, np.full(len(y), 12.0), 5.0))
    mean = (p * y).sum()
    assert abs(mean - 12) < 1e-6 and abs((p * (y - mean) ** 2).sum() - (12 + 144 / 5)) < 1e-6


def test_large_size_is_the_poisson_and_replicates_agree_with_the_mean_form():
    t = targets_of([3, 0, 7, 12, 5])
    mu = np.array([4.0, 1.0, 6.0, 10.0, 5.0])
    assert abs(lk.log_likelihood(t, mu, 1e9) - lk.log_likelihood(t, mu, math.inf)) < 1e-5
    # one replicate: only the reporting noise; the same number as the mean form
    assert (
        abs(lk.replicate_log_likelihood(t, mu[None], 20.0) - lk.log_likelihood(t, mu, 20.0)) < 1e-9
    )


def test_replicate_spread_widens_the_likelihood():
    t = targets_of([30])
    tight = np.array([[10.0], [10.0], [10.0]])
    spread = np.array([[2.0], [10.0], [18.0]])  # same mean, process variance 64
    assert lk.replicate_log_likelihood(t, spread, 20.0) > lk.replicate_log_likelihood(
        t, tight, 20.0
    )


def test_census_is_thinned_flows_are_not():
    flows = targets_of(range(21), metric="admissions")
    census = targets_of(range(21), metric="ward_census", every=7)
    assert len(flows) == 21 and list(census.day) == [0, 7, 14]


def test_maximum_at_the_true_mean():
    rng = np.random.default_rng(3)
    y = rng.poisson(8.0, 2000)
    t = targets_of(y)
    grid = np.linspace(6, 10, 41)
    best = grid[np.argmax([lk.log_likelihood(t, np.full(len(y), m), math.inf) for m in grid])]
    assert abs(best - 8.0) < 4 * math.sqrt(8.0 / 2000) + 0.1


def test_regional_total_is_the_sum_over_sites():
    rows = [
        {"date": START, "facility": "all", "epidemic_admissions": 7.0},
        {"date": START, "facility": "F2", "epidemic_admissions": 3.0},
    ]
    t = lk.targets(
        Observed(pd.DataFrame(rows)), ["epidemic_admissions"], ["F1", "F2"], START, START, START, 7
    )
    fd = np.array([[[2.0, 9.0], [5.0, 9.0]]])  # (day, facility, metric)
    sim = lk.simulated_at(t, fd, ["epidemic_admissions", "other"])
    assert sorted(sim.tolist()) == [5.0, 7.0]  # F2 alone, and F1 + F2 for "all"
