"""Atomic writes (flushed to disk around the rename), removal of popsim's own temp files
only, the one resolver of output paths (no link followed, nothing outside the folder, no
special file replaced), and the output folder's lock and its fence."""

import os
import re
import socket
import subprocess
import sys

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popsim.files import (
    LOCK_NAME,
    FolderLock,
    FolderLocked,
    LockLost,
    UnsafeOutput,
    atomic_write,
    fence,
    output_path,
    remove_temp_files,
    run_folder_problems,
    temp_path,
    write_text,
)


def test_write_text_creates_folders_and_replaces_whole(tmp_path):
    path = tmp_path / "a" / "b" / "x.json"
    write_text(path, "first")
    write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_a_writer_that_fails_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "table.csv"
    write_text(path, "old")

    def half_then_crash(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        atomic_write(path, half_then_crash)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_remove_temp_files_removes_only_own_temp_names_in_that_folder(tmp_path):
    """Defect: every hidden *.tmp under --out was deleted, whoever wrote it."""
    sub = tmp_path / "sub"
    sub.mkdir()
    ours = temp_path(tmp_path / "part-0001.parquet")
    ours.write_text("x")
    keep = [
        tmp_path / ".notes.tmp",  # hidden .tmp, not a popsim temp name
        tmp_path / ".report.html.0123456789ab.tmp",  # popsim's form, another final name
        tmp_path / "keep.tmp",
        temp_path(sub / "part-0002.parquet"),  # below the folder: not touched
    ]
    for path in keep:
        path.write_text("not ours")
    assert remove_temp_files(tmp_path, re.compile(r"part-\d{4,}\.parquet")) == 1
    assert not ours.exists()
    assert all(p.exists() for p in keep)
    assert remove_temp_files(tmp_path / "missing", re.compile(".*")) == 0


def test_atomic_write_flushes_the_file_before_the_rename_and_the_folder_after(
    tmp_path, monkeypatch
):
    events = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd):
        events.append(("fsync", os.readlink(f"/proc/self/fd/{fd}")))
        real_fsync(fd)

    def replace(src, dst):
        events.append(("replace", str(dst)))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    path = tmp_path / "x.json"
    write_text(path, "data")
    kinds = [(kind, target.rsplit("/", 1)[-1]) for kind, target in events]
    assert kinds[0][0] == "fsync" and kinds[0][1].startswith(".x.json.")  # the temp file
    assert kinds[1] == ("replace", "x.json")
    assert kinds[2] == ("fsync", tmp_path.name)  # the folder, after the rename
    assert path.read_text() == "data"


def _dead_pid() -> int:
    proc = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        check=True,
        capture_output=True,
        text=True,
    )
    return int(proc.stdout)


def test_lock_is_exclusive_and_released(tmp_path):
    with FolderLock(tmp_path) as held:
        pid, host, since = held.holder()
        assert (pid, host) == (os.getpid(), socket.gethostname()) and since
        with pytest.raises(FolderLocked, match=f"in use by process {os.getpid()}"):
            FolderLock(tmp_path).acquire()
    assert not (tmp_path / LOCK_NAME).exists()
    with FolderLock(tmp_path):  # free again
        pass


def test_stale_lock_of_a_dead_process_is_taken_over(tmp_path):
    (tmp_path / LOCK_NAME).write_text(f"{_dead_pid()} {socket.gethostname()} 2026-01-01\n")
    with FolderLock(tmp_path) as held:
        assert held.holder()[0] == os.getpid()


def test_lock_of_another_host_or_a_fresh_garbled_lock_is_respected(tmp_path):
    lock = tmp_path / LOCK_NAME
    lock.write_text(f"{_dead_pid()} some-other-host 2026-01-01\n")
    with pytest.raises(FolderLocked, match="some-other-host"):
        FolderLock(tmp_path).acquire()
    lock.write_text("")  # being written by its holder this instant
    with pytest.raises(FolderLocked, match="another process"):
        FolderLock(tmp_path).acquire()
    old = 1_000_000_000
    os.utime(lock, (old, old))  # ...or left empty long ago: stale
    with FolderLock(tmp_path) as held:
        assert held.holder()[0] == os.getpid()


# ------------------------------------------------------------- output paths
@pytest.fixture
def outside(tmp_path):
    """A folder outside the output folder, with a file a link could reach."""
    other = tmp_path / "elsewhere"
    other.mkdir()
    (other / "part-0000.parquet").write_bytes(b"theirs")
    return other


def test_a_linked_folder_inside_the_output_folder_is_never_written_through(tmp_path, outside):
    out = tmp_path / "out"
    (out / "facility_day").mkdir(parents=True)
    (out / "facility_day" / "scenario=a").symlink_to(outside, target_is_directory=True)
    target = out / "facility_day" / "scenario=a" / "part-0000.parquet"
    with pytest.raises(UnsafeOutput, match="scenario=a is a symbolic link"):
        write_text(target, "mine", root=out)
    assert (outside / "part-0000.parquet").read_bytes() == b"theirs"
    assert sorted(p.name for p in outside.iterdir()) == ["part-0000.parquet"]


def test_output_paths_stay_inside_and_replace_only_regular_files(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    with pytest.raises(UnsafeOutput, match="outside the output folder"):
        output_path(out, "../x.json")
    os.mkfifo(out / "fifo.json")
    with pytest.raises(UnsafeOutput, match="a FIFO"):
        output_path(out, "fifo.json")
    (out / "old.json").write_text("kept")
    with pytest.raises(UnsafeOutput, match="--xlsx old.json: exists; use --force"):
        output_path(out, "old.json", replace=False, flag="--xlsx")
    assert output_path(out, "old.json") == out / "old.json"  # a run's own file: replaced
    assert output_path(out, "new/deeper/x.json") == out / "new" / "deeper" / "x.json"
    assert (out / "new" / "deeper").is_dir()


def test_run_folder_problems_name_every_link_and_special_file(tmp_path, outside):
    out = tmp_path / "out"
    (out / "manifest" / "scenario=a").mkdir(parents=True)
    os.mkfifo(out / "manifest" / "scenario=a" / "replicate-0000.json")
    (out / "facility_day").symlink_to(outside, target_is_directory=True)
    (out / "run.json").symlink_to(outside / "part-0000.parquet")
    (out / "notes.txt").symlink_to(outside / "part-0000.parquet")  # not popsim's: left alone
    problems = run_folder_problems(out)
    assert len(problems) == 3, problems
    assert any("replicate-0000.json: is a FIFO" in p for p in problems)
    assert any("facility_day: is a symbolic link" in p for p in problems)
    assert any("run.json: is a symbolic link" in p for p in problems)


def test_the_fence_refuses_a_rename_once_another_run_holds_the_lock(tmp_path):
    out = tmp_path / "out"
    out.mkdir()
    first = FolderLock(out)
    first.acquire()
    check = fence(out, first.token)
    write_text(out / "a.json", "written", root=out, fence=check)  # still the holder
    first.release()
    with FolderLock(out):  # a new run took the folder over
        with pytest.raises(LockLost, match="no longer holds the folder's lock"):
            write_text(out / "b.json", "late", root=out, fence=check)
        with pytest.raises(LockLost):
            write_text(out / "a.json", "late", root=out, fence=check)
    assert not (out / "b.json").exists() and (out / "a.json").read_text() == "written"
    assert sorted(p.name for p in out.iterdir()) == ["a.json"]  # no temp file left


@given(
    parts=st.lists(
        st.sampled_from(["a", "b", "..", "link", "fifo", "file", "new"]), min_size=1, max_size=5
    )
)
@settings(max_examples=200, suppress_health_check=[HealthCheck.function_scoped_fixture])
def test_an_output_path_is_inside_its_folder_through_real_folders_or_refused(parts, tmp_path):
    """Whatever the path: either refused, or inside the output folder, every folder on
    the way a real folder (never a link) or not there yet, and the file absent or a
    regular file."""
    out = tmp_path / "out"
    (out / "a" / "b").mkdir(parents=True, exist_ok=True)
    (tmp_path / "elsewhere").mkdir(exist_ok=True)
    for folder in (out, out / "a", out / "a" / "b"):
        if not (folder / "link").is_symlink():
            (folder / "link").symlink_to(tmp_path / "elsewhere", target_is_directory=True)
        if not (folder / "fifo").exists():
            os.mkfifo(folder / "fifo")
        (folder / "file").write_text("x")
    try:
        path = output_path(out, "/".join(parts), make_dirs=False)
    except UnsafeOutput:
        return
    assert path.resolve().is_relative_to(out.resolve())
    rel = path.relative_to(out)
    for i in range(1, len(rel.parts)):  # each folder on the way: real, or not there yet
        folder = out.joinpath(*rel.parts[:i])
        assert not folder.is_symlink()
        assert folder.is_dir() or not os.path.lexists(folder)
    assert not os.path.lexists(path) or (path.is_file() and not path.is_symlink())
