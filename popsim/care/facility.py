"""Facility: one acute-care site as a Mesa agent, with its beds, census and daily counters.

A facility holds three units: ward beds (acute medical/surgical, also occupied by ALC
patients waiting for long-term care), ICU beds, and an emergency department. Funded beds
come from the region's facilities table and change with scenario events
(:class:`popsim.events.ChangeBeds`). A surge allowance (a share of funded ward beds) lets
the ward census exceed funded beds with hallway and surge beds; past that, admitted
patients board in the ED until a bed frees. Census is never capped: the model measures
over-capacity, it never refuses a patient.

Status follows the table: ``open`` sites are open unless a ``close_date`` has passed;
``planned`` sites open on their ``open_date`` (never, without one); ``closed`` sites stay
closed. :class:`popsim.events.OpenFacility` / :class:`popsim.events.CloseFacility` override.
"""

from __future__ import annotations

from collections import deque
from datetime import date
from typing import TYPE_CHECKING

import mesa

from popsim.model import FACILITY_METRICS

if TYPE_CHECKING:
    from popsim.care.patient import Patient

#: Unit codes (uint8 in journeys) and their names.
ED, WARD, ICU, ALC = range(4)
UNIT_NAMES: tuple[str, ...] = ("ed", "ward", "icu", "alc")

#: Roles of sites, lowest first: a referral goes to a regional or tertiary site of a
#: higher role than the site the patient arrived at.
ROLE_RANK: dict[str, int] = {"stabilisation": 0, "community": 1, "regional": 2, "tertiary": 3}

#: Daily counters a facility keeps (reset each day), in metric order.
DAY_COUNTERS: tuple[str, ...] = FACILITY_METRICS[
    FACILITY_METRICS.index("admissions") : FACILITY_METRICS.index("ed_visits") + 1
]  # admissions, discharges, deaths, transfers_in, transfers_out, diversions, ed_visits

#: The network's own daily counters (``facility_day`` columns of the same names).
EXTRA_COUNTERS: tuple[str, ...] = ("unserved", "epidemic_admissions")


def _day_of(value: object, start: date) -> int | None:
    """Day index of an ISO date string relative to ``start`` (None when empty/missing)."""
    if value is None:
        return None
    text = str(value).strip()
    if not text or text.lower() in {"nan", "nat", "none"}:
        return None
    return (date.fromisoformat(text[:10]) - start).days


class Facility(mesa.Agent):
    """An acute-care site.

    Attributes:
        index: row of the region's facilities table (the facility's number in outputs).
        ward_beds, icu_beds: funded beds today.
        ward_census, icu_census, alc_census: patients in each unit (ALC patients occupy
            ward beds: ward occupancy is ``(ward_census + alc_census) / ward_beds``).
        n: patients by unit code (ED boarders, ward, ICU, ALC) and ``boarding``, the
            queue of admitted patients waiting in the ED for a ward bed (FIFO): both are
            changed only by :class:`popsim.care.placement.Placement` (as is
            ``n_epidemic``, the patients here admitted for an epidemic need).
        open_day, close_day: day indexes of scheduled status changes (None: none).
    """

    def __init__(
        self,
        model: mesa.Model,
        index: int,
        row: dict,
        start: date,
        surge_share: float,
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
        self.ward_beds = int(row["ward_beds"])  # also sets ward_capacity (funded + surge)
        self.icu_beds = int(row["icu_beds"])
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
        self.n = [0, 0, 0, 0]  # patients by unit: ED boarders, ward, ICU, ALC
        self.n_epidemic = 0  # patients here whose admission came from the epidemic
        self.boarding: deque[Patient] = deque()
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
        return self._ward_beds

    @ward_beds.setter
    def ward_beds(self, value: int) -> None:
        self._ward_beds = int(value)
        self.ward_capacity = int(self._ward_beds * (1.0 + self.surge_share))

    def ward_free(self) -> bool:
        """A ward bed (funded or surge) is free for a new patient."""
        n = self.n
        return n[WARD] + n[ALC] < self.ward_capacity

    def funded_ward_free(self) -> bool:
        n = self.n
        return n[1] + n[3] < self._ward_beds

    def icu_free(self) -> bool:
        return self.n[ICU] < self.icu_beds

    def reset_day(self) -> None:
        for key in self.counts:
            self.counts[key] = 0
