"""Placement: where every patient is, and the only code that moves one (a state machine).

A patient is in exactly one place: ``(site, unit)``, where ``unit`` is a bed unit
(``WARD``, ``ICU``, ``ALC``), ``ED`` for a boarder (admitted, waiting in the site's
emergency department for a ward bed) or ``HELD`` for a critical-care patient held
outside the ICU (waiting for an ICU bed), or nowhere (``site is None``: not yet placed,
or gone). A site's census (``Facility.n``, by unit) and its two queues follow from these
places and are changed in one function only, :meth:`Placement._put` (written out in
the three commonest transitions, the same writes).

The transitions, each written once, each writing its journey row and counting its
daily flow once:

- :meth:`Placement.admit`: into a bed of a unit (new patient, or a boarder getting a bed);
- :meth:`Placement.board`: into the ED queue for a ward bed (new patient, or a step-down
  from the ICU to a full ward);
- :meth:`Placement.hold`: outside a full ICU, in the queue for an ICU bed (the patient's
  risk of death is raised, once: ``p_die_held``);
- :meth:`Placement.start`: placed at the start of a run (a warm start or a seeded
  census), in any unit, counting no admission;
- :meth:`Placement.move_unit`: to another unit of the same site (the next phase of a
  stay, or a new need of a patient already in hospital);
- :meth:`Placement.transfer`: to another site (a referral or transfer before a new
  patient is placed, an ICU transfer of an inpatient, an evacuation);
- :meth:`Placement.release`: out of the network (discharge or death);
- :meth:`Placement.leave`: out of the network uncounted (a census replaced).

Queues are first come, first served; a patient who leaves a queue otherwise (moved by a
new need, transferred, discharged, died) is not searched for: its entry is dropped when
it reaches the head (:meth:`Placement.fill_beds`). A patient who leaves a queue and joins
it again has one live entry only, its latest (``Patient.ticket``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from popsim.care.facility import ALC, ED, HELD, ICU, WARD
from popsim.care.patient import (
    ADMIT,
    BOARD,
    DEATH,
    DISCHARGE,
    MOVE_UNIT,
    START,
    TO_ALC,
    TRANSFER,
)
from popsim.core.requests import ALC_DEATH, ALC_DIED, ALC_OTHER

if TYPE_CHECKING:
    from popsim.care.facility import Facility
    from popsim.care.patient import Patient


class Placement:
    """Places of the network's patients and the transitions between them.

    Args:
        patients: living patients by resident id (shared with the network; a released
            patient is removed from it here).
        rows: the journey log's rows of the day (:attr:`popsim.care.patient.JourneyLog.rows`):
            each transition extends it by one ``(resident, day, event, facility, unit)``.
        totals: the network's run totals (``discharged``, ``died``, ``ended``,
            ``stay_days``, ``alc_stays``, ``held``, ``held_deaths`` are counted here).
        rng: draws whether a held patient who would have survived dies.
        p_die_held: that probability (0: holding outside the ICU changes no outcome).

    Attributes:
        gone: the patients released since the network last cleared it, still in the
            model's registries of agents and with their residents' ``in_hospital`` flag
            set until the network clears both for all of them at once
            (:func:`popsim.care.patient.deregister_patients`, one numpy call).
        deaths: residents whose stay ended in a death the model must still apply.
    """

    def __init__(
        self,
        patients: dict[int, Patient],
        rows: list[int],
        totals: dict[str, int],
        rng: np.random.Generator | None = None,
        p_die_held: float = 0.0,
    ) -> None:
        self.patients = patients
        self.rows = rows
        self.totals = totals
        self.rng = rng
        self.p_die_held = float(p_die_held)
        self.gone: list[Patient] = []
        self.deaths: list[int] = []
        # the ALC hand-over (popsim.ltc): residents whose ALC stay started, and whose ALC
        # stay ended with its reason (popsim.core.requests ALC_*), since the network last
        # reported them; ``in_alc``: residents in an ALC stay (from its first ALC bed on)
        self.alc_started: list[int] = []
        self.alc_ended: list[tuple[int, int]] = []
        self.in_alc: set[int] = set()
        self._ticket = 0  # numbers queue entries: a patient's live entry is its latest

    # ------------------------------------------------------------ the state
    def _put(self, p: Patient, site: Facility | None, unit: int) -> None:
        """Move ``p`` to ``(site, unit)``: the only writer of a patient's place, of the
        sites' census and of their queues (ED: boarding; HELD: held outside the ICU),
        with the one move out of the network written out in :meth:`release` (the same
        writes, with no site to enter)."""
        old = p.site
        if old is not None:
            old.n[p.unit] -= 1
            if p.epidemic:
                old.n_epidemic -= 1
        if site is not None:
            site.n[unit] += 1
            if p.epidemic:
                site.n_epidemic += 1
            if unit == ALC and p.resident not in self.in_alc:
                self.in_alc.add(p.resident)
                self.alc_started.append(p.resident)
            elif unit in (ED, HELD):
                self._ticket += 1
                p.ticket = self._ticket
                (site.boarding if unit == ED else site.held).append((self._ticket, p))
                if unit == HELD and not p.held:
                    self._first_hold(p)
        p.site = site
        p.unit = unit

    def _first_hold(self, p: Patient) -> None:
        """A patient held outside the ICU for the first time: a survivor dies with
        probability ``p_die_held`` (at the end of its stay, as the need's deaths do)."""
        p.held = True
        self.totals["held"] += 1
        rng = self.rng
        if not p.dies and self.p_die_held > 0.0 and rng is not None:
            p.dies = bool(rng.random() < self.p_die_held)
            self.totals["held_deaths"] += p.dies

    # ---------------------------------------------------------- transitions
    def admit(self, p: Patient, site: Facility, unit: int, day: int, counted: bool) -> None:
        """Into a bed of ``unit`` at ``site``; ``counted``: a new admission there (not a
        patient getting the bed it waited for)."""
        self._put(p, site, unit)
        if counted:
            self._count_admission(p, site)
        self.rows.extend((p.resident, day, ADMIT, site.index, unit))

    def board(self, p: Patient, site: Facility, day: int, counted: bool) -> None:
        """Into the ED of ``site`` to wait for a ward bed; ``counted``: a new admission
        there (not a step-down from the ICU)."""
        self._put(p, site, ED)
        if counted:
            self._count_admission(p, site)
        self.rows.extend((p.resident, day, BOARD, site.index, ED))

    def hold(self, p: Patient, site: Facility, day: int, counted: bool) -> None:
        """Outside the full ICU of ``site``, waiting for an ICU bed (a ``board`` row with
        unit ``icu_outside``); ``counted``: a new admission there."""
        self._put(p, site, HELD)
        if counted:
            self._count_admission(p, site)
        self.rows.extend((p.resident, day, BOARD, site.index, HELD))

    def start(self, p: Patient, site: Facility, unit: int, day: int) -> None:
        """In hospital when the run starts (any unit; no arrival, admission or transfer)."""
        self._put(p, site, unit)
        self.rows.extend((p.resident, day, START, site.index, unit))

    @staticmethod
    def _count_admission(p: Patient, site: Facility) -> None:
        counts = site.counts
        counts["admissions"] += 1
        if p.epidemic:
            counts["epidemic_admissions"] += 1

    @staticmethod
    def to_epidemic(p: Patient) -> None:
        """An inpatient with a new epidemic need: an epidemic patient from now on (in its
        site's ``epidemic_census``; not an epidemic admission)."""
        if not p.epidemic and p.site is not None:
            p.site.n_epidemic += 1
        p.epidemic = True

    def move_unit(self, p: Patient, unit: int, day: int) -> None:
        """To ``unit`` at the same site (``alc`` row when the unit is ALC)."""
        site = p.site
        self._put(p, site, unit)
        self.rows.extend((p.resident, day, TO_ALC if unit == ALC else MOVE_UNIT, site.index, unit))

    def transfer(self, p: Patient, src: Facility, dest: Facility, unit: int, day: int) -> None:
        """From ``src`` to ``unit`` at ``dest`` (ED: boarding there; HELD: held outside
        its ICU): counted out and in, one ``transfer`` row. A new patient (not yet placed)
        is admitted at ``dest`` afterwards; a placed one moves with it, with an ``admit``
        row when it enters a bed unit it was not in (an ICU entry, a boarder's bed)."""
        src.counts["transfers_out"] += 1
        dest.counts["transfers_in"] += 1
        self.rows.extend((p.resident, day, TRANSFER, dest.index, unit))
        if p.site is not None:
            before = p.unit
            self._put(p, dest, unit)
            if unit != before and unit in (WARD, ICU, ALC):
                self.rows.extend((p.resident, day, ADMIT, dest.index, unit))

    def release(
        self, p: Patient, day: int, died: bool, killed: bool, reason: int = ALC_OTHER
    ) -> None:
        """Out of the network: discharged, or dead (``killed``: the model must still kill
        the resident; otherwise another module already did). An ALC stay that ends here is
        reported with ``reason`` (a death as ``ALC_DEATH`` or ``ALC_DIED``)."""
        site, unit, r = p.site, p.unit, p.resident
        if r in self.in_alc:
            self.in_alc.discard(r)
            if died:
                reason = ALC_DEATH if killed else ALC_DIED
            self.alc_ended.append((r, reason))
        # _put(p, None, unit), written out
        site.n[unit] -= 1
        if p.epidemic:
            site.n_epidemic -= 1
        p.site = None
        p.active = False
        totals = self.totals
        if died:
            site.counts["deaths"] += 1
            totals["died"] += 1
            if killed:
                self.deaths.append(r)
            self.rows.extend((r, day, DEATH, site.index, unit))
        else:
            site.counts["discharges"] += 1
            totals["discharged"] += 1
            self.rows.extend((r, day, DISCHARGE, site.index, unit))
        if not p.prevalent:
            totals["ended"] += 1
            totals["stay_days"] += day - p.day_admit
            totals["alc_stays"] += unit == ALC
        self.gone.append(p)
        del self.patients[r]

    def leave(self, p: Patient) -> None:
        """Out of the network without a discharge or a death: no count, no journey row
        (the census is being replaced by an observed one)."""
        if p.resident in self.in_alc:
            self.in_alc.discard(p.resident)
            self.alc_ended.append((p.resident, ALC_OTHER))
        self._put(p, None, p.unit)
        p.active = False
        del self.patients[p.resident]
        self.gone.append(p)

    # ------------------------------------------------------------- queues
    def fill_beds(self, facilities: list[Facility], day: int) -> None:
        """Give free ICU beds to each site's held patients and free ward beds (surge
        beds included) to its boarders (the ward, or ALC for a boarder whose ward days
        ran out), first come, first served."""
        admit = self.admit
        for fac in facilities:
            n = fac.n
            for queue, unit in ((fac.held, HELD), (fac.boarding, ED)):
                while queue:
                    ticket, p = queue[0]
                    if p.ticket != ticket or p.site is not fac or p.unit != unit:
                        queue.popleft()  # left the queue otherwise
                        continue
                    if unit == HELD:
                        if n[ICU] >= fac.icu_capacity:
                            break
                    elif n[WARD] + n[ALC] >= fac.ward_capacity:
                        break
                    queue.popleft()
                    admit(p, fac, p.phases[p.phase][0], day, counted=False)
