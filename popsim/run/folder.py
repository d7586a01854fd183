"""The output folder of ``popsim run``: checked before anything is computed, locked for
the whole run, and cleaned only of files popsim itself wrote.

What popsim writes in an output folder ``OUT``:

- the parts of the tables (:data:`popsim.core.schema.ALL_TABLES`), the manifests, the
  run's record ``run.json`` and ``analysis/`` (``popsim analyze``), laid out as
  :mod:`popsim.core.schema` says;
- while a file is written, a hidden temporary ``.<final name>.<12 hex>.tmp`` beside it;
- while a run goes on, the lock file ``.popsim.lock`` (pid, host, start time).

What popsim deletes, and only there: its own temporary names beside those files (left
by a crash), parts of replicates that have no manifest (a crash before completion), and,
with ``--force``, the parts and manifests of replicates or scenarios of another
configuration. It never deletes a file with any other name, nor anything outside those
folders, and it does all of this only while holding the lock.
"""

from __future__ import annotations

import contextlib
import errno
import os
import re
import stat
from pathlib import Path

from popsim.core import schema
from popsim.core.schema import (
    ALL_TABLES,
    MANIFEST_DIR,
    RUN_INFO_FILE,
    SCENARIO_NAME,
    partition_scenario,
)
from popsim.core.schema import MANIFEST_PATTERN as MANIFEST_NAME
from popsim.core.schema import PART_PATTERN as PART_NAME
from popsim.errors import OutputError
from popsim.files import FolderLock, is_regular_file, remove_temp_files, run_folder_problems
from popsim.run import record

#: Final names popsim writes in the top folder.
TOP_NAME = re.compile(re.escape(RUN_INFO_FILE))


def output_folder(out: str | Path) -> Path:
    """Check that ``out`` can be the output folder, create it, and check it is writable.

    Refused (:class:`OutputError`, one line): an empty name (it would be the current
    folder), a path naming a file or a device, a folder that cannot be created or
    written to. Nothing is computed before this check.
    """
    text = str(out)
    if not text.strip():
        raise OutputError("--out: empty folder name (give a folder, e.g. --out runs/mine)")
    path = Path(text)
    try:
        mode = path.stat().st_mode
    except FileNotFoundError:
        mode = None
    except NotADirectoryError:
        raise OutputError(f"{path}: a part of this path is a file, not a folder") from None
    except OSError as err:
        raise OutputError(f"{path}: cannot use as output folder ({err.strerror})") from None
    if mode is not None and not stat.S_ISDIR(mode):
        what = "a file" if stat.S_ISREG(mode) else "a device or special file"
        raise OutputError(f"{path}: is {what}, not a folder (give a folder with --out)")
    try:
        path.mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise OutputError(f"{path}: a part of this path is a file, not a folder") from None
    except OSError as err:
        raise OutputError(f"{path}: cannot create the output folder ({err.strerror})") from None
    probe = path / f".popsim-write-test-{os.getpid()}"
    try:
        probe.write_bytes(b"")
        probe.unlink()
    except OSError as err:
        reason = "read-only" if err.errno in (errno.EACCES, errno.EPERM, errno.EROFS) else ""
        raise OutputError(
            f"{path}: output folder is not writable ({reason or err.strerror}); "
            "choose another with --out"
        ) from None
    return path


def lock(out: Path) -> FolderLock:
    """The lock of an output folder (use as ``with lock(out):``)."""
    return FolderLock(out)


def check_layout(out: Path) -> None:
    """Refuse (:class:`OutputError`, one line per problem) a folder whose popsim names
    are links or special files (:func:`popsim.files.run_folder_problems`)."""
    problems = run_folder_problems(out)
    if problems:
        raise OutputError("\n".join(problems))


def _scenario_dirs(out: Path, table: str) -> list[Path]:
    root = out / table
    if not root.is_dir() or root.is_symlink():
        return []
    return sorted(
        p
        for p in root.iterdir()
        if SCENARIO_NAME.fullmatch(partition_scenario(p.name) or "")
        and p.is_dir()
        and not p.is_symlink()
    )


def remove_own_temp_files(out: Path) -> int:
    """Delete popsim's own temporary files left by a crash, in the folders it owns."""
    n = remove_temp_files(out, TOP_NAME)
    for table in ALL_TABLES:
        for folder in _scenario_dirs(out, table):
            n += remove_temp_files(folder, PART_NAME)
    for folder in _scenario_dirs(out, MANIFEST_DIR):
        n += remove_temp_files(folder, MANIFEST_NAME)
    return n


def remove_replicate(out: Path, scenario: str, replicate: int) -> None:
    """Delete one replicate's manifest (first) and parts (regular files only, in real
    folders: never through a link)."""
    for path in (
        record.manifest_path(out, scenario, replicate),
        *(record.part_path(out, t, scenario, replicate) for t in ALL_TABLES),
    ):
        if is_regular_file(path) and not any(p.is_symlink() for p in _between(out, path)):
            path.unlink(missing_ok=True)


def _between(out: Path, path: Path) -> list[Path]:
    """The folders between ``out`` and ``path`` (``out`` excluded)."""
    rel = path.relative_to(out)
    return [out.joinpath(*rel.parts[: i + 1]) for i in range(len(rel.parts) - 1)]


def remove_scenario(out: Path, scenario: str) -> None:
    """Delete a scenario's popsim files (manifests first), and its folders if then empty."""
    for table, pattern in ((MANIFEST_DIR, MANIFEST_NAME), *((t, PART_NAME) for t in ALL_TABLES)):
        folder = out / table / schema.partition_dir(scenario)
        if not folder.is_dir() or folder.is_symlink() or (out / table).is_symlink():
            continue
        remove_temp_files(folder, pattern)
        for entry in folder.iterdir():
            if pattern.fullmatch(entry.name) and is_regular_file(entry):
                entry.unlink()
        with contextlib.suppress(OSError):  # something else lives there: leave it
            folder.rmdir()


def remove_orphans(out: Path) -> int:
    """Delete parts of replicates that have no manifest (they never completed)."""
    n = 0
    for table in ALL_TABLES:
        for folder in _scenario_dirs(out, table):
            scenario = partition_scenario(folder.name)
            for part in folder.iterdir():
                m = PART_NAME.fullmatch(part.name)
                if m is None or not is_regular_file(part):
                    continue
                replicate = int(m.group(1))
                if not record.manifest_path(out, scenario, replicate).exists():
                    part.unlink(missing_ok=True)
                    n += 1
    return n


def scenarios_present(out: Path) -> set[str]:
    """Scenario names that have a folder in any table or the manifest."""
    return {
        partition_scenario(folder.name)
        for table in (*ALL_TABLES, MANIFEST_DIR)
        for folder in _scenario_dirs(out, table)
    }


def stray_files(out: Path) -> list[Path]:
    """Files in popsim's table and manifest folders that popsim did not name (left alone,
    listed so that the user hears of them)."""
    found = []
    for table, pattern in ((MANIFEST_DIR, MANIFEST_NAME), *((t, PART_NAME) for t in ALL_TABLES)):
        for folder in _scenario_dirs(out, table):
            found += [
                p
                for p in sorted(folder.iterdir())
                if not pattern.fullmatch(p.name) and not p.name.startswith(".")
            ]
    return found
