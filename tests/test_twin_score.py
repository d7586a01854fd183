"""Weighted interval score: hand-checked values, limiting cases, properness by simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
from hypothesis import given
from hypothesis import strategies as st

from popsim.twin.score import QUANTILES, coverage, quantiles_of, score_table, wis

NORMAL_Z = {  # standard normal quantiles at the hub levels (tables)
    0.025: -1.959964,
    0.05: -1.644854,
    0.1: -1.281552,
    0.15: -1.036433,
    0.2: -0.841621,
    0.25: -0.674490,
    0.3: -0.524401,
    0.35: -0.385320,
    0.4: -0.253347,
    0.45: -0.125661,
    0.5: 0.0,
}


def z(level: float) -> float:
    return NORMAL_Z[level] if level <= 0.5 else -NORMAL_Z[round(1 - level, 3)]


def test_one_interval_by_hand():
    # quantiles 0.25, 0.5, 0.75 = 1, 2, 3 and y = 5: IS_0.5 = 2 + 2/0.5 * 2 = 10,
    # WIS = (0.5 * |5 - 2| + 0.25 * 10) / 1.5 = 4 / 1.5
    assert np.isclose(wis(np.array([1.0, 2.0, 3.0]), 5.0, (0.25, 0.5, 0.75)), 4 / 1.5)
    # inside the interval: only the width and the median's error count
    assert np.isclose(wis(np.array([1.0, 2.0, 3.0]), 2.5, (0.25, 0.5, 0.75)), (0.25 + 0.5) / 1.5)


@given(st.floats(-1e3, 1e3), st.floats(-1e3, 1e3))
def test_point_forecast_scores_its_absolute_error(point, y):
    q = np.full(len(QUANTILES), point)
    assert np.isclose(wis(q, y), abs(y - point), rtol=1e-9, atol=1e-9)


@given(st.lists(st.floats(-100, 100), min_size=21, max_size=21), st.floats(-200, 200))
def test_wis_is_the_mean_quantile_score(values, y):
    # Bracher et al. 2021, section 2.3: with the quantile score
    # QS_tau(q, y) = 2 * (1{y <= q} - tau) * (q - y), the WIS over K intervals and the
    # median is sum_tau QS_tau / (2K + 1), every level weighted alike — a different
    # route to the same number as the interval form.
    q = np.sort(np.asarray(values))
    levels = np.asarray(QUANTILES)
    qs = 2 * ((y <= q).astype(float) - levels) * (q - y)
    assert np.isclose(wis(q, y), qs.sum() / (2 * 10 + 1), rtol=1e-9, atol=1e-9)


def test_true_distribution_scores_best_on_average():
    # properness: y ~ N(10, 3); the true quantiles beat shifted, too narrow and too wide ones
    rng = np.random.default_rng(5)
    y = rng.normal(10, 3, 40_000)
    zs = np.array([z(level) for level in QUANTILES])

    def mean_wis(mu, sd):
        return wis(np.broadcast_to(mu + sd * zs, (len(y), len(zs))), y).mean()

    best = mean_wis(10, 3)
    # the expected WIS of N(10, 3) is about 3 * 0.5642 (its CRPS) ~ 1.69; sample sd of the
    # mean about 1.3 / sqrt(n) < 0.01, far smaller than the gaps checked below
    assert 1.6 < best < 1.8
    for mu, sd in ((11, 3), (9, 3), (10, 2), (10, 4.5)):
        assert mean_wis(mu, sd) > best + 0.02


def test_coverage_of_true_quantiles_is_nominal():
    rng = np.random.default_rng(6)
    n = 20_000
    y = rng.normal(0, 1, n)
    q = np.broadcast_to(np.array([z(level) for level in QUANTILES]), (n, 21))
    for width in (0.5, 0.9):
        c = coverage(q, y, width).mean()
        assert abs(c - width) < 4 * np.sqrt(width * (1 - width) / n)


def test_weighted_quantiles_match_a_repeated_sample():
    rng = np.random.default_rng(2)
    s = rng.poisson(20, 200).astype(float)
    w = rng.integers(1, 4, 200)
    repeated = np.repeat(s, w)
    got = quantiles_of(s[:, None], w.astype(float))[0]
    want = np.quantile(repeated, QUANTILES)
    assert np.all(np.abs(got - want) <= 1.0)


def test_an_ensembles_interval_covers_a_new_draw_at_its_nominal_rate():
    """30 members and a 31st drawn alike: the 90% and 50% intervals from the members hold
    the new draw 90% and 50% of the time (the usual empirical quantiles: about 87% and
    48%), weighted (equal weights) or not; 20,000 trials, 4 standard errors."""
    rng = np.random.default_rng(7)
    trials, members = 20_000, 30
    draws = rng.gamma(2.0, 10.0, (members + 1, trials))
    ensemble, new = draws[:members], draws[members]
    for weights in (None, np.ones(members)):
        q = quantiles_of(ensemble, weights)  # (trials, levels)
        for width in (0.5, 0.9):
            c = coverage(q, new, width).mean()
            assert abs(c - width) < 4 * np.sqrt(width * (1 - width) / trials), (width, c)


def test_score_table_joins_forecast_and_truth():
    rows = [
        ("2026-10-01", "2026-10-08", 7, "F1", "ward_census", q, 10.0 + 10 * (q - 0.5))
        for q in QUANTILES
    ]
    fc = pd.DataFrame(
        rows, columns=["as_of", "target_date", "horizon", "facility", "metric", "quantile", "value"]
    )
    truth = pd.DataFrame(
        {
            "target_date": ["2026-10-08", "2026-10-09"],
            "facility": ["F1", "F1"],
            "metric": ["ward_census"] * 2,
            "value": [12.0, 3.0],
        }
    )
    s = score_table(fc, truth)
    assert len(s) == 1 and s["median"].iloc[0] == 10 and s["ae_median"].iloc[0] == 2
    assert s["cover_50"].iloc[0] == 1.0 and s["cover_90"].iloc[0] == 1.0
