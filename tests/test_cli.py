"""The ``popsim run`` command: runs a spec, prints where the outputs are; bad specs exit 2."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

import popsim
from popsim.cli import main
from popsim.run import record

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
    # 3,000 residents in a region of more: its beds are not scaled, and the run says so
    assert "population: 3,000 residents against the region's" in printed.out
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


# ------------------------------------------------------------- hardening
TINY = 'region = "synthetic"\nstart = 2026-01-01\ndays = 4\npopulation = 2000\nseed = 3\n'


def one_line_error(capsys) -> str:
    err = capsys.readouterr().err
    assert err.startswith("popsim: error: ") and err.count("\n") == 1, err
    assert "Traceback" not in err
    return err


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


@pytest.mark.cluster
def test_out_never_deletes_files_popsim_did_not_write(tmp_path, capsys, monkeypatch):
    """Defect: every hidden *.tmp under --out was deleted, even when the run was refused;
    `--out ""` was the current folder."""
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY, encoding="utf-8")
    out = tmp_path / "out"
    theirs = {
        out / ".notes.tmp": b"a",
        out / "sub" / ".draft.txt.tmp": b"b",
        out / "facility_day" / "scenario=baseline" / ".x.tmp": b"c",
        out / "facility_day" / "scenario=baseline" / "part-x.parquet": b"d",
        out / "zone_day" / "scenario=gone" / "keep.csv": b"e",
    }
    for path, data in theirs.items():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
    argv = ["run", str(spec), "--workers", "1", "--quiet", "--out", str(out)]
    assert main([*argv, "--days", "0"]) == 2  # refused: nothing touched
    capsys.readouterr()
    assert all(path.read_bytes() == data for path, data in theirs.items())
    assert main([*argv, "--force"]) == 0  # ran, replacing a "gone" scenario: still kept
    assert all(path.read_bytes() == data for path, data in theirs.items())
    assert record.replicate_complete(out, "baseline", 0) is not None
    monkeypatch.chdir(tmp_path)
    before = snapshot(tmp_path)
    assert main(["run", str(spec), "--quiet", "--out", ""]) == 2
    assert "--out: empty folder name" in one_line_error(capsys)
    assert snapshot(tmp_path) == before


@pytest.mark.parametrize(
    ("args", "expect"),
    [
        (["--replicates", "1000000000"], "--replicates must be in 1..10000"),
        (["--replicates", "40000"], "--replicates must be in 1..10000"),
        (["--population", "400000000"], "--population must be in 1..50000000"),
        (["--workers", "-3"], "--workers: expected 1.."),
        (["--workers", "0"], "--workers: expected 1.."),
        (["--workers", "100000"], "--workers: expected 1.."),
        (["--out", "/dev/null"], "/dev/null: is a device or special file, not a folder"),
        (["--out", "{spec}"], "is a file, not a folder"),
        (["--out", "{spec}/below"], "a part of this path is a file"),
        (["--scheduler", "not a url"], "is not a Dask scheduler address"),
        (["--scheduler", "http://127.0.0.1"], "is not a Dask scheduler address"),
    ],
)
def test_bad_run_arguments_exit_2_with_one_line_before_anything_runs(
    args, expect, tmp_path, capsys
):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY, encoding="utf-8")
    args = [a.replace("{spec}", str(spec)) for a in args]
    before = snapshot(tmp_path)
    assert main(["run", str(spec), "--quiet", *args]) == 2
    assert expect in one_line_error(capsys)
    assert snapshot(tmp_path) == before and not (tmp_path / "tiny").exists()


def test_spec_without_toml_suffix_is_refused(tmp_path, capsys):
    spec = tmp_path / "tiny"
    spec.write_text(TINY, encoding="utf-8")
    assert main(["run", str(spec), "--quiet"]) == 2
    assert "a run spec is a TOML file" in one_line_error(capsys)


@pytest.mark.cluster
def test_scheduler_that_does_not_answer_is_one_line(tmp_path, capsys):
    import socket

    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY, encoding="utf-8")
    code = main(["run", str(spec), "--quiet", "--scheduler", f"tcp://127.0.0.1:{port}"])
    assert code == 2
    assert "no Dask scheduler answered within" in one_line_error(capsys)


@pytest.fixture
def silent_port():
    """A TCP server on 127.0.0.1 that accepts connections and never says a word."""
    import socket
    import threading

    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(16)
    held: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                held.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    yield server.getsockname()[1]
    server.close()
    for conn in held:
        conn.close()


@pytest.mark.parametrize("check", [False, True], ids=["run", "check"])
def test_scheduler_port_that_never_answers_is_one_line_and_holds_nothing(
    tmp_path, capsys, silent_port, check
):
    """Before: the client waited forever for the handshake, holding the lock; --check
    said ok without asking."""
    import threading

    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY, encoding="utf-8")
    argv = ["run", str(spec), "--quiet", "--scheduler", f"tcp://127.0.0.1:{silent_port}"]
    codes: list[int] = []
    thread = threading.Thread(
        target=lambda: codes.append(main(argv + (["--check"] if check else []))), daemon=True
    )
    thread.start()
    thread.join(120)
    assert not thread.is_alive(), "popsim run waited on a silent scheduler port"
    assert codes == [2]
    assert "no Dask scheduler answered within" in one_line_error(capsys)
    assert not (tmp_path / "tiny").exists()  # refused before the output folder and its lock


def test_run_needing_more_memory_than_available_is_refused(tmp_path, capsys, monkeypatch):
    from popsim.run import resources

    monkeypatch.setattr(resources, "available_bytes", lambda: 2 * 2**30)  # a 2 GB machine
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY + "replicates = 4\n", encoding="utf-8")
    argv = ["run", str(spec), "--quiet", "--workers", "2", "--population", "20000000"]
    assert main(argv) == 2
    err = one_line_error(capsys)
    per = resources.estimate_bytes(20_000_000, 4) / 2**30
    assert f"2 worker(s) x {per:.1f} GB" in err and "1.8 GB available" in err
    assert not (tmp_path / "tiny").exists()  # refused before the output folder


def test_unwritable_output_folder_is_refused_before_computing(tmp_path, capsys):
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY, encoding="utf-8")
    if os.geteuid() == 0:  # root writes through permissions: use a folder of /proc
        target = Path("/proc/self")
    else:
        target = tmp_path / "ro"
        target.mkdir()
        target.chmod(0o555)
    assert main(["run", str(spec), "--quiet", "--out", str(target)]) == 2
    assert "output folder is not writable" in one_line_error(capsys)


@pytest.mark.cluster
def test_closed_stdout_ends_quietly_with_complete_outputs(tmp_path):
    """Defect: `popsim run ... | head -1` ended in a BrokenPipeError traceback."""
    spec = tmp_path / "tiny.toml"
    spec.write_text(TINY + "[scenarios.a]\n[scenarios.b]\n", encoding="utf-8")
    cmd = f"{sys.executable} -m popsim.cli run {spec} --workers 1 --quiet | head -c 1"
    proc = subprocess.run(
        ["bash", "-c", cmd + "; exit ${PIPESTATUS[0]}"],
        capture_output=True,
        text=True,
        timeout=300,
        env={**os.environ, "PYTHONPATH": str(Path(popsim.__file__).parent.parent)},
    )
    assert proc.returncode == 0, proc.stderr
    assert "Traceback" not in proc.stderr and "Error" not in proc.stderr
    assert len(record.manifests(tmp_path / "tiny")) == 2


@pytest.mark.cluster
def test_every_site_closed_counts_the_demand_as_unserved(tmp_path, capsys):
    """Closing every site does not make demand vanish: each need that finds no open site
    is counted in facility_day.unserved, and the run summary says so."""
    spec = tmp_path / "closed.toml"
    spec.write_text(
        'region = "synthetic"\nstart = 2026-01-01\ndays = 20\nseed = 5\n'
        "[scenarios.all-closed]\n"
        'events = [{ day = 0, close = "F1" }, { day = 0, close = "F2" }, '
        '{ day = 0, close = "F3" }]\n',
        encoding="utf-8",
    )
    out = tmp_path / "out"
    code = main(["run", str(spec), "--workers", "1", "--out", str(out), "--quiet"])
    assert code == 0
    fd = record.read_table(out, "facility_day").to_pandas()
    # nobody is admitted anywhere after day 0 and the everyday demand is all counted
    assert fd.loc[fd.day > 0, "admissions"].sum() == 0
    unserved = int(fd["unserved"].sum())
    assert unserved > 0
    printed = capsys.readouterr().out
    assert "unserved" in printed and f"{unserved:,}" in printed


@pytest.mark.parametrize("name", ["a\\nb", "a\\u2028b", "\\u000b"])
def test_a_name_with_a_line_break_stays_on_one_error_line(name, tmp_path, capsys):
    """A scenario name holding a line break (found by the spec fuzz test) is escaped in
    the error, which stays one line."""
    spec = tmp_path / "names.toml"
    spec.write_text(f'region = "synthetic"\n[scenarios."{name}"]\n', encoding="utf-8")
    code = main(["run", str(spec), "--check", "--quiet", "--out", str(tmp_path / "out")])
    err = capsys.readouterr().err
    assert code == 2
    assert len(err.splitlines()) == 1 and err.startswith("popsim: error: ")
