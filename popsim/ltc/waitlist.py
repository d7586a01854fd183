"""The LTC wait list: residents waiting for a place, in hospital (ALC) or at home.

One entry per resident: ``[ticket, zone, day the need began, where]`` (``where``:
:data:`HOSPITAL` or :data:`COMMUNITY`). Per zone a heap of ``(day the need began,
ticket, resident)`` in hospital and at home (first come, first served; stale entries are
dropped at the head) and the number waiting in each. A resident who moves between hospital and home
keeps its ticket and the day its need began.
"""

from __future__ import annotations

import heapq
from collections.abc import Container

import numpy as np

HOSPITAL, COMMUNITY = 0, 1


class IdArray:
    """A set of resident ids that is also a numpy array (:meth:`array`), for the daily
    keyed draws over all of them without copying a Python list: the array holds the
    ids in the order they were added, a removed id's place taken by the last one."""

    def __init__(self) -> None:
        self._ids = np.zeros(256, dtype=np.int64)
        self._n = 0
        self._pos: dict[int, int] = {}

    def __len__(self) -> int:
        return self._n

    def __contains__(self, r: int) -> bool:
        return r in self._pos

    def add(self, r: int) -> None:
        if r in self._pos:
            return
        if self._n == len(self._ids):
            self._ids = np.concatenate([self._ids, np.zeros_like(self._ids)])
        self._ids[self._n] = r
        self._pos[r] = self._n
        self._n += 1

    def discard(self, r: int) -> None:
        i = self._pos.pop(r, None)
        if i is None:
            return
        self._n -= 1
        last = int(self._ids[self._n])
        if last != r:
            self._ids[i] = last
            self._pos[last] = i

    def array(self) -> np.ndarray:
        """The ids (a view: valid until the next change)."""
        return self._ids[: self._n]


class WaitList:
    """Who waits for an LTC place, where, since when (module docstring)."""

    def __init__(self, n_zones: int) -> None:
        self.entry: dict[int, list[int]] = {}
        self.queues: list[tuple[list, list]] = [([], []) for _ in range(n_zones)]
        self.n_wait = [[0, 0] for _ in range(n_zones)]
        self.at_home = IdArray()  # residents waiting at home
        self.ticket = 0

    def __contains__(self, r: int) -> bool:
        return r in self.entry

    def get(self, r: int) -> list[int] | None:
        return self.entry.get(r)

    def n_at(self, where: int) -> int:
        return sum(w[where] for w in self.n_wait)

    def join(self, r: int, zone: int, day: int, where: int) -> None:
        """Onto the list, in hospital or at home (a new entry, or moved with its ticket:
        the day its need began is kept)."""
        entry = self.entry.get(r)
        if entry is None:
            self.ticket += 1
            entry = self.entry[r] = [self.ticket, zone, day, where]
        else:
            self.n_wait[entry[1]][entry[3]] -= 1
            if entry[3] == COMMUNITY:
                self.at_home.discard(r)
        entry[3] = where
        self.n_wait[entry[1]][where] += 1
        if where == COMMUNITY:
            self.at_home.add(r)
        heapq.heappush(self.queues[entry[1]][where], (entry[2], entry[0], r))

    def remove(self, r: int) -> list[int] | None:
        """Off the list (placed, dead, withdrawn); returns its entry."""
        entry = self.entry.pop(r, None)
        if entry is not None:
            self.n_wait[entry[1]][entry[3]] -= 1
            if entry[3] == COMMUNITY:
                self.at_home.discard(r)
        return entry

    def head(self, zone: int, where: int, skip: Container[int]) -> tuple[int, int, int] | None:
        """The first live entry ``(day the need began, ticket, resident)`` of a zone's
        list, passing over residents in ``skip`` (stale entries are dropped)."""
        heap = self.queues[zone][where]
        while heap:
            item = heap[0]
            e = self.entry.get(item[2])
            if e is not None and e[0] == item[1] and e[3] == where and item[2] not in skip:
                return item
            heapq.heappop(heap)
        return None

    def home_ids(self) -> np.ndarray:
        """The residents waiting at home (a copy)."""
        return self.at_home.array().copy()
