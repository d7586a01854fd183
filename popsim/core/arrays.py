"""Array helpers of the population's indexes and samplers: exact equivalents of numpy
calls, faster on the shapes the daily step meets (numpy only; nothing of popsim)."""

from __future__ import annotations

import numpy as np


def unique_sorted(a: np.ndarray) -> np.ndarray:
    """``np.unique(a)`` for a 1-d array (sorted distinct values), by sort and compare:
    several times cheaper than ``np.unique`` on the few hundred ids of a day's work.
    (The stable sort, a timsort, is the faster one on ids drawn cell by cell: runs.)"""
    s = a.copy()
    s.sort(kind="stable")
    if len(s) < 2:
        return s
    first = np.empty(len(s), dtype=bool)
    first[0] = True
    np.not_equal(s[1:], s[:-1], out=first[1:])
    return s[first]


def insert_sorted(arr: np.ndarray, at: np.ndarray, values: np.ndarray) -> np.ndarray:
    """``np.insert(arr, at, values)`` for nondecreasing positions ``at`` (values for the
    same position in the order given), by copying the runs between the positions: about
    half the time of ``np.insert`` on a large index with a few thousand values."""
    k = len(at)
    out = np.empty(len(arr) + k, dtype=arr.dtype)
    positions, first = np.unique(at, return_index=True)
    bounds = np.append(first, k).tolist()
    prev = 0
    for j, pos in enumerate(positions.tolist()):
        lo, hi = bounds[j], bounds[j + 1]  # the values inserted at ``pos``
        out[prev + lo : pos + lo] = arr[prev:pos]
        out[pos + lo : pos + hi] = values[lo:hi]
        prev = pos
    out[prev + k :] = arr[prev:]
    return out


def order_within_groups(group: np.ndarray, u: np.ndarray, n_groups: int) -> np.ndarray:
    """``np.lexsort((u, group))`` (by ``group``, then ``u``, then position) for ``u`` from
    ``Generator.random`` and int64 ``0 <= group < n_groups``, a few times faster when
    ``n_groups <= 1024``: such a ``u`` is a multiple of 2**-53, so ``group * 2**53 +
    u * 2**53`` is an exact int64 key, and a stable sort of the key gives the same order."""
    if n_groups > 1024:
        return np.lexsort((u, group))
    key = (u * 9007199254740992.0).astype(np.int64)
    key |= group << 53
    return key.argsort(kind="stable")
