"""Writing files so that a crash never leaves a half-written file that looks whole."""

from __future__ import annotations

import os
import uuid
from collections.abc import Callable
from pathlib import Path


def atomic_write(path: str | Path, write: Callable[[Path], object]) -> Path:
    """Write through ``write(tmp_path)`` to a hidden temp name beside ``path``, then rename.

    The temp name ends in ``.tmp``: writers that pick a format from the file name must be
    told the format. Returns ``path``.
    """
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:12]}.tmp")
    try:
        write(tmp)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()
    return path


def write_text(path: str | Path, text: str) -> Path:
    """Atomically write a UTF-8 text file."""
    return atomic_write(path, lambda tmp: tmp.write_text(text, encoding="utf-8"))


def remove_temp_files(root: str | Path) -> int:
    """Delete temp files left below ``root`` by a crashed writer; returns how many."""
    root = Path(root)
    if not root.is_dir():
        return 0
    n = 0
    for tmp in root.rglob(".*.tmp"):
        tmp.unlink(missing_ok=True)
        n += 1
    return n
