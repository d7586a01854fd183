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
import stat
import uuid
from collections.abc import Callable
from pathlib import Path

from popsim.core import schema
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


class UnsafeOutput(OutputError):
    """An output path that would follow a symbolic link, leave its output folder, replace a
    file that is not a regular file, or replace a file without ``--force``."""


def _kind(mode: int) -> str:
    if stat.S_ISLNK(mode):
        return "a symbolic link"
    if stat.S_ISDIR(mode):
        return "a folder"
    if stat.S_ISFIFO(mode):
        return "a FIFO"
    if stat.S_ISSOCK(mode):
        return "a socket"
    if stat.S_ISCHR(mode) or stat.S_ISBLK(mode):
        return "a device"
    return "a special file"


def output_path(
    root: str | Path,
    path: str | Path,
    *,
    replace: bool = True,
    flag: str | None = None,
    make_dirs: bool = True,
    shown: str | Path | None = None,
) -> Path:
    """The one place every output path is resolved before popsim writes or deletes it.

    ``path`` (relative to ``root``, or absolute below it) must stay inside ``root`` (no
    ``..``), every folder between ``root`` and it must be a real folder (a symbolic link
    is never followed: writing through one would write elsewhere), and the file, if it
    exists, must be a regular file (a FIFO would block a reader, a folder cannot be
    replaced) that may be replaced (``replace``; a command replaces a file the user named
    only with ``--force``). ``root`` itself is the folder the user chose and may be a
    link. Missing folders are created (``make_dirs``), one at a time and never through a
    link. Returns ``root / relative``; :class:`UnsafeOutput` (one line naming ``flag`` if
    given, and the path, or ``shown``, as the user gave it) otherwise.

    The checks are made just before the write; popsim's own writers hold the output
    folder's lock, so no other popsim run changes the folder meanwhile.
    """
    root = Path(root)
    given = Path(path)
    rel = given.relative_to(root) if given.is_absolute() and given.is_relative_to(root) else given
    label = f"{flag} {shown or given}" if flag else str(shown or given)
    if rel.is_absolute() or ".." in rel.parts or not rel.parts:
        raise UnsafeOutput(f"{label}: outside the output folder {root}")
    if make_dirs:
        root.mkdir(parents=True, exist_ok=True)
    here = root
    for i, part in enumerate(rel.parts):
        here = here / part
        last = i == len(rel.parts) - 1
        try:
            mode = os.lstat(here).st_mode
        except FileNotFoundError:
            if last:
                break
            if not make_dirs:
                break
            with contextlib.suppress(FileExistsError):  # made meanwhile: checked below
                os.mkdir(here)
            mode = os.lstat(here).st_mode
        except NotADirectoryError:
            raise UnsafeOutput(f"{label}: a part of this path is a file, not a folder") from None
        if stat.S_ISLNK(mode):
            raise UnsafeOutput(
                f"{label}: {here} is a symbolic link; popsim does not write through links "
                "(remove it or choose another output folder)"
            )
        if not last and not stat.S_ISDIR(mode):
            raise UnsafeOutput(f"{label}: {here} is {_kind(mode)}, not a folder")
        if last and not stat.S_ISREG(mode):
            raise UnsafeOutput(f"{label}: is {_kind(mode)}, not a file popsim can replace")
        if last and not replace:
            hint = "; use --force to replace it" if flag else ""
            raise UnsafeOutput(f"{label}: exists{hint}")
    return root / rel


def output_dir(root: str | Path, path: str | Path) -> Path:
    """A folder inside ``root`` for outputs, created if missing, resolved as
    :func:`output_path` resolves a file's folders (never a link)."""
    folder = output_path(root, Path(path) / ".popsim-folder-check").parent
    mode = os.lstat(folder).st_mode
    if not stat.S_ISDIR(mode):
        raise UnsafeOutput(f"{folder}: is {_kind(mode)}, not a folder")
    return folder


def is_regular_file(path: str | Path) -> bool:
    """``path`` is a regular file and not a link (reading a FIFO or a device could block)."""
    try:
        return stat.S_ISREG(os.lstat(path).st_mode)
    except OSError:
        return False


def atomic_write(
    path: str | Path,
    write: Callable[[Path], object],
    *,
    root: str | Path | None = None,
    fence: Callable[[], None] | None = None,
) -> Path:
    """Write through ``write(tmp_path)`` to a hidden temp name beside ``path``, flush it,
    rename it to ``path`` and flush the folder. Returns ``path``.

    With ``root``, ``path`` is resolved by :func:`output_path` first (inside ``root``, no
    link followed, no special file replaced). ``fence`` is called just before the rename
    and raises if the writer no longer owns the folder (then the temp file is removed
    and nothing is replaced).

    The temp name ends in ``.tmp``: writers that pick a format from the file name must be
    told the format. A writer that fails leaves the old file (if any) and no temp file.
    """
    path = output_path(root, path) if root is not None else Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = temp_path(path)
    try:
        write(tmp)
        fsync_file(tmp)
        if fence is not None:
            fence()
        os.replace(tmp, path)
        fsync_dir(path.parent)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text(
    path: str | Path,
    text: str,
    *,
    root: str | Path | None = None,
    fence: Callable[[], None] | None = None,
) -> Path:
    """Atomically write a UTF-8 text file (``root``, ``fence``: see :func:`atomic_write`)."""
    return atomic_write(
        path, lambda tmp: tmp.write_text(text, encoding="utf-8"), root=root, fence=fence
    )


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


def run_folder_problems(out: str | Path) -> list[str]:
    """Every name popsim owns in ``out`` that is not what popsim writes there: a symbolic
    link (writing or deleting through it would reach outside the folder) or a special
    file (a FIFO blocks its reader) in place of a table, manifest, scenario or analysis
    folder, a part, a manifest or ``run.json``. One line per problem; nothing is changed."""
    out = Path(out)
    problems: list[str] = []

    def kind(path: Path) -> int | None:
        try:
            return os.lstat(path).st_mode
        except OSError:
            return None

    def bad(path: Path, want_dir: bool) -> bool:
        mode = kind(path)
        if mode is None:
            return False
        ok = stat.S_ISDIR(mode) if want_dir else stat.S_ISREG(mode)
        if not ok:
            what = "a file" if stat.S_ISREG(mode) else _kind(mode)
            expected = "a folder" if want_dir else "a file"
            problems.append(
                f"{path}: is {what}, expected {expected} (popsim never follows links nor "
                "reads special files in a run folder; remove it)"
            )
            return True
        return False

    bad(out / schema.RUN_INFO_FILE, want_dir=False)
    bad(out / schema.ANALYSIS_DIR, want_dir=True)
    for table, pattern in (
        (schema.MANIFEST_DIR, schema.MANIFEST_PATTERN),
        *((t, schema.PART_PATTERN) for t in schema.ALL_TABLES),
    ):
        root = out / table
        if kind(root) is None or bad(root, want_dir=True):
            continue
        for sdir in sorted(root.iterdir()):
            if schema.partition_scenario(sdir.name) is None or bad(sdir, want_dir=True):
                continue
            for entry in sorted(sdir.iterdir()):
                if pattern.fullmatch(entry.name):
                    bad(entry, want_dir=False)
    return problems


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
    holding ``pid host started token``. A lock whose holder is gone (same host, no such
    process) is stale and taken over; a lock held by a live process, or by a process on
    another host (which cannot be checked from here), raises :class:`FolderLocked`
    naming the holder and the lock file. The lock file is removed on exit.
    """

    def __init__(self, folder: str | Path) -> None:
        self.path = Path(folder) / LOCK_NAME
        self._held = False
        #: A fresh random token written into the lock file: whoever writes on the run's
        #: behalf (a task on a cluster) checks it before each rename (:func:`fence`).
        self.token = uuid.uuid4().hex

    def holder(self) -> tuple[int, str, str] | None:
        """``(pid, host, started)`` of the current lock, or None if there is none
        (an unreadable lock gives pid -1)."""
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError):
            return (-1, "", "")
        parts = text.split()
        try:
            return (int(parts[0]), parts[1], parts[2] if len(parts) > 2 else "")
        except (IndexError, ValueError):
            return (-1, "", "")

    def current_token(self) -> str | None:
        """The run token of the lock now in the folder (None: no lock, or one without)."""
        try:
            parts = self.path.read_text(encoding="utf-8").split()
        except (OSError, UnicodeDecodeError):
            return None
        return parts[3] if len(parts) > 3 else None

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
        me = f"{os.getpid()} {_host()} {started} {self.token}\n".encode()
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


class LockLost(OutputError):
    """A writer's run no longer holds its output folder's lock (another run took it)."""


def fence(folder: str | Path, token: str) -> Callable[[], None]:
    """A check (for :func:`atomic_write`'s ``fence``) that the lock of ``folder`` still
    carries ``token``: a task left running on a cluster after its run's client was killed
    must not rename anything into the folder once another run has taken the lock."""
    lock = FolderLock(folder)

    def check() -> None:
        now = lock.current_token()
        if now != token:
            raise LockLost(
                f"{folder}: the run that started this task no longer holds the folder's "
                "lock (another run took it over); this task's outputs were not written"
            )

    return check
