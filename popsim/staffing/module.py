"""Staffing: nurses are residents; rosters and ratios turn into staffed beds each day.

Parameters (``[staffing]``, with their sources): :mod:`popsim.staffing.params`.

The region's ``staffing.csv`` (:mod:`popsim.staffing.files`) gives, per site and unit
(``ward``, ``icu``, ``ed``), the nurses rostered on each shift, the shifts a day, the
minimum nurse-to-patient ratio and pay rates. A region without the file runs without
staffing limits (the module does nothing and the run says so).

**Nurses are residents.** At the start each unit's pool of nurses is picked from living
working-age residents (``min_age..max_age``) of the zones nearest the site (within
``max_commute_minutes`` when there are enough), about ``p_female`` of them women; the
pool holds ``ceil(roster x shifts a day x 7 / shifts_per_nurse_week x relief_factor)``
nurses. Each is marked in the per-resident column ``nurse_post`` (the row of the
staffing table; -1 for everyone else). A nurse who dies or leaves the region leaves the
pool (checked every day).

**Absence**, decided once a day for every nurse, before the shifts:

- everyday sickness: episodes of mean ``sickness_episode_days`` (geometric) starting
  at a rate that keeps ``sickness_days_per_year / 250`` of nurses away on an ordinary day
  (Statistics Canada's days lost per worker count 250 working days a year), times a
  winter seasonality (``sickness_winter_amplitude`` peaking on
  ``sickness_peak_day_of_year``, the year's mean unchanged);
- the epidemic: a nurse is away while symptomatic and at least
  ``symptomatic_absence_days`` from the onset of symptoms; with ``household_isolation``
  also on every day a member of the household is symptomatic;
- scenario events: a strike withdraws a share of a site's nurses, a sickness wave raises
  the everyday absence share, for a number of days.

**Infection at work**: the nurses present on a shift (rostered and not absent, or on
overtime) are asked of the epidemic as more exposed (``model.request_exposure``) with a
relative community hazard ``rel_infection_at_work`` for that day, applied at the
epidemic's next draw (the next day's: the epidemic runs first in a day). Default 2.2:
healthcare workers' symptomatic influenza is 1.5 times other working adults' over a
season (Kuster et al., PLoS One 2011, meta-analysis of 29 studies; 3.4 times for all
infections, symptomatic or not), spread over the 3 shifts a week a nurse works,
``(7 x 1.5 - 4) / 3``; 1 switches it off.

**Each shift** of each unit: the roster's nurses are taken in turn from the pool (a
rotation); those absent are not replaced at straight time. ``required =
ceil(census / patients_per_nurse)`` where census is the unit's patients at the start of
the day (ward: ward + ALC patients; ICU; ED: patients boarding plus yesterday's ED visits
x ``ed_hours_per_visit`` / 24). A gap (the larger of required and rostered, above
available: absences are backfilled, as sick calls are, and a census beyond the roster is
covered) is filled first by
overtime, nurses of the pool who are neither on this shift, nor absent, nor worked the
unit's previous shift (at most ``max_overtime_share`` of the roster, rounded up), then by
agency nurses (at most ``max_agency_share``). ``staffed_beds = floor(staffed nurses x
patients_per_nurse)``; ``shortfall = required - staffed`` when positive (the unit works
short). The day's fewest staffed beds over its shifts become the site's
``staffed_ward_beds`` / ``staffed_icu_beds`` for the care phase: patients beyond them board
or divert as for missing beds. An ED short on any shift of the day sets the site's
``ed_short`` (with ``ed_diverts_when_short``, the default): the site diverts new emergency
admissions that day as a site past its diversion threshold does (the ED has no beds in
the care network; its ED-only visits are still counted there).

**Rostering policies** (``policy``): ``fixed``, the file's roster; ``predicted``, every 7
days the roster is set to ``ceil(q / patients_per_nurse)`` where ``q`` is the
``forecast_quantile`` of the unit's daily **bed demand** over the last
``forecast_window_days`` days (a persistence forecast: next week looks like last week).
Demand, not census: the ward's patients in beds plus those boarding in the ED for one,
the ICU's plus those held outside it (the ED's: its census). A roster sized to the census
would ratchet down on its own feedback, since the census cannot exceed the beds the
roster staffs. The roster never falls below the **floor** (``roster_floor = "funded"``,
the default: the nurses the unit's funded beds need at its ratio; the file's roster for
an ED, which has no beds, and for a unit whose patients waited for a bed on a day of the
window, so that no roster is cut while patients board; ``"none"``: no floor), and never exceeds what the pool can
work at contract hours (the file's roster x ``relief_factor``; also the floor's limit).
Until a window of history exists the file's roster stands. When demand returns, the
roster follows within ``forecast_window_days + 7`` days (14 by default): the next weekly
update after a window of the higher demand. ``forecast``: ``q`` is the
``forecast_quantile`` level of the week's largest census in ``forecast_file`` (the twin's
``forecast.parquet``, read and checked by :mod:`popsim.staffing.forecast` when the spec
is), the persistence forecast where the file does not cover the week and for the ED; the
floor applies to both.

Labour cost of a shift: rostered nurses (absent ones on sick pay included) at the hourly
wage, overtime at wage x multiplier, agency at the agency rate, times the shift's hours
(24 / shifts a day). Randomness: the module's own stream ``"staffing"``.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from popsim.core.event_types import ChangeRatio, ChangeRoster, SicknessWave, Strike
from popsim.core.module import Column, Module
from popsim.staffing.files import STAFF_UNITS
from popsim.staffing.forecast import plan_arrays, week_census
from popsim.staffing.params import (
    StaffingParams,
    geometric_days,
    plan_roster,
    required_nurses,
    uniforms,
)
from popsim.staffing.workforce import (
    _EPISODE,
    _SICK,
    _STRIKE,
    Post,
    Workforce,
    _Day,
)

if TYPE_CHECKING:
    from pydantic import BaseModel

    from popsim.core.event_types import Event
    from popsim.core.module import ModelAPI as RegionModel
    from popsim.core.module import SectionResolver

WARD, ICU, ED = range(3)  # post units, in STAFF_UNITS order
#: Names of the shifts of a day with 1, 2 or 3 shifts (the ``shift`` column's codes).
SHIFT_NAMES: tuple[str, ...] = ("day", "evening", "night")
_SHIFT_CODES = {1: (0,), 2: (0, 2), 3: (0, 1, 2)}
#: Integer columns of ``staff_day`` after the keys, in array order.
STAFF_METRICS: tuple[str, ...] = (
    "rostered",
    "absent",
    "available",
    "required",
    "shortfall",
    "overtime",
    "agency",
    "staffed_beds",
    "census",
    "demand",
)
#: Working days a year behind Statistics Canada's "days lost per worker" (LFS).
WORKDAYS_PER_YEAR = 250.0


class Staffing(Workforce, Module):
    """The staffing module (see the module docstring)."""

    name: ClassVar[str] = "staffing"
    params_class: ClassVar[type[BaseModel] | None] = StaffingParams
    events: ClassVar[tuple[type[Event], ...]] = (ChangeRoster, ChangeRatio, Strike, SicknessWave)
    columns: ClassVar[tuple[Column, ...]] = (Column("nurse_post", "int16", -1),)

    @classmethod
    def resolve_params(cls, params: StaffingParams, resolve: SectionResolver) -> StaffingParams:
        """``policy = "forecast"``: the forecast file read and checked (every problem one
        line naming the file, row and column), its census per unit and day kept in
        ``forecast_census`` (so the run's configuration, and its hash, hold it)."""
        if params.policy != "forecast" or not params.forecast_file:
            return params
        from popsim.errors import SpecProblems
        from popsim.staffing.forecast import MAX_PROBLEMS, read_forecast

        path = resolve.path(params.forecast_file, "forecast_file")
        start, days = resolve.dates()
        region = resolve.region
        rows, problems = read_forecast(
            path, list(region.facility_ids), start, days, params.forecast_quantile
        )
        if problems:
            shown = problems[:MAX_PROBLEMS]
            if len(problems) > MAX_PROBLEMS:
                shown.append(f"... and {len(problems) - MAX_PROBLEMS} more problems")
            # (each names the file and its row in the key: one line each, none merged)
            errors = [
                resolve.error(f"forecast_file: {path}: {where}", problem)
                for where, _, problem in (p.rpartition(": ") for p in shown)
            ]
            raise SpecProblems(errors) if len(errors) > 1 else errors[0]
        return params.model_copy(update={"forecast_census": rows})

    def __init__(self, params: StaffingParams) -> None:
        self.params = params
        self.posts: list[Post] = []
        self.enabled = False
        self.wave: list[tuple[int, float]] = []  # (last day, extra absent share)
        self.n_left = 0  # nurses who died or left the region
        self.strike_last = 0  # the day after the last strike ends
        self._removed_seen = self._removed_told = 0  # (departures: ``_depart``)
        self._nurse_died = False

    # ------------------------------------------------------------------ setup
    def init(self, model: RegionModel) -> None:
        p = self.params
        self.rng = model.stream(self.name)
        self._removed_seen = model.pop.n_removed
        # counter-keyed draws (resident, day, purpose): a nurse's sickness does not depend
        # on who else is on staff, so scenarios that change one roster keep the others'
        self.key = int(self.rng.integers(2**62))
        table = model.region.staffing
        self.ids = np.zeros(0, dtype=np.int64)
        self._arrays: dict[str, np.ndarray] = {}
        self.last_shift: dict[tuple[int, int], tuple[Any, ...]] = {}
        if table is None:
            self.note = f"region {model.region.name}: no staffing.csv, no staffing limits"
            self._alloc(model, 0)
            return
        self.enabled = True
        self.note = ""
        self.plan = plan_arrays(self.params.forecast_census or [], model.config.days)
        for i, row in enumerate(table.to_dict("records")):
            post = Post(
                index=i,
                facility=int(row["facility"]),
                unit=STAFF_UNITS.index(str(row["unit"])),
                nurses=int(row["nurses_per_shift"]),
                shifts=int(row["shifts_per_day"]),
                ratio=float(row["patients_per_nurse"]),
                wage=float(row["hourly_wage"]),
                overtime_multiplier=float(row["overtime_multiplier"]),
                agency_hourly=float(row["agency_hourly"]),
            )
            post.roster = post.nurses
            self.posts.append(post)
        if p.min_age > p.max_age:
            raise ValueError(f"staffing.min_age {p.min_age} is above max_age {p.max_age}")
        self._workers = None
        for post in self.posts:
            self._resize_pool(model, post)
        self._workers = None  # (ages and zones move on: looked up again when recruiting)
        self._rebuild_ids()
        self._alloc(model, sum(post.shifts for post in self.posts))

    def _alloc(self, model: RegionModel, rows_per_day: int) -> None:
        days = model.config.days
        self.rows_per_day = rows_per_day
        self.table = np.zeros((days * rows_per_day, len(STAFF_METRICS)), dtype=np.int32)
        self.cost = np.zeros(days * rows_per_day, dtype=np.float64)
        keys = [
            (post.facility, post.unit, s) for post in self.posts for s in _SHIFT_CODES[post.shifts]
        ]
        self.keys = np.asarray(keys, dtype=np.int64).reshape(-1, 3)
        # per post: shifts a day, first row of the day, pay (fixed for the run)
        self.post_shifts = [post.shifts for post in self.posts]
        self.post_shifts_array = np.array(self.post_shifts, dtype=np.int64)
        self.post_facility = np.array([post.facility for post in self.posts], dtype=np.int64)
        self.post_unit = np.array([post.unit for post in self.posts], dtype=np.int64)
        first = np.concatenate([[0], np.cumsum(self.post_shifts, dtype=np.int64)])[:-1]
        self.first_row_array = first.astype(np.int64)
        self.first_row = self.first_row_array.tolist()
        self.row_all = np.arange(rows_per_day, dtype=np.int64)
        self._row_cache: tuple[Any, ...] | None = None
        self.row_post = np.repeat(np.arange(len(self.posts), dtype=np.int64), self.post_shifts)
        self.row_shift = self.row_all - self.first_row_array[self.row_post]
        self.wage = np.array([post.wage for post in self.posts], dtype=np.float64)
        self.overtime_multiplier = np.array(
            [post.overtime_multiplier for post in self.posts], dtype=np.float64
        )
        self.agency_hourly = np.array([post.agency_hourly for post in self.posts], dtype=np.float64)
        self.hours = np.array([post.hours for post in self.posts], dtype=np.float64)
        self.days_done = 0

    # ---------------------------------------------------------------- absence
    def absences(self, model: RegionModel) -> np.ndarray:
        """Which nurses (``self.ids``) are away today; draws today's new sickness episodes."""
        p, day, a = self.params, model.day, self._arrays
        n = len(self.ids)
        share = p.sickness_days_per_year / WORKDAYS_PER_YEAR
        if p.sickness_winter_amplitude > 0:  # winter seasonality, the year's mean kept
            doy = model.date.timetuple().tm_yday
            phase = 2 * np.pi * (doy - p.sickness_peak_day_of_year) / 365.25
            share *= 1.0 + p.sickness_winter_amplitude * float(np.cos(phase))
        share += sum(extra for last, extra in self.wave if day <= last)
        share = min(share, 0.95)
        episode = p.sickness_episode_days
        # a free nurse starts an episode with p_start a day; episodes last ``episode`` days
        # on average, so the share away is p_start * L / (p_start * L + 1 - p_start)
        p_start = share / (episode * (1.0 - share) + share)
        free = a["sick_until"] <= day
        start = free & (uniforms(self.key, self.ids, day, _SICK) < p_start)
        away = ~free  # (sick before today) or starting an episode today (of 1 day or more)
        if start.any():
            away |= start
            u = uniforms(self.key, self.ids[start], day, _EPISODE)
            a["sick_until"][start] = day + geometric_days(u, episode)
        if day < self.strike_last:  # (no strike under way: nobody out)
            away |= a["strike_until"] > day
        # a nurse who is a patient today (admitted for any cause, not only the epidemic's)
        # does not work: without this, a nurse in a ward bed stayed on the roster
        away |= model.pop.in_hospital[self.ids]
        epidemic = model.epidemic
        if epidemic is not None and n:
            from popsim.epidemic.module import IS

            state = model.pop.epi_state
            sym = state[self.ids] == IS
            onset = sym & ~a["was_sym"]
            a["epi_until"][onset] = day + p.symptomatic_absence_days
            a["was_sym"] = sym
            away |= sym | (a["epi_until"] > day)
            if p.household_isolation:
                owner, members = model.pop.household_members(
                    model.pop.household[self.ids], owners=True
                )
                hit = (state[members] == IS) & (members != self.ids[owner])
                away[np.unique(owner[hit])] = True
        return away

    # -------------------------------------------------------------------- day
    def step(self, model: RegionModel) -> None:
        if not self.enabled:
            return
        day = model.day
        self._depart(model)
        away = self.absences(model)
        facs = model.care.facilities
        posts = self.posts
        post_facs = [facs[f] for f in self.post_facility]
        census_a, demand_a = self._census_demand(model)
        is_open = [bool(fac.is_open) for fac in post_facs]
        if self.params.policy != "fixed":  # (the fixed roster needs no history)
            census, demand = census_a.tolist(), demand_a.tolist()
            for post, fac, c, q in zip(posts, post_facs, census, demand, strict=True):
                self.update_roster(post, fac, day, c, q)
        # today's absence of every pool's nurses, pool after pool (a slice per pool)
        away_all = away[self.pool_idx]
        absent_before = np.zeros(len(away_all) + 1, dtype=np.int64)
        np.cumsum(away_all, out=absent_before[1:])
        out = np.zeros((self.rows_per_day, len(STAFF_METRICS)), dtype=np.int64)
        cost = np.zeros(self.rows_per_day, dtype=np.float64)
        out[:, 8] = np.repeat(census_a, self.post_shifts_array)  # (a closed site's rows: census,
        out[:, 9] = np.repeat(demand_a, self.post_shifts_array)  # demand and zeros)
        ratio = np.array([post.ratio for post in posts], dtype=np.float64)
        free = ~away_all
        day_ = _Day(away_all, free, absent_before, census_a, ratio, out, cost)
        day_.free_bytes = free.tobytes()
        sel = [i for i in range(len(posts)) if is_open[i]]
        if sel:
            self._shifts(sel, day_)
        row = day * self.rows_per_day
        self.table[row : row + self.rows_per_day] = out
        self.cost[row : row + self.rows_per_day] = cost
        staffed: dict[tuple[int, int], int] = {}
        if posts:  # each post's day: any shift short, its fewest staffed beds
            short = np.maximum.reduceat(out[:, 4] > 0, self.first_row_array).tolist()
            beds = np.minimum.reduceat(out[:, 7], self.first_row_array).tolist()
        for i, post in enumerate(posts):
            if not is_open[i]:
                continue
            key = (post.facility, post.unit)
            # ward, ICU: the day's fewest beds; ED: short on any shift
            if post.unit == ED:
                staffed[key] = max(staffed.get(key, 0), int(short[i]))
            else:
                staffed[key] = min(staffed.get(key, beds[i]), beds[i])
        if self.params.rel_infection_at_work > 1.0 and model.epidemic is not None:
            ids = self._present(day_)
            if len(ids):  # a higher infection hazard at work, from the epidemic's next draw
                model.request_exposure(ids, self.params.rel_infection_at_work)
        for (f, unit), n_beds in staffed.items():
            if unit == WARD:
                facs[f].staffed_ward_beds = n_beds
            elif unit == ICU:
                facs[f].staffed_icu_beds = n_beds
            else:
                facs[f].ed_short = bool(n_beds) and self.params.ed_diverts_when_short
        self.days_done = day + 1

    def _census_demand(self, model: RegionModel) -> tuple[np.ndarray, np.ndarray]:
        """Each post's census (at the start of the day) and bed demand, over all posts:
        ward: its patients plus ALC (demand: plus ED boarders); ICU: its patients (demand:
        plus those held outside it); ED: its boarders plus yesterday's visits x
        ``ed_hours_per_visit`` / 24 (demand: the same)."""
        facs = model.care.facilities
        n = np.array([fac.n for fac in facs], dtype=np.int64).reshape(len(facs), -1)
        n = n[self.post_facility]
        unit = self.post_unit  # care units: ED boarders, ward, ICU, ALC, held
        ward, icu = unit == WARD, unit == ICU
        census = np.where(ward, n[:, 1] + n[:, 3], np.where(icu, n[:, 2], n[:, 0]))
        ed = ~(ward | icu)
        if model.day > 0 and ed.any():
            metric = model.care.metrics.index("ed_visits")
            visits = model.facility_day[model.day - 1, self.post_facility[ed], metric]
            hours = visits.astype(np.int64) * self.params.ed_hours_per_visit / 24.0
            census[ed] += np.round(hours).astype(np.int64)
        demand = census + np.where(ward, n[:, 0], np.where(icu, n[:, 4], 0))
        return census, demand

    def update_roster(self, post: Post, fac: Any, day: int, census: int, demand: int) -> None:
        """Record the day's census and bed demand of ``post`` and, under a rostering
        policy, set its roster on the weekly update days (``day`` a multiple of 7)."""
        window = self.params.forecast_window_days
        post.history.append(demand)
        post.waiting.append(demand > census)
        if self.params.policy != "fixed":
            self._forecast_roster(post, fac, day)
        del post.history[:-window]
        del post.waiting[:-window]

    def floor(self, post: Post, fac: Any) -> int:
        """The fewest nurses a shift a rostering policy may plan for ``post`` (before the
        pool's limit): the funded beds' nurses at the unit's ratio; the file's roster for
        an ED; for a unit whose patients waited for a bed on a day of the window (boarding
        in the ED, or held outside the ICU) the larger of the two; 0 with
        ``roster_floor = "none"``."""
        if self.params.roster_floor == "none":
            return 0
        if post.unit == ED:
            return post.nurses
        beds = fac.ward_beds if post.unit == WARD else fac.icu_beds
        funded = required_nurses(int(beds) if fac.is_open else 0, post.ratio)
        # patients waiting: the file's roster too, but never fewer than the funded beds need
        return max(funded, post.nurses) if any(post.waiting) else funded

    def _forecast_roster(self, post: Post, fac: Any, day: int) -> None:
        """Every 7 days: the roster for the predicted demand (the forecast file's, where it
        covers the week, else the persistence forecast), at least the floor, within the
        pool's contract hours."""
        p = self.params
        if day % 7:
            return
        q = None
        if p.policy == "forecast":
            q = week_census(self.plan.get((post.facility, post.unit)), day)
        window = p.forecast_window_days
        if q is None:
            if len(post.history) < window:
                return
            q = float(np.quantile(post.history[-window:], p.forecast_quantile))
        most = math.floor(len(post.pool) * p.shifts_per_nurse_week / (7 * post.shifts))
        post.roster = plan_roster(q, post.ratio, self.floor(post, fac), most)

    def _shifts(self, sel: list[int], d: _Day) -> None:
        """The day's shifts of the posts ``sel`` (open sites): their staff_day figures
        and labour cost into the day's rows, each post's rotation moved on. The
        arithmetic runs over all the rows at once (a shift's slice of the pool follows
        the previous one's: roster and pool do not change within a day); overtime, which
        depends on the previous shift's nurses, row by row in order."""
        p, posts, starts = self.params, self.posts, self.pool_start
        rows, at, shift, base, size, at_list, shift_list = self._rows(sel)
        roster = np.array([post.roster for post in posts], dtype=np.int64)[at]
        rot0 = np.array([post.rot for post in posts], dtype=np.int64)[at]
        rostered = np.minimum(roster, size)
        most = np.maximum(size, 1)
        a0 = np.where(size > 0, (rot0 + shift * rostered) % most, 0)
        a1 = a0 + rostered
        rot = np.where(size > 0, a1 % most, 0)
        # absent among the rotation's slice of the pool (wrapping at its end)
        cum = d.absent_before
        n_absent = cum[base + np.minimum(a1, size)] - cum[base + a0]
        n_absent += cum[base + np.maximum(a1 - size, 0)] - cum[base]
        available = rostered - n_absent
        census, ratio = d.census[at], d.ratio[at]
        # required_nurses, over the rows
        required = np.where(census > 0, np.ceil(census / ratio - 1e-9), 0).astype(np.int64)
        gap = np.maximum(required, rostered) - available  # absences backfilled, then census
        want = np.minimum(gap, np.ceil(p.max_overtime_share * roster - 1e-9).astype(np.int64))
        overtime = np.zeros(len(at), dtype=np.int64)
        extras: list[int] = []
        free = d.free_bytes
        for k, (i, s, lo, n, r, g, w) in enumerate(
            zip(
                at_list,
                shift_list,
                a0.tolist(),
                rostered.tolist(),
                rot.tolist(),
                gap.tolist(),
                want.tolist(),
                strict=True,
            )
        ):
            post = posts[i]
            post.rot = r
            extra: list[int] = []
            if g > 0 and w > 0:
                extra = self._overtime(post, lo, n, free, starts[i], w)
                if extra:
                    overtime[k] = len(extra)
                    b = starts[i]
                    extras += [b + q for q in extra]
            if s == 0:
                away_pool = d.away[starts[i] : starts[i + 1]]
            self.last_shift[post.index, s] = (post.pool, away_pool, lo, n, extra)
            post.prev = ((lo, n),)
            post.prev_extra = extra
        cap = np.ceil(p.max_agency_share * roster - 1e-9).astype(np.int64)
        agency = np.where(gap > 0, np.minimum(gap - overtime, cap), 0)
        n_staffed = available + overtime + agency
        shortfall = np.maximum(0, required - n_staffed)
        beds = np.floor(n_staffed * ratio + 1e-9).astype(np.int64)
        # the shifts' slices of the pools (the rotation wrapping at a pool's end) and
        # their overtime, pool after pool: who is present today
        d.on_lo += [base + a0, base]
        d.on_hi += [base + np.minimum(a1, size), base + np.maximum(a1 - size, 0)]
        d.extras += extras
        wage = self.wage[at]
        cost = (
            rostered * wage
            + overtime * wage * self.overtime_multiplier[at]
            + agency * self.agency_hourly[at]
        ) * self.hours[at]
        figures = (rostered, n_absent, available, required, shortfall, overtime, agency, beds)
        d.out[rows, :8] = np.column_stack(figures)
        d.cost[rows] = cost

    def _rows(self, sel: list[int]) -> tuple[Any, ...]:
        """The day's rows of the open posts ``sel``, each row's post, shift, pool start and
        pool size (arrays, and the first two as lists): kept until the open posts or the
        pools change."""
        key = (tuple(sel), self.pool_start)
        cached = self._row_cache
        if cached is not None and cached[0] == key:
            return cached[1]
        if len(sel) == len(self.posts):
            rows = self.row_all
        else:
            is_open = np.zeros(len(self.posts), dtype=bool)
            is_open[sel] = True
            rows = np.flatnonzero(is_open[self.row_post])
        at, shift = self.row_post[rows], self.row_shift[rows]  # each row's post and shift
        starts = np.asarray(self.pool_start, dtype=np.int64)
        base, size = starts[at], np.diff(starts)[at]
        arrays = (rows, at, shift, base, size, at.tolist(), shift.tolist())
        self._row_cache = (key, arrays)
        return arrays

    def shift_staff(self, post: int, shift: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Resident ids of the latest run of shift ``shift`` of post ``post``: rostered,
        absent (rostered but away) and on overtime. Present = rostered - absent + overtime."""
        pool, away_pool, a0, rostered, extra = self.last_shift[post, shift]
        pos = (a0 + np.arange(rostered)) % max(len(pool), 1)
        on = pool[pos]
        return on, on[away_pool[pos]], pool[np.asarray(extra, dtype=np.int64)]

    # ----------------------------------------------------------------- events
    def apply(self, model: RegionModel, event: Event) -> None:
        if not self.enabled:
            return
        day = model.day
        if isinstance(event, ChangeRoster):
            unit = STAFF_UNITS.index(event.unit)
            for post in self.posts:
                if post.facility == event.facility and post.unit == unit:
                    post.nurses = max(0, post.nurses + int(event.nurses))
                    post.roster = max(0, post.roster + int(event.nurses))
                    self._workers = None
                    self._resize_pool(model, post)
            self._rebuild_ids()
        elif isinstance(event, ChangeRatio):
            unit = STAFF_UNITS.index(event.unit)
            for post in self.posts:
                if post.unit == unit and event.facility in (-1, post.facility):
                    post.ratio = float(event.patients_per_nurse)
        elif isinstance(event, Strike):
            for post in self.posts:
                if event.facility in (-1, post.facility) and len(post.pool):
                    u = uniforms(self.key, post.pool, day, _STRIKE)
                    out = post.pool[u < event.share]
                    idx = np.searchsorted(self.ids, out)
                    self._arrays["strike_until"][idx] = day + event.duration_days
                    self.strike_last = max(self.strike_last, day + event.duration_days)
        elif isinstance(event, SicknessWave):
            self.wave.append((day + event.duration_days - 1, float(event.p_absent)))
        else:
            raise TypeError(f"staffing does not handle {event!r}")

    def on_deaths(self, model: RegionModel, ids: np.ndarray) -> None:
        """Dead nurses leave their pools at the next step (``_depart``)."""
        self._removed_told += len(ids)
        if len(ids) and (model.pop.nurse_post[ids] >= 0).any():
            self._nurse_died = True

    # ---------------------------------------------------------------- results
    def results(self) -> dict[str, Any] | None:
        """The ``staff_day`` rows of the days run: keys, metrics and labour cost (None
        when the region has no staffing file)."""
        if not self.enabled:
            return None
        n = self.days_done * self.rows_per_day
        days = np.repeat(np.arange(self.days_done, dtype=np.int16), self.rows_per_day)
        keys = np.tile(self.keys, (self.days_done, 1)) if n else np.zeros((0, 3), np.int64)
        return {
            "day": days,
            "facility": keys[:, 0],
            "unit": keys[:, 1],
            "shift": keys[:, 2],
            "metrics": self.table[:n],
            "labour_cost": self.cost[:n],
            "unit_names": STAFF_UNITS,
            "shift_names": SHIFT_NAMES,
        }


__all__ = [
    "STAFF_METRICS",
    "Post",
    "Staffing",
    "StaffingParams",
    "geometric_days",
    "plan_roster",
    "required_nurses",
    "uniforms",
]
