"""Capacity measures per scenario, site and unit, over replicates (DuckDB SQL).

Units are ``ward``, ``icu`` and ``total`` (ward + ICU); the pseudo-site ``All sites``
sums every site. The ward census counts ALC patients too (``ward_census + alc_census``):
a patient waiting for long-term care holds an acute ward bed. Where ``facility_day`` has
an ``open`` column, a closed site's beds count as 0 that day. Definitions (``c`` census,
``b`` funded beds on a day):

- a day is *open* when ``b > 0`` or ``c > 0`` (a planned site before it opens is not);
- *over capacity* when ``c > b``; *above 85%* when ``c > 0.85 b`` (likewise 95%);
- ``p_over`` = over-capacity days / open days, per replicate;
- ``mean_occupancy`` = sum of census / sum of funded beds over the run;
- ``bed_days_over`` = sum of ``max(c - b, 0)``; ``site_bed_days_over`` is the same for a
  site and, for ``All sites``, the sum over sites (pooling beds would hide local crowding);
- quantiles over replicates are linear (numpy's default, DuckDB ``quantile_cont``);
- beds needed at level ``a`` (5% or 1%): the smallest whole number of beds ``B`` such that
  ``c > B`` on at most ``floor(a N)`` of the ``N`` open site-days pooled over replicates,
  i.e. the ``(N - floor(a N))``-th smallest census; also per replicate, summarised.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd

ALL_SITES = "All sites"
QUANTILES: tuple[float, ...] = (0.05, 0.25, 0.5, 0.75, 0.95)
#: Per-replicate measures summarised by their median and 90% interval.
MEASURES: tuple[str, ...] = (
    "peak_census",
    "mean_occupancy",
    "days_above_85",
    "days_above_95",
    "days_above_100",
    "p_over",
    "bed_days_over",
    "site_bed_days_over",
    "ed_boarding_days",
    "alc_bed_days",
    "admissions",
    "transfers_in",
    "transfers_out",
    "diversions",
    "deaths",
    "ed_visits",
)
#: facility_day counts summed over the run per site (unit ``total`` only).
FLOWS: dict[str, str] = {
    "ed_boarding_days": "ed_boarding",
    "alc_bed_days": "alc_census",
    "admissions": "admissions",
    "transfers_in": "transfers_in",
    "transfers_out": "transfers_out",
    "diversions": "diversions",
    "deaths": "deaths",
    "ed_visits": "ed_visits",
}


def columns(con: duckdb.DuckDBPyConnection, view: str) -> set[str]:
    return {row[0] for row in con.execute(f"DESCRIBE {view}").fetchall()}


def create_unit_census(con: duckdb.DuckDBPyConnection) -> None:
    """Materialise ``unit_census``: one row per scenario, replicate, day, site, unit."""
    have = columns(con, "facility_day")
    alc = " + alc_census" if "alc_census" in have else ""
    is_open = "(open > 0)" if "open" in have else "true"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE fd_base AS
        SELECT CAST(scenario AS VARCHAR) AS scenario, CAST(replicate AS INTEGER) AS replicate,
               CAST(day AS INTEGER) AS day, CAST(date AS DATE) AS date,
               CAST(facility AS VARCHAR) AS facility,
               CAST(ward_census{alc} AS INTEGER) AS ward_census,
               CAST(CASE WHEN {is_open} THEN ward_beds ELSE 0 END AS INTEGER) AS ward_beds,
               CAST(icu_census AS INTEGER) AS icu_census,
               CAST(CASE WHEN {is_open} THEN icu_beds ELSE 0 END AS INTEGER) AS icu_beds
        FROM facility_day
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE unit_census AS
        WITH site AS (
            SELECT * FROM fd_base
            UNION ALL
            SELECT scenario, replicate, day, min(date), '{ALL_SITES}', sum(ward_census),
                   sum(ward_beds), sum(icu_census), sum(icu_beds)
            FROM fd_base GROUP BY scenario, replicate, day
        )
        SELECT scenario, replicate, day, date, facility, 'ward' AS unit,
               ward_census AS census, ward_beds AS beds FROM site
        UNION ALL
        SELECT scenario, replicate, day, date, facility, 'icu', icu_census, icu_beds FROM site
        UNION ALL
        SELECT scenario, replicate, day, date, facility, 'total', ward_census + icu_census,
               ward_beds + icu_beds FROM site
        """
    )


def census_daily(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Census quantiles over replicates for each scenario, site, unit and day."""
    qs = ", ".join(str(q) for q in QUANTILES)
    df = con.execute(
        f"""
        SELECT scenario, facility, unit, day, min(date) AS date,
               median(beds) AS beds, quantile_cont(census, [{qs}]) AS q,
               avg(census) AS mean, avg(CAST(census > beds AS DOUBLE)) AS p_over,
               count(*) AS n_replicates
        FROM unit_census GROUP BY ALL ORDER BY scenario, facility, unit, day
        """
    ).df()
    return _split_quantiles(df, "q", [f"p{round(q * 100)}" for q in QUANTILES])


def site_replicate(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Each per-replicate measure for each scenario, replicate, site and unit."""
    have = columns(con, "facility_day")
    flows = ",\n".join(
        f"sum(CAST({col} AS BIGINT)) AS {name}"
        if col in have
        else f"CAST(NULL AS BIGINT) AS {name}"
        for name, col in FLOWS.items()
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE site_flows AS
        WITH f AS (
            SELECT CAST(scenario AS VARCHAR) AS scenario, CAST(replicate AS INTEGER) AS replicate,
                   CAST(facility AS VARCHAR) AS facility, {flows}
            FROM facility_day GROUP BY ALL
        )
        SELECT * FROM f
        UNION ALL
        SELECT scenario, replicate, '{ALL_SITES}', {", ".join(f"sum({n})" for n in FLOWS)}
        FROM f GROUP BY scenario, replicate
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE site_rep AS
        WITH m AS (
            SELECT scenario, replicate, facility, unit,
                   count(*) FILTER (beds > 0 OR census > 0) AS open_days,
                   max(census) AS peak_census,
                   sum(census) / nullif(sum(beds), 0) AS mean_occupancy,
                   count(*) FILTER (census > 0.85 * beds) AS days_above_85,
                   count(*) FILTER (census > 0.95 * beds) AS days_above_95,
                   count(*) FILTER (census > beds) AS days_above_100,
                   sum(greatest(census - beds, 0)) AS bed_days_over,
                   median(beds) FILTER (beds > 0 OR census > 0) AS funded_beds
            FROM unit_census GROUP BY ALL
        )
        SELECT m.scenario, m.replicate, m.facility, m.unit, m.open_days, m.funded_beds,
               m.peak_census, m.mean_occupancy, m.days_above_85, m.days_above_95,
               m.days_above_100, m.days_above_100 / nullif(m.open_days, 0) AS p_over,
               m.bed_days_over,
               CASE WHEN m.facility = '{ALL_SITES}' THEN
                   sum(m.bed_days_over) FILTER (m.facility != '{ALL_SITES}')
                       OVER (PARTITION BY m.scenario, m.replicate, m.unit)
                   ELSE m.bed_days_over END AS site_bed_days_over,
               f.* EXCLUDE (scenario, replicate, facility)
        FROM m LEFT JOIN site_flows f
          ON m.unit = 'total' AND f.scenario = m.scenario AND f.replicate = m.replicate
             AND f.facility = m.facility
        ORDER BY m.scenario, m.facility, m.unit, m.replicate
        """
    )
    return con.execute("SELECT * FROM site_rep").df()


def capacity_summary(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Median and 90% interval over replicates of each measure (needs ``site_rep``)."""
    parts = []
    for m in MEASURES:
        parts.append(f"quantile_cont({m}, [0.05, 0.5, 0.95]) AS {m}__q")
        parts.append(f"avg({m}) AS {m}_mean")
    df = con.execute(
        f"""
        SELECT scenario, facility, unit, count(*) AS n_replicates,
               median(funded_beds) AS funded_beds, median(open_days) AS open_days,
               {", ".join(parts)}
        FROM site_rep GROUP BY ALL ORDER BY scenario, facility, unit
        """
    ).df()
    for m in MEASURES:
        df = _split_quantiles(df, f"{m}__q", [f"{m}_p5", f"{m}_p50", f"{m}_p95"])
    return df


def beds_needed(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Funded beds for at most 5% (1%) over-capacity days, pooled and per replicate.

    The ``k``-th smallest census is found from counts of each census value (a running sum
    over distinct values is much cheaper than sorting every site-day).
    """

    def kth(keys: str) -> str:
        return f"""
        WITH h AS (
            SELECT {keys}, census, count(*) AS c FROM unit_census
            WHERE beds > 0 OR census > 0 GROUP BY ALL
        ),
        r AS (
            SELECT *, sum(c) OVER (PARTITION BY {keys} ORDER BY census
                                   ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW) AS cum,
                   sum(c) OVER (PARTITION BY {keys}) AS n
            FROM h
        )
        SELECT {keys}, max(n) AS n,
               min(census) FILTER (cum >= n - (n * 5) // 100) AS b5,
               min(census) FILTER (cum >= n - n // 100) AS b1
        FROM r GROUP BY ALL
        """

    keys = "scenario, facility, unit"
    pooled = con.execute(
        f"""
        WITH k AS ({kth(keys)}),
        f AS (
            SELECT {keys}, median(beds) AS funded_beds FROM unit_census
            WHERE beds > 0 OR census > 0 GROUP BY ALL
        )
        SELECT k.scenario, k.facility, k.unit, CAST(k.n AS BIGINT) AS open_site_days,
               f.funded_beds, k.b5 AS beds_needed_5, k.b1 AS beds_needed_1
        FROM k JOIN f USING ({keys})
        """
    ).df()
    per_rep = con.execute(
        f"""
        WITH r AS ({kth("scenario, replicate, facility, unit")})
        SELECT {keys},
               quantile_cont(b5, [0.05, 0.5, 0.95]) AS b5q,
               quantile_cont(b1, [0.05, 0.5, 0.95]) AS b1q
        FROM r GROUP BY ALL
        """
    ).df()
    per_rep = _split_quantiles(
        per_rep, "b5q", ["beds_needed_5_rep_p5", "beds_needed_5_rep_p50", "beds_needed_5_rep_p95"]
    )
    per_rep = _split_quantiles(
        per_rep, "b1q", ["beds_needed_1_rep_p5", "beds_needed_1_rep_p50", "beds_needed_1_rep_p95"]
    )
    out = pooled.merge(per_rep, on=["scenario", "facility", "unit"], how="left")
    out["extra_beds_5"] = out["beds_needed_5"] - out["funded_beds"]
    out["extra_beds_1"] = out["beds_needed_1"] - out["funded_beds"]
    return out.sort_values(["scenario", "facility", "unit"]).reset_index(drop=True)


def occupancy_weekly(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Median over replicates of each week's occupancy (census / funded beds), by site."""
    df = con.execute(
        """
        WITH w AS (
            SELECT scenario, replicate, facility, unit, day // 7 AS week, min(date) AS week_start,
                   sum(census) / nullif(sum(beds), 0) AS occupancy
            FROM unit_census GROUP BY ALL
        )
        SELECT scenario, facility, unit, week, min(week_start) AS week_start,
               quantile_cont(occupancy, [0.05, 0.5, 0.95]) AS q
        FROM w GROUP BY ALL ORDER BY scenario, facility, unit, week
        """
    ).df()
    return _split_quantiles(df, "q", ["occupancy_p5", "occupancy_p50", "occupancy_p95"])


def _split_quantiles(df: pd.DataFrame, col: str, names: list[str]) -> pd.DataFrame:
    """Replace a list-valued column by one column per quantile."""
    values = df.pop(col)
    for i, name in enumerate(names):
        df[name] = [v[i] if isinstance(v, (list, tuple, np.ndarray)) else None for v in values]
        df[name] = pd.to_numeric(df[name], errors="coerce")
    return df
