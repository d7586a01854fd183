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


class WaitList:
    """Who waits for an LTC place, where, since when (module docstring)."""

    def __init__(self, n_zones: int) -> None:
        self.entry: dict[int, list[int]] = {}
        self.queues: list[tuple[list, list]] = [([], []) for _ in range(n_zones)]
        self.n_wait = [[0, 0] for _ in range(n_zones)]
        self.at_home: list[int] = []  # residents waiting at home
        self._home_pos: dict[int, int] = {}
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
                self._home_out(r)
        entry[3] = where
        self.n_wait[entry[1]][where] += 1
        if where == COMMUNITY:
            self._home_pos[r] = len(self.at_home)
            self.at_home.append(r)
        heapq.heappush(self.queues[entry[1]][where], (entry[2], entry[0], r))

    def remove(self, r: int) -> list[int] | None:
        """Off the list (placed, dead, withdrawn); returns its entry."""
        entry = self.entry.pop(r, None)
        if entry is not None:
            self.n_wait[entry[1]][entry[3]] -= 1
            if entry[3] == COMMUNITY:
                self._home_out(r)
        return entry

    def _home_out(self, r: int) -> None:
        i = self._home_pos.pop(r)
        last = self.at_home.pop()
        if last != r:
            self.at_home[i] = last
            self._home_pos[last] = i

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
        """The residents waiting at home (in the list's order)."""
        return np.fromiter(self.at_home, dtype=np.int64, count=len(self.at_home))
