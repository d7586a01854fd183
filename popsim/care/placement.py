"""Placement: where every patient is, and the only code that moves one (a state machine).

A patient is in exactly one place: ``(site, unit)``, where ``unit`` is a bed unit
(``WARD``, ``ICU``, ``ALC``) or ``ED`` for a boarder (admitted, waiting in the site's
emergency department for a ward bed), or nowhere (``site is None``: not yet placed,
or gone). A site's census (``Facility.n``, by unit) and its boarding queue follow from
these places and are changed in one function only, :meth:`Placement._put`.

The transitions, each written once, each writing its journey row and counting its
daily flow once:

- :meth:`Placement.admit`: into a bed of a unit (new patient, or a boarder getting a bed);
- :meth:`Placement.board`: into the ED queue for a ward bed (new patient, or a step-down
  from the ICU to a full ward);
- :meth:`Placement.move_unit`: to another unit of the same site (the next phase of a
  stay, or a new need of a patient already in hospital);
- :meth:`Placement.transfer`: to another site (a referral or transfer before a new
  patient is placed, an ICU transfer of an inpatient, an evacuation);
- :meth:`Placement.release`: out of the network (discharge or death).

Boarding queues are first come, first served; a patient who leaves the queue otherwise
(moved to a bed by a new need, transferred, discharged, died) is not searched for: its
entry is dropped when it reaches the head (:meth:`Placement.fill_boarders`).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from popsim.care.facility import ALC, ED
from popsim.care.patient import ADMIT, BOARD, DEATH, DISCHARGE, MOVE_UNIT, TO_ALC, TRANSFER

if TYPE_CHECKING:
    from popsim.care.facility import Facility
    from popsim.care.patient import Patient


class Placement:
    """Places of the network's patients and the transitions between them.

    Args:
        patients: living patients by resident id (shared with the network; a released
            patient is removed from it here).
        row: appends one journey row ``(resident, day, event, facility, unit)``.
        totals: the network's run totals (``discharged``, ``died``, ``ended``,
            ``stay_days``, ``alc_stays`` are counted here).

    Attributes:
        left: residents released since the network last cleared it (their
            ``in_hospital`` flag is cleared by the network in one numpy call).
        deaths: residents whose stay ended in a death the model must still apply.
    """

    def __init__(
        self,
        patients: dict[int, Patient],
        row: Callable[[tuple[int, int, int, int, int]], None],
        totals: dict[str, int],
    ) -> None:
        self.patients = patients
        self.row = row
        self.totals = totals
        self.left: list[int] = []
        self.deaths: list[int] = []

    # ------------------------------------------------------------ the state
    @staticmethod
    def _put(p: Patient, site: Facility | None, unit: int) -> None:
        """Move ``p`` to ``(site, unit)``: the only writer of a patient's place, of the
        sites' census and of their boarding queues (ED means boarding)."""
        old = p.site
        if old is not None:
            old.n[p.unit] -= 1
            if p.epidemic:
                old.n_epidemic -= 1
        if site is not None:
            site.n[unit] += 1
            if p.epidemic:
                site.n_epidemic += 1
            if unit == ED:
                site.boarding.append(p)
        p.site = site
        p.unit = unit

    # ---------------------------------------------------------- transitions
    def admit(self, p: Patient, site: Facility, unit: int, day: int, counted: bool) -> None:
        """Into a bed of ``unit`` at ``site``; ``counted``: a new admission there (not a
        boarder getting its bed, nor a warm start)."""
        self._put(p, site, unit)
        if counted:
            self._count_admission(p, site)
        self.row((p.resident, day, ADMIT, site.index, unit))

    def board(self, p: Patient, site: Facility, day: int, counted: bool) -> None:
        """Into the ED of ``site`` to wait for a ward bed; ``counted``: a new admission
        there (not a step-down from the ICU, nor a warm start)."""
        self._put(p, site, ED)
        if counted:
            self._count_admission(p, site)
        self.row((p.resident, day, BOARD, site.index, ED))

    @staticmethod
    def _count_admission(p: Patient, site: Facility) -> None:
        counts = site.counts
        counts["admissions"] += 1
        if p.epidemic:
            counts["epidemic_admissions"] += 1

    def move_unit(self, p: Patient, unit: int, day: int) -> None:
        """To ``unit`` at the same site (``alc`` row when the unit is ALC)."""
        site = p.site
        self._put(p, site, unit)
        self.row((p.resident, day, TO_ALC if unit == ALC else MOVE_UNIT, site.index, unit))

    def transfer(self, p: Patient, src: Facility, dest: Facility, unit: int, day: int) -> None:
        """From ``src`` to ``unit`` at ``dest`` (ED: boarding there): counted out and in,
        one ``transfer`` row. A placed patient moves with it; a new one (not yet placed)
        is admitted at ``dest`` afterwards."""
        src.counts["transfers_out"] += 1
        dest.counts["transfers_in"] += 1
        if p.site is not None:
            self._put(p, dest, unit)
        self.row((p.resident, day, TRANSFER, dest.index, unit))

    def release(self, p: Patient, day: int, died: bool, killed: bool) -> None:
        """Out of the network: discharged, or dead (``killed``: the model must still kill
        the resident; otherwise another module already did)."""
        site, unit, r = p.site, p.unit, p.resident
        self._put(p, None, unit)
        p.active = False
        totals = self.totals
        if died:
            site.counts["deaths"] += 1
            totals["died"] += 1
            if killed:
                self.deaths.append(r)
            self.row((r, day, DEATH, site.index, unit))
        else:
            site.counts["discharges"] += 1
            totals["discharged"] += 1
            self.row((r, day, DISCHARGE, site.index, unit))
        if not p.prevalent:
            totals["ended"] += 1
            totals["stay_days"] += day - p.day_admit
            totals["alc_stays"] += unit == ALC
        self.left.append(r)
        del self.patients[r]
        p.remove()

    # ------------------------------------------------------------- queues
    def fill_boarders(self, facilities: list[Facility], day: int) -> None:
        """Give freed ward beds (surge beds included) to each site's boarders, first come,
        first served (the ward, or ALC for a boarder whose ward days ran out)."""
        for fac in facilities:
            queue = fac.boarding
            n = fac.n
            while queue:
                p = queue[0]
                if p.site is not fac or p.unit != ED:  # left the queue otherwise
                    queue.popleft()
                    continue
                if n[1] + n[3] >= fac.ward_capacity:  # ward + ALC: no free bed
                    break
                queue.popleft()
                self.admit(p, fac, p.phases[p.phase][0], day, counted=False)
