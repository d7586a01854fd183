"""Capacity measures per scenario, window, site and unit, over replicates (DuckDB SQL).

Every "over capacity" figure follows :mod:`popsim.core.capacity`: a unit (ward with ALC,
or ICU) is over capacity on a day when its **bed demand** exceeds its beds, and
bed-days over is the excess summed. Its beds are the staffed beds, funded or surge
(``ward_staffed``, ``icu_staffed``) when the run has them, else the funded beds; the
funded beds are kept beside them (``funded``, ``funded_beds``). Bed demand comes from ``facility_day``'s
``ward_demand`` and ``icu_demand`` columns; a run written before those columns existed
uses ``ward_census + alc_census + ed_boarding`` (admitted patients waiting in the ED wait
for a ward bed) and ``icu_census`` instead, and the analysis says so
(:func:`demand_source`).

Units are ``ward``, ``icu`` and ``total`` (the site: over when its ward or its ICU is;
excess = ward excess + ICU excess); the pseudo-site ``All sites`` sums census, demand and
beds, and is over on a day when any site is (excess = the sites' excesses summed: beds
are never pooled). Where ``facility_day`` has an ``open`` column, a closed site's beds
count as 0 that day. A day is *open* for a unit when it has beds or demand.

Measures are computed per replicate within a *window* (a date range; ``all`` is the whole
run) and summarised by linear quantiles over replicates (numpy's default, DuckDB
``quantile_cont``). Beds needed (:func:`beds_needed`) uses
:func:`popsim.core.capacity.beds_needed_from_counts` on the pooled daily demand.
"""

from __future__ import annotations

from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd

from popsim.core import capacity as cap
from popsim.core.schema import FACILITY_DAY

ALL_SITES = "All sites"
ALL_WINDOW = "all"
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Per-replicate measures summarised by their median and 90% interval.
MEASURES: tuple[str, ...] = (
    "peak_census",
    "peak_demand",
    "mean_demand",
    "demand_p95",
    "mean_occupancy",
    "days_above_85",
    "days_above_95",
    "days_over",
    "p_over",
    "bed_days_over",
    "ed_boarding_days",
    "ed_boarding_per_day",
    "alc_bed_days",
    "admissions",
    "transfers_in",
    "transfers_out",
    "capacity_transfers",
    "diversions",
    "deaths",
    "ed_visits",
    "surge_bed_days",
    "icu_outside_days",
    "unserved",
    "epidemic_admissions",
)
#: Site counts summed per window (unit ``total`` only): name -> facility_day columns added.
FLOWS: dict[str, tuple[str, ...]] = {
    "ed_boarding_days": ("ed_boarding",),
    "alc_bed_days": ("alc_census",),
    "admissions": ("admissions",),
    "transfers_in": ("transfers_in",),
    "transfers_out": ("transfers_out",),
    "capacity_transfers": ("capacity_transfers",),
    "diversions": ("diversions",),
    "deaths": ("deaths",),
    "ed_visits": ("ed_visits",),
    "surge_bed_days": ("ward_surge", "icu_surge"),
    "icu_outside_days": ("icu_outside",),
    "unserved": ("unserved",),
    "epidemic_admissions": ("epidemic_admissions",),
}
DEMAND_COLUMNS = ("ward_demand", "icu_demand")
#: Staffed beds of each unit (the beds, funded or surge, the day's nurses staffed): with them in
#: ``facility_day`` a unit's capacity (``beds``) is its staffed beds, and its funded beds
#: are shown beside them (``funded``); without them capacity is the funded beds.
STAFFED_COLUMNS = ("ward_staffed", "icu_staffed")


@dataclass(frozen=True)
class Window:
    """A named date range (inclusive); ``None`` ends mean the run's first or last day."""

    name: str
    first: str | None = None
    last: str | None = None

    def where(self) -> str:
        parts = ["true"]
        if self.first:
            parts.append(f"date >= DATE '{self.first}'")
        if self.last:
            parts.append(f"date <= DATE '{self.last}'")
        return " AND ".join(parts)


def columns(con: duckdb.DuckDBPyConnection, view: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}


def demand_source(con: duckdb.DuckDBPyConnection) -> str:
    """Where bed demand comes from in this run (stated in the report)."""
    if set(DEMAND_COLUMNS) <= columns(con, FACILITY_DAY):
        return f"{FACILITY_DAY} ward_demand and icu_demand (bed demand recorded by the model)"
    return (
        "ward census + ALC + ED boarding, and ICU census (this run has no ward_demand / "
        "icu_demand columns; critical-care patients held outside an ICU are not counted)"
    )


def _sql_str(text: str) -> str:
    return "'" + text.replace("'", "''") + "'"


def create_unit_census(con: duckdb.DuckDBPyConnection) -> None:
    """Materialise ``fd_base`` (one row per site-day) and ``unit_census`` (one row per
    scenario, replicate, day, site and unit: census, demand, beds, excess, over)."""
    have = columns(con, FACILITY_DAY)
    alc = " + alc_census" if "alc_census" in have else ""
    board = "ed_boarding" if "ed_boarding" in have else "0"
    is_open = "(open > 0)" if "open" in have else "true"
    staffed = set(STAFFED_COLUMNS) <= have
    ward_cap = "ward_staffed" if staffed else "ward_beds"
    icu_cap = "icu_staffed" if staffed else "icu_beds"
    if set(DEMAND_COLUMNS) <= have:
        ward_demand, icu_demand = "ward_demand", "icu_demand"
    else:
        ward_demand, icu_demand = f"ward_census{alc} + {board}", "icu_census"
    flows = ",\n".join(
        f"CAST({' + '.join(cols)} AS BIGINT) AS {name}"
        if set(cols) <= have
        else f"CAST(NULL AS BIGINT) AS {name}"
        for name, cols in FLOWS.items()
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fd_base AS
        SELECT CAST(scenario AS VARCHAR) AS scenario, CAST(replicate AS INTEGER) AS replicate,
               CAST(day AS INTEGER) AS day, CAST(date AS DATE) AS date,
               CAST(facility AS VARCHAR) AS facility,
               CAST(ward_census{alc} AS INTEGER) AS ward_census,
               CAST({ward_demand} AS INTEGER) AS ward_demand,
               CAST(CASE WHEN {is_open} THEN {ward_cap} ELSE 0 END AS INTEGER) AS ward_beds,
               CAST(CASE WHEN {is_open} THEN ward_beds ELSE 0 END AS INTEGER) AS ward_funded,
               CAST(icu_census AS INTEGER) AS icu_census,
               CAST({icu_demand} AS INTEGER) AS icu_demand,
               CAST(CASE WHEN {is_open} THEN {icu_cap} ELSE 0 END AS INTEGER) AS icu_beds,
               CAST(CASE WHEN {is_open} THEN icu_beds ELSE 0 END AS INTEGER) AS icu_funded,
               CAST({board} AS INTEGER) AS boarding,
               {flows}
        FROM {FACILITY_DAY}
        """
    )
    ex_w = cap.sql_excess("ward_demand", "ward_beds")
    ex_i = cap.sql_excess("icu_demand", "icu_beds")
    ov_w = cap.sql_is_over("ward_demand", "ward_beds")
    ov_i = cap.sql_is_over("icu_demand", "icu_beds")
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE unit_census AS
        WITH s AS (
            SELECT scenario, replicate, day, date, facility, 'ward' AS unit,
                   ward_census AS census, ward_demand AS demand, ward_beds AS beds,
                   ward_funded AS funded, {ex_w} AS excess, {ov_w} AS over, boarding
            FROM fd_base
            UNION ALL
            SELECT scenario, replicate, day, date, facility, 'icu', icu_census, icu_demand,
                   icu_beds, icu_funded, {ex_i}, {ov_i}, NULL FROM fd_base
            UNION ALL
            SELECT scenario, replicate, day, date, facility, 'total', ward_census + icu_census,
                   ward_demand + icu_demand, ward_beds + icu_beds, ward_funded + icu_funded,
                   {ex_w} + {ex_i}, {ov_w} OR {ov_i}, boarding FROM fd_base
        )
        SELECT * FROM s
        UNION ALL
        SELECT scenario, replicate, day, min(date), '{ALL_SITES}', unit, sum(census),
               sum(demand), sum(beds), sum(funded), sum(excess), bool_or(over), sum(boarding)
        FROM s GROUP BY scenario, replicate, day, unit
        """
    )


def run_dates(con: duckdb.DuckDBPyConnection) -> tuple[str | None, str | None]:
    """First and last date in the data (ISO strings), or ``(None, None)``."""
    lo, hi = con.execute("SELECT min(date), max(date) FROM fd_base").fetchone()
    return (None if lo is None else str(lo)), (None if hi is None else str(hi))


def census_daily(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Census, bed demand and ED boarding quantiles over replicates per site, unit, day."""
    qs = ", ".join(str(q) for q in QUANTILES)
    df = con.execute(
        f"""
        SELECT scenario, facility, unit, day, min(date) AS date,
               median(beds) AS beds,
               quantile_cont(census, [{qs}]) AS qc, quantile_cont(demand, [{qs}]) AS qd,
               quantile_cont(boarding, [0.05, 0.5, 0.95]) AS qb,
               avg(census) AS census_mean, avg(demand) AS demand_mean,
               avg(CAST(over AS DOUBLE)) AS p_over, count(*) AS n_replicates
        FROM unit_census GROUP BY ALL ORDER BY scenario, facility, unit, day
        """
    ).df()
    pcts = [round(q * 100) for q in QUANTILES]
    df = _split_quantiles(df, "qc", [f"census_p{p}" for p in pcts])
    df = _split_quantiles(df, "qd", [f"demand_p{p}" for p in pcts])
    return _split_quantiles(df, "qb", ["boarding_p5", "boarding_p50", "boarding_p95"])


def _site_rep(con: duckdb.DuckDBPyConnection, group: str, where: str) -> pd.DataFrame:
    """Per-replicate measures per site and unit, rows grouped by the SQL ``group``."""
    flow_sums = ", ".join(f"sum({n}) AS {n}" for n in FLOWS)
    return con.execute(
        f"""
        WITH m AS (
            SELECT {group} AS "window", scenario, replicate, facility, unit,
                   count(*) AS days,
                   count(*) FILTER (beds > 0 OR demand > 0) AS open_days,
                   median(funded) FILTER (beds > 0 OR demand > 0) AS funded_beds,
                   median(beds) FILTER (beds > 0 OR demand > 0) AS staffed_beds,
                   max(census) AS peak_census, max(demand) AS peak_demand,
                   avg(demand) FILTER (beds > 0 OR demand > 0) AS mean_demand,
                   quantile_cont(demand, 0.95) FILTER (beds > 0 OR demand > 0) AS demand_p95,
                   sum(census) / nullif(sum(beds), 0) AS mean_occupancy,
                   count(*) FILTER (demand > 0.85 * beds AND demand > 0) AS days_above_85,
                   count(*) FILTER (demand > 0.95 * beds AND demand > 0) AS days_above_95,
                   count(*) FILTER (over) AS days_over,
                   sum(excess) AS bed_days_over
            FROM unit_census WHERE {where} GROUP BY ALL
        ),
        f0 AS (
            SELECT {group} AS "window", scenario, replicate, facility, {flow_sums}
            FROM fd_base WHERE {where} GROUP BY ALL
        ),
        f AS (
            SELECT * FROM f0
            UNION ALL
            SELECT "window", scenario, replicate, '{ALL_SITES}', {flow_sums}
            FROM f0 GROUP BY "window", scenario, replicate
        )
        SELECT m."window", m.scenario, m.replicate, m.facility, m.unit, m.days, m.open_days,
               m.funded_beds, m.staffed_beds, m.peak_census, m.peak_demand, m.mean_demand, m.demand_p95,
               m.mean_occupancy, m.days_above_85, m.days_above_95, m.days_over,
               m.days_over / nullif(m.open_days, 0) AS p_over, m.bed_days_over,
               f.ed_boarding_days / m.days AS ed_boarding_per_day,
               f.* EXCLUDE ("window", scenario, replicate, facility)
        FROM m LEFT JOIN f
          ON m.unit = 'total' AND f."window" = m."window" AND f.scenario = m.scenario
             AND f.replicate = m.replicate AND f.facility = m.facility
        ORDER BY m."window", m.scenario, m.facility, m.unit, m.replicate
        """
    ).df()


def site_replicate(con: duckdb.DuckDBPyConnection, windows: list[Window]) -> pd.DataFrame:
    """Each per-replicate measure for each window, scenario, replicate, site and unit."""
    frames = [_site_rep(con, _sql_str(w.name), w.where()) for w in windows]
    return pd.concat(frames, ignore_index=True) if frames else pd.DataFrame()


def site_replicate_monthly(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """The per-replicate measures by calendar month (``window`` is ``YYYY-MM``)."""
    return _site_rep(con, "strftime(date, '%Y-%m')", "date IS NOT NULL")


def capacity_summary(site_rep: pd.DataFrame) -> pd.DataFrame:
    """Median, mean and 90% interval over replicates of each measure."""
    keys = ["window", "scenario", "facility", "unit"]
    if site_rep.empty:
        return pd.DataFrame(columns=keys)
    g = site_rep.groupby(keys, sort=True, dropna=False)
    out = g.agg(
        n_replicates=("replicate", "size"),
        days=("days", "median"),
        funded_beds=("funded_beds", "median"),
        staffed_beds=("staffed_beds", "median"),
        open_days=("open_days", "median"),
    )
    cols = {}
    for m in MEASURES:
        v = g[m]
        cols[f"{m}_p5"] = v.quantile(0.05)
        cols[f"{m}_p50"] = v.quantile(0.5)
        cols[f"{m}_p95"] = v.quantile(0.95)
        cols[f"{m}_mean"] = v.mean()
    out = pd.concat([out, pd.DataFrame(cols)], axis=1).reset_index()
    return out


def beds_needed(con: duckdb.DuckDBPyConnection, windows: list[Window]) -> pd.DataFrame:
    """Funded beds for at most 5% (1%) of days over capacity, per window, site and unit.

    From the histogram of daily bed demand on open days: pooled over replicates
    (``beds_needed_5``) and per replicate (``beds_needed_5_rep_p5/p50/p95``). The site
    (``total``) needs its ward's plus its ICU's beds; ``All sites`` the sum over sites.
    """
    frames = []
    for w in windows:
        frames.append(
            con.execute(
                f"""
                SELECT {_sql_str(w.name)} AS "window", scenario, replicate, facility, unit,
                       demand, count(*) AS n, median(funded) AS beds,
                       median(beds) AS staffed
                FROM unit_census
                WHERE {w.where()} AND (funded > 0 OR demand > 0) AND unit != 'total'
                  AND facility != '{ALL_SITES}'
                GROUP BY ALL
                """
            ).df()
        )
    hist = pd.concat(frames, ignore_index=True)
    keys = ["window", "scenario", "facility", "unit"]
    rows = []
    for key, h in hist.groupby(keys, sort=True):
        row = dict(zip(keys, key, strict=True))
        pooled = h.groupby("demand")["n"].sum()
        row["open_site_days"] = int(pooled.sum())
        beds = np.repeat(h["beds"].to_numpy(), h["n"].to_numpy())
        row["funded_beds"] = float(np.median(beds))
        row["staffed_beds"] = float(np.median(np.repeat(h["staffed"].to_numpy(), h["n"])))
        row["max_demand"] = int(pooled.index.max())
        for level in cap.LEVELS_PCT:
            need = cap.beds_needed_from_counts(pooled.index, pooled.to_numpy(), level)
            row[f"beds_needed_{level}"] = np.nan if need is None else need
            per = [
                cap.beds_needed_from_counts(r["demand"], r["n"], level)
                for _, r in h.groupby("replicate")
            ]
            per_v = np.array([np.nan if p is None else p for p in per], dtype=float)
            for q in (5, 50, 95):
                name = f"beds_needed_{level}_rep_p{q}"
                ok = per_v[~np.isnan(per_v)]
                row[name] = float(np.quantile(ok, q / 100)) if ok.size else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    need_cols = [c for c in out.columns if c.startswith("beds_needed_")]
    sums = ["open_site_days", "funded_beds", "staffed_beds", "max_demand", *need_cols]
    site = out.groupby(["window", "scenario", "facility"], as_index=False)[sums].sum(min_count=1)
    site["unit"] = "total"
    site["open_site_days"] = (
        out.groupby(["window", "scenario", "facility"])["open_site_days"].max().to_numpy()
    )
    region = out.groupby(["window", "scenario", "unit"], as_index=False)[sums].sum(min_count=1)
    region["facility"] = ALL_SITES
    both = pd.concat([out, site], ignore_index=True)
    region_total = (
        both[both["unit"] == "total"]
        .groupby(["window", "scenario"], as_index=False)[sums]
        .sum(min_count=1)
    )
    region_total["facility"], region_total["unit"] = ALL_SITES, "total"
    out = pd.concat([both, region, region_total], ignore_index=True)
    for level in cap.LEVELS_PCT:
        out[f"extra_beds_{level}"] = out[f"beds_needed_{level}"] - out["funded_beds"]
    return out.sort_values(keys).reset_index(drop=True)


def occupancy_weekly(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Median over replicates of each week's occupancy (census / funded beds) and bed
    demand ratio (demand / funded beds), by site."""
    df = con.execute(
        """
        WITH w AS (
            SELECT scenario, replicate, facility, unit, day // 7 AS week, min(date) AS week_start,
                   sum(census) / nullif(sum(beds), 0) AS occupancy,
                   sum(demand) / nullif(sum(beds), 0) AS demand_ratio
            FROM unit_census GROUP BY ALL
        )
        SELECT scenario, facility, unit, week, min(week_start) AS week_start,
               quantile_cont(occupancy, [0.05, 0.5, 0.95]) AS q,
               quantile_cont(demand_ratio, [0.05, 0.5, 0.95]) AS qd
        FROM w GROUP BY ALL ORDER BY scenario, facility, unit, week
        """
    ).df()
    df = _split_quantiles(df, "q", ["occupancy_p5", "occupancy_p50", "occupancy_p95"])
    return _split_quantiles(df, "qd", ["demand_ratio_p5", "demand_ratio_p50", "demand_ratio_p95"])


def _split_quantiles(df: pd.DataFrame, col: str, names: list[str]) -> pd.DataFrame:
    """Replace a list-valued column by one column per quantile."""
    values = df.pop(col)
    for i, name in enumerate(names):
        df[name] = [v[i] if isinstance(v, (list, tuple, np.ndarray)) else None for v in values]
        df[name] = pd.to_numeric(df[name], errors="coerce")
    return df


def add_nurses_needed(beds: pd.DataFrame, staffing: pd.DataFrame | None) -> pd.DataFrame:
    """Beds needed, and the nurses to staff them: per site, ward and ICU, the nurses a
    shift needs for the beds needed at each level, ``ceil(beds / patients_per_nurse)``,
    and the nurses a shift has in the region's staffing file (``file_nurses_per_shift``,
    before any scenario's roster change); a
    site's ``total`` and ``All sites`` add them up. ``staffing``: the region's
    ``staffing.csv`` (None: the columns are left out)."""
    if staffing is None or beds.empty:
        return beds
    ratio = staffing[["facility_id", "unit", "patients_per_nurse", "nurses_per_shift"]].copy()
    ratio = ratio.rename(columns={"nurses_per_shift": "file_nurses_per_shift"})
    ratio["facility"] = ratio["facility_id"].astype(str)
    ratio = ratio.drop(columns="facility_id")
    units = beds[(beds["facility"] != ALL_SITES) & beds["unit"].isin(["ward", "icu"])]
    units = units.merge(ratio, on=["facility", "unit"], how="left")
    cols = ["file_nurses_per_shift"]
    for level in cap.LEVELS_PCT:
        name = f"nurses_needed_{level}"
        units[name] = np.ceil(units[f"beds_needed_{level}"] / units["patients_per_nurse"] - 1e-9)
        cols.append(name)
    keys = ["window", "scenario"]
    site = units.groupby([*keys, "facility"], as_index=False)[cols].sum(min_count=1)
    site["unit"] = "total"
    region = units.groupby([*keys, "unit"], as_index=False)[cols].sum(min_count=1)
    region["facility"] = ALL_SITES
    whole = units.groupby(keys, as_index=False)[cols].sum(min_count=1)
    whole["facility"], whole["unit"] = ALL_SITES, "total"
    nurses = pd.concat(
        [units[[*keys, "facility", "unit", "patients_per_nurse", *cols]], site, region, whole],
        ignore_index=True,
    )
    return beds.merge(nurses, on=[*keys, "facility", "unit"], how="left")
