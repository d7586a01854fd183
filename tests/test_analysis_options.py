"""The options, key-findings and diversion-shift tables, on hand-made per-replicate rows."""

import numpy as np
import pandas as pd
import pytest

from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.options import diversion_shifts, option_measures, options


def _rows(scenario, facility, values, days_over=(30, 30, 30), diversions=(0, 0, 0)):
    return pd.DataFrame(
        {
            "window": "all",
            "scenario": scenario,
            "replicate": [0, 1, 2],
            "facility": facility,
            "unit": "total",
            "days": 30,
            "ed_boarding_days": values,
            "days_over": days_over,
            "diversions": diversions,
        }
    )


def test_paired_changes_interval_and_share_better():
    rep = pd.concat(
        [
            _rows("base", ALL_SITES, [15, 15, 15]),
            _rows("a", ALL_SITES, [10, 20, 30]),  # changes -5, 5, 15
            _rows("b", ALL_SITES, [0, 0, 15]),  # changes -15, -15, 0
        ]
    )
    out = options(rep, "base").set_index("scenario")
    assert list(out.index) == ["base", "a", "b"]  # the comparator first
    assert out.loc["a", "ed_boarding_days"] == 20
    assert out.loc["a", "ed_boarding_days_change"] == 5
    assert out.loc["a", "ed_boarding_days_change_p5"] == pytest.approx(-5 + 0.1 * 10)
    assert out.loc["a", "ed_boarding_days_change_p95"] == pytest.approx(5 + 0.9 * 10)
    assert out.loc["a", "ed_boarding_days_better"] == pytest.approx(1 / 3)
    assert out.loc["b", "ed_boarding_days_better"] == pytest.approx(2 / 3)  # a tie is not better
    assert out.loc["base", "ed_boarding_days_change"] == 0


def test_days_over_only_where_it_discriminates():
    saturated = pd.concat([_rows("base", ALL_SITES, [1, 2, 3]), _rows("a", ALL_SITES, [1, 2, 3])])
    assert "days_over" not in [m for m, _ in option_measures(saturated)]
    assert "days_over" not in options(saturated, "base")
    varied = pd.concat(
        [_rows("base", ALL_SITES, [1, 2, 3]), _rows("a", ALL_SITES, [1, 2, 3], (20, 30, 30))]
    )
    assert "days_over_change" in options(varied, "base")


def test_diversion_shifts_name_the_sites_that_gain_and_lose():
    rep = pd.concat(
        [
            _rows("base", ALL_SITES, [0, 0, 0], diversions=(10, 10, 10)),
            _rows("base", "X", [0, 0, 0], diversions=(2, 2, 2)),
            _rows("base", "Y", [0, 0, 0], diversions=(8, 8, 8)),
            _rows("opt", ALL_SITES, [0, 0, 0], diversions=(12, 12, 12)),
            _rows("opt", "X", [0, 0, 0], diversions=(10, 9, 11)),
            _rows("opt", "Y", [0, 0, 0], diversions=(2, 3, 1)),
        ]
    )
    out = diversion_shifts(rep, "base").set_index("facility")
    assert out.loc[ALL_SITES, "change"] == 2
    assert out.loc["X", "change"] == 8 and out.loc["Y", "change"] == -6
    assert np.isclose(out.loc["X", "option"], 10)
