"""Rostering to a forecast: a census forecast in the twin's hub format, read once when a
run spec is resolved, turned into the census each ward and ICU is rostered to.

``[staffing] policy = "forecast"`` with ``forecast_file``, a ``forecast.parquet`` as
``popsim forecast`` writes it (:mod:`popsim.twin.forecast`: one row per as-of date,
target date, site, metric and quantile level; a path relative to the spec's folder).
Every 7 days (day 0, 7, ...) each ward and ICU roster is set to ``ceil(c /
patients_per_nurse)``, ``c`` the largest over the 7 days from that day of the forecast's
``forecast_quantile`` level of the unit's census (ward: ``ward_census`` plus
``alc_census``, the two quantiles added, which for levels above the median is at least
the quantile of the sum when the two move together; ICU: ``icu_census``), never more
than the pool can work at contract hours. Levels between the file's are interpolated
linearly; when several as-of dates forecast the same day the latest is used. A week the
file does not cover for a unit (a day of the 7 within the run missing), and every ED
(the forecast has no ED visits), fall back to the persistence forecast of ``policy =
"predicted"`` (the ``forecast_quantile`` of last week's bed demand). Either way the
roster never falls below the floor of :meth:`popsim.staffing.module.Staffing.floor` (the
funded beds' nurses; the file's roster while patients wait for beds): a census forecast
is capped by the beds the roster staffed, and without the floor would ratchet down.

The file is untrusted input: every problem (missing or unreadable file, a missing
column, a value of the wrong type, a negative or non-finite value, a quantile level
outside 0..1, an unknown site, a repeated row) is one line naming the file, the row and
the column; the spec is then refused (exit 2). At most :data:`MAX_PROBLEMS` lines are
listed, then how many more there were.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import numpy as np

#: Columns of the hub format this reads (``horizon`` is not needed).
NEEDED: tuple[str, ...] = ("as_of", "target_date", "facility", "metric", "quantile", "value")
#: The metrics of each staffed unit's census (the ED has none in a forecast).
UNIT_METRICS: dict[int, tuple[str, ...]] = {0: ("ward_census", "alc_census"), 1: ("icu_census",)}
#: Problems listed before the rest are counted.
MAX_PROBLEMS = 20
#: The region-wide rows of a forecast (not a site).
ALL_SITES = "all"


def read_forecast(
    path: Path, facility_ids: list[str], start: dt.date, days: int, level: float
) -> tuple[list[tuple[int, int, int, float]], list[str]]:
    """``(rows, problems)``: rows ``(facility index, unit, day, census at level)`` for the
    days of the run the file covers, or the problems found (each one line, without the
    file's name, which the caller adds), those of rows in row order."""
    import pandas as pd
    import pyarrow as pa
    import pyarrow.parquet as pq

    if not path.is_file():
        return [], ["no such file; expected a forecast.parquet written by popsim forecast"]
    try:
        table = pq.read_table(path)
    except (pa.ArrowException, OSError, ValueError) as err:
        return [], [f"not a readable Parquet file ({_short(err)})"]
    missing = [c for c in NEEDED if c not in table.column_names]
    if missing:
        return [], [f"missing column(s) {', '.join(missing)}; expected {', '.join(NEEDED)}"]
    try:
        df = table.select(list(NEEDED)).to_pandas()
    except (pa.ArrowException, ValueError) as err:
        return [], [f"columns cannot be read ({_short(err)})"]
    if len(df) == 0:
        return [], ["no rows; expected a forecast"]
    problems: list[str] = []
    bad = np.zeros(len(df), dtype=bool)
    raw = {c: df[c].tolist() for c in NEEDED}  # the values as read, for messages

    def check(mask: np.ndarray, column: str, expected: str) -> None:
        for i in np.flatnonzero(mask & ~bad):
            problems.append(
                f"row {i + 1}, column {column}: expected {expected}, got {_show(raw[column][i])}"
            )
        bad[:] |= mask

    for column in ("as_of", "target_date"):
        parsed = pd.to_datetime(df[column], errors="coerce")
        check(parsed.isna().to_numpy(), column, "a date")
        df[column] = parsed.dt.date
    for column in ("quantile", "value"):
        num = pd.to_numeric(df[column], errors="coerce").astype(float)
        check(~np.isfinite(num.to_numpy()), column, "a finite number")
        df[column] = num
    q = df["quantile"].to_numpy()
    check((q < 0) | (q > 1), "quantile", "a level in 0..1")
    check(df["value"].to_numpy() < 0, "value", "a census >= 0")
    fac = df["facility"].astype(str)
    known = set(facility_ids) | {ALL_SITES}
    check(~fac.isin(known).to_numpy(), "facility", "a site id of the region")
    df["metric"] = df["metric"].astype(str)
    keys = ["as_of", "target_date", "facility", "metric", "quantile"]
    check(
        df.duplicated(keys).to_numpy(),
        "quantile",
        "one row per as-of, target, site, metric, level (a repeat)",
    )
    if problems:
        return [], sorted(problems, key=lambda p: int(p.split(",")[0].split()[1]))
    wanted = {m for ms in UNIT_METRICS.values() for m in ms}
    df = df[df["metric"].isin(wanted) & (df["facility"] != ALL_SITES)]
    # the latest as-of date for each target date, site and metric
    latest = df.groupby(["target_date", "facility", "metric"])["as_of"].transform("max")
    df = df[df["as_of"] == latest].sort_values(["target_date", "facility", "metric", "quantile"])
    at_level: dict[tuple[str, str, dt.date], float] = {}
    for (target, site, metric), g in df.groupby(["target_date", "facility", "metric"], sort=False):
        levels, values = g["quantile"].to_numpy(), g["value"].to_numpy()
        at_level[site, metric, target] = float(
            np.interp(level, levels, np.maximum.accumulate(values))
        )
    rows: list[tuple[int, int, int, float]] = []
    index = {f: i for i, f in enumerate(facility_ids)}
    targets = sorted({t for _, _, t in at_level})
    for site in sorted({s for s, _, _ in at_level}):
        for unit, metrics in UNIT_METRICS.items():
            for target in targets:
                day = (target - start).days
                parts = [at_level.get((site, m, target)) for m in metrics]
                if 0 <= day < days and all(p is not None for p in parts):
                    rows.append((index[site], unit, day, float(sum(parts))))
    return rows, []


def plan_arrays(
    rows: list[tuple[int, int, int, float]], days: int
) -> dict[tuple[int, int], np.ndarray]:
    """Per ``(facility index, unit)``: the forecast census of each day of the run (NaN
    where the forecast has none)."""
    out: dict[tuple[int, int], np.ndarray] = {}
    for fac, unit, day, value in rows:
        series = out.setdefault((fac, unit), np.full(days, np.nan))
        series[day] = value
    return out


def week_census(series: np.ndarray | None, day: int) -> float | None:
    """The largest forecast census of the 7 days from ``day`` (within the run), or None
    when a day of them has no forecast."""
    if series is None:
        return None
    week = series[day : day + 7]
    if len(week) == 0 or np.isnan(week).any():
        return None
    return float(week.max())


def _short(err: Exception) -> str:
    text = " ".join(str(err).split())
    return text if len(text) <= 120 else text[:117] + "..."


def _show(value: object) -> str:
    shown = repr(value.item() if isinstance(value, np.generic) else value)
    return shown if len(shown) <= 40 else shown[:37] + "..."
