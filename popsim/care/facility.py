"""Facility: one acute-care site as a Mesa agent, with its beds, census and daily counters.

A facility holds three units: ward beds (acute medical/surgical, also occupied by ALC
patients waiting for long-term care), ICU beds, and an emergency department. Funded beds
come from the region's facilities table and change with scenario events
(:class:`popsim.core.event_types.ChangeBeds`). Surge allowances (shares of funded ward and ICU
beds) let the census exceed funded beds with hallway and surge beds; past them, admitted
patients board in the ED until a ward bed frees, or are held outside the ICU until an
ICU bed does. Staffed beds, when a staffing module sets them, lower these limits; an ED
working short (``ed_short``) makes the site divert new emergency arrivals. The
model measures demand beyond beds; it never refuses a patient.

Status follows the table: ``open`` sites are open unless a ``close_date`` has passed;
``planned`` sites open on their ``open_date`` (never, without one); ``closed`` sites stay
closed. :class:`popsim.core.event_types.OpenFacility` / :class:`popsim.core.event_types.CloseFacility` override.
"""

from __future__ import annotations

from collections import deque
from datetime import date

import mesa

from popsim.core.schema import ALC, ED, FACILITY_METRICS, HELD, ICU, UNIT_NAMES, WARD

#: Unit codes (uint8 in journeys) and their names come from the output schema
#: (:mod:`popsim.core.schema`): ``ed`` is an admitted patient waiting in the emergency
#: department for a ward bed (boarding), ``icu_outside`` (``HELD``) a critical-care patient
#: held outside an ICU (no ICU bed free here or near).
__all__ = [
    "ALC",
    "DAY_COUNTERS",
    "ED",
    "HELD",
    "ICU",
    "ROLE_RANK",
    "UNIT_NAMES",
    "WARD",
    "Facility",
]

#: Roles of sites, lowest first: a referral goes to a regional or tertiary site of a
#: higher role than the site the patient arrived at.
ROLE_RANK: dict[str, int] = {"stabilisation": 0, "community": 1, "regional": 2, "tertiary": 3}

#: Daily counters a facility keeps (reset each day), in metric order.
DAY_COUNTERS: tuple[str, ...] = FACILITY_METRICS[
    FACILITY_METRICS.index("admissions") : FACILITY_METRICS.index("ed_visits") + 1
]  # admissions, discharges, deaths, transfers_in, transfers_out, diversions, ed_visits

#: The network's own daily counters (``facility_day`` columns of the same names).
EXTRA_COUNTERS: tuple[str, ...] = ("unserved", "epidemic_admissions", "capacity_transfers")


def _day_of(value: object, start: date) -> int | None:
    """Day index of an ISO date string relative to ``start`` (None when empty/missing)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in {"nan", "nat", "none"}:
        return None
    return (date.fromisoformat(text[:10]) - start).days


def _staffed(value: int | None, name: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or int(value) != value or value < 0:
        raise ValueError(f"{name}: expected a whole number of beds >= 0 or None, got {value!r}")
    return int(value)


class Facility(mesa.Agent):
    """An acute-care site.

    Attributes:
        index: row of the region's facilities table (the facility's number in outputs).
        ward_beds, icu_beds: funded beds today.
        staffed_ward_beds, staffed_icu_beds: beds that can be staffed today (None: no
            staffing limit, the default); a module running before the care phase sets
            them.
        ward_capacity, icu_capacity: the units' limits for placing patients: funded
            beds plus the surge allowance (``surge_share``, ``icu_surge_share``), and
            no more than the staffed beds when those are set.
        ward_beds_in_use: funded ward beds, no more than the staffed ones when set (the
            denominator of the diversion load and of a transfer target's free beds).
        ed_short: the emergency department works short today (fewer nurses than its
            census needs after overtime and agency; a staffing module sets it, False
            otherwise): the site diverts new emergency arrivals as a site at its
            diversion threshold does.
        ward_census, icu_census, alc_census: patients in each unit (ALC patients occupy
            ward beds: ward occupancy is ``(ward_census + alc_census) / ward_beds``).
        n: patients by unit code (ED boarders, ward, ICU, ALC, held outside the ICU);
            ``boarding`` and ``held``, the queues (FIFO) of patients waiting in the ED
            for a ward bed and outside the ICU for an ICU bed: all changed only by
            :class:`popsim.care.placement.Placement` (as is ``n_epidemic``, the
            patients here admitted for an epidemic need).
        open_day, close_day: day indexes of scheduled status changes (None: none).
    """

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        row: dict,
        start: date,
        surge_share: float,
        icu_surge_share: float = 0.0,
    ) -> None:
        super().__init__(model)
        self.index = int(index)
        self.facility_id = str(row["facility_id"])
        self.name = str(row["name"])
        self.zone = int(row["zone"])
        self.role = str(row["role"])
        self.has_ed = bool(row["has_ed"])
        self.x, self.y = float(row["x"]), float(row["y"])
        self.surge_share = float(surge_share)
        self.icu_surge_share = float(icu_surge_share)
        self._staffed = [None, None]  # staffed ward and ICU beds (None: no limit)
        self.ed_short = False
        self._beds = [int(row["ward_beds"]), int(row["icu_beds"])]  # funded ward, ICU
        self._limits()
        status = str(row["status"])
        self.open_day = _day_of(row.get("open_date"), start)
        self.close_day = _day_of(row.get("close_date"), start)
        if status == "closed":
            self.open_day = None
        if status == "open":
            self.is_open = self.open_day is None or self.open_day <= 0
        else:  # planned: open once its date has come (never without one)
            self.is_open = self.open_day is not None and self.open_day <= 0
        if self.close_day is not None and self.close_day <= 0:
            self.is_open = False
        self.n = [0, 0, 0, 0, 0]  # patients by unit: ED boarders, ward, ICU, ALC, held
        self.n_epidemic = 0  # patients here whose admission came from the epidemic
        self.boarding: deque[mesa.Agent] = deque()  # Patient agents, first come first served
        self.held: deque[mesa.Agent] = deque()  # Patient agents held outside the ICU
        self.counts = dict.fromkeys(DAY_COUNTERS + EXTRA_COUNTERS, 0)

    @property
    def n_boarding(self) -> int:
        return self.n[ED]

    @property
    def ward_census(self) -> int:
        return self.n[WARD]

    @property
    def icu_census(self) -> int:
        return self.n[ICU]

    @property
    def alc_census(self) -> int:
        return self.n[ALC]

    # ---------------------------------------------------------------- status
    def status_changes(self, day: int) -> str | None:
        """Apply a scheduled opening or closing due today; returns "open"/"close"/None."""
        if not self.is_open and self.open_day == day:
            self.is_open = True
            return "open"
        if self.is_open and self.close_day == day:
            self.is_open = False
            return "close"
        return None

    def change_beds(self, ward: int, icu: int) -> None:
        """Add (or remove, negative) funded beds; never below zero."""
        self.ward_beds = max(0, self.ward_beds + int(ward))
        self.icu_beds = max(0, self.icu_beds + int(icu))

    # ------------------------------------------------------------- capacity
    @property
    def ward_beds(self) -> int:
        return self._beds[0]

    @ward_beds.setter
    def ward_beds(self, value: int) -> None:
        self._beds[0] = int(value)
        self._limits()

    @property
    def icu_beds(self) -> int:
        return self._beds[1]

    @icu_beds.setter
    def icu_beds(self, value: int) -> None:
        self._beds[1] = int(value)
        self._limits()

    @property
    def staffed_ward_beds(self) -> int | None:
        return self._staffed[0]

    @staffed_ward_beds.setter
    def staffed_ward_beds(self, value: int | None) -> None:
        self._staffed[0] = _staffed(value, "staffed_ward_beds")
        self._limits()

    @property
    def staffed_icu_beds(self) -> int | None:
        return self._staffed[1]

    @staffed_icu_beds.setter
    def staffed_icu_beds(self, value: int | None) -> None:
        self._staffed[1] = _staffed(value, "staffed_icu_beds")
        self._limits()

    def _limits(self) -> None:
        """Recompute the limits for placing patients from funded and staffed beds."""
        ward, icu = self._beds
        staffed_ward, staffed_icu = self._staffed
        self.ward_capacity = int(ward * (1.0 + self.surge_share))
        self.icu_capacity = int(icu * (1.0 + self.icu_surge_share))
        self.ward_beds_in_use = ward
        if staffed_ward is not None:
            self.ward_capacity = min(self.ward_capacity, staffed_ward)
            self.ward_beds_in_use = min(ward, staffed_ward)
        if staffed_icu is not None:
            self.icu_capacity = min(self.icu_capacity, staffed_icu)

    def ward_free(self) -> bool:
        """A ward bed (funded or surge, and staffed) is free for a new patient."""
        n = self.n
        return n[WARD] + n[ALC] < self.ward_capacity

    def funded_ward_free(self) -> bool:
        """A funded (and staffed) ward bed is free: a transfer target for a ward patient."""
        n = self.n
        return n[WARD] + n[ALC] < self.ward_beds_in_use

    def icu_free(self) -> bool:
        """An ICU bed (funded or surge, and staffed) is free."""
        return self.n[ICU] < self.icu_capacity

    def reset_day(self) -> None:
        for key in self.counts:
            self.counts[key] = 0
