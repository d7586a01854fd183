"""Capacity analysis of a run's Parquet dataset: tables, plots and the planner's report.

``analyze(run_dir)`` writes the tables (Parquet and CSV) under ``RUN_DIR/analysis/`` and
returns that folder; ``load(run_dir)`` gives them to analysts as pandas DataFrames with a
DuckDB connection over the raw dataset and the tables; the HTML report is
:func:`popsim.analysis.report.write_report`.

In a notebook::

    from popsim.analysis import load
    a = load("runs/fraser")            # analyses first if needed
    a.capacity                         # pandas: one row per scenario, site, unit
    a.sql("SELECT facility, max(ed_boarding) FROM facility_day GROUP BY ALL").df()
    a.raw("journeys", scenario="baseline")   # reads only that partition
"""

from __future__ import annotations

import json
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd

from popsim.analysis import capacity, checks, compare, epidemic, options, population, staffing
from popsim.analysis import ltc as ltc_tables
from popsim.analysis.dataset import RunDataset, open_run
from popsim.analysis.export import write_csv
from popsim.analysis.windows import Options, Plan, resolve
from popsim.core.schema import ANALYSIS_DIR, JOURNEYS, TABLES, ZONE_DAY
from popsim.files import atomic_write, write_text

__all__ = ["RunAnalysis", "analyze", "load", "Options", "TABLE_NAMES"]

#: The tables ``analyze`` writes, each as ``<name>.parquet`` and ``<name>.csv``.
TABLE_NAMES: tuple[str, ...] = (
    "options",
    "key_findings",
    "diversion_shifts",
    "capacity",
    "capacity_monthly",
    "census_daily",
    "site_replicate",
    "beds_needed",
    "occupancy_weekly",
    "comparison",
    "attack_rate",
    "peak_day",
    "epidemic",
    "epidemic_daily",
    "epidemic_zone_daily",
    "epidemic_comparison",
    "staff_site",
    "staff_comparison",
    "staff_daily",
    "ltc_replicate",
    "ltc_comparison",
    "population",
)
META = "meta.json"
#: Bumped when the tables change shape, so older analysis folders are recomputed.
ANALYSIS_VERSION = 4


def analyze(
    run_dir: str | Path,
    *,
    warn: bool = True,
    options: Options | None = None,
    allow_mixed: bool = False,
) -> Path:
    """Compute every analysis table of ``run_dir`` and write them under ``RUN_DIR/analysis``.

    ``options`` picks the main window (``--from/--to``; default the whole run) and the
    comparator (``--baseline``); the spec's ``[analysis]`` section adds named windows.
    Raises :class:`popsim.errors.RunDirError` when the run directory is missing, empty or
    lacks replicates (see :func:`popsim.analysis.dataset.open_run`), and
    :class:`popsim.analysis.windows.AnalysisOptionError` for a window or comparator the
    run cannot give. Cautions (few replicates, an epidemic still growing, a site over
    capacity on every day) go to stderr when ``warn`` and into ``meta.json``.
    """
    started = time.perf_counter()
    options = options or Options()
    ds = open_run(run_dir, warn=warn, allow_mixed=allow_mixed)
    out = ds.run_dir / ANALYSIS_DIR
    con = ds.connect()
    try:
        capacity.create_unit_census(con)
        plan = resolve(options, ds.spec, ds.scenarios, *capacity.run_dates(con))
        demand_source = capacity.demand_source(con)
        tables = _compute(ds, con, plan)
    finally:
        con.close()
    root = ds.run_dir
    for name, df in tables.items():  # every path inside the run folder, no link followed
        atomic_write(
            out / f"{name}.parquet", lambda tmp, d=df: d.to_parquet(tmp, index=False), root=root
        )
        write_csv(df, out / f"{name}.csv", root=root)
    n_reps = {s: len(ds.replicates(s)) for s in ds.scenarios}
    cautions = checks.cautions(n_reps, tables["capacity"], tables.get("epidemic_daily"))
    if warn:
        for c in [*plan.notes, *cautions]:
            print(f"popsim: warning: {c}", file=sys.stderr)
    meta = {
        "analysis_version": ANALYSIS_VERSION,
        "scenarios": ds.scenarios,
        "baseline": plan.baseline,
        "baseline_source": plan.baseline_source,
        "windows": [{"name": w.name, "first": w.first, "last": w.last} for w in plan.windows],
        "options": options.as_dict(),
        "demand_source": demand_source,
        "replicates": {s: ds.replicates(s) for s in ds.scenarios},
        "expected_replicates": ds.expected_replicates,
        "region": ds.region_name,
        "warnings": ds.warnings + plan.notes,
        "cautions": cautions,
        "tables": sorted(tables),
        "n_files": sum(len(ds.paths(t)) for t in TABLES),
        "seconds": round(time.perf_counter() - started, 3),
    }
    write_text(out / META, json.dumps(meta, indent=2), root=root)
    return out


def _compute(ds: RunDataset, con: duckdb.DuckDBPyConnection, plan: Plan) -> dict[str, pd.DataFrame]:
    t: dict[str, pd.DataFrame] = {}
    t["census_daily"] = capacity.census_daily(con)
    t["site_replicate"] = capacity.site_replicate(con, plan.windows)
    t["capacity"] = capacity.capacity_summary(t["site_replicate"])
    monthly = capacity.capacity_summary(capacity.site_replicate_monthly(con))
    t["capacity_monthly"] = monthly.rename(columns={"window": "month"})
    region, _ = ds.load_region()
    t["beds_needed"] = capacity.add_nurses_needed(
        capacity.beds_needed(con, plan.windows), getattr(region, "staffing", None)
    )
    t["occupancy_weekly"] = capacity.occupancy_weekly(con)
    t["comparison"] = compare.paired_differences(
        t["site_replicate"], ["window", "facility", "unit"], list(capacity.MEASURES), plan.baseline
    )
    residents = population.population(ds)
    if residents is not None:
        t["population"] = residents
    t["key_findings"] = options.key_findings(
        t["capacity"], t["beds_needed"], t["site_replicate"], plan.baseline
    )
    t["diversion_shifts"] = options.diversion_shifts(t["site_replicate"], plan.baseline)
    if ds.has(ZONE_DAY):
        epidemic.create_zone_base(con)
        t["attack_rate"] = epidemic.attack_rates(con)
        t["peak_day"] = epidemic.peak_days(con)
        t["epidemic_daily"] = epidemic.epidemic_daily(con)
        t["epidemic_zone_daily"] = epidemic.zone_new_infections(con)
        icu = epidemic.icu_admissions(con, ds.has(JOURNEYS))
        t["epidemic"] = epidemic.epidemic_summary(con, icu)
        rep = con.execute("SELECT * FROM epi_rep").df()
        if icu is not None and len(icu):
            rep = rep.merge(icu, on=["scenario", "replicate"], how="left")
        measures = [c for c in rep.columns if c not in ("scenario", "replicate")]
        t["epidemic_comparison"] = compare.paired_differences(rep, [], measures, plan.baseline)
    t.update(staffing.tables(ds, plan.baseline, plan.windows))  # (none without staff_day)
    t.update(ltc_tables.tables(ds, plan.windows, plan.baseline))  # (or none)
    t["options"] = options.options(t["site_replicate"], plan.baseline, t.get("staff_site"))
    return t


@dataclass
class RunAnalysis:
    """A run's analysis tables (pandas) and a DuckDB connection over dataset and tables.

    ``con`` has a view per raw table (``facility_day``, ``zone_day``, ``journeys``; reading
    only what a query selects) and per analysis table. Tables are attributes and items:
    ``a.capacity``, ``a["census_daily"]``.
    """

    run_dir: Path
    dataset: RunDataset
    con: duckdb.DuckDBPyConnection
    meta: dict[str, Any]
    _frames: dict[str, pd.DataFrame] = field(default_factory=dict, repr=False)

    @property
    def analysis_dir(self) -> Path:
        return self.run_dir / ANALYSIS_DIR

    @property
    def scenarios(self) -> list[str]:
        return self.dataset.scenarios

    @property
    def baseline(self) -> str:
        """The comparator scenario (see ``meta['baseline_source']`` for who chose it)."""
        return str(self.meta.get("baseline", self.dataset.baseline))

    @property
    def windows(self) -> list[str]:
        """Window names, the main one (whole run or ``--from/--to``) first."""
        return [w["name"] for w in self.meta.get("windows", [])] or [capacity.ALL_WINDOW]

    @property
    def tables(self) -> list[str]:
        return [n for n in TABLE_NAMES if (self.analysis_dir / f"{n}.parquet").exists()]

    def table(self, name: str) -> pd.DataFrame:
        if name not in self._frames:
            path = self.analysis_dir / f"{name}.parquet"
            if not path.exists():
                raise KeyError(f"no analysis table {name!r}; tables: {', '.join(self.tables)}")
            self._frames[name] = pd.read_parquet(path)
        return self._frames[name]

    def __getitem__(self, name: str) -> pd.DataFrame:
        return self.table(name)

    def __getattr__(self, name: str) -> pd.DataFrame:
        if name.startswith("_") or name not in TABLE_NAMES:
            raise AttributeError(name)
        return self.table(name)

    def sql(self, query: str) -> duckdb.DuckDBPyRelation:
        """Run SQL over the raw views and analysis tables; returns a DuckDB relation."""
        return self.con.sql(query)

    def raw(self, table: str, scenario: str | None = None) -> duckdb.DuckDBPyRelation:
        """A raw table, reading only the partition of ``scenario`` if given."""
        paths = self.dataset.paths(table, None if scenario is None else [scenario])
        if not paths:
            raise KeyError(f"no {table} data for scenario {scenario!r}")
        return self.con.read_parquet(paths, hive_partitioning=True)


def _current(ds: RunDataset, options: Options | None) -> bool:
    meta_path = ds.run_dir / ANALYSIS_DIR / META
    if not meta_path.exists():
        return False
    try:
        meta = json.loads(meta_path.read_text())
    except ValueError:
        return False
    if meta.get("analysis_version") != ANALYSIS_VERSION:
        return False
    if options is not None and meta.get("options") != options.as_dict():
        return False
    if meta.get("n_files") != sum(len(ds.paths(t)) for t in TABLES):
        return False
    newest = max(Path(p).stat().st_mtime for t in TABLES for p in ds.paths(t))
    return meta_path.stat().st_mtime >= newest


def _stored_options(ds: RunDataset) -> Options | None:
    try:
        raw = json.loads((ds.run_dir / ANALYSIS_DIR / META).read_text()).get("options")
    except (OSError, ValueError):
        return None
    if not isinstance(raw, dict):
        return None
    return Options(**{k: raw.get(k) for k in ("first", "last", "baseline")})


def load(
    run_dir: str | Path, *, refresh: bool = False, options: Options | None = None
) -> RunAnalysis:
    """Open a run for analysis, running :func:`analyze` first if its tables are missing,
    older than the dataset, made with other ``options`` (or ``refresh``). Without
    ``options``, a stale analysis is redone with the options it was made with."""
    ds = open_run(run_dir, warn=True)
    if refresh or not _current(ds, options):
        analyze(run_dir, warn=False, options=options or _stored_options(ds))
    meta = json.loads((ds.run_dir / ANALYSIS_DIR / META).read_text())
    con = ds.connect()
    for name in TABLE_NAMES:
        path = ds.run_dir / ANALYSIS_DIR / f"{name}.parquet"
        if path.exists():
            con.execute(
                f"CREATE VIEW {name} AS SELECT * FROM read_parquet('"
                + str(path).replace("'", "''")
                + "')"
            )
    return RunAnalysis(run_dir=ds.run_dir, dataset=ds, con=con, meta=meta)
