"""Forecasts people can read: a weekly table and a one-line summary.

- :func:`weekly_table`: per facility (the region's total, ``all``, first) and metric, the
  median and the 50% and 90% intervals on the last day of each forecast week (the as-of
  date plus 7, 14, ... days; a census on that day, a flow that day's count);
- :func:`summary_line`: "expected peak about N on DATE, 90% interval LO-HI" of the
  region's headline metric (the epidemic's census when observed, else the ward census).
"""

from __future__ import annotations

import pandas as pd

from popsim.twin.observed import ALL

#: Columns of the weekly table.
WEEKLY_COLUMNS = (
    "facility",
    "metric",
    "week",
    "date",
    "median",
    "low_50",
    "high_50",
    "low_90",
    "high_90",
)
_LEVELS = {0.5: "median", 0.25: "low_50", 0.75: "high_50", 0.05: "low_90", 0.95: "high_90"}


def _wide(forecast: pd.DataFrame) -> pd.DataFrame:
    f = forecast[forecast["quantile"].round(3).isin(list(_LEVELS))].copy()
    f["quantile"] = f["quantile"].round(3).map(_LEVELS)
    return f.pivot_table(
        index=["facility", "metric", "horizon", "target_date"],
        columns="quantile",
        values="value",
    ).reset_index()


def weekly_table(forecast: pd.DataFrame) -> pd.DataFrame:
    """The weekly table (see the module docstring), the region first, values rounded to
    whole patients."""
    wide = _wide(forecast)
    wide = wide[(wide["horizon"] > 0) & (wide["horizon"] % 7 == 0)].copy()
    wide["week"] = wide["horizon"] // 7
    wide["date"] = pd.to_datetime(wide["target_date"]).dt.date
    wide["order"] = (wide["facility"] != ALL).astype(int)
    wide = wide.sort_values(["order", "facility", "metric", "week"], kind="stable")
    out = wide[list(WEEKLY_COLUMNS)].reset_index(drop=True)
    for c in WEEKLY_COLUMNS[4:]:
        out[c] = out[c].round(0)
    return out


def headline_metric(forecast: pd.DataFrame) -> str:
    metrics = set(forecast["metric"])
    return "epidemic_census" if "epidemic_census" in metrics else "ward_census"


def summary_line(forecast: pd.DataFrame) -> str:
    """One line: the region's expected peak of the headline metric over the forecast."""
    metric = headline_metric(forecast)
    wide = _wide(forecast[(forecast["facility"] == ALL) & (forecast["metric"] == metric)])
    if wide.empty:
        return f"no forecast of the region's {metric}"
    wide = wide.sort_values("horizon")
    top = wide.loc[wide["median"].idxmax()]
    when = pd.to_datetime(top["target_date"]).date()
    as_of = pd.to_datetime(wide["target_date"].iloc[0]).date()
    shape = ""
    if when == as_of:
        shape = " (today: falling from here)"
    elif int(top["horizon"]) == int(wide["horizon"].max()):
        shape = " (the last day forecast: still rising)"
    return (
        f"region {metric}: expected peak about {top['median']:,.0f} on "
        f"{when:%Y-%m-%d}{shape}, 90% interval {top['low_90']:,.0f}-{top['high_90']:,.0f}"
    )
