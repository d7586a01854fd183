"""Ensembles on a real LocalCluster (loopback): determinism across workers and reruns,
worker death, resume, common random numbers."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import numpy as np
import pandas as pd
import pytest

from popsim.region.synth import synthetic_region, write_region
from popsim.run import record
from popsim.run.ensemble import (
    OutputConflict,
    config_hash,
    interrupt_noted,
    replicate_seed,
    run_spec,
)
from popsim.run.spec import load_spec

pytestmark = pytest.mark.cluster

SPEC = """
name = "small"
region = "region"
start = 2026-10-01
days = 30
replicates = 4
seed = 11

[epidemic]
r0 = 2.2
seed_infections = 30
seed_zones = ["Z01"]

[demand]

[scenarios.baseline]
[scenarios.noop]
events = [{ day = 2, facility = "F1", ward_beds = 0, icu_beds = 0 }]
[scenarios.minus]
events = [{ day = 0, facility = "F1", ward_beds = -6 }]
"""
N_TASKS = 3 * 4


@pytest.fixture(scope="module")
def cluster(dask_cluster):
    return dask_cluster


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory):
    root = tmp_path_factory.mktemp("ens")
    write_region(
        synthetic_region(n_zones=4, population=6000, n_facilities=3, seed=3), root / "region"
    )
    path = root / "small.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


@pytest.fixture(scope="module")
def reference(spec_path):
    """The uninterrupted run, on its own 1-worker LocalCluster."""
    run = run_spec(spec_path, workers=1, out=spec_path.parent / "ref", progress=False)
    assert (run.n_run, run.n_skipped) == (N_TASKS, 0)
    return run.out


def frame(out, table: str) -> pd.DataFrame:
    df = record.read_table(out, table).to_pandas()
    for col in df.columns:
        if isinstance(df[col].dtype, pd.CategoricalDtype):
            df[col] = df[col].astype(str)
    keys = ["scenario", "replicate"] + (["day"] if table != "journeys" else [])
    return df.sort_values(keys, kind="stable").reset_index(drop=True)


def assert_same_data(a, b) -> None:
    for table in record.TABLES:
        pd.testing.assert_frame_equal(frame(a, table), frame(b, table))


def test_seeds_are_shared_across_scenarios():
    a, b = replicate_seed(11, 2), replicate_seed(11, 2)
    assert a.generate_state(4).tolist() == b.generate_state(4).tolist()
    assert replicate_seed(11, 3).generate_state(4).tolist() != a.generate_state(4).tolist()


def test_default_output_folder_is_beside_the_spec(spec_path, cluster, capsys):
    said: list[str] = []
    address = cluster[0].scheduler_address
    run = run_spec(spec_path, scheduler=address, replicates=1, report=said.append)
    assert run.out == spec_path.with_suffix("")
    assert (spec_path.parent / "small" / "facility_day" / "scenario=minus").is_dir()
    assert capsys.readouterr().out == ""  # a library call prints nothing
    text = "\n".join(said)
    assert "outputs:" in text and "peak region census" in text
    assert all(s in text for s in ("baseline", "noop", "minus"))


def test_a_spec_object_runs_like_its_file(spec_path, reference, cluster, tmp_path):
    spec = load_spec(spec_path)
    out = tmp_path / "from-object"
    run = run_spec(spec, scheduler=cluster[0].scheduler_address, out=out)
    assert run.n_run == N_TASKS
    assert_same_data(reference, out)


def test_one_and_two_workers_give_identical_data(spec_path, reference, cluster):
    out = spec_path.parent / "two"
    run = run_spec(spec_path, scheduler=cluster[0].scheduler_address, out=out, progress=False)
    assert run.n_run == N_TASKS
    pids = {m["pid"] for m in run.manifests}
    assert len(pids) == 2  # both workers did some of the work
    assert_same_data(reference, out)
    parts = sorted(p.relative_to(reference) for p in reference.rglob("*.parquet"))
    tables = {p.parts[0] for p in parts}  # the core tables and what the modules on add
    assert {"facility_day", "zone_day", "journeys"} <= tables
    assert len(parts) == len(tables) * N_TASKS
    assert all((reference / p).read_bytes() == (out / p).read_bytes() for p in parts)


def test_rerun_skips_complete_replicates_and_force_reproduces(spec_path, reference, cluster):
    addr = cluster[0].scheduler_address
    out = spec_path.parent / "rerun"
    shutil.copytree(reference, out)
    again = run_spec(spec_path, scheduler=addr, out=out, progress=False)
    assert (again.n_run, again.n_skipped) == (0, N_TASKS)
    forced = run_spec(spec_path, scheduler=addr, out=out, force=True, progress=False)
    assert (forced.n_run, forced.n_skipped) == (N_TASKS, 0)
    assert_same_data(reference, out)


def test_noop_scenario_equals_baseline_exactly(reference):
    for table in record.TABLES:
        df = frame(reference, table)
        base = df[df.scenario == "baseline"].drop(columns="scenario").reset_index(drop=True)
        noop = df[df.scenario == "noop"].drop(columns="scenario").reset_index(drop=True)
        assert len(base) > 0
        pd.testing.assert_frame_equal(base, noop)
    fd = frame(reference, "facility_day")
    f1 = fd[(fd.facility == "F1") & (fd.day == 0)]
    beds = f1.groupby("scenario").ward_beds.first()
    assert beds["minus"] == beds["baseline"] - 6  # the real change did apply


def test_worker_killed_mid_ensemble(spec_path, reference, cluster):
    cl, client = cluster
    out = spec_path.parent / "killed"
    outcome: dict = {}

    def target():
        try:
            outcome["run"] = run_spec(
                spec_path, scheduler=cl.scheduler_address, out=out, progress=False
            )
        except BaseException as err:  # reported by the assertion below
            outcome["error"] = err

    thread = threading.Thread(target=target)
    thread.start()
    killed = None
    deadline = time.monotonic() + 60
    while killed is None and time.monotonic() < deadline and thread.is_alive():
        busy = [w for w, keys in client.processing().items() if keys]
        if busy and list((out / "manifest").glob("*/*.json")):
            pid = client.run(os.getpid, workers=[busy[0]])[busy[0]]
            os.kill(pid, signal.SIGKILL)  # a worker process of this test's own cluster
            killed = pid
        time.sleep(0.01)
    thread.join(timeout=120)
    assert killed is not None, "the ensemble finished before a worker could be killed"
    assert "error" not in outcome, outcome.get("error")
    run = outcome["run"]
    assert run.n_run == N_TASKS
    assert killed not in client.run(os.getpid).values()  # that process is gone
    found = [(m["scenario"], m["replicate"]) for m in record.manifests(out)]
    assert sorted(found) == sorted(
        {(s, r) for s in ("baseline", "noop", "minus") for r in range(4)}
    )
    assert not list(out.rglob(".*.tmp"))
    assert_same_data(reference, out)


def test_resume_after_interruption_equals_uninterrupted(spec_path, reference, cluster):
    out = spec_path.parent / "resumed"
    shutil.copytree(reference, out)
    # an interrupted run: one replicate never finished (no manifest), one lost a file,
    # one has a truncated file, and a writer died leaving a temp file
    record.manifest_path(out, "baseline", 1).unlink()
    record.part_path(out, "journeys", "noop", 2).unlink()
    part = record.part_path(out, "zone_day", "minus", 3)
    part.write_bytes(part.read_bytes()[:200])
    (part.parent / ".part-0000.parquet.0123456789ab.tmp").write_bytes(b"PAR1")  # crashed
    run = run_spec(spec_path, scheduler=cluster[0].scheduler_address, out=out, progress=False)
    assert (run.n_run, run.n_skipped) == (3, N_TASKS - 3)
    assert not list(out.rglob(".*.tmp"))
    assert_same_data(reference, out)


def test_changed_spec_needs_force_then_replaces_stale_outputs(spec_path, reference, cluster):
    addr = cluster[0].scheduler_address
    out = spec_path.parent / "changed"
    shutil.copytree(reference, out)
    before = sorted(p.stat().st_mtime_ns for p in out.rglob("*.parquet"))
    with pytest.raises(OutputConflict, match="--force"):
        run_spec(spec_path, scheduler=addr, out=out, days=8, progress=False)
    assert sorted(p.stat().st_mtime_ns for p in out.rglob("*.parquet")) == before  # untouched
    run = run_spec(
        spec_path, scheduler=addr, out=out, days=8, replicates=2, force=True, progress=False
    )
    assert run.n_run == 3 * 2
    fd = frame(out, "facility_day")
    assert fd.day.max() == 7
    assert sorted(fd.replicate.unique()) == [0, 1]  # replicates 2, 3 of the old spec removed
    spec = load_spec(spec_path).with_overrides(days=8)
    assert {m["config_hash"] for m in record.manifests(out)} == {
        config_hash(spec, s) for s in spec.scenarios
    }


def test_replicate_without_manifest_is_not_left_in_the_dataset(spec_path, reference, cluster):
    out = spec_path.parent / "orphan"
    shutil.copytree(reference, out)
    record.manifest_path(out, "noop", 3).unlink()  # replicate 3 never completed
    run = run_spec(
        spec_path, scheduler=cluster[0].scheduler_address, out=out, replicates=2, progress=False
    )
    assert run.n_run == 0
    assert not record.part_path(out, "zone_day", "noop", 3).exists()
    assert record.part_path(out, "zone_day", "minus", 3).exists()  # complete: kept


def test_replicates_differ_from_each_other(reference):
    zd = frame(reference, "zone_day")
    base = zd[zd.scenario == "baseline"]
    totals = base.groupby("replicate").new_infections.sum().to_numpy()
    assert totals.min() > 0
    assert len(np.unique(totals)) > 1  # independent seeds per replicate


@pytest.mark.filterwarnings("ignore:Port .* is already in use")
def test_failing_replicate_is_retried_reported_and_resumable(spec_path, monkeypatch, tmp_path):
    """A replicate that raises is retried twice, the others are saved, a rerun redoes it."""
    from distributed import LocalCluster

    import popsim.run.ensemble as ensemble

    real = ensemble.run_replicate
    calls = tmp_path / "calls.txt"

    def flaky(spec, scenario, replicate, out, digest, **kw):
        if (scenario, replicate) == ("minus", 1):
            with calls.open("a") as fh:
                fh.write("x\n")
            raise ValueError("model blew up")
        return real(spec, scenario, replicate, out, digest, **kw)

    out = tmp_path / "out"
    with LocalCluster(
        n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cl:  # in-process worker: sees the patched function
        monkeypatch.setattr(ensemble, "run_replicate", flaky)
        with pytest.raises(ensemble.EnsembleError, match="minus/1: ValueError: model blew up"):
            run_spec(spec_path, scheduler=cl.scheduler_address, out=out, days=5, progress=False)
        assert calls.read_text().count("x") == 1 + ensemble.RETRIES
        assert len(record.manifests(out)) == N_TASKS - 1
        monkeypatch.setattr(ensemble, "run_replicate", real)
        run = run_spec(spec_path, scheduler=cl.scheduler_address, out=out, days=5, progress=False)
    assert (run.n_run, run.n_skipped) == (1, N_TASKS - 1)


def test_interrupted_command_resumes_to_the_same_dataset(spec_path, reference, cluster):
    """`popsim run` stopped with Ctrl-C mid-ensemble, then run again: the same data."""
    import subprocess
    import sys

    import psutil

    cmd = [sys.executable, "-m", "popsim.cli", "run", str(spec_path), "--workers", "1"]
    out = spec_path.parent / "interrupted"
    # Ctrl-C at its default in the command: a shell starting the test suite in the
    # background hands its children SIGINT ignored, and Python then never raises
    # KeyboardInterrupt (the command ran to the end and exited 0)
    proc = subprocess.Popen(
        [*cmd, "--out", str(out), "--quiet"],
        stdout=subprocess.DEVNULL,
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        deadline = time.monotonic() + 90
        while not list((out / "manifest").glob("*/*.json")) and time.monotonic() < deadline:
            time.sleep(0.02)
        children = psutil.Process(proc.pid).children(recursive=True)
        proc.send_signal(signal.SIGINT)
        code = proc.wait(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert code == 130
    gone, alive = psutil.wait_procs(children, timeout=10)
    for p in alive:  # worker processes of the interrupted command (started by this test)
        p.kill()
    assert not alive, "the interrupted command left worker processes behind"
    n_done = len(record.manifests(out))
    assert 0 < n_done < N_TASKS
    run = run_spec(spec_path, scheduler=cluster[0].scheduler_address, out=out, progress=False)
    assert (run.n_run, run.n_skipped) == (N_TASKS - n_done, n_done)
    assert not list(out.rglob(".*.tmp"))
    assert_same_data(reference, out)


class _InterruptsWhileCollected:
    """An object whose finaliser receives Ctrl-C: Python drops a KeyboardInterrupt
    raised inside ``__del__`` ("Exception ignored in ...")."""

    def __del__(self) -> None:
        os.kill(os.getpid(), signal.SIGINT)
        for _ in range(10_000):  # bytecodes for the handler to run between
            pass


def _interrupt_inside_a_finaliser() -> None:
    obj = _InterruptsWhileCollected()
    del obj


@pytest.mark.filterwarnings("ignore::pytest.PytestUnraisableExceptionWarning")
def test_a_ctrl_c_dropped_inside_a_finaliser_is_still_noted():
    """The flaky Ctrl-C of the resume test: Python's own handler loses it, the ensemble's
    noted handler keeps it for the loop to act on, and the default handler comes back.
    Python's default handler is installed for the test (a process started in the
    background by a shell without job control inherits SIGINT ignored) and the inherited
    one put back after."""
    inherited = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        try:
            _interrupt_inside_a_finaliser()  # the default handler: the interrupt is lost
        except KeyboardInterrupt:
            pytest.fail("a KeyboardInterrupt raised in __del__ was not dropped")
        with interrupt_noted() as interrupted:
            _interrupt_inside_a_finaliser()
            assert interrupted.is_set()
        assert signal.getsignal(signal.SIGINT) is signal.default_int_handler
        with interrupt_noted() as interrupted, pytest.raises(KeyboardInterrupt):
            os.kill(os.getpid(), signal.SIGINT)
            for _ in range(10_000):
                pass
        assert interrupted.is_set()
    finally:
        signal.signal(signal.SIGINT, inherited)


def test_config_hash_follows_what_determines_the_data(spec_path, tmp_path):
    shutil.copytree(spec_path.parent / "region", tmp_path / "region")
    shutil.copy(spec_path, tmp_path / "small.toml")
    spec = load_spec(tmp_path / "small.toml")
    h = {s: config_hash(spec, s) for s in spec.scenarios}
    assert len(set(h.values())) == 3  # scenarios differ
    assert config_hash(spec.with_overrides(replicates=9), "noop") == h["noop"]  # count: no
    assert config_hash(spec.with_overrides(days=9), "noop") != h["noop"]
    facilities = tmp_path / "region" / "facilities.csv"
    facilities.write_text(facilities.read_text().replace("Hospital 1,", "Hospital One,", 1))
    assert config_hash(spec, "noop") != h["noop"]  # the region's data changed


# ----------------------------------------------------------------- provenance
def test_outputs_record_the_resolved_configuration_and_versions(reference):
    """The manifest and every file hold every parameter used (defaults included), the
    model version and the package versions."""
    import json
    from importlib.metadata import version

    import pyarrow.parquet as pq

    from popsim.care.network import CareParams
    from popsim.core import MODEL_VERSION
    from popsim.demand import DemandParams

    m = record.read_manifest(reference, "minus", 1)
    config = m["config"]
    assert config["care"] == CareParams().model_dump(mode="json")  # no [care]: defaults
    assert config["demand"] == DemandParams().model_dump(mode="json")
    assert config["epidemic"]["r0"] == 2.2  # as written
    assert config["epidemic"]["dur_latent"] == {"mean": 4.5, "sd": 1.5, "family": "lognormal"}
    assert config["demography"] is None  # off
    assert config["events"] == [
        {"kind": "ChangeBeds", "day": 0, "facility": 0, "ward_beds": -6, "icu_beds": 0}
    ]
    assert (config["days"], config["start"], config["seed"]) == (30, "2026-10-01", "11")
    assert len(config["region"]["digest"]) == 16
    assert m["model_version"] == MODEL_VERSION
    for name in ("numpy", "mesa", "dask", "pyarrow"):
        assert m["versions"][name] == version(name)
    for table in record.TABLES:
        meta = pq.read_schema(record.part_path(reference, table, "minus", 1)).metadata
        assert json.loads(meta[b"popsim.config"]) == config
        assert meta[b"popsim.model_version"] == str(MODEL_VERSION).encode()
        assert json.loads(meta[b"popsim.versions"]) == m["versions"]


def test_output_changing_upgrade_is_refused_never_pooled(
    spec_path, reference, cluster, monkeypatch
):
    """A rerun after a model version bump is refused (or, with --force, redone whole)."""
    import popsim.run.provenance as provenance
    from popsim.run.ensemble import EnsembleError

    out = spec_path.parent / "upgraded"
    shutil.copytree(reference, out)
    before = {p: p.read_bytes() for p in out.rglob("*") if p.is_file()}
    monkeypatch.setattr(provenance, "MODEL_VERSION", provenance.MODEL_VERSION + 1)
    with pytest.raises(OutputConflict, match="model version"):
        run_spec(spec_path, scheduler=cluster[0].scheduler_address, out=out, progress=False)
    assert {p: p.read_bytes() for p in out.rglob("*") if p.is_file()} == before
    # workers still on the old version (other processes) refuse to write for the new one
    fresh = spec_path.parent / "upgraded-fresh"
    with pytest.raises(EnsembleError, match="another popsim version"):
        run_spec(
            spec_path,
            scheduler=cluster[0].scheduler_address,
            out=fresh,
            replicates=1,
            progress=False,
        )
    assert record.manifests(fresh) == []


# ---------------------------------------------------------------- concurrency
def test_second_run_on_a_folder_in_use_is_refused_while_the_first_completes(spec_path, reference):
    """Defect: a second run started meanwhile overwrote the first; both exited 0.

    The first run is held mid-run by a barrier, not by timing: it runs on a cluster with
    no workers yet, so once it holds the folder's lock it waits for workers, which
    arrive only after the second run has been refused."""
    import subprocess
    import sys

    from popsim.files import FolderLock
    from popsim.run.ensemble import local_cluster

    out = spec_path.parent / "contended"
    cmd = [sys.executable, "-m", "popsim.cli", "run", str(spec_path), "--out", str(out), "--quiet"]
    with local_cluster(0) as cluster:  # no workers until scaled up
        first = subprocess.Popen(
            [*cmd, "--scheduler", cluster.scheduler_address],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
        )
        try:
            lock, deadline = FolderLock(out), time.monotonic() + 120
            while (lock.holder() or (0,))[0] != first.pid:  # the first takes the lock
                assert first.poll() is None, first.communicate()
                assert time.monotonic() < deadline, "the first run never took the lock"
                time.sleep(0.02)
            second = subprocess.run(
                [*cmd, "--workers", "1", "--days", "8", "--force"],
                capture_output=True,
                text=True,
                timeout=120,
            )
            assert first.poll() is None  # still waiting for a worker: nothing ran yet
            assert second.returncode == 2
            assert second.stderr.count("\n") == 1 and "Traceback" not in second.stderr
            assert f"in use by process {first.pid}" in second.stderr
            assert record.manifests(out) == []  # the second wrote nothing either
            cluster.scale(2)  # the barrier lifts: the first run gets its workers
            assert first.wait(timeout=300) == 0, first.communicate()
        finally:
            if first.poll() is None:
                first.kill()
    assert not (out / ".popsim.lock").exists()
    assert_same_data(reference, out)


def _two_site_result(metrics: tuple[str, ...], fd: np.ndarray):
    """A hand-made run result: two sites, one zone, ``fd`` as its facility_day."""
    from datetime import date

    from popsim.model import RunResult

    return RunResult(
        start=date(2026, 1, 1),
        zone_ids=["Z01"],
        facility_ids=["F1", "F2"],
        facility_metrics=metrics,
        facility_day=fd,
        zone_day=np.zeros((fd.shape[0], 1, 10, 7), dtype=np.int32),
        journeys={},
        journey_codes={},
    )


def test_summary_reports_unserved_demand(spec_path):
    """Demand that found no open site is counted (facility_day.unserved) and the run's
    summary says so, instead of a quiet run with no admissions."""
    from popsim.model import FACILITY_METRICS
    from popsim.run.summary import format_summary, summarize

    metrics = (*FACILITY_METRICS, "unserved")
    fd = np.zeros((3, 2, len(metrics)), dtype=np.int32)
    fd[:, :, metrics.index("unserved")] = [[4, 0], [5, 1], [0, 0]]  # 10 needs in all
    summary = summarize(_two_site_result(metrics, fd))
    assert summary["unserved"] == 10
    spec = load_spec(spec_path)
    found = [{"scenario": "baseline", "summary": summary}]
    text = format_summary(spec, found, spec_path.parent)
    assert "UNSERVED: 10 needs per replicate found no open site" in text
    quiet = {**summary, "unserved": 0}
    assert "UNSERVED" not in format_summary(
        spec, [{"scenario": "baseline", "summary": quiet}], spec_path.parent
    )


def test_summary_gives_the_peak_bed_demand_when_beds_cap_the_census(spec_path):
    """A region full to its limit on its busiest days: the census peaks at the same
    number in every replicate, so the summary says what the demand was."""
    from popsim.model import FACILITY_METRICS
    from popsim.run.summary import format_summary, summarize

    metrics = (*FACILITY_METRICS, "open", "ward_demand", "icu_demand")
    fd = np.zeros((3, 2, len(metrics)), dtype=np.int32)
    fd[:, :, metrics.index("ward_census")] = 10  # full every day
    fd[:, :, metrics.index("ward_beds")] = 9
    fd[:, :, metrics.index("open")] = 1
    fd[:, :, metrics.index("ward_demand")] = [[10, 10], [14, 12], [11, 10]]
    summary = summarize(_two_site_result(metrics, fd))
    assert (summary["peak_census"], summary["peak_demand"]) == (20, 26)
    spec = load_spec(spec_path)
    text = format_summary(spec, [{"scenario": "baseline", "summary": summary}], spec_path.parent)
    assert "peak region census 20 (range 20-20)" in text
    assert "peak region bed demand 26 (range 26-26)" in text
    uncapped = {**summary, "peak_demand": 20}
    text = format_summary(spec, [{"scenario": "baseline", "summary": uncapped}], spec_path.parent)
    assert "bed demand" not in text.split("sites over")[0]


def test_summary_leads_with_the_patients(spec_path):
    """The console's first figures are patients (boarding, care outside an ICU,
    transfers, deaths) summed over days and sites, before any census against beds; the
    beds of the peak day are the funded and, with staffing, the staffed ones."""
    from popsim.model import FACILITY_METRICS
    from popsim.run.summary import format_summary, summarize

    metrics = (*FACILITY_METRICS, "icu_outside", "ward_staffed", "icu_staffed")
    fd = np.zeros((3, 2, len(metrics)), dtype=np.int32)
    fd[:, :, metrics.index("ed_boarding")] = [[3, 1], [0, 2], [5, 0]]  # 11 patient-days
    fd[:, :, metrics.index("icu_outside")] = [[0, 0], [1, 0], [0, 2]]  # 3
    fd[:, :, metrics.index("deaths")] = [[1, 0], [0, 0], [0, 1]]  # 2
    fd[:, :, metrics.index("ward_census")] = [[8, 8], [9, 9], [7, 7]]  # peak on day 1
    fd[:, :, metrics.index("ward_beds")] = 10
    fd[:, :, metrics.index("ward_staffed")] = [[10, 10], [6, 7], [10, 10]]
    summary = summarize(_two_site_result(metrics, fd))
    other = summarize(_two_site_result(metrics, fd * np.int32(2)))
    spec = load_spec(spec_path)
    found = [{"scenario": "baseline", "summary": s} for s in (summary, other)]
    text = format_summary(spec, found, spec_path.parent)
    body = " ".join(text.split())
    assert "16 (11-22) patient-days boarding in EDs" in body
    assert "4 (3-6) patient-days of critical care outside an ICU" in body
    assert "3 (2-4) deaths in hospital" in body
    assert body.index("boarding in EDs") < body.index("peak region census")
    assert "vs 20 funded beds, 13 staffed that day" in body
    assert "transfers for want of a bed" not in body  # not a column of this run


def test_worker_failures_are_one_line_each_without_distributed_tracebacks(tmp_path, capfd):
    """Before: each failed task also printed distributed's "Compute Failed" block with its
    traceback on stderr, from the worker processes."""
    from toy_modules.boom import Boom

    from popsim.cli import main
    from popsim.core import REGISTRY

    spec = tmp_path / "boom.toml"
    spec.write_text(
        'region = "synthetic"\ndays = 3\npopulation = 2000\nreplicates = 2\n[boom]\n',
        encoding="utf-8",
    )
    with REGISTRY.added(Boom):
        code = main(["run", str(spec), "--quiet", "--workers", "1"])
    err = capfd.readouterr().err
    assert code == 1
    assert "Compute Failed" not in err and "Traceback" not in err, err
    lines = [line for line in err.splitlines() if line.strip()]
    assert lines[0].startswith("popsim: 2 of 2 replicates failed")
    assert lines[1:] == [
        f"  baseline/{r}: RuntimeError: failed on purpose\\nsecond line of the message"
        for r in range(2)
    ]
