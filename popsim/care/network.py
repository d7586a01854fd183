"""CareNetwork: the region's acute-care sites and the patients in them, one day at a time.

Each day (phase 5 of :meth:`popsim.model.RegionModel.step`) the network:

1. applies scheduled openings and closings (a closing site's patients are transferred),
   and brings each ICU within its limit (after beds were cut or fewer are staffed);
2. advances the patients due today (the calendar bucket of the day): the next phase of
   their path (ICU -> ward step-down, ward -> ALC), or discharge, or death; a step-down
   to a full ward (surge beds included) waits in the ED for a bed like a new ward patient;
3. gives ICU beds freed today to the patients held outside the ICU, and ward beds to the
   ED boarders (first come, first served);
4. routes today's needs (:mod:`popsim.care.routing`) and admits them
   (:mod:`popsim.care.admission`): a ``Patient``
   agent each, or ED boarding when no ward bed is free here or near, or critical care
   outside the ICU when no ICU bed is (its risk of death raised: ``CareParams``
   ``rel_death_outside_icu``, drawn from the stream ``"care-icu"``); an emergency is referred on from
   the site it arrived at to a higher-role site with the probability of the first site's
   role (``CareParams.p_refer``; one uniform per need from the network's own random
   stream ``"care"``), counted as an ED arrival at the first site and a transfer; planned
   care (electives, childbirth) is admitted where it is booked, never referred; a need
   for a resident already in hospital (an epidemic case among inpatients) re-plans that
   patient's path in place (merged with the rest of its stay, :func:`merge_paths`), no
   second admission;
5. counts ED-only visits per site, vectorised, at the nearest open site with an ED;
6. asks the model to kill today's in-hospital deaths and writes ``model.facility_day``.

The ALC hand-over (when a module takes ALC patients, :mod:`popsim.ltc`): before step 2
the network ends the ALC stays that module asked to end (``model.take_alc_exits``: an
LTC place, home, death); at the end of the day it reports the ALC stays that started
and ended (``model.report_alc``). Nothing else of the network changes.

Where each patient is (a bed of a unit, the ED boarding queue, held outside the ICU) is
changed only by the transitions of :class:`popsim.care.placement.Placement` (admit,
board, hold, move unit, transfer, release, start); this module decides which happens.

Census may exceed funded beds up to each unit's surge limit; beyond it patients board or
are held outside the ICU, and bed demand (``ward_demand``, ``icu_demand``) counts them all:
nobody is dropped. A need with no open site at all is counted as ``unserved``.
:meth:`CareNetwork.seed_census` starts the network from an observed census.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping
from operator import attrgetter
from typing import TYPE_CHECKING

import numpy as np

from popsim.care.admission import Admission
from popsim.care.facility import ALC, DAY_COUNTERS, ED, HELD, ICU, WARD, Facility
from popsim.care.params import CareParams, ReferralShares
from popsim.care.patient import JourneyLog, Patient, deregister_patients
from popsim.care.placement import Placement
from popsim.care.routing import Router
from popsim.care.seeding import Templates, seed_census
from popsim.core.event_types import ChangeBeds, CloseFacility, OpenFacility
from popsim.core.requests import (
    ALC_DEATH,
    ALC_DIED,
    NeedBatch,
)
from popsim.core.schema import FACILITY_METRICS

if TYPE_CHECKING:
    from popsim.core.events import Event
    from popsim.core.module import ModelAPI as RegionModel

#: ``CareParams`` (and its ``ReferralShares``) live in :mod:`popsim.care.params`; they are
#: importable from here too (the scenario loader and users name ``popsim.care.network``).
__all__ = ["METRICS", "CareNetwork", "CareParams", "ReferralShares"]

#: A patient's resident id (mapped over a list of patients into one numpy array).
_RESIDENT = attrgetter("resident")

#: Columns of ``facility_day`` in array order: the product schema, then the network's own.
#: Census columns count patients at the end of the day (``ed_boarding``: admitted patients
#: waiting in the ED for a ward bed); the other counts are the day's flows. Funded beds
#: (``ward_beds``, ``icu_beds``, ``ward_capacity`` = funded + surge) are 0 while a site is
#: closed; ``open`` is 1 on the days a site is open. Bed demand, separated from beds (each
#: patient a site is responsible for is in exactly one of: a funded bed, a surge bed, the
#: ED boarding, critical care outside an ICU):
#:
#: - ``ward_demand``: patients needing a ward bed, wherever they are (ward and ALC beds,
#:   funded or surge, and ED boarders): ``ward_census + alc_census + ed_boarding``;
#: - ``icu_demand``: patients needing an ICU bed: ``icu_census + icu_outside``;
#: - ``ward_surge``, ``icu_surge``: patients in beds above the funded beds (surge and
#:   hallway beds; new patients are never placed past the surge limit, but a bed cut
#:   leaves the patients already in beds where they are);
#: - ``icu_outside``: critical-care patients held outside an ICU (no ICU bed here or
#:   within the transfer limit);
#: - ``unserved``: needs that found no open site at all, counted at the nearest site
#:   (even when it is closed);
#: - ``epidemic_census``: patients in hospital (any unit, boarders included) admitted for
#:   an epidemic need, or given one while in hospital (from that day);
#:   ``epidemic_admissions``: admissions for an epidemic need that day;
#: - ``ward_staffed``, ``icu_staffed``: the beds, funded or surge, that the day's nurses
#:   staffed: the smaller of the beds the nurses can staff and the funded plus surge beds
#:   (the funded beds when the run has no staffing limits; 0 while closed). With staffing
#:   on this is the unit's capacity in the analysis: a bed nobody can staff is not
#:   counted, and funded beds added without nurses add only what the nurses already there
#:   could staff (a roster with spare nurses was staffing surge beds with them);
#: - ``capacity_transfers``: patients sent from this site to another for want of a bed
#:   (its ward or ICU full, surge beds included, or over its limit after beds fell);
#:   referrals up the roles of care are transfers (``transfers_out``) but not these.
METRICS: tuple[str, ...] = (
    *FACILITY_METRICS,
    "ward_capacity",
    "open",
    "ward_demand",
    "icu_demand",
    "ward_surge",
    "icu_surge",
    "icu_outside",
    "unserved",
    "epidemic_census",
    "epidemic_admissions",
    "ward_staffed",
    "icu_staffed",
    "capacity_transfers",
)


def _own(row: dict, column: str, default: float) -> float:
    """A site's own value of an optional region-file column, else ``default`` (a missing
    column, an empty cell or NaN)."""
    own = row.get(column)
    given = own is not None and own == own and str(own) != ""  # (NaN: not given)
    return float(own) if given else float(default)


def site_referral_shares(rows: list[dict], params: CareParams) -> list[float]:
    """Each site's share of emergency admissions referred on: the region file's
    ``p_refer`` of the site where given, else its role's (``CareParams.p_refer``). A
    site's own share is the region's calibration (see ``regions/fraser/README.md``)."""
    return [_own(row, "p_refer", params.p_refer.of(str(row["role"]))) for row in rows]


def referral_network(rows: list[dict]) -> list[list[int]]:
    """Each site's referral targets in order (facility indexes) from the region file's
    ``refers_to`` (facility ids separated by ``;``, checked when the region was read)."""
    index = {str(r["facility_id"]): i for i, r in enumerate(rows)}
    return [
        [index[t] for t in str(r.get("refers_to") or "").split(";") if t in index] for r in rows
    ]


class CareNetwork(Admission):
    """Facilities and patients of a region (see the module docstring for the day).

    Attributes:
        facilities: one :class:`Facility` agent per row of the region's facilities table.
        patients: living patients by resident id.
        metrics: names of the ``facility_day`` columns.
        totals: run totals: ``admitted``; ``planned_days`` and ``planned_days_sq``
            (planned stay days of the admitted, and their squares); ``discharged`` and
            ``died`` (all stays); ``ended``, ``stay_days`` and ``alc_stays`` (stays
            admitted during the run that ended, their days, those ending in ALC);
            ``repathed`` (needs of patients already in hospital); ``skipped`` (needs of
            the dead, or of residents in hospital without a patient); ``unplaced`` (no
            open site); ``prevalent`` (residents placed in hospital at a warm start).
    """

    def __init__(self, model: RegionModel, params: CareParams) -> None:
        self.model = model
        self.params = params
        region = model.region
        start = model.config.start
        rows = region.facilities.to_dict("records")
        self.facilities = [
            Facility(
                model,
                i,
                row,
                start,
                _own(row, "surge_share", params.surge_share),
                params.icu_surge_share,
            )
            for i, row in enumerate(rows)
        ]
        # (a site running more surge beds than the default diverts later, by as much)
        divert_at = [
            1e12 if params.uncapped else params.divert_at + f.surge_share - params.surge_share
            for f in self.facilities
        ]
        self.p_refer = site_referral_shares(rows, params)
        self.router = Router(
            self.facilities,
            region.zone_facility_minutes,
            divert_at,
            params.max_divert_minutes,
            params.max_transfer_minutes,
            admits=[p < 1.0 for p in self.p_refer],
            refers_to=referral_network(rows),
        )
        self.rng = model.stream("care")  # referrals: one uniform per need, every day
        self.metrics = METRICS
        self.patients: dict[int, Patient] = {}
        self.calendar: dict[int, list[Patient]] = defaultdict(list)
        self.log = JourneyLog(model.config.record_journeys)
        self._paths: dict[tuple[int, int, int], tuple[tuple[int, int], ...]] = {}
        self.totals = dict.fromkeys(
            (
                "admitted",
                "planned_days",
                "planned_days_sq",
                "discharged",
                "died",
                "ended",
                "stay_days",
                "alc_stays",
                "repathed",
                "skipped",
                "unplaced",
                "prevalent",
                "held",
                "held_deaths",
            ),
            0,
        )
        self._ed_today = np.zeros(len(self.facilities), dtype=np.int64)
        self.place = Placement(
            self.patients,
            self.log.rows,
            self.totals,
            rng=model.stream("care-icu"),  # held outside the ICU: who dies of it
            p_die_held=params.p_die_held,
        )
        self._no_transfer: set[tuple[int, int]] = set()

    # ------------------------------------------------------------------- day
    def step(self, needs: NeedBatch, ed_visits_per_zone: np.ndarray | None) -> None:
        """One day of the care network; writes ``model.facility_day[model.day]``."""
        day = self.model.day
        changed = False
        for fac in self.facilities:
            change = fac.status_changes(day)
            if change == "close":
                self._evacuate(fac, day)
            changed = changed or change is not None
        if changed:
            self.router.refresh()
        self._no_transfer = set()
        self._limit_icus(day)  # beds cut today, or fewer staffed
        taken = self.model.alc_taken()
        if taken:
            self._end_alc(day)
        self._advance(day)
        self.place.fill_beds(self.facilities, day)
        if len(needs):
            self._admit(needs, day)
        if ed_visits_per_zone is not None:
            self._count_ed(np.asarray(ed_visits_per_zone, dtype=np.int64))
        deaths = self.place.deaths
        if deaths:
            self.model.kill(np.asarray(deaths, dtype=np.int64))
            deaths.clear()
        self._report_alc(taken)
        self._write(day)
        self.log.flush()

    def apply(self, event: Event) -> None:
        """Open or close a site, or change its funded beds (from today)."""
        fac = self.facilities[event.facility]
        if isinstance(event, ChangeBeds):
            fac.change_beds(event.ward_beds, event.icu_beds)
            self.router.refresh()  # a site without beds takes no planned care
            return  # an ICU over its new limit is brought within it at the care phase
        if isinstance(event, OpenFacility):
            fac.is_open = True
            if fac.close_day is not None and fac.close_day <= event.day:
                fac.close_day = None
        elif isinstance(event, CloseFacility):
            fac.is_open = False
            fac.open_day = None
            self._evacuate(fac, event.day)
        else:
            raise TypeError(f"the care network does not handle {event!r}")
        self.router.refresh()

    def seed_census(
        self,
        census: Mapping[tuple[int, str], int],
        rng: np.random.Generator,
        templates: Templates | None = None,
    ) -> None:
        """Start from an observed census: ``census[(facility_index, unit)]`` patients in
        each unit (``"ward"``, ``"icu"``, ``"alc"``; ``"ed"``: ED boarders), placed today,
        continuing the simulated stays of ``templates`` where given, else with remaining
        stays of a steady-state snapshot (:mod:`popsim.care.seeding`). Today's
        ``facility_day`` row shows the seeded census until the day is stepped. ValueError
        on a bad entry."""
        seed_census(self, census, rng, templates)
        self._write(self.model.day)

    def clear(self) -> None:
        """Empty the network: every patient leaves uncounted (no discharge, death or
        journey row), before :meth:`seed_census` replaces today's census mid-run."""
        leave = self.place.leave
        for p in list(self.patients.values()):
            leave(p)
        self.calendar.clear()
        self._release_left()  # their hospital flags and Mesa registrations

    def journeys(self) -> tuple[dict[str, np.ndarray], dict[str, tuple[str, ...]]]:
        """Journey rows (resident_id, day, event, facility, unit) and the code names."""
        return self.log.arrays()

    # ------------------------------------------------------------- patients
    def _advance(self, day: int) -> None:
        """The patients due today: the next phase of their path, or discharge or death."""
        bucket = self.calendar.pop(day, None)
        if not bucket:
            return
        # alive flags of the bucket's residents in one numpy call (nobody dies in this loop)
        ids = np.fromiter(map(_RESIDENT, bucket), dtype=np.int64, count=len(bucket))
        alive = self.model.pop.alive[ids].tolist()
        calendar = self.calendar
        place = self.place
        release, step = place.release, self._step
        for p, living in zip(bucket, alive, strict=True):
            if p.day_next != day or not p.active:
                continue
            phase = p.phase + 1
            if not living:  # died of another cause (another module killed it)
                release(p, day, True, False)  # died, not killed here
            elif phase >= len(p.phases):
                release(p, day, p.dies, p.dies)
            else:
                p.phase = phase
                unit, days = p.phases[phase]
                p.day_next = day + days
                calendar[p.day_next].append(p)
                step(p, unit, day)
        self._release_left()

    # ------------------------------------------------- the ALC hand-over (popsim.ltc)
    def _end_alc(self, day: int) -> None:
        """The ALC stays another module ends today (placed in long-term care, home, dead):
        each patient still in its ALC stay (in an ALC bed, or waiting in the ED for one)
        leaves; a request for a patient no longer in ALC (a new need moved it) is dropped,
        and the module learns it from the ends reported (:meth:`_report_alc`)."""
        ids, reasons = self.model.take_alc_exits()
        if not len(ids):
            return
        patients, release, in_alc = self.patients, self.place.release, self.place.in_alc
        for r, reason in zip(ids.tolist(), reasons.tolist(), strict=True):
            p = patients.get(r)
            if p is None or r not in in_alc or p.planned_unit != ALC:
                continue
            dead = reason in (ALC_DEATH, ALC_DIED)
            release(p, day, died=dead, killed=reason == ALC_DEATH, reason=reason)
        self._release_left()

    def _report_alc(self, taken: bool) -> None:
        """Today's ALC starts and ends, to the model (for the module taking ALC patients)."""
        place = self.place
        if taken and (place.alc_started or place.alc_ended):
            ended = place.alc_ended
            self.model.report_alc(
                np.asarray(place.alc_started, dtype=np.int64),
                np.asarray([r for r, _ in ended], dtype=np.int64),
                np.asarray([why for _, why in ended], dtype=np.int8),
            )
        place.alc_started.clear()
        place.alc_ended.clear()

    def _step(self, p: Patient, unit: int, day: int) -> None:
        """Move a placed patient to ``unit`` (ward or ALC) at its site (its next phase, or
        a new need), within the ward's limit: from the ICU, from outside it or from the
        ED with no ward bed free (surge beds included), it waits in the ED (a boarder
        stays there)."""
        now = p.unit
        if unit == now:
            return
        if now in (ICU, ED, HELD) and not self.params.uncapped:
            site = p.site
            n = site.n
            if n[WARD] + n[ALC] >= site.ward_capacity:
                if now != ED:
                    self.place.board(p, site, day, counted=False)
                return
        self.place.move_unit(p, unit, day)

    def _release_left(self) -> None:
        """Clear the hospital flag of the residents released (or who left, :meth:`clear`)
        since the last call, and take their patients out of the model's registries of
        agents, all at once."""
        gone = self.place.gone
        if gone:
            ids = np.fromiter(map(_RESIDENT, gone), dtype=np.int64, count=len(gone))
            self.model.pop.in_hospital[ids] = False
            deregister_patients(self.model, gone)
            gone.clear()

    def _evacuate(self, fac: Facility, day: int) -> None:
        """Transfer every patient of a closing site: to the nearest open site with a free
        bed in the patient's unit (any distance), else to the nearest open site, to wait
        there for a bed (boarding in its ED, or held outside its ICU)."""
        router, facs = self.router, self.facilities
        uncapped = self.params.uncapped
        transfer = self.place.transfer
        for p in [p for p in self.patients.values() if p.site is fac]:
            unit = p.planned_unit if p.unit in (ED, HELD) else p.unit
            target = router.evacuation(fac, None if uncapped else unit)
            if target < 0:
                continue  # nowhere open: stays (counted at this site)
            dest = facs[target]
            if uncapped:
                pass
            elif unit == ICU and not dest.icu_free():
                unit = HELD
            elif unit != ICU and not dest.ward_free():
                unit = ED
            transfer(p, fac, dest, unit, day)

    def _limit_icus(self, day: int) -> None:
        """Keep every ICU within its limit after its beds (funded or staffed) fell: the
        patients nearest the end of their ICU stay leave it first, to an ICU bed at the
        nearest site within the transfer limit, else held outside the ICU here."""
        if self.params.uncapped:
            return
        over = {f.index for f in self.facilities if f.n[ICU] > f.icu_capacity}
        if not over:
            return
        in_icu = [p for p in self.patients.values() if p.unit == ICU and p.site.index in over]
        in_icu.sort(key=lambda p: (p.day_next, p.resident))
        for p in in_icu:
            site = p.site
            if site.n[ICU] <= site.icu_capacity:
                continue
            target = self._transfer_target(ICU, site, cached=False)
            dest = self.facilities[target] if target >= 0 else site
            if dest is not site and dest.icu_free():
                self.place.transfer(p, site, dest, ICU, day)
                site.counts["capacity_transfers"] += 1
            else:
                self.place.hold(p, site, day, counted=False)

    # ---------------------------------------------------------------- counts
    def _count_ed(self, per_zone: np.ndarray) -> None:
        ed_site = self.router.ed_site
        ok = ed_site >= 0
        self._ed_today += np.bincount(
            ed_site[ok], weights=per_zone[ok], minlength=len(self.facilities)
        ).astype(np.int64)

    def census(self) -> int:
        """Patients in all units of all sites, ED boarders and patients held outside an
        ICU included."""
        return sum(sum(f.n) for f in self.facilities)

    def _write(self, day: int) -> None:
        table = getattr(self.model, "facility_day", None)
        if table is not None and day < len(table):
            ed_only = self._ed_today.tolist()
            rows = []
            for f in self.facilities:
                n, is_open, counts = f.n, f.is_open, f.counts
                day_counts = [counts[k] for k in DAY_COUNTERS]  # ..., ed_visits last
                day_counts[-1] += ed_only[f.index]  # admitted arrivals and ED-only visits
                ward_beds = f.ward_beds * is_open  # a closed site funds no beds
                icu_beds = f.icu_beds * is_open
                in_ward = n[WARD] + n[ALC]
                rows.append(
                    (
                        n[WARD],
                        ward_beds,
                        n[ICU],
                        icu_beds,
                        n[ALC],
                        *day_counts,
                        n[ED],  # ED boarders
                        f.ward_capacity * is_open,
                        int(is_open),
                        in_ward + n[ED],  # ward demand
                        n[ICU] + n[HELD],  # ICU demand
                        max(in_ward - ward_beds, 0),
                        max(n[ICU] - icu_beds, 0),
                        n[HELD],  # critical care outside an ICU
                        counts["unserved"],
                        f.n_epidemic,
                        counts["epidemic_admissions"],
                        _staffed_beds(ward_beds, f.ward_capacity * is_open, f.staffed_ward_beds),
                        _staffed_beds(icu_beds, f.icu_capacity * is_open, f.staffed_icu_beds),
                        counts["capacity_transfers"],
                    )
                )
            table[day] = rows
        for f in self.facilities:
            f.reset_day()
        self._ed_today[:] = 0


def _staffed_beds(funded: int, limit: int, staffed: int | None) -> int:
    """The beds the day's nurses staff, funded or surge (the unit's placement limit, at
    most the staffed beds): the funded beds without a staffing limit."""
    return funded if staffed is None else limit
