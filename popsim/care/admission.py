"""Admission: what happens to a day's needs at the care network (step 4 of its day).

:class:`Admission` is the part of :class:`popsim.care.network.CareNetwork` that takes
today's needs: it routes each (:mod:`popsim.care.routing`), refers an emergency on with
its first site's probability, and creates a ``Patient`` agent placed in a bed, boarding
in the ED, or held outside the ICU (:class:`popsim.care.placement.Placement` moves it);
a need of a resident already in hospital re-plans that patient's path in place
(:meth:`Admission._repath`), and a resident in hospital at a warm start is placed as a
new arrival would be, counting nothing (:meth:`Admission._warm_start`). The network's
module docstring describes the whole day.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import numpy as np

from popsim.care.facility import ALC, ED, HELD, ICU, WARD, Facility
from popsim.care.patient import ARRIVE, Patient, merge_paths, plan_path, register_patients
from popsim.core.requests import EPI_CRITICAL, EPI_SEVERE, MATERNITY, NeedBatch

if TYPE_CHECKING:
    from collections.abc import Callable

    from popsim.care.params import CareParams
    from popsim.care.patient import JourneyLog
    from popsim.care.placement import Placement
    from popsim.care.routing import Router
    from popsim.core.module import ModelAPI as RegionModel


class Admission:
    """Today's needs into the network (a base of :class:`CareNetwork`, which sets these
    attributes and ``_step``, the move of a placed patient to the ward or ALC)."""

    model: RegionModel
    params: CareParams
    facilities: list[Facility]
    router: Router
    place: Placement
    patients: dict[int, Patient]
    calendar: defaultdict[int, list[Patient]]
    totals: dict[str, int]
    p_refer: list[float]
    rng: np.random.Generator
    log: JourneyLog
    _paths: dict[tuple[int, int, int], tuple[tuple[int, int], ...]]
    _no_transfer: set[tuple[int, int]]
    _step: Callable[[Patient, int, int], None]

    def _admit(self, needs: NeedBatch, day: int) -> None:
        model = self.model
        pop = model.pop
        facs = self.facilities
        router = self.router
        arrival = router.arrival
        patients = self.patients
        calendar = self.calendar
        paths = self._paths  # one shared tuple per distinct (icu, ward, alc) path
        place = self.place
        admit, board = place.admit, place.board
        row = self.log.rows.extend  # one journey row
        uncapped = self.params.uncapped
        res = needs.resident
        alive = pop.alive[res]
        if place.deaths:  # died in hospital today, killed at the end of the step: not alive
            # (by sorting: numpy's default for integers builds a table over the id range)
            alive &= ~np.isin(res, place.deaths, kind="sort")
        busy = pop.in_hospital[res]
        emergency = ~(needs.elective | (needs.kind == MATERNITY))  # planned care: not
        cols = (
            res.tolist(),
            alive.tolist(),
            busy.tolist(),
            pop.zone[res].tolist(),
            pop.band[res].tolist(),
            needs.kind.tolist(),
            needs.icu_days.tolist(),
            needs.ward_days.tolist(),
            needs.alc_days.tolist(),
            needs.dies.tolist(),
            needs.tertiary.tolist(),
            emergency.tolist(),
            needs.prevalent.tolist(),
            self.rng.random(len(needs)).tolist(),  # referral draws
        )
        p_refer = self.p_refer
        admitted: list[int] = []  # positions in ``needs``
        new: list[Patient] = []  # registered as Mesa agents at the end, in one batch
        # (unit, site) with no transfer target today (census only grows while admitting)
        self._no_transfer = no_transfer = set()
        for i, need in enumerate(zip(*cols, strict=True)):
            r, ok, inh, zone, band, kind, icu, ward, alc, dies, tert, emergency, prev, u = need
            if not ok:
                self.totals["skipped"] += 1
                continue
            phases = paths.get((icu, ward, alc))
            if phases is None:
                phases = paths[icu, ward, alc] = plan_path(icu, ward, alc)
            if inh or r in patients:
                p = patients.get(r)
                if p is None:
                    self.totals["skipped"] += 1
                else:
                    self._repath(p, kind, phases, dies, day)
                continue
            site_i, nearest = arrival(zone, emergency, tert, icu > 0)
            if site_i < 0:  # no open site: unserved, counted at the nearest site
                self.totals["unplaced"] += 1
                facs[router.order[zone][0]].counts["unserved"] += 1
                continue
            site = facs[site_i]
            refer = -1
            if emergency and u < p_refer[site_i]:
                refer = router.referral(site, icu > 0)
            if prev:
                first = facs[refer] if refer >= 0 else site
                self._warm_start(r, kind, zone, band, first, day, phases, dies)
                continue
            if nearest != site_i:
                facs[nearest].counts["diversions"] += 1
            if emergency:
                site.counts["ed_visits"] += 1
            p = Patient(model, r, kind, zone, band, day, phases, dies, register=False)
            new.append(p)
            unit = p.unit  # the first phase's
            row((r, day, ARRIVE, site_i, ED))
            if refer >= 0:  # admitted at a higher-role site: a transfer from the first
                dest = facs[refer]
                place.transfer(p, site, dest, unit, day)
                site = dest
            n = site.n
            if uncapped or (
                n[ICU] < site.icu_capacity if unit == ICU else n[WARD] + n[ALC] < site.ward_capacity
            ):  # a free bed in the first unit (the common case, as in _place)
                admit(p, site, unit, day, counted=True)
            elif unit != ICU and (WARD, site.index) in no_transfer:
                # the ward is full (surge beds too) and no site takes a transfer today:
                # board in the ED (as in _place; the common case of a full site)
                board(p, site, day, counted=True)
            else:  # full: transfer or board
                self._place(p, site, day)
            patients[r] = p
            calendar[p.day_next].append(p)
            admitted.append(i)
        register_patients(model, new)
        if admitted:
            at = np.asarray(admitted, dtype=np.int64)
            stay = needs.icu_days[at].astype(np.int64) + needs.ward_days[at] + needs.alc_days[at]
            stay[stay == 0] = 1  # (a path of at least one day)
            self.totals["planned_days"] += int(stay.sum())
            self.totals["planned_days_sq"] += int((stay * stay).sum())
            ids = res[at].astype(np.int64)
            pop.in_hospital[ids] = True
            np.add.at(model.new_admissions, (pop.zone[ids], pop.band[ids]), 1)
            self.totals["admitted"] += len(ids)

    def _warm_start(
        self,
        r: int,
        kind: int,
        zone: int,
        band: int,
        site: Facility,
        day: int,
        phases: tuple[tuple[int, int], ...],
        dies: bool,
    ) -> None:
        """A resident already in hospital at the start (placed as a new arrival would be,
        within today's capacity), counting no arrival, admission or transfer."""
        p = Patient(self.model, r, kind, zone, band, day, phases, dies)
        p.prevalent = True
        self._place(p, site, day, counted=False)
        self.patients[r] = p
        self.calendar[p.day_next].append(p)
        self.model.pop.in_hospital[r] = True
        self.totals["prevalent"] += 1

    def _place(self, p: Patient, site: Facility, day: int, counted: bool = True) -> None:
        """Put a new patient in its first unit at ``site``, or transfer it, or board it
        (ward, ALC) or hold it outside the ICU. ``counted=False`` (a warm start): placed
        where a new arrival would be, counting no admission or transfer."""
        unit = p.planned_unit
        if self.params.uncapped:
            dest, where = site, unit
        elif unit == ICU:
            dest, where = self._icu_place(site)
        else:
            dest, where = self._ward_place(site, unit)
        place = self.place
        if not counted:
            place.start(p, dest, where, day)
            return
        if dest is not site:
            place.transfer(p, site, dest, unit, day)
            site.counts["capacity_transfers"] += 1
        if where == ED:
            place.board(p, dest, day, counted=True)
        elif where == HELD:
            place.hold(p, dest, day, counted=True)
        else:
            place.admit(p, dest, where, day, counted=True)

    def _icu_place(self, site: Facility, cached: bool = True) -> tuple[Facility, int]:
        """Where a patient needing the ICU at ``site`` goes: a free ICU bed (funded or
        surge) here, else at the nearest site with one within the transfer limit (any
        distance from a site without an ICU), else held outside the ICU here."""
        if site.icu_free():
            return site, ICU
        target = self._transfer_target(ICU, site, cached)
        if target < 0:
            return site, HELD
        dest = self.facilities[target]
        return (dest, ICU) if dest.icu_free() else (site, HELD)

    def _ward_place(self, site: Facility, unit: int) -> tuple[Facility, int]:
        """Where a patient needing a ward bed (``unit``: ward or ALC) at ``site`` goes: a
        free bed here (surge beds included), else a free funded bed at the nearest site
        within the transfer limit, else the ED here (boarding)."""
        if site.ward_free():
            return site, unit
        target = self._transfer_target(WARD, site)
        return (self.facilities[target], unit) if target >= 0 else (site, ED)

    def _transfer_target(self, unit: int, site: Facility, cached: bool = True) -> int:
        """A site to transfer a new ICU or ward patient to (-1: none), remembering failures
        for the rest of today's admissions (nothing frees up while admitting)."""
        key = (unit, site.index)
        if cached and key in self._no_transfer:
            return -1
        router = self.router
        target = router.icu_transfer(site) if unit == ICU else router.ward_transfer(site)
        if target < 0 and cached:
            self._no_transfer.add(key)
        return target

    def _repath(
        self, p: Patient, kind: int, phases: tuple[tuple[int, int], ...], dies: bool, day: int
    ) -> None:
        """A new need for a patient already in hospital (no second admission): from today
        the old path's remaining days and the new path merged (:func:`merge_paths`: each
        day the more intensive unit, the longer stay, death if either ends in it; a new
        path ending in death ends the stay then), to the ICU here, or of another site, or
        held outside it, as for a new arrival. An epidemic need makes the patient an
        epidemic patient from today (``epidemic_census``)."""
        site = p.site
        phases, dies = merge_paths(p.remaining(day), p.dies, phases, dies)
        unit = phases[0][0]
        p.kind, p.phases, p.phase, p.dies = kind, phases, 0, dies
        if kind in (EPI_SEVERE, EPI_CRITICAL) and not p.epidemic:
            self.place.to_epidemic(p)
        p.day_next = day + phases[0][1]
        self.calendar[p.day_next].append(p)
        self.totals["repathed"] += 1
        if p.unit == unit or (unit == ICU and p.unit == HELD):
            return
        if unit != ICU or self.params.uncapped:
            self._step(p, unit, day)
            return
        dest, where = self._icu_place(site)
        if dest is not site:
            self.place.transfer(p, site, dest, where, day)
            site.counts["capacity_transfers"] += 1
        elif where == HELD:
            self.place.hold(p, site, day, counted=False)
        else:
            self.place.move_unit(p, ICU, day)
