"""Epidemic measures from ``zone_day`` (and ICU entries from ``journeys``), over replicates.

- attack rate = new infections over the run / residents alive on the first day
  (susceptible + exposed + infectious + recovered), by zone and age band, with ``all``
  rows for every band of a zone, every zone of a band (zone ``All zones``) and the region;
- peak day = the day with most residents infectious (first such day), by zone and region;
- hospital admissions and deaths from ``zone_day``; ICU admissions counted from the
  ``journeys`` rows that enter the ICU (only that column pair is read), when present.
"""

from __future__ import annotations

import duckdb
import pandas as pd

from popsim.analysis.capacity import _split_quantiles, columns
from popsim.core.schema import ENTERS_UNIT, FACILITY_DAY, ICU, JOURNEYS, UNIT_NAMES, ZONE_DAY

ALL_ZONES = "All zones"
ALL_BANDS = "all"
_Q = "[0.05, 0.5, 0.95]"


def create_zone_base(con: duckdb.DuckDBPyConnection) -> None:
    """Two scans of ``zone_day``: per replicate, zone and band (first-day population,
    infections, admissions, deaths; table ``zone_rep`` with roll-ups) and per replicate,
    zone and day (table ``zone_daily``)."""
    date = "CAST(date AS DATE)" if "date" in columns(con, ZONE_DAY) else "CAST(NULL AS DATE)"
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE zone_rep AS
        WITH b AS (
            SELECT CAST(scenario AS VARCHAR) AS scenario, CAST(replicate AS INTEGER) AS replicate,
                   CAST(zone AS VARCHAR) AS zone, CAST(age_band AS VARCHAR) AS age_band,
                   arg_min(CAST(susceptible AS BIGINT) + exposed + infectious + recovered, day)
                       AS population,
                   sum(CAST(new_infections AS BIGINT)) AS infections,
                   sum(CAST(new_admissions AS BIGINT)) AS admissions,
                   sum(CAST(deaths AS BIGINT)) AS deaths
            FROM {ZONE_DAY} GROUP BY ALL
        )
        SELECT scenario, replicate,
               CASE WHEN grouping(zone) = 1 THEN '{ALL_ZONES}' ELSE zone END AS zone,
               CASE WHEN grouping(age_band) = 1 THEN '{ALL_BANDS}' ELSE age_band END AS age_band,
               sum(population) AS population, sum(infections) AS infections,
               sum(admissions) AS admissions, sum(deaths) AS deaths,
               sum(infections) / nullif(sum(population), 0) AS attack_rate
        FROM b
        GROUP BY GROUPING SETS ((scenario, replicate, zone, age_band),
                                (scenario, replicate, zone), (scenario, replicate, age_band),
                                (scenario, replicate))
        """
    )
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE zone_daily AS
        SELECT CAST(scenario AS VARCHAR) AS scenario, CAST(replicate AS INTEGER) AS replicate,
               CAST(zone AS VARCHAR) AS zone, CAST(day AS INTEGER) AS day, min({date}) AS date,
               sum(CAST(infectious AS BIGINT)) AS infectious,
               sum(CAST(new_infections AS BIGINT)) AS new_infections,
               sum(CAST(new_admissions AS BIGINT)) AS new_admissions
        FROM {ZONE_DAY} GROUP BY ALL
        """
    )


def attack_rates(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Attack rate, infections, admissions and deaths by zone and band over replicates."""
    df = con.execute(
        f"""
        SELECT scenario, zone, age_band, count(*) AS n_replicates,
               median(population) AS population,
               quantile_cont(attack_rate, {_Q}) AS a, quantile_cont(infections, {_Q}) AS i,
               quantile_cont(admissions, {_Q}) AS h, quantile_cont(deaths, {_Q}) AS d
        FROM zone_rep GROUP BY ALL ORDER BY scenario, zone, age_band
        """
    ).df()
    for col, name in (("a", "attack_rate"), ("i", "infections"), ("h", "admissions")):
        df = _split_quantiles(df, col, [f"{name}_p5", f"{name}_p50", f"{name}_p95"])
    return _split_quantiles(df, "d", ["deaths_p5", "deaths_p50", "deaths_p95"])


def peak_days(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Day of most infectious residents by zone (and region), over replicates."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE peak_rep AS
        WITH d AS (
            SELECT scenario, replicate, zone, day, infectious AS inf FROM zone_daily
            UNION ALL
            SELECT scenario, replicate, '{ALL_ZONES}', day, sum(infectious) FROM zone_daily
            GROUP BY ALL
        ),
        r AS (
            SELECT *, row_number() OVER (
                PARTITION BY scenario, replicate, zone ORDER BY inf DESC, day) AS rn
            FROM d
        )
        SELECT scenario, replicate, zone, day AS peak_day, inf AS peak_infectious
        FROM r WHERE rn = 1
        """
    )
    df = con.execute(
        f"""
        SELECT scenario, zone, count(*) AS n_replicates,
               quantile_cont(peak_day, {_Q}) AS d, quantile_cont(peak_infectious, {_Q}) AS i
        FROM peak_rep GROUP BY ALL ORDER BY scenario, zone
        """
    ).df()
    df = _split_quantiles(df, "d", ["peak_day_p5", "peak_day_p50", "peak_day_p95"])
    return _split_quantiles(
        df, "i", ["peak_infectious_p5", "peak_infectious_p50", "peak_infectious_p95"]
    )


def epidemic_daily(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """Region-wide residents infectious and new infections per day, over replicates."""
    df = con.execute(
        f"""
        WITH d AS (
            SELECT scenario, replicate, day, min(date) AS date, sum(infectious) AS infectious,
                   sum(new_infections) AS new_infections, sum(new_admissions) AS new_admissions
            FROM zone_daily GROUP BY ALL
        )
        SELECT scenario, day, min(date) AS date, quantile_cont(infectious, {_Q}) AS q,
               median(new_infections) AS new_infections_p50,
               median(new_admissions) AS new_admissions_p50
        FROM d GROUP BY ALL ORDER BY scenario, day
        """
    ).df()
    return _split_quantiles(df, "q", ["p5", "p50", "p95"])


def zone_new_infections(con: duckdb.DuckDBPyConnection) -> pd.DataFrame:
    """New infections per day by zone: median and 90% interval over replicates."""
    df = con.execute(
        f"""
        SELECT scenario, zone, day, min(date) AS date, count(*) AS n_replicates,
               quantile_cont(new_infections, {_Q}) AS q
        FROM zone_daily GROUP BY ALL ORDER BY scenario, zone, day
        """
    ).df()
    return _split_quantiles(
        df, "q", ["new_infections_p5", "new_infections_p50", "new_infections_p95"]
    )


def icu_admissions(con: duckdb.DuckDBPyConnection, has_journeys: bool) -> pd.DataFrame | None:
    """ICU entries per scenario and replicate, from a ``facility_day`` ``icu_admissions``
    column if there is one, else from ``journeys`` rows with unit ICU and an entering event;
    ``None`` when neither can say."""
    if "icu_admissions" in columns(con, FACILITY_DAY):
        return con.execute(
            f"""
            SELECT CAST(scenario AS VARCHAR) AS scenario, CAST(replicate AS INTEGER) AS replicate,
                   sum(CAST(icu_admissions AS BIGINT)) AS icu_admissions
            FROM {FACILITY_DAY} GROUP BY ALL
            """
        ).df()
    if not has_journeys:
        return None
    have = columns(con, JOURNEYS)
    if not {"event", "unit"} <= have:
        return None
    kinds = con.execute(
        f"SELECT DISTINCT typeof(event), typeof(unit) FROM (SELECT event, unit FROM {JOURNEYS} LIMIT 1)"
    ).fetchall()
    if not kinds or not all(t == "VARCHAR" for t in kinds[0]):
        return None
    events = ", ".join(f"'{e}'" for e in ENTERS_UNIT)
    return con.execute(
        f"""
        SELECT CAST(scenario AS VARCHAR) AS scenario, CAST(replicate AS INTEGER) AS replicate,
               count(*) AS icu_admissions
        FROM {JOURNEYS}
        WHERE lower(CAST(unit AS VARCHAR)) = '{UNIT_NAMES[ICU]}' AND lower(CAST(event AS VARCHAR)) IN ({events})
        GROUP BY ALL
        """
    ).df()


def epidemic_summary(con: duckdb.DuckDBPyConnection, icu: pd.DataFrame | None) -> pd.DataFrame:
    """Region-level epidemic measures per scenario: one row per measure, p5/p50/p95."""
    con.execute(
        f"""
        CREATE OR REPLACE TEMP TABLE epi_rep AS
        SELECT z.scenario, z.replicate, z.population, z.infections, z.attack_rate,
               z.admissions AS hospital_admissions, z.deaths,
               p.peak_day, p.peak_infectious
        FROM zone_rep z JOIN peak_rep p
          ON p.scenario = z.scenario AND p.replicate = z.replicate AND p.zone = '{ALL_ZONES}'
        WHERE z.zone = '{ALL_ZONES}' AND z.age_band = '{ALL_BANDS}'
        """
    )
    rep = con.execute("SELECT * FROM epi_rep").df()
    if icu is not None and len(icu):
        rep = rep.merge(icu, on=["scenario", "replicate"], how="left")
        rep["icu_admissions"] = rep["icu_admissions"].fillna(0)
    measures = [c for c in rep.columns if c not in ("scenario", "replicate")]
    long = rep.melt(id_vars=["scenario", "replicate"], value_vars=measures, var_name="measure")
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    grouped = long.groupby(["scenario", "measure"], sort=False)["value"]
    out = grouped.agg(
        n_replicates="count",
        mean="mean",
        p5=lambda v: v.quantile(0.05),
        p50=lambda v: v.quantile(0.5),
        p95=lambda v: v.quantile(0.95),
    )
    return out.reset_index()
