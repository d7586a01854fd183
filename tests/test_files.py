"""Atomic writes (flushed to disk around the rename), removal of popsim's own temp files
only, and the output folder's lock."""

import os
import re
import socket
import subprocess
import sys

import pytest

from popsim.files import (
    LOCK_NAME,
    FolderLock,
    FolderLocked,
    atomic_write,
    remove_temp_files,
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
