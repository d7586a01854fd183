"""The run folder against a hostile layout: links inside it are never followed, special
files in place of parts or manifests are refused (never read: a FIFO would block), a
replicate's files copied over another's are redone, and a task that outlives its run
writes nothing once another run holds the folder. Real runs of the command line."""

from __future__ import annotations

import os
import shutil
import threading
from pathlib import Path

import pytest

from popsim.cli import main
from popsim.files import FolderLock, LockLost
from popsim.region.synth import synthetic_region, write_region
from popsim.run import record
from popsim.run.ensemble import config_hash, run_replicate
from popsim.run.provenance import resolved_config
from popsim.run.spec import load_spec

pytestmark = pytest.mark.cluster

SPEC = """
name = "folder"
region = "region"
start = 2026-10-01
days = 5
replicates = 2
seed = 7

[scenarios.baseline]
[scenarios.minus]
events = [{ day = 0, facility = "F1", ward_beds = -2 }]
"""


@pytest.fixture(scope="module")
def scheduler(dask_cluster):
    return dask_cluster[0].scheduler_address


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("folder")
    write_region(
        synthetic_region(n_zones=3, population=3000, n_facilities=2, seed=4), root / "region"
    )
    path = root / "folder.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(spec_path, scheduler):
    out = spec_path.parent / "ref"
    assert (
        main(["run", str(spec_path), "--quiet", "--scheduler", scheduler, "--out", str(out)]) == 0
    )
    return out


def snapshot(root: Path) -> dict[str, bytes]:
    return {
        str(p.relative_to(root)): p.read_bytes()
        for p in sorted(root.rglob("*"))
        if p.is_file() and not p.is_symlink()
    }


def parts(root: Path) -> dict[str, bytes]:
    return {k: v for k, v in snapshot(root).items() if k.endswith(".parquet")}


def run_cli(argv: list[str]) -> int:
    """``main(argv)`` in a thread: a hang fails the test instead of holding the suite."""
    result: list[int] = []
    thread = threading.Thread(target=lambda: result.append(main(argv)), daemon=True)
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), f"popsim {' '.join(argv[:2])} did not return (a hang)"
    return result[0]


def errors(capsys) -> list[str]:
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return err.strip().splitlines()


def test_a_linked_scenario_folder_is_refused_and_its_target_untouched(
    spec_path, reference, scheduler, tmp_path, capsys
):
    """Before: the run wrote the replicates' parts through the link and deleted the
    target's part without a manifest as an orphan."""
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    elsewhere = tmp_path / "elsewhere"
    shutil.move(out / "facility_day" / "scenario=minus", elsewhere)
    (out / "facility_day" / "scenario=minus").symlink_to(elsewhere, target_is_directory=True)
    (out / "manifest" / "scenario=minus" / "replicate-0001.json").unlink()  # 1 now "orphan"
    (out / "zone_day").rename(tmp_path / "zone_day")
    (out / "zone_day").symlink_to(tmp_path / "zone_day", target_is_directory=True)
    before = snapshot(elsewhere), snapshot(tmp_path / "zone_day")
    argv = ["run", str(spec_path), "--quiet", "--scheduler", scheduler, "--out", str(out)]
    for extra in ([], ["--force"], ["--check"]):
        assert run_cli(argv + extra) == 2
        lines = errors(capsys)
        assert len(lines) == 2, lines
        assert any("scenario=minus: is a symbolic link" in line for line in lines)
        assert any("zone_day: is a symbolic link" in line for line in lines)
    assert (snapshot(elsewhere), snapshot(tmp_path / "zone_day")) == before
    assert run_cli(["analyze", str(out)]) == 2
    assert any("is a symbolic link" in line for line in errors(capsys))
    assert not (out / "analysis").exists()


def test_a_fifo_in_place_of_a_part_or_manifest_is_refused_not_read(
    spec_path, reference, scheduler, tmp_path, capsys
):
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    part = out / "facility_day" / "scenario=baseline" / "part-0001.parquet"
    part.unlink()
    os.mkfifo(part)
    manifest = out / "manifest" / "scenario=minus" / "replicate-0000.json"
    manifest.unlink()
    os.mkfifo(manifest)
    argv = ["run", str(spec_path), "--quiet", "--scheduler", scheduler, "--out", str(out)]
    assert run_cli(argv) == 2
    lines = errors(capsys)
    assert len(lines) == 2 and all("is a FIFO" in line for line in lines), lines
    assert run_cli(["analyze", str(out)]) == 2
    assert sum("is a FIFO" in line for line in errors(capsys)) == 2
    assert part.is_fifo() and manifest.is_fifo()  # never replaced nor deleted


def test_a_replicate_copied_over_another_is_refused_by_analysis_and_redone_by_run(
    spec_path, reference, scheduler, tmp_path, capsys
):
    """Before: the copy was accepted (results doubled) and resume treated it complete."""
    out = tmp_path / "out"
    shutil.copytree(reference, out)
    for table in record.TABLES:
        folder = out / table / "scenario=baseline"
        shutil.copyfile(folder / "part-0000.parquet", folder / "part-0001.parquet")
    folder = out / "manifest" / "scenario=baseline"
    shutil.copyfile(folder / "replicate-0000.json", folder / "replicate-0001.json")
    assert run_cli(["analyze", str(out)]) == 2
    err = "\n".join(errors(capsys))
    assert "a copy of another replicate's manifest" in err
    assert "written for scenario baseline replicate 0" in err
    argv = ["run", str(spec_path), "--quiet", "--scheduler", scheduler, "--out", str(out)]
    assert run_cli(argv) == 0
    assert "ran 1 replicates (3 already complete)" in capsys.readouterr().out
    assert parts(out) == parts(reference)  # redone to the same bytes


def test_a_task_that_outlives_its_run_writes_nothing_once_the_lock_has_passed(spec_path, tmp_path):
    """A task left on a cluster after its client was killed carries the old run's token;
    the new run's lock carries another: the task renames nothing into the folder."""
    spec = load_spec(spec_path)
    region = spec.load_region()
    config = spec.model_config_for("baseline", region)
    digest = config_hash(
        spec, "baseline", resolved=resolved_config(spec, "baseline", region, config)
    )
    out = tmp_path / "out"
    out.mkdir()
    old = FolderLock(out)
    old.acquire()
    old.release()  # (killed: its lock broken as stale by the next run)
    with FolderLock(out):
        with pytest.raises(LockLost, match="no longer holds the folder's lock"):
            run_replicate(spec, "baseline", 0, str(out), digest, token=old.token)
        assert snapshot(out) == {".popsim.lock": (out / ".popsim.lock").read_bytes()}
        assert [p for p in out.rglob("*") if p.is_file() and p.name != ".popsim.lock"] == []
