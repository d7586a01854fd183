"""The long-term care (LTC) module: homes with beds, one wait list, home support, and the
alternate-level-of-care (ALC) patients, whose ALC stay lasts until it ends it.

Each day (a resident module, before demand; the care network runs later in the day):

1. the ALC hand-over from the care network (yesterday's care phase): an ALC stay that
   started is a patient waiting, for an LTC place (``p_alc_needs_ltc``) or for home
   support; an LTC resident back from hospital returns to its home; an ALC stay that
   ended confirms the exit asked for it (a placement, home support, a death) or, if it
   ended otherwise, takes the patient off the lists; an exit that did not happen (a new
   need moved the patient out of ALC) is undone;
2. LTC residents leave (exit hazard ``1 / los_mean_days``; ``p_death_at_exit`` of the
   exits are deaths, asked of the model);
3. residents join the wait list from the community (age-band rates); one who finds a
   home-support place free in its zone takes it first and joins the list
   ``home_support_delay_days`` later; residents waiting at home leave the list at
   ``community_withdraw_per_year``;
4. ALC patients die while waiting (``alc_death_per_year``, asked of the model through
   the care network);
5. free LTC beds are offered, home by home, to the waiting resident of a zone within
   ``max_offer_minutes`` of the home whose need began first, an ALC patient in hospital
   counted ``hospital_priority_days`` earlier (0: first come, first served; very large:
   hospital first): one static order of everyone waiting, so that one more bed never
   moves anyone back in it;
6. free home-support places take ALC patients waiting for home support, then ALC
   patients waiting for LTC are sent home with support to wait there
   (``home_first_per_year``; they keep their place on the list, from home), after
   ``home_setup_days``;
7. the day's ``ltc_day`` row.

Every ALC patient leaves hospital by an LTC place, home (with home support, or without
it when its stay ends otherwise) or death; the exits are asked of the model
(:meth:`popsim.core.module.ModelAPI.request_alc_exits`) and applied by the care network.

Randomness: the start (homes filled, the wait list seeded) draws from the stream
``"ltc"``; every later decision is counter-based (:class:`popsim.core.seeds.CounterDraws`
keyed by the decision, the day and the resident: whether an ALC patient needs LTC, an LTC
resident's exit and death, an ALC patient's death, a home-first offer, a withdrawal from
the list), and the community's new needs come from the day's own stream
``"ltc.need:<day>"``, drawn from the population's cell index whoever is alive. One
decision that differs between two scenarios (one more bed, one placement) therefore
changes no other resident's draws: paired scenarios stay paired.
"""

from __future__ import annotations

import heapq
from collections import defaultdict
from typing import TYPE_CHECKING, ClassVar

import numpy as np

from popsim.core.module import Module
from popsim.core.requests import (
    ALC_DEATH,
    ALC_DIED,
    ALC_HOME_SUPPORT,
    ALC_TO_LTC,
)
from popsim.core.schema import LTC_METRICS
from popsim.core.seeds import CounterDraws
from popsim.ltc.events import ChangeHomeSupport, ChangeLtcBeds
from popsim.ltc.params import LtcParams
from popsim.ltc.waitlist import COMMUNITY, HOSPITAL, IdArray, WaitList

if TYPE_CHECKING:
    from popsim.core.events import Event
    from popsim.core.module import ModelAPI

(
    _C_ltc_beds,
    _C_ltc_residents,
    _C_wait_hospital,
    _C_wait_community,
    _C_admit_hospital,
    _C_admit_community,
    _C_ltc_deaths,
    _C_ltc_discharges,
    _C_alc_patients,
    _C_alc_to_ltc,
    _C_alc_to_home_support,
    _C_alc_deaths,
    _C_wait_days_hospital,
    _C_wait_days_community,
    _C_home_support_slots,
    _C_home_support_clients,
) = range(len(LTC_METRICS))
TO_LTC, TO_HOME = 0, 1
#: purposes of the counter-based draws (the first counter of each)
_NEEDS_LTC, _LTC_EXIT, _LTC_DIES, _ALC_DIES, _HOME_FIRST, _WITHDRAW = range(6)


class LongTermCare(Module):
    """LTC homes, the wait list, home support and the ALC patients (module docstring)."""

    name: ClassVar[str] = "ltc"
    params_class = LtcParams
    default_on = True
    events = (ChangeLtcBeds, ChangeHomeSupport)

    def __init__(self, params: LtcParams) -> None:
        self.params = params
        self.takes_alc = False
        self._day: int | None = None
        self.warm_alc_days = params.warm_alc_days
        self.ltc_day: np.ndarray | None = None
        #: every LTC admission: (day, zone, 0 hospital / 1 community, days waited)
        self.admissions: list[tuple[int, int, int, int]] = []
        #: how every ALC stay taken here ended: reason code -> count
        self.alc_ends: dict[int, int] = defaultdict(int)
        self.n_alc_started = 0

    # ------------------------------------------------------------------ setup
    def init(self, model: ModelAPI) -> None:
        region = model.region
        homes = getattr(region, "ltc", None)
        if homes is None:
            return  # no long-term care in this region: ALC stays are drawn lengths
        p = self.params
        self.takes_alc = True
        self.rng = model.stream("ltc")  # the start only
        self.draws = CounterDraws(model.stream("ltc.keyed"))
        nz = region.n_zones
        homes = homes[homes["kind"] == "ltc"]
        self.home_zone = homes["zone"].to_numpy(np.int64).tolist()
        self.beds = [int(round(b * p.rel_beds)) for b in homes["beds"]]
        self.n = [0] * len(self.beds)
        self.readying = [0] * len(self.beds)  # beds empty, being readied for the next
        self.ready_on: dict[int, list[int]] = defaultdict(list)  # day -> homes
        self.minutes = np.asarray(region.zone_zone_minutes, dtype=np.float64)
        self._index_homes()
        hours = np.zeros(nz)
        support = getattr(region, "home_support", None)
        if support is not None:
            np.add.at(hours, support["zone"].to_numpy(np.int64), support["client_hours_per_week"])
        self.hs_hours = hours * p.rel_home_support
        self.hs_used = [0] * nz
        self.hs_end: dict[int, list[int]] = defaultdict(list)  # day -> clients ending
        self.hs_client: dict[int, tuple[int, int]] = {}  # resident -> (zone, end day)
        # LTC residents: their home; their ids as an array for the daily exit draws
        self.res_home: dict[int, int] = {}
        self.res_ids = IdArray()
        self.wl = WaitList(nz)
        self._exits: list[tuple[int, int]] = []
        # ALC patients in hospital: resident -> (zone, day the ALC stay began, dest),
        # changed by _alc_set and _alc_pop only (which keep their ids as an array, for
        # the daily draws, and their number per zone)
        self.alc: dict[int, tuple[int, int, int]] = {}
        self.alc_ids = IdArray()
        self.alc_per_zone = [0] * nz
        self.hs_wait: list[list[tuple[int, int]]] = [[] for _ in range(nz)]  # (day, r)
        self.deferred: dict[int, list[int]] = defaultdict(list)  # day -> residents
        self.deferred_of: dict[int, int] = {}
        self.pending: dict[int, tuple[int, int]] = {}  # resident -> (reason, home or zone)
        self.exiting: set[int] = set()
        self.ltc_day = np.zeros((model.config.days, nz, len(LTC_METRICS)), dtype=np.int32)
        self._today = [[0] * len(LTC_METRICS) for _ in range(nz)]
        self._fill_start(model)

    def _index_homes(self) -> None:
        """Homes within reach of each zone (nearest first), and zones within reach of each."""
        limit = self.params.max_offer_minutes
        nz = self.minutes.shape[0]
        self.zone_homes = [
            sorted(
                (h for h, hz in enumerate(self.home_zone) if self.minutes[z, hz] <= limit),
                key=lambda h, z=z: self.minutes[z, self.home_zone[h]],
            )
            for z in range(nz)
        ]
        self.home_zones = [
            [z for z in range(nz) if self.minutes[z, hz] <= limit] for hz in self.home_zone
        ]

    def _candidates(self, model: ModelAPI, zone: int, k: int) -> np.ndarray:
        """``k`` living residents of ``zone`` drawn with weights by age band (the community
        need rates), without replacement (fewer if the zone has fewer): the ``k`` largest
        of ``u ** (1 / w)`` (Efraimidis and Spirakis), in one pass."""
        pop = model.pop
        rates = np.asarray(self.params.community_need_per_1000)
        ids = np.flatnonzero(pop.alive & (pop.zone == zone) & (rates[pop.band] > 0))
        if k <= 0 or len(ids) == 0:
            return np.zeros(0, dtype=np.int64)
        keys = np.log(self.rng.random(len(ids))) / rates[pop.band[ids]]
        k = min(k, len(ids))
        top = np.argpartition(-keys, k - 1)[:k]
        return ids[top[np.argsort(-keys[top])]]

    def _fill_start(self, model: ModelAPI) -> None:
        """Homes filled to ``occupancy_start`` and the community wait list seeded, with
        residents drawn by the community need's age shape."""
        p = self.params
        nz = self.minutes.shape[0]
        for z in range(nz):
            homes = [h for h, hz in enumerate(self.home_zone) if hz == z]
            want = [int(round(self.beds[h] * p.occupancy_start)) for h in homes]
            waiting = int(
                round(sum(self.beds[h] for h in homes) * p.community_wait_start_per_100_beds / 100)
            )
            ids = self._candidates(model, z, sum(want) + waiting).tolist()
            for h, k in zip(homes, want, strict=True):
                for r in ids[:k]:
                    self._enter(r, h)
                ids = ids[k:]
            for r in ids:
                self.wl.join(r, z, -int(self.rng.integers(0, 180)), COMMUNITY)

    # ------------------------------------------------------------ bookkeeping
    def _enter(self, r: int, h: int, counted: bool = False) -> None:
        """Into home ``h`` (``counted``: its bed was taken when the place was offered)."""
        self.res_home[r] = h
        self.res_ids.add(r)
        if not counted:
            self.n[h] += 1

    def _leave(self, r: int) -> int:
        h = self.res_home.pop(r)
        self.res_ids.discard(r)
        self.n[h] -= 1
        if self.params.bed_turnaround_days > 0 and self._day is not None:
            self.readying[h] += 1
            self.ready_on[self._day + self.params.bed_turnaround_days].append(h)
        return h

    def _alc_set(self, r: int, info: tuple[int, int, int]) -> None:
        old = self.alc.get(r)
        if old is None:
            self.alc_ids.add(r)
        else:
            self.alc_per_zone[old[0]] -= 1
        self.alc[r] = info
        self.alc_per_zone[info[0]] += 1

    def _alc_pop(self, r: int) -> tuple[int, int, int] | None:
        info = self.alc.pop(r, None)
        if info is not None:
            self.alc_ids.discard(r)
            self.alc_per_zone[info[0]] -= 1
        return info

    def _exit(self, model: ModelAPI, r: int, reason: int, ref: int) -> None:
        """Ask the care network to end an ALC stay today."""
        self.exiting.add(r)
        self.pending[r] = (reason, ref)
        self._exits.append((r, reason))

    # -------------------------------------------------------------------- day
    def step(self, model: ModelAPI) -> None:
        if not self.takes_alc:
            return
        day = self._day = model.day
        for h in self.ready_on.pop(day, ()):
            self.readying[h] -= 1
        self._handover(model, day)
        self._undo_pending(model)
        self.exiting = set()
        self._ltc_exits(model)
        self._home_support_ends(model, day)
        self._alc_deaths(model)
        self._place(model, day)
        self._home_support(model, day)
        self._community(model, day)  # (home support to hospital patients first)
        self._flush(model)
        self._record(day)

    def settle(self, model: ModelAPI) -> None:
        """Take the ALC starts and ends the care network reported since this module last
        ran (the last day's, at the end of a run), so that its counts are complete."""
        if self.takes_alc:
            self._handover(model, model.day)

    def _flush(self, model: ModelAPI) -> None:
        if self._exits:
            ids, reasons = zip(*self._exits, strict=True)
            model.request_alc_exits(np.asarray(ids), np.asarray(reasons))
            self._exits.clear()

    def _handover(self, model: ModelAPI, day: int) -> None:
        started, ended, reasons = model.take_alc_reports()
        pop, p = model.pop, self.params
        for r, why in zip(ended.tolist(), reasons.tolist(), strict=True):
            info = self._alc_pop(r)
            pend = self.pending.pop(r, None)
            self.alc_ends[why] += 1
            z = int(pop.zone[r]) if info is None else info[0]
            if why == ALC_TO_LTC and pend is not None and pend[0] == ALC_TO_LTC:
                if pend[1] >= 0:
                    self._enter(r, pend[1], counted=True)
                continue
            if pend is not None:
                self._release_hold(r, pend)
            if why in (ALC_DEATH, ALC_DIED):
                self._today[z][_C_alc_deaths] += 1
            entry = self.wl.get(r)
            if entry is None or entry[3] != HOSPITAL:
                continue
            if why in (ALC_DEATH, ALC_DIED) or not pop.alive[r]:
                self.wl.remove(r)
            else:  # home (with support, or its stay ended otherwise): waits at home
                self.wl.join(r, entry[1], entry[2], COMMUNITY)
        if not len(started):
            return
        u = self.draws.uniform(_NEEDS_LTC, started)  # a trait of the patient
        for r, u1 in zip(started.tolist(), u.tolist(), strict=True):
            self.n_alc_started += 1
            z = int(pop.zone[r])
            if not pop.alive[r]:
                self._alc_set(r, (z, day, TO_LTC))
                self._exit(model, r, ALC_DIED, -1)
                continue
            if r in self.res_home:  # an LTC resident goes back to its home
                self._alc_set(r, (z, day, TO_LTC))
                self._exit(model, r, ALC_TO_LTC, -1)
                continue
            entry = self.wl.get(r)
            deferring = self.deferred_of.pop(r, None) is not None
            if entry is None and not deferring and u1 >= p.p_alc_needs_ltc:
                self._alc_set(r, (z, day, TO_HOME))
                heapq.heappush(self.hs_wait[z], (day, r))
                continue
            self._alc_set(r, (z, day, TO_LTC))
            if entry is None:
                self.wl.join(r, z, day, HOSPITAL)
            else:  # waiting at home before: keeps the day its need began
                self.wl.join(r, entry[1], entry[2], HOSPITAL)

    def _release_hold(self, r: int, pend: tuple[int, int]) -> None:
        """An exit asked for and not made: give back the bed or the home-support place."""
        reason, ref = pend
        if reason == ALC_TO_LTC and ref >= 0:
            self.n[ref] -= 1
        elif reason == ALC_HOME_SUPPORT and ref >= 0:
            self._hs_free(r, ref)

    def _undo_pending(self, model: ModelAPI) -> None:
        """Exits asked for yesterday that the care network did not make (the patient was
        no longer in its ALC stay): the patient waits as before."""
        for r, pend in self.pending.items():
            self._release_hold(r, pend)
            info = self.alc.get(r)
            if info is None or not model.pop.alive[r]:
                continue
            if info[2] == TO_HOME:
                heapq.heappush(self.hs_wait[info[0]], (info[1], r))
            elif pend[0] == ALC_TO_LTC and pend[1] >= 0 and r not in self.wl:
                self.wl.join(r, info[0], info[1], HOSPITAL)  # (its ticket is new)
        self.pending.clear()

    def _keyed(self, purpose: int, ids: np.ndarray, p: float) -> np.ndarray:
        """Of ``ids``, those for which today's draw of ``purpose`` falls below ``p``, in
        increasing id (an order that does not depend on the lists' history)."""
        if not len(ids) or p <= 0:
            return ids[:0]
        return np.sort(ids[self.draws.uniform(purpose, self._day, ids) < p])

    def _ltc_exits(self, model: ModelAPI) -> None:
        """Each LTC resident leaves today with probability ``1 / los_mean_days``;
        ``p_death_at_exit`` of those leave by dying (one draw each, keyed by the day)."""
        p = self.params
        ids = self.res_ids.array()
        out = self._keyed(_LTC_EXIT, ids, 1.0 / p.los_mean_days)
        if not len(out):
            return
        dies = self.draws.uniform(_LTC_DIES, self._day, out) < p.p_death_at_exit
        for r in out[~dies].tolist():
            h = self._leave(r)
            self._today[self.home_zone[h]][_C_ltc_discharges] += 1
        if dies.any():
            model.kill(out[dies])  # on_deaths frees their beds

    def on_deaths(self, model: ModelAPI, ids: np.ndarray) -> None:
        if not self.takes_alc:
            return
        for r in ids.tolist():
            if r in self.res_home:
                h = self._leave(r)
                self._today[self.home_zone[h]][_C_ltc_deaths] += 1
            if r in self.alc:
                if r not in self.exiting:
                    self._exit(model, r, ALC_DIED, -1)  # the care network lets the body go
            elif r in self.wl:
                self.wl.remove(r)
            self.deferred_of.pop(r, None)
            if r in self.hs_client:
                self._hs_free(r, self.hs_client[r][0])
        self._flush(model)

    def _hs_slots(self, z: int) -> int:
        return int(self.hs_hours[z] / self.params.home_support_hours_per_client_week)

    def _hs_take(self, r: int, z: int, days: int, day: int) -> None:
        if r in self.hs_client:  # a client again: one place, the latest episode
            self._hs_free(r, self.hs_client[r][0])
        self.hs_used[z] += 1
        self.hs_client[r] = (z, day + days)
        self.hs_end[day + days].append(r)

    def _hs_free(self, r: int, z: int) -> None:
        if self.hs_client.pop(r, None) is not None:
            self.hs_used[z] -= 1

    def _home_support_ends(self, model: ModelAPI, day: int) -> None:
        for r in self.hs_end.pop(day, ()):
            client = self.hs_client.get(r)
            if client is not None and client[1] == day:
                self._hs_free(r, client[0])
        for r in self.deferred.pop(day, ()):
            if self.deferred_of.pop(r, None) is not None:
                self.wl.join(r, int(model.pop.zone[r]), day, COMMUNITY)

    def _community(self, model: ModelAPI, day: int) -> None:
        p, pop = self.params, model.pop
        rng = model.stream(f"ltc.need:{day}")
        gone = self._keyed(_WITHDRAW, self.wl.home_ids(), p.community_withdraw_per_year / 365.25)
        for r in gone.tolist():
            self.wl.remove(r)
        rate = np.asarray(p.community_need_per_1000) * p.rel_community_need / 1000.0 / 365.25
        k = rng.poisson(pop.cell_size * np.tile(rate, pop.n_zones))
        ids = pop.draw_rows(k, rng)
        if not len(ids):
            return
        ids = np.unique(ids[pop.alive[ids]])
        for r, z in zip(ids.tolist(), pop.zone[ids].tolist(), strict=True):
            if r in self.res_home or r in self.wl or r in self.deferred_of or r in self.alc:
                continue
            if self.hs_used[z] < self._hs_slots(z) and p.home_support_delay_days > 0:
                self._hs_take(r, z, p.home_support_delay_days, day)
                self.deferred_of[r] = day + p.home_support_delay_days
                self.deferred[day + p.home_support_delay_days].append(r)
            else:
                self.wl.join(r, z, day, COMMUNITY)

    def _alc_deaths(self, model: ModelAPI) -> None:
        """Each ALC patient dies today with probability ``alc_death_per_year / 365.25``
        (one draw each, keyed by the day; one asked to leave today is spared)."""
        for r in self._keyed(
            _ALC_DIES, self.alc_ids.array(), self.params.alc_death_per_year / 365.25
        ):
            if int(r) not in self.exiting:
                self._exit(model, int(r), ALC_DEATH, -1)

    def _place(self, model: ModelAPI, day: int) -> None:
        """Free beds offered, home by home, to the waiting resident within reach whose
        need began first, counting an ALC patient's ``hospital_priority_days`` earlier."""
        wl, ahead = self.wl, self.params.hospital_priority_days
        for h in range(len(self.home_zone)):
            while self.n[h] + self.readying[h] < self.beds[h]:
                best = None
                for z in self.home_zones[h]:
                    for where in (HOSPITAL, COMMUNITY):
                        if not wl.n_wait[z][where]:
                            continue
                        head = wl.head(z, where, self.exiting)
                        if head is None:
                            continue
                        key = (head[0] - (ahead if where == HOSPITAL else 0), head[1])
                        if best is None or key < best[0]:
                            best = (key, head[2], z, where)
                if best is None:
                    break
                _, r, z, where = best
                heapq.heappop(wl.queues[z][where])
                entry = wl.remove(r)
                waited = day - entry[2]
                self.admissions.append((day, z, where, waited))
                if where == HOSPITAL:
                    self.n[h] += 1
                    self._exit(model, r, ALC_TO_LTC, h)
                    self._today[z][_C_admit_hospital] += 1
                    self._today[z][_C_wait_days_hospital] += waited
                else:
                    self._enter(r, h)
                    self._today[z][_C_admit_community] += 1
                    self._today[z][_C_wait_days_community] += waited

    def _home_support(self, model: ModelAPI, day: int) -> None:
        """Free home-support places to ALC patients going home with support (first come,
        first served, once ``home_setup_days`` have passed), then to ALC patients waiting
        for LTC sent home to wait there (``home_first_per_year``)."""
        p = self.params
        ready = day - p.home_setup_days
        free = [self._hs_slots(z) - self.hs_used[z] for z in range(len(self.hs_wait))]
        for z, heap in enumerate(self.hs_wait):
            while free[z] > 0 and heap and heap[0][0] <= ready:
                _, r = heapq.heappop(heap)
                info = self.alc.get(r)
                if info is None or info[2] != TO_HOME or r in self.exiting:
                    continue
                self._hs_take(r, z, p.home_support_episode_days, day)
                self._exit(model, r, ALC_HOME_SUPPORT, z)
                free[z] -= 1
        for r in self._keyed(
            _HOME_FIRST, self.alc_ids.array(), p.home_first_per_year / 365.25
        ).tolist():
            z, start, dest = self.alc[r]
            if dest != TO_LTC or start > ready or free[z] <= 0 or r in self.exiting:
                continue
            if r in self.wl and r not in self.res_home:
                self._hs_take(r, z, p.home_support_episode_days, day)
                self._exit(model, r, ALC_HOME_SUPPORT, z)
                free[z] -= 1

    def _record(self, day: int) -> None:
        t = self._today
        for h, hz in enumerate(self.home_zone):
            t[hz][_C_ltc_beds] += self.beds[h]
            t[hz][_C_ltc_residents] += self.n[h]
        for z, (hosp, home) in enumerate(self.wl.n_wait):
            row = t[z]
            row[_C_wait_hospital] = hosp
            row[_C_wait_community] = home
            row[_C_home_support_slots] = self._hs_slots(z)
            row[_C_home_support_clients] = self.hs_used[z]
        for z, n in enumerate(self.alc_per_zone):
            t[z][_C_alc_patients] = n
        alc = self.alc
        for r, (reason, _) in self.pending.items():
            info = alc.get(r)
            if info is None:
                continue
            if reason == ALC_TO_LTC:
                t[info[0]][_C_alc_to_ltc] += 1
            elif reason == ALC_HOME_SUPPORT:
                t[info[0]][_C_alc_to_home_support] += 1
        if self.ltc_day is not None and day < len(self.ltc_day):
            self.ltc_day[day] = t
        for row in t:
            row[:] = [0] * len(row)

    # ----------------------------------------------------------------- events
    def _split(self, event: ChangeLtcBeds) -> list[int]:
        """An event's beds split between its zones in proportion to their beds (evenly
        when they have none), by largest remainder."""
        have = [
            sum(b for b, hz in zip(self.beds, self.home_zone, strict=True) if hz == z)
            for z in event.zones
        ]
        total = sum(have)
        weights = [h / total for h in have] if total else [1 / len(have)] * len(have)
        raw = [abs(event.beds) * w for w in weights]
        out = [int(x) for x in raw]
        order = sorted(range(len(raw)), key=lambda i: out[i] - raw[i])
        for i in order[: abs(event.beds) - sum(out)]:
            out[i] += 1
        sign = 1 if event.beds >= 0 else -1
        return [sign * x for x in out]

    def apply(self, model: ModelAPI, event: Event) -> None:
        if not self.takes_alc:
            return
        if isinstance(event, ChangeHomeSupport):
            zones = event.zones or tuple(range(len(self.hs_hours)))
            for z in zones:
                self.hs_hours[z] *= max(1.0 + event.change, 0.0)
            return
        if not isinstance(event, ChangeLtcBeds):
            raise TypeError(f"long-term care does not handle {event!r}")
        for z, change in zip(event.zones, self._split(event), strict=True):
            if change > 0:
                self.home_zone.append(z)
                self.beds.append(change)
                self.n.append(0)
                self.readying.append(0)
            else:
                homes = sorted(
                    (h for h, hz in enumerate(self.home_zone) if hz == z),
                    key=lambda h: -self.beds[h],
                )
                for h in homes:
                    cut = min(-change, self.beds[h])
                    self.beds[h] -= cut
                    change += cut
                    if change >= 0:
                        break
        self._index_homes()
