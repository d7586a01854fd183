"""The twin's pages: what the fit page plots for the region."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd

from popsim.twin.observed import Observed
from popsim.twin.pages import _observed_series, forecast_sites

D = [dt.date(2026, 9, 1) + dt.timedelta(days=i) for i in range(3)]


def test_region_series_sums_sites_on_days_every_site_reported():
    window = pd.DataFrame(
        {
            "date": D + D,
            "facility": ["A"] * 3 + ["B"] * 3,
            "ward_census": [10.0, 11.0, 12.0, 5.0, np.nan, 7.0],
        }
    )
    days, values = _observed_series(window, "all", "ward_census", ["A", "B", "C"])
    assert days == [D[0], D[2]] and values.tolist() == [15.0, 19.0]  # day 2: B missing
    days, values = _observed_series(window, "B", "ward_census", ["A", "B", "C"])
    assert days == [D[0], D[2]] and values.tolist() == [5.0, 7.0]


def test_region_series_is_the_reported_total_when_there_is_one():
    window = pd.DataFrame(
        {"date": D + D, "facility": ["A"] * 3 + ["all"] * 3, "admissions": [1.0, 2, 3, 9, 8, 7]}
    )
    days, values = _observed_series(window, "all", "admissions", ["A", "B"])
    assert days == D and values.tolist() == [9.0, 8.0, 7.0]


def test_forecast_page_leaves_out_sites_at_zero_throughout():
    """A closed site (forecast and observed at zero) has no row on the page; a site
    forecast at zero but observed busy keeps its row."""
    forecast = pd.DataFrame(
        {
            "facility": ["A", "A", "B", "B", "C", "C"],
            "metric": ["ward_census"] * 6,
            "value": [3.0, 4.0, 0.0, 0.0, 0.0, 0.0],
        }
    )
    observed = Observed(
        pd.DataFrame(
            {
                "date": [dt.date(2026, 9, 1)] * 3,
                "facility": ["A", "B", "C"],
                "ward_census": [5, 0, 7],
            }
        )
    )
    assert forecast_sites(forecast, observed) == ["A", "C"]
