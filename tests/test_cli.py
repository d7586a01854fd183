"""The ``popsim run`` command: runs a spec, prints where the outputs are; bad specs exit 2."""

from __future__ import annotations

from pathlib import Path

import pytest

from popsim import record
from popsim.cli import main

BAD_SPECS = sorted((Path(__file__).parent / "bad_specs").glob("*.toml"))
SPEC = """
region = "synthetic"
start = 2026-01-01
days = 40
replicates = 5
seed = 3
[scenarios.baseline]
[scenarios.closed]
events = [{ day = 1, close = "F2" }]
"""


@pytest.mark.cluster
def test_run_command_writes_dataset_and_summary(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC, encoding="utf-8")
    out = tmp_path / "elsewhere"
    argv = ["run", str(spec), "--workers", "1", "--replicates", "2", "--days", "6"]
    code = main([*argv, "--population", "3000", "--out", str(out), "--quiet"])
    assert code == 0
    printed = capsys.readouterr()
    assert f"outputs: {out}" in printed.out
    assert "baseline (2 replicates)" in printed.out and "closed (2 replicates)" in printed.out
    assert printed.err == ""  # --quiet: no progress bar
    fd = record.read_table(out, "facility_day").to_pandas()
    assert fd.day.max() == 5 and sorted(fd.replicate.unique()) == [0, 1]
    assert (spec.parent / "tiny").exists() is False  # --out respected


@pytest.mark.parametrize("path", BAD_SPECS[:8], ids=[p.stem for p in BAD_SPECS[:8]])
def test_bad_spec_exits_2_with_one_line(path, capsys, tmp_path):
    code = main(["run", str(path), "--out", str(tmp_path / "never"), "--quiet"])
    err = capsys.readouterr().err
    assert code == 2
    expect = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    assert err.startswith(f"popsim: error: {path}: {expect}")
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "never").exists()  # nothing ran


def test_workers_and_scheduler_are_exclusive(capsys):
    with pytest.raises(SystemExit) as info:
        main(["run", "x.toml", "--workers", "2", "--scheduler", "tcp://127.0.0.1:1"])
    assert info.value.code == 2
    assert "not allowed with" in capsys.readouterr().err


def test_bad_override_exits_2(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC, encoding="utf-8")
    assert main(["run", str(spec), "--days", "0", "--quiet"]) == 2
    assert "days" in capsys.readouterr().err


@pytest.mark.cluster
def test_other_configuration_in_the_output_folder_exits_2_unless_forced(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(SPEC, encoding="utf-8")
    base = ["run", str(spec), "--workers", "1", "--replicates", "1", "--quiet"]
    assert main([*base, "--days", "4", "--population", "2000"]) == 0
    capsys.readouterr()
    assert main([*base, "--days", "5", "--population", "2000"]) == 2
    err = capsys.readouterr().err
    assert "different configuration" in err and "--force" in err and err.count("\n") == 1
    assert main([*base, "--days", "5", "--population", "2000", "--force"]) == 0
    assert record.read_table(tmp_path / "tiny", "facility_day").column("day").to_pylist()[-1] == 4
