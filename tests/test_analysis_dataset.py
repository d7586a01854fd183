"""Checking a run folder before analysis: damaged parts, mixed configurations or model
versions, stray files and a run still writing are refused (or warned about) in one line
naming the files; real runs of the command line, damaged on disk."""

from __future__ import annotations

import json
import os
import shutil
import socket
from pathlib import Path

import pyarrow.parquet as pq
import pytest

from popsim.cli import main
from popsim.core.schema import ALL_TABLES
from popsim.files import LOCK_NAME
from popsim.run import record

# Every test here runs `popsim run` on a local Dask cluster (directly or through a fixture).
pytestmark = pytest.mark.cluster

SPEC = """
region = "synthetic"
start = 2026-01-01
days = 6
population = 2000
replicates = 3
seed = 5
[scenarios.baseline]
[scenarios.closed]
events = [{ day = 1, close = "F2" }]
"""


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("runs")
    spec = root / "tiny.toml"
    spec.write_text(SPEC, encoding="utf-8")
    out = {}
    for name, days in (("a", "6"), ("b", "5")):
        argv = ["run", str(spec), "--workers", "1", "--quiet", "--days", days]
        assert main([*argv, "--out", str(root / name)]) == 0
        out[name] = root / name
    return out


@pytest.fixture
def run(runs, tmp_path) -> Path:
    copy = tmp_path / "run"
    shutil.copytree(runs["a"], copy)
    return copy


def refused(capsys, run_dir: Path, *extra: str) -> str:
    assert main(["analyze", str(run_dir), *extra]) == 2
    err = capsys.readouterr().err
    assert err.startswith("popsim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err and "duckdb" not in err.lower()
    assert not (run_dir / "analysis").exists()
    return err


def test_intact_run_is_analysed(run, capsys):
    assert main(["analyze", str(run)]) == 0
    assert (run / "analysis" / "capacity.csv").exists()


def test_truncated_part_is_refused_naming_it(run, capsys):
    part = record.part_path(run, "zone_day", "closed", 1)
    part.write_bytes(part.read_bytes()[:300])
    err = refused(capsys, run)
    assert "zone_day/scenario=closed/part-0001.parquet: not a readable Parquet file" in err


def test_part_of_another_table_is_refused_naming_it(run, capsys):
    shutil.copy(
        record.part_path(run, "facility_day", "baseline", 2),
        record.part_path(run, "zone_day", "baseline", 2),
    )
    err = refused(capsys, run)
    assert "zone_day/scenario=baseline/part-0002.parquet: not a zone_day part" in err


def test_part_with_other_rows_than_its_manifest_is_refused(run, capsys):
    part = record.part_path(run, "facility_day", "baseline", 0)
    table = pq.read_table(part)
    pq.write_table(table.slice(0, table.num_rows // 2), part)
    err = refused(capsys, run)
    assert "facility_day/scenario=baseline/part-0000.parquet:" in err
    assert (
        f"rows, its manifest manifest/scenario=baseline/replicate-0000.json records {table.num_rows}"
        in err
    )


def test_replicate_of_another_configuration_is_refused_or_pooled_with_flag(runs, run, capsys):
    """Defect: a manifest claiming another configuration was pooled silently."""
    for table in ALL_TABLES:  # every table the replicate wrote (long-term care's too)
        source = record.part_path(runs["b"], table, "closed", 1)
        if source.exists():
            shutil.copy(source, record.part_path(run, table, "closed", 1))
    shutil.copy(
        record.manifest_path(runs["b"], "closed", 1), record.manifest_path(run, "closed", 1)
    )
    err = refused(capsys, run)
    assert "scenario closed: configuration" in err and "replicate-0001.json" in err
    assert main(["analyze", str(run), "--allow-mixed"]) == 0
    assert "pooled outputs of different configurations" in capsys.readouterr().err


def test_replicate_of_another_model_version_is_refused(run, capsys):
    path = record.manifest_path(run, "baseline", 2)
    doc = json.loads(path.read_text())
    doc["model_version"] = doc["model_version"] + 1
    path.write_text(json.dumps(doc))
    err = refused(capsys, run)
    assert f"model version {doc['model_version']} in baseline/replicate-0002.json" in err


def test_manifest_holding_a_list_is_refused_naming_it(run, capsys):
    record.manifest_path(run, "closed", 0).write_text("[]")
    err = refused(capsys, run)
    assert "manifest/scenario=closed/replicate-0000.json: not a manifest" in err


def test_stray_part_name_is_ignored(run, capsys):
    stray = run / "facility_day" / "scenario=baseline" / "part-x.parquet"
    stray.write_bytes(b"not parquet")
    assert main(["analyze", str(run)]) == 0
    assert stray.read_bytes() == b"not parquet"


def test_folder_a_live_run_is_writing_is_refused(run, capsys):
    (run / LOCK_NAME).write_text(f"{os.getpid()} {socket.gethostname()} 2026-12-03T08:00\n")
    err = refused(capsys, run)
    assert "a run is writing to it" in err


def test_formula_like_facility_id_is_text_in_the_csvs(tmp_path, capsys):
    """Defect: a facility id starting with '=' was written verbatim into the CSVs."""
    from popsim.region.synth import synthetic_region, write_region

    region = tmp_path / "region"
    write_region(synthetic_region(n_zones=3, population=2000, n_facilities=2, seed=1), region)
    facilities = region / "facilities.csv"
    text = facilities.read_text(encoding="utf-8")
    facilities.write_text(text.replace("\nF1,", '\n"=HYPERLINK(""x"")",', 1), encoding="utf-8")
    spec = tmp_path / "evil.toml"
    spec.write_text('region = "region"\ndays = 3\n', encoding="utf-8")
    assert main(["run", str(spec), "--workers", "1", "--quiet"]) == 0
    assert main(["analyze", str(tmp_path / "evil")]) == 0
    capacity = (tmp_path / "evil" / "analysis" / "capacity.csv").read_text(encoding="utf-8")
    assert "'=HYPERLINK" in capacity
    assert not any(
        cell.startswith(("=", "+", "@"))
        for line in capacity.splitlines()
        for cell in line.split(",")
    )
