"""The walkthrough's converter of a public provincial series (bench/twin_realdata.py):
weekly admission reports spread over the days they count."""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pandas as pd
import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "bench" / "twin_realdata.py"


@pytest.fixture(scope="module")
def realdata():
    spec = importlib.util.spec_from_file_location("twin_realdata", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_weekly_reports_are_spread_over_the_days_they_count(realdata, tmp_path):
    """Each report's count over the days since the previous report (a 14-day gap
    spreads over 14 days); the total within the range is kept; another province's
    and the census rows are ignored; days before the first report have none."""
    rows = [
        ("hosp_admissions", "AB", "2020-10-03", 0, 14),
        ("hosp_admissions", "AB", "2020-10-04", 0, 0),
        ("hosp_admissions", "AB", "2020-10-10", 0, 21),
        ("hosp_admissions", "AB", "2020-10-24", 0, 28),
        ("hosp_admissions", "ON", "2020-10-17", 0, 700),
        ("hospitalizations", "AB", "2020-10-17", 90, 5),
    ]
    src = tmp_path / "adm.csv"
    pd.DataFrame(rows, columns=["name", "region", "date", "value", "value_daily"]).to_csv(
        src, index=False
    )
    daily = realdata.weekly_spread(src, "AB", "2020-10-01", "2020-10-31")
    assert daily.index.min() == pd.Timestamp("2020-10-04")
    assert daily.index.max() == pd.Timestamp("2020-10-24")
    assert (daily[:"2020-10-10"] == 3.0).all() and len(daily[:"2020-10-10"]) == 7
    assert (daily["2020-10-11":] == 2.0).all() and len(daily["2020-10-11":]) == 14
    assert daily.sum() == pytest.approx(21 + 28)
    cut = realdata.weekly_spread(src, "AB", "2020-10-01", "2020-10-20")
    assert cut.sum() == pytest.approx(21 + 2.0 * 10)
