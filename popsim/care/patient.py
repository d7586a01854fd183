"""Patient: a resident in hospital as a Mesa agent carrying its own journey; the journey log.

A :class:`Patient` is created on admission and removed (``agent.remove()``) on discharge
or death. It carries its site, its current unit, the day it was admitted, and its
planned path: a short tuple of ``(unit, days)`` phases built from the need
(ICU first, then the ward, e.g. a step-down after ICU, then ALC), ending in discharge or,
when the need says so, death at the end of the last phase.

Patients are never stepped every day: each one has ``day_next``, the day its current
phase ends, and sits in that day's bucket of the network's calendar, so a day touches
only the patients due that day.

:class:`JourneyLog` keeps one row per patient event (arrive, admit, board, move_unit,
transfer, alc, discharge, death) in a growing typed array, turned into columns at the end.
"""

from __future__ import annotations

from array import array
from collections import deque
from collections.abc import Sequence
from typing import TYPE_CHECKING
from weakref import ref

import mesa
import numpy as np

from popsim.core.requests import EPI_CRITICAL, EPI_SEVERE
from popsim.core.schema import ALC, EVENT_NAMES, ICU, UNIT_NAMES, WARD

if TYPE_CHECKING:
    from popsim.care.facility import Facility

#: Mesa's per-model counters of agent ids (``Agent.__init__`` draws ``unique_id`` there).
_AGENT_IDS = mesa.Agent._ids

#: Journey event codes (uint8), in the order of the schema's names and meanings
#: (:data:`popsim.core.schema.JOURNEY_EVENTS`).
ARRIVE, ADMIT, BOARD, MOVE_UNIT, TRANSFER, TO_ALC, DISCHARGE, DEATH, START = range(len(EVENT_NAMES))


def plan_path(icu_days: int, ward_days: int, alc_days: int) -> tuple[tuple[int, int], ...]:
    """The phases of a stay: ICU, then ward, then ALC, skipping empty ones (at least one day)."""
    if icu_days <= 0 and alc_days <= 0:
        return ((WARD, max(int(ward_days), 1)),)
    phases = []
    if icu_days > 0:
        phases.append((ICU, int(icu_days)))
    if ward_days > 0:
        phases.append((WARD, int(ward_days)))
    if alc_days > 0:
        phases.append((ALC, int(alc_days)))
    return tuple(phases)


#: How intensive a planned unit is (a merged path takes the more intensive each day).
_LEVEL = {ICU: 3, WARD: 2, ALC: 1}


def merge_paths(
    old: tuple[tuple[int, int], ...],
    old_dies: bool,
    new: tuple[tuple[int, int], ...],
    new_dies: bool,
) -> tuple[tuple[tuple[int, int], ...], bool]:
    """The path of an inpatient with a new need: from today, each day the more intensive
    unit of the old path's remaining days (``old``) and the new path (``new``), for as
    long as the longer of the two; a new path ending in death ends the stay then.
    Returns the phases and whether the stay ends in death."""

    # On runs of days, not days: an open-ended ALC stay is 20,000 days long
    # (ALC_OPEN_DAYS), so expanding the paths day by day cost milliseconds a merge.
    a = [(unit, n) for unit, n in old if n > 0]
    b = [(unit, n) for unit, n in new if n > 0]
    len_b = sum(n for _, n in b)
    if new_dies:
        a = _first_days(a, len_b)
    if sum(n for _, n in a) < len_b:
        a, b = b, a
    merged: list[list[int]] = []
    j, left_b = 0, b[0][1] if b else 0  # b's current run and its days not yet merged
    for unit, n in a:
        while n > 0:
            if j < len(b):
                k = min(n, left_b)
                other = b[j][0]
                day_unit = other if _LEVEL[other] > _LEVEL[unit] else unit
                left_b -= k
                if left_b == 0:
                    j += 1
                    left_b = b[j][1] if j < len(b) else 0
            else:
                k, day_unit = n, unit
            n -= k
            if merged and merged[-1][0] == day_unit:
                merged[-1][1] += k
            else:
                merged.append([day_unit, k])
    if not merged:
        merged = [[WARD, 1]]
    return tuple((u, k) for u, k in merged), bool(new_dies or old_dies)


def _first_days(runs: list[tuple[int, int]], days: int) -> list[tuple[int, int]]:
    """The runs ``(unit, days)`` cut to their first ``days`` days."""
    out = []
    for unit, n in runs:
        if days <= 0:
            break
        out.append((unit, min(n, days)))
        days -= n
    return out


class Patient(mesa.Agent):
    """A resident in hospital.

    Attributes:
        resident: the resident's id (row in the population).
        kind: the need's kind code (:mod:`popsim.core.requests`).
        zone, band: the resident's zone and age band (for per-zone counts).
        site: the facility the patient is in.
        unit: current unit code (ED while boarding: admitted, waiting in the ED for a
            ward bed). ``site`` and ``unit`` are changed only by
            :class:`popsim.care.placement.Placement`.
        day_admit: day of admission.
        phases: planned ``(unit, days)`` phases; ``phase`` indexes the current one.
        dies: the stay ends in death at the end of the last phase.
        day_next: day the current phase ends (the patient's calendar bucket).
        active: False once discharged or dead.
        prevalent: in hospital at the start of the run (warm start).
        epidemic: admitted for an epidemic need, or given one in hospital (a later need
            of another kind does not change it).
        held: has been held outside an ICU for want of an ICU bed (its risk of death
            was raised then, once).
        ticket: number of the patient's live entry in a queue (boarding, held).

    Every attribute is a slot, Mesa's ``model``, ``unique_id`` and ``pos`` included (a
    patient never makes the instance dict ``mesa.Agent`` allows): faster to create, read
    and write in the network's daily loops.

    Registration: a patient is in ``model.agents`` and ``model.agents_by_type[Patient]``
    as every Mesa agent, from its creation (or from the end of the admissions of the day
    it was created: ``register=False``, then :func:`register_patients`) to its removal
    (:meth:`remove`, or :func:`deregister_patients` with the others released at the same
    time). Patients come and go about 160,000 times in a Fraser year (2.0 M residents),
    and Mesa's ``register_agent``/``deregister_agent`` format a debug message and
    dispatch through several methods each time; so the network registers a day's new
    patients, and removes its released ones, in one batch each, writing the same three
    registry entries mesa 3.3 keeps (``_agents``, ``_agents_by_type``, ``_all_agents``;
    the last two weak-key dictionaries, whose own dict of weak references is written as
    their ``__setitem__`` and ``__delitem__`` would, but with one plain weak reference
    per patient: :func:`register_patients` says why), and goes through Mesa's own
    methods when the model keeps other registries. The tests check the registries through Mesa's
    public ``agents`` and ``agents_by_type``.
    """

    __slots__ = (
        "model",
        "unique_id",
        "pos",
        "resident",
        "kind",
        "zone",
        "band",
        "site",
        "unit",
        "day_admit",
        "phases",
        "phase",
        "dies",
        "day_next",
        "active",
        "prevalent",
        "epidemic",
        "held",
        "ticket",
    )

    def __init__(
        self,
        model: mesa.Model,
        resident: int,
        kind: int,
        zone: int,
        band: int,
        day: int,
        phases: tuple[tuple[int, int], ...],
        dies: bool,
        register: bool = True,
    ) -> None:
        self.model = model
        self.unique_id = next(_AGENT_IDS[model])
        self.pos = None
        if register:
            register_patients(model, (self,))
        self.resident = resident
        self.kind = kind
        self.zone = zone
        self.band = band
        self.unit, days = phases[0]
        self.day_admit = day
        self.phases = phases
        self.dies = dies
        self.day_next = day + days
        self.site: Facility | None = None
        self.phase = 0
        self.active = True
        self.prevalent = False
        self.epidemic = kind in (EPI_SEVERE, EPI_CRITICAL)
        self.held = False
        self.ticket = 0

    def remove(self) -> None:
        """Remove the patient from the model's agent registries (see the class notes)."""
        deregister_patients(self.model, (self,))

    @property
    def planned_unit(self) -> int:
        """The unit of the current phase (the ward for a boarder waiting for a bed)."""
        return self.phases[self.phase][0]

    def remaining(self, day: int) -> tuple[tuple[int, int], ...]:
        """The planned phases still ahead from ``day`` on (the current one shortened)."""
        unit, _ = self.phases[self.phase]
        return ((unit, self.day_next - day), *self.phases[self.phase + 1 :])


def _registries(model: mesa.Model) -> tuple | None:
    """The model's three registries of agents as mesa 3.3 keeps them, and the weak-key
    dictionaries' own dicts (None: not kept so, or no patient's registry yet)."""
    d = model.__dict__
    try:
        by_type = d["_agents_by_type"][Patient]._agents
        every = d["_all_agents"]._agents
        return d["_agents"], by_type, every, by_type.data, every.data
    except (KeyError, AttributeError):
        return None


def register_patients(model: mesa.Model, patients: Sequence[Patient]) -> None:
    """Put ``patients`` (created with ``register=False``) in the model's registries of
    agents, in order: as ``model.register_agent`` would one by one, but for the weak
    references that key them in the two weak-key dictionaries (see below)."""
    handles = None
    for i, p in enumerate(patients):
        handles = _registries(model)
        if handles is not None:
            patients = patients[i:]
            break
        model.register_agent(p)  # the model's first patient, or another mesa
    if handles is None:
        return
    hard, _, _, by_type_data, every_data = handles
    hard.update(dict.fromkeys(patients))
    # WeakKeyDictionary.__setitem__ over the batch, with one plain weak reference per
    # patient keying it in both dictionaries, where ``__setitem__`` makes one with each
    # dictionary's removal callback: the callback only runs when a key dies while in
    # the dictionary, and a registered patient cannot die (``model._agents`` holds it
    # until :func:`deregister_patients` takes it out of all three). One weak reference
    # instead of two, and its removal finds it again (``ref(p)`` returns it): at 10 M
    # residents, where every patient's memory is cold by its release, about a third of
    # the registries' cost.
    keys = dict.fromkeys(map(ref, patients))
    by_type_data.update(keys)
    every_data.update(keys)


def deregister_patients(model: mesa.Model, patients: Sequence[Patient]) -> None:
    """Take ``patients`` out of the model's registries of agents: as ``Agent.remove``
    would one by one."""
    handles = _registries(model)
    if handles is None:
        for p in patients:
            mesa.Agent.remove(p)
        return
    hard, by_type, every, by_type_data, every_data = handles
    deque(map(hard.pop, patients), maxlen=0)
    # WeakKeyDictionary.__delitem__ over the batch (the patient's plain weak reference,
    # or a new one equal to a key made with a callback, finds its key in both)
    keys = list(map(ref, patients))
    by_type._dirty_len = True
    deque(map(by_type_data.pop, keys), maxlen=0)
    every._dirty_len = True
    deque(map(every_data.pop, keys), maxlen=0)


class JourneyLog:
    """Journey rows, five ints each, returned as numpy arrays.

    The network appends a row by extending :attr:`rows` (a plain list, the rows since
    the last :meth:`flush`) with one ``(resident, day, event, facility, unit)`` tuple: a
    list's ``extend`` costs about half a typed array's, which converts item by item.
    The network flushes at the end of each day, moving the rows into a typed array
    (compact, and not scanned by the garbage collector) in one call; :meth:`arrays` and
    ``len`` flush first. :meth:`add` is the same for occasional rows. A switched-off log
    drops its rows at the flush.
    """

    def __init__(self, enabled: bool = True) -> None:
        self.enabled = enabled
        self.flat = array("q")
        self.rows: list[int] = []

    def add(self, resident: int, day: int, event: int, facility: int, unit: int) -> None:
        self.rows.extend((resident, day, event, facility, unit))

    def flush(self) -> None:
        """Move the rows appended since the last flush into the typed array."""
        rows = self.rows
        if rows:
            if self.enabled:
                self.flat.fromlist(rows)
            rows.clear()

    def __len__(self) -> int:
        self.flush()
        return len(self.flat) // 5

    def arrays(self) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
        self.flush()
        table = np.array(self.flat, dtype=np.int64).reshape(-1, 5)
        cols = {
            "resident_id": table[:, 0].astype(np.int32),
            "day": table[:, 1].astype(np.int16),
            "event": table[:, 2].astype(np.uint8),
            "facility": table[:, 3].astype(np.int16),
            "unit": table[:, 4].astype(np.uint8),
        }
        return cols, {"event": EVENT_NAMES, "unit": UNIT_NAMES}
