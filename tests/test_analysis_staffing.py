"""Staffing analysis: tables from a real run's staff_day Parquet, paired by replicate."""

import duckdb
import numpy as np
import pytest

from popsim.analysis import analyze, load
from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.report import write_report
from popsim.cli import main


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("staffrun")
    spec = folder / "staff.toml"
    spec.write_text(
        'name = "staff"\nregion = "synthetic"\ndays = 20\nreplicates = 3\nseed = 5\n'
        "[epidemic]\nr0 = 2.2\nseed_infections = 60\nstart_day = 1\n"
        "[staffing]\n[scenarios.fixed]\n"
        '[scenarios.short]\nevents = [{ day = 0, facility = "F1", unit = "ward", nurses = -2 }]\n',
        encoding="utf-8",
    )
    out = folder / "out"
    assert main(["run", str(spec), "--out", str(out), "--workers", "1", "--quiet"]) == 0
    analyze(out, warn=False)
    return out


def _raw(run_dir, sql):
    con = duckdb.connect()
    path = (run_dir / "staff_day" / "*" / "*.parquet").as_posix()
    con.execute(f"CREATE VIEW s AS SELECT * FROM read_parquet('{path}', hive_partitioning=true)")
    return con.execute(sql).df()


@pytest.mark.slow
def test_site_table_sums_the_staff_day_rows(run_dir):
    a = load(run_dir)
    site = a["staff_site"]
    raw = _raw(
        run_dir,
        "SELECT scenario, replicate, facility, sum(shortfall) AS short, sum(labour_cost) AS cost,"
        " sum(CASE WHEN shortfall > 0 THEN 1 ELSE 0 END) AS n_short FROM s GROUP BY ALL",
    )
    raw["facility"] = raw["facility"].astype(str)
    merged = site.merge(raw, on=["scenario", "replicate", "facility"])
    assert len(merged) == len(raw) == 2 * 3 * 3
    assert (merged["short_nurse_shifts"] == merged["short"]).all()
    assert (merged["short_shifts"] == merged["n_short"]).all()
    assert np.allclose(merged["labour_cost"], merged["cost"])
    # the all-sites row is the sum of the sites, per replicate
    sites = (
        site[site["facility"] != ALL_SITES]
        .groupby(["scenario", "replicate"])
        .sum(numeric_only=True)
    )
    total = site[site["facility"] == ALL_SITES].set_index(["scenario", "replicate"])
    assert np.allclose(total.loc[sites.index, "labour_cost"], sites["labour_cost"])


@pytest.mark.slow
def test_comparison_is_paired_by_replicate(run_dir):
    a = load(run_dir)
    site = a["staff_site"]
    comp = a["staff_comparison"]
    row = comp[(comp["facility"] == "F1") & (comp["measure"] == "labour_cost")].iloc[0]
    f1 = site[site["facility"] == "F1"].pivot(index="replicate", columns="scenario")
    diff = f1["labour_cost"]["short"] - f1["labour_cost"]["fixed"]
    assert row["n_pairs"] == 3
    assert np.isclose(row["diff_mean"], diff.mean())
    assert row["diff_mean"] < 0  # two fewer nurses a shift cost less
    assert row["ci_low"] <= row["diff_mean"] <= row["ci_high"]
    boarding = comp[(comp["facility"] == "F1") & (comp["measure"] == "ed_boarding_days")]
    assert len(boarding) == 1


@pytest.mark.slow
def test_report_has_a_staffing_section(run_dir):
    path = write_report(run_dir)
    text = path.read_text(encoding="utf-8")
    assert "<h2>Staffing</h2>" in text
    assert "Absent and short nurse-shifts" in text
