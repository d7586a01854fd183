"""Writing files so that neither a crash nor a power loss leaves a half-written file that
looks whole, and removing only the temporary files popsim itself left behind.

Every file is written to a hidden temporary name in its final folder
(``.<name>.<12 hex digits>.tmp``), flushed to disk (``fsync``), renamed over the final
name with :func:`os.replace`, and then the folder itself is flushed so that the rename
survives a power loss. :func:`remove_temp_files` deletes only names of exactly that
form, only in the one folder it is given, and only for final names the caller owns.
"""

from __future__ import annotations

import contextlib
import os
import re
import uuid
from collections.abc import Callable
from pathlib import Path

from popsim.errors import OutputError

#: The temporary name of a file being written: ``.<final name>.<12 hex digits>.tmp``.
TEMP_NAME = re.compile(r"^\.(?P<final>.+)\.[0-9a-f]{12}\.tmp$")


def temp_path(path: Path) -> Path:
    """A fresh temporary name beside ``path`` (matches :data:`TEMP_NAME`)."""
    return path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")


def fsync_file(path: str | Path) -> None:
    """Flush a file's data to disk (whatever process wrote it)."""
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def fsync_dir(folder: str | Path) -> None:
    """Flush a folder's entries (renames, creations) to disk; a no-op where folders
    cannot be opened (Windows)."""
    try:
        fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    except (PermissionError, IsADirectoryError):
        return
    try:
        os.fsync(fd)
    except OSError:  # some file systems refuse fsync on a folder: nothing more to do
        pass
    finally:
        os.close(fd)


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write through ``write(tmp_path)`` to a hidden temp name beside ``path``, flush it,
    rename it to ``path`` and flush the folder. Returns ``path``.

    The temp name ends in ``.tmp``: writers that pick a format from the file name must be
    told the format. A writer that fails leaves the old file (if any) and no temp file.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        write(tmp)
        fsync_file(tmp)
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write a UTF-8 text file."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def remove_temp_files(folder: str | Path, final: re.Pattern[str]) -> int:
    """Delete the temp files a crashed writer left in ``folder`` (not below it) whose final
    name matches ``final`` (a popsim output name); returns how many. Nothing else is
    touched: a file popsim did not name is never removed."""
    folder = Path(folder)
    if not folder.is_dir():
        return 0
    n = 0
    for entry in folder.iterdir():
        m = TEMP_NAME.match(entry.name)
        if m and final.fullmatch(m["final"]) and entry.is_file() and not entry.is_symlink():
            entry.unlink(missing_ok=True)
            n += 1
    return n


# -------------------------------------------------------------------- locking
#: The lock file of an output folder (hidden; holds the holder's pid, host and start).
LOCK_NAME = ".popsim.lock"


class FolderLocked(OutputError):
    """Another live process holds the folder's lock; the message says who and since when."""


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # another user's live process
        return True
    except OverflowError:
        return False
    return True


def _host() -> str:
    import socket

    return socket.gethostname()


class FolderLock:
    """An exclusive lock on a folder for as long as the ``with`` block runs.

    The lock is the file :data:`LOCK_NAME` in the folder, created with ``O_EXCL`` and
    holding ``pid host started``. A lock whose holder is gone (same host, no such
    process) is stale and taken over; a lock held by a live process, or by a process on
    another host (which cannot be checked from here), raises :class:`FolderLocked`
    naming the holder and the lock file. The lock file is removed on exit.
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._held = False

    def holder(self) -> tuple[int, str, str] | None:
        """``(pid, host, started)`` of the current lock, or None if there is none
        (an unreadable lock gives pid -1)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return (-1, "", "")
        parts = text.split(maxsplit=2)
        try:
            return (int(parts[0]), parts[1], parts[2].strip() if len(parts) > 2 else "")
        except (IndexError, ValueError):
            return (-1, "", "")

    def _stale(self, holder: tuple[int, str, str]) -> bool:
        pid, host, _ = holder
        if pid == -1:  # empty or garbled: a writer that died between create and write
            import time

            try:
                return time.time() - self.path.stat().st_mtime > 60
            except FileNotFoundError:
                return True
        return host == _host() and not _alive(pid)

    def acquire(self) -> None:
        import datetime as dt

        started = dt.datetime.now(dt.UTC).isoformat(timespec="seconds")
        me = f"{os.getpid()} {_host()} {started}\n".encode()
        for _ in range(3):
            try:
                fd = os.open(self.path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o644)
            except FileExistsError:
                holder = self.holder()
                if holder is None:
                    continue  # released meanwhile: try again
                if not self._stale(holder):
                    pid, host, since = holder
                    who = f"process {pid} on {host}" if pid != -1 else "another process"
                    raise FolderLocked(
                        f"{self.path.parent}: in use by {who}"
                        + (f" since {since}" if since else "")
                        + f" (lock file {self.path}; if no run is going, delete it)"
                    ) from None
                self._break(holder)
                continue
            try:
                os.write(fd, me)
                os.fsync(fd)
            finally:
                os.close(fd)
            self._held = True
            return
        raise FolderLocked(f"{self.path.parent}: could not take the lock {self.path}")

    def _break(self, seen: tuple[int, str, str]) -> None:
        """Remove a stale lock, unless it was replaced by a live one since it was read."""
        aside = self.path.with_name(f"{LOCK_NAME}.{uuid.uuid4().hex[:12]}.stale")
        try:
            os.rename(self.path, aside)
        except FileNotFoundError:
            return
        moved = FolderLock(aside.parent)
        moved.path = aside
        if moved.holder() != seen:  # another process took the lock meanwhile: put it back
            with contextlib.suppress(FileExistsError):
                os.link(aside, self.path)
        aside.unlink(missing_ok=True)

    def release(self) -> None:
        if self._held:
            if self.holder() is not None and self.holder()[0] == os.getpid():
                self.path.unlink(missing_ok=True)
            self._held = False

    def __enter__(self) -> FolderLock:
        self.acquire()
        return self

    def __exit__(self, *exc: object) -> None:
        self.release()
