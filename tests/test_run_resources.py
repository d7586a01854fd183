"""The one place that bounds the sizes of commands that run replicates and estimates the
memory they need (workers and the driver that submits the tasks)."""

from __future__ import annotations

import pytest

from popsim.cli import main
from popsim.errors import ResourceError
from popsim.run import resources

TINY = 'region = "synthetic"\nstart = 2026-01-01\ndays = 4\npopulation = 2000\nseed = 3\n'


def test_every_size_out_of_bounds_is_one_line_naming_its_flag():
    with pytest.raises(ResourceError) as info:
        resources.check_sizes(
            replicates=100_000_000,
            days=0,
            residents=10**9,
            n_tasks=resources.MAX_TASKS + 1,
            flags={"replicates": "--particles"},
        )
    lines = str(info.value).splitlines()
    assert len(lines) == 4
    assert lines[0].startswith("--particles: expected 1..10,000, got 100,000,000")
    assert any(line.startswith("--days: expected 1..") for line in lines)
    assert any(line.startswith("--population: expected 1..") for line in lines)
    assert any("tasks in one command" in line for line in lines)
    resources.check_sizes(replicates=10_000, days=365, residents=2_000_000, n_tasks=30_000)


def test_the_driver_estimate_grows_with_the_tasks_and_can_refuse_a_run(monkeypatch):
    small = resources.estimate(2000, 4, 1, 10)
    large = resources.estimate(2000, 4, 1, 30_000)
    assert large["per_worker"] == small["per_worker"] and large["driver"] > small["driver"]
    assert large["total"] == large["workers"] + large["driver"]
    monkeypatch.setattr(resources, "available_bytes", lambda: 2 * 2**30)  # a 2 GB machine
    resources.check_local_memory(2000, 4, 1, n_tasks=10)
    with pytest.raises(ResourceError, match="tasks need about .* in the driver alone"):
        resources.check_local_memory(2000, 4, 1, n_tasks=30_000)


def test_run_replicates_beyond_the_bound_and_check_gives_the_estimate(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY + "[scenarios.baseline]\n", encoding="utf-8")
    assert main(["run", str(spec), "--quiet", "--replicates", "100000000"]) == 2
    err = capsys.readouterr().err
    assert "--replicates must be in 1..10000" in err and err.count("\n") == 1
    assert not (tmp_path / "tiny").exists()
    argv = ["run", str(spec), "--quiet", "--check", "--workers", "1", "--replicates", "3"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert "ok (1 scenario(s) x 3 replicate(s)" in out
    assert "memory about" in out and "1 worker(s) x" in out and "for the driver" in out
