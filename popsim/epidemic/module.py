"""Epidemic: a respiratory wave over the residents (SEIR with age-stratified severity).

States (``epi_state`` column, uint8): susceptible, exposed (latent), infectious
asymptomatic, infectious symptomatic, recovered, vaccine-immune, dead.

Transmission, each day:

- **household**: when a resident becomes infectious, each susceptible member of the
  household is infected with a secondary attack probability, on a day drawn uniformly
  within the infector's infectious period (scheduled, then applied only if still
  susceptible);
- **community**: the hazard of a susceptible of zone ``z``, age band ``a`` is
  ``beta * rel[z] * sum_b C[a, b] * sum_z' W[z, z'] * I[z', b] / N[z', b]`` where ``C`` is
  an age contact matrix (contacts a day with band ``b``) and ``W`` the share of contacts
  made in each zone (gravity: grows with the other zone's population, falls with travel
  minutes). Each cell (zone x band) receives a Poisson number of contacts at the
  hazard times its rows (dead and immune included), each on a row drawn uniformly from
  the cell index; a susceptible row contacted at least once is infected, with
  probability ``1 - exp(-hazard)``. A resident another module asked to be more exposed
  (``model.request_exposure``: nurses at work, relative hazard ``rel``) is also
  infected, when still susceptible, with probability ``1 - exp(-hazard * (rel - 1))``,
  so their hazard that day is ``rel`` times their cell's. The community hazard is
  multiplied by the day's seasonal forcing (``seasonal_amplitude``, peaking on
  ``seasonal_peak_day_of_year``; ``r0`` is the year's mean) and by ``rel_beta``.

Common random numbers: every draw is counter-based (:class:`popsim.core.seeds.CounterDraws`),
keyed by what it decides, never the next number of a sequential stream: a resident's
course once infected (latent and infectious periods, symptoms, severity, hospital path)
by the resident; household transmission by the (infector, member) pair; the community's
contacts by (day, cell, contact number), the contacts of a cell being the points of a
unit-rate Poisson process up to the cell's expected contacts (so a slightly higher
hazard adds contacts at the end and changes none before); extra exposure by (day,
resident). One more infection in a scenario (a nurse infected at work because a ward
closed) then changes only what follows from it: its own course, the contacts its
infectiousness adds, and their descendants; the rest of the epidemic keeps its draws.

Progression uses calendars (:class:`popsim.epidemic.transmission.Calendar`: onsets, recoveries and
household exposures in one, hospital needs in another): only residents whose transition
is due today are touched, never all rows. ``r0`` is the basic reproduction
number of a fully susceptible population: ``beta`` is calibrated to the community share
by the spectral radius of the next-generation matrix, the household attack probability
to the household share (mean number of other household members, size-biased).

Severity and durations come from a pathogen profile (:mod:`popsim.epidemic.params`:
COVID-19 ancestral, the default, or Omicron, or seasonal influenza, each with its
sources), overridable value by value; ``immune`` makes a share of each age band immune
at the start (prior immunity). Durations are lognormal or Erlang (stages); the scalar
knobs ``rel_severity``, ``rel_transmissibility`` and ``rel_stay`` scale a profile for a
worse season. Deaths outside hospital (``p_death_community``, per infection among those
not hospitalised) happen at home or in a care home about 11 days after the onset of
infectiousness (onset, symptoms to severe, severe to death). Hospitalised residents are
handed to the care network (:class:`popsim.core.requests.NeedBatch`) on the day they need
a bed, with their planned path:
ward, or ICU then ward; those who die do so on the ward or after ICU (the care network
carries the death out). A resident already in hospital for something else when they
turn severe gets the epidemic's path too, without a second admission: the need goes to
the care network like any other, which re-plans the inpatient's stay (each day the more
intensive unit of the two paths, ICU if critical; the longer of the two stays; death if
either path ends in death); counted in ``n_severe_in_hospital``, not in
``n_hospitalised``.

Default contact matrix (``mixing = "prem2021_canada"``): Prem et al. 2021's contact
matrices projected for Canada (PLoS Comput Biol 2021), school, work and other locations
(home contacts are the explicit household layer, not counted twice), aggregated to the
model's bands with the region's own ages and made reciprocal on its age structure; the
school contacts are a layer of their own, scaled by a ``contact_reduction`` with
``setting = "school"`` (a school closure); see :mod:`popsim.epidemic.contacts`.
``polymod_like`` (a synthetic POLYMOD-shaped matrix, an assumption) and ``uniform``
remain options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any, ClassVar

import numpy as np

from popsim.core.ages import N_AGE_BANDS
from popsim.core.event_types import ContactReduction, Event, Vaccinate
from popsim.core.module import Column, Module
from popsim.core.requests import EPI_CRITICAL, EPI_SEVERE, NeedBatch
from popsim.core.seeds import CounterDraws, pair
from popsim.epidemic.infectiousness import FrontLoaded, delay_days
from popsim.epidemic.params import (
    STAYS,
    EpidemicParams,
    Importation,
    LogNormalDays,
    conditional,
    hospital_paths,
    polymod_like_matrix,
    severity_tables,
    stay,
)
from popsim.epidemic.transmission import Calendar, HazardCache, calibrate, contacts
from popsim.population import unique_sorted

if TYPE_CHECKING:
    from popsim.core.module import ModelAPI as RegionModel
    from popsim.core.module import SectionResolver

__all__ = [
    "Epidemic",
    "EpidemicParams",
    "Importation",
    "LogNormalDays",
    "conditional",
    "polymod_like_matrix",
]

S, E, IA, IS, R, V, D = range(7)
N_STATES = 7
# what a resident's row in the progression calendar is due for
ONSET, RECOVERY, EXPOSURE = range(3)
# the purposes of the counter-based draws (the first counter of each draw)
(
    K_IMMUNE,
    K_LATENT,
    K_SYMPTOMATIC,
    K_INFECTIOUS,
    K_HOUSEHOLD,
    K_HOUSEHOLD_DELAY,
    K_SEVERE,
    K_DIES,
    K_ICU,
    K_WARD_DAYS,
    K_ICU_DAYS,
    K_WAIT_ONSET,
    K_WAIT_SEVERE,
    K_CONTACT_GAP,
    K_CONTACT_ROW,
    K_EXPOSURE,
    K_VACCINE_COVER,
    K_VACCINE_EFFECT,
    K_DIES_OUTSIDE,
    K_DEATH_DAYS,
) = range(1, 21)


class Epidemic(Module):
    """The epidemic module (see the module docstring)."""

    name: ClassVar[str] = "epidemic"
    params_class = EpidemicParams
    events = (ContactReduction, Vaccinate)
    columns: ClassVar[tuple[Column, ...]] = (Column("epi_state", "uint8", S),)

    def __init__(self, params: EpidemicParams):
        self.params = params
        p = params
        self.p_sym = np.asarray(p.p_symptomatic, dtype=np.float64)
        self.paths = hospital_paths(p)
        self.p_death_outside = severity_tables(p)["p_death_community"]
        self.dies_outside = bool(self.p_death_outside.any())
        self.n_deaths_outside = 0  # deaths outside hospital (community, care homes)
        self.stays = {name: stay(p, name) for name in STAYS}
        self.p_sev_sym = self.paths["severe"]
        self.n_infections_total = 0
        self.daily_infections: list[int] = []
        self.n_immune_at_start = 0
        # residents already in hospital (for something else) when they turn severe: their
        # stay is re-planned by the care network (no second admission)
        self.n_severe_in_hospital = 0
        self.n_hospitalised = 0  # epidemic needs handed to care (new admissions)
        # critical and dying among all of them (inpatients included)
        self.n_critical_total = 0
        self.n_dies_total = 0

    # ------------------------------------------------------------------ setup
    def init(self, model: RegionModel) -> None:
        pop, p = model.pop, self.params
        self.draws = CounterDraws(model.stream(self.name))
        nz = pop.n_zones
        self.n_cells = nz * N_AGE_BANDS
        self._pop = pop
        self.counts = np.zeros((N_STATES, self.n_cells), dtype=np.int64)
        q = self.params.rel_infectiousness_daily
        self.front = FrontLoaded(q, self.n_cells) if q != 1.0 else None
        self.new_infections = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.n_severe = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.n_critical = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.rel_community = np.ones(nz)
        #: today's multiplier of community transmission, set between days by whoever drives
        #: the run (the twin's time-varying transmission); 1.0 leaves the draws unchanged
        self.rel_beta = 1.0
        self.rel_school = np.ones(nz)  # school contacts, on top of rel_community
        self.rel_household = np.ones(nz)
        self.household_reduced = False  # any rel_household below 1
        self.n_vaccinated = 0
        # (ids, what is due: ONSET of infectiousness, RECOVERY, household EXPOSURE); the
        # day's new rows are filed in one add at the end of the day (exposures due today
        # are kept aside for today)
        self.progression = Calendar()
        self._due: list[tuple[np.ndarray, np.ndarray, int]] = []  # (due day, ids, what)
        self._exposed_today: list[np.ndarray] = []
        self.n_new_today = 0
        self.hospital = Calendar()
        self.deaths_due = Calendar()  # deaths outside hospital: (day, ids)
        self.on_reindex(model)
        self._immunise(model)

        self.tr = calibrate(p, pop, model.region.zone_zone_minutes)
        self.p_household = self.tr.p_household
        self.hazard = HazardCache(self.tr, self.rel_community)
        self.importations = [(p.start_day, p.seed_infections, z) for z in self._seed_zones(model)]
        for imp in p.importations:
            zone = None if imp.zone is None else self._zone(model, imp.zone)
            self.importations.append((imp.day, imp.count, zone))

    def _immunise(self, model: RegionModel) -> None:
        """Prior immunity: a share ``immune[band]`` of the living residents of each band
        start recovered (immune), drawn at random."""
        immune = np.asarray(self.params.immune, dtype=np.float64)
        if not immune.any():
            return
        pop = model.pop
        ids = np.flatnonzero(pop.alive & (self.state == S))
        chosen = ids[self.draws.uniform(K_IMMUNE, ids) < immune[pop.band[ids]]]
        self._move(model, chosen, R, S)
        self.n_immune_at_start = len(chosen)

    @classmethod
    def resolve_params(cls, params: EpidemicParams, resolve: SectionResolver) -> EpidemicParams:
        """Seed zones and importation zones named in the region (seed zones passed on as
        indices), importation days inside the run."""
        update: dict[str, Any] = {}
        if params.seed_zones:
            update["seed_zones"] = [
                resolve.zone(z, f"seed_zones[{i}]") for i, z in enumerate(params.seed_zones)
            ]
        for i, imp in enumerate(params.importations):
            if imp.zone is not None:
                resolve.zone(imp.zone, f"importations[{i}].zone")
            resolve.day(imp.day, f"importations[{i}].day")
        return params.model_copy(update=update) if update else params

    def record_zones(self, model: RegionModel, out: Mapping[str, np.ndarray]) -> None:
        """The living residents by epidemic state (the rest stay susceptible) and the
        day's new infections."""
        e, i, r = self.state_counts()  # each (n_zones, N_AGE_BANDS)
        out["exposed"][...] = e
        out["infectious"][...] = i
        out["recovered"][...] = r
        out["susceptible"] -= e + i + r
        out["new_infections"][...] = self.new_infections

    def _zone(self, model: RegionModel, key: str | int) -> int:
        if isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < model.pop.n_zones:
                raise ValueError(f"zone index {key} out of range [0, {model.pop.n_zones - 1}]")
            return key
        return model.region.zone_index(str(key))

    def _seed_zones(self, model: RegionModel) -> list[int | None]:
        """Zones receiving the seed infections: split evenly, or None for by population."""
        zones: list[int | None] = [self._zone(model, z) for z in self.params.seed_zones]
        return zones or [None]

    def on_reindex(self, model: RegionModel) -> None:
        pop = model.pop
        self.state[~pop.alive] = D  # the dead and those who moved away
        cell = pop.cell
        self.cell_of = cell.astype(np.int32)  # each resident's cell, as of this reindex
        key = self.state.astype(np.int64) * self.n_cells + cell
        counts = np.bincount(key, minlength=N_STATES * self.n_cells)
        self.counts = counts.reshape(N_STATES, self.n_cells).astype(np.int64)
        self.counts[S] = pop.alive_counts.ravel() - self.counts[[E, IA, IS, R, V]].sum(axis=0)
        self.counts[D] = 0

    def on_join(self, model: RegionModel, ids: np.ndarray) -> None:
        """Newborns (rows ``ids``, susceptible): their cells and the susceptible counts,
        as :meth:`on_reindex` would have them, at the cost of the births."""
        pop = model.pop
        cells = pop.zone[ids].astype(np.int32) * N_AGE_BANDS + pop.band[ids]
        if len(self.cell_of) == ids[0]:
            self.cell_of = np.concatenate([self.cell_of, cells])
        else:
            self.cell_of = pop.cell.astype(np.int32)
        self.counts[S] += np.bincount(cells, minlength=self.n_cells)

    @property
    def state(self) -> np.ndarray:
        """The ``epi_state`` column, read from the population each time: appending rows
        (a day's births) replaces the column's array, so a kept reference would go
        stale."""
        return self._pop.epi_state

    # ---------------------------------------------------------------- queries
    def state_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exposed, infectious and recovered (vaccine-immune included) living residents."""
        c = self.counts
        shape = (-1, N_AGE_BANDS)
        return (
            c[E].reshape(shape).copy(),
            (c[IA] + c[IS]).reshape(shape),
            (c[R] + c[V]).reshape(shape),
        )

    def rescale_infected(self, model: RegionModel, ratio: float, rng: np.random.Generator) -> int:
        """Multiply the infected residents not in hospital by ``ratio`` (a forecast's warm
        start; :mod:`popsim.epidemic.rescale`); returns the change in their number."""
        from popsim.epidemic.rescale import rescale_infected

        return rescale_infected(self, model, ratio, rng, (S, E, IA, IS))

    # ------------------------------------------------------------- transitions
    def _cells(self, model: RegionModel, ids: np.ndarray) -> np.ndarray:
        """Cells of ``ids`` as of the last reindex, like the per-cell counts (looked up
        again if rows were added since)."""
        if len(self.cell_of) != model.pop.n:
            self.cell_of = model.pop.cell.astype(np.int32)
        return self.cell_of[ids]

    def _move(
        self, model: RegionModel, ids: np.ndarray, new: int, old: int | None = None
    ) -> np.ndarray:
        """Move ``ids`` to state ``new``, keeping the per-cell counts; returns their cells.
        ``old``: the state all of ``ids`` are in, when the caller knows it (fewer calls)."""
        cells = self._cells(model, ids)
        if old is None:
            key = self.state[ids].astype(np.int64) * self.n_cells + cells
            m = N_STATES * self.n_cells
            self.counts -= np.bincount(key, minlength=m).reshape(N_STATES, self.n_cells)
            self.counts[new] += np.bincount(cells, minlength=self.n_cells)
        else:
            n_cell = np.bincount(cells, minlength=self.n_cells)
            self.counts[old] -= n_cell
            self.counts[new] += n_cell
        self.state[ids] = new
        return cells

    def _infect(self, model: RegionModel, ids: np.ndarray) -> None:
        """Susceptible ``ids`` (distinct) are infected today."""
        if len(ids) == 0:
            return
        cells = self._cells(model, ids)
        n_cell = np.bincount(cells, minlength=self.n_cells)
        self.counts[S] -= n_cell
        self.counts[E] += n_cell
        self.state[ids] = E
        self.new_infections += n_cell.reshape(-1, N_AGE_BANDS)
        self.n_infections_total += len(ids)
        self.n_new_today += len(ids)
        due = model.day + self.params.dur_latent.draw(self.draws, K_LATENT, ids)
        self._due.append((due, ids, ONSET))

    def _become_infectious(self, model: RegionModel, ids: np.ndarray) -> None:
        ids = ids[self.state[ids] == E]
        if len(ids) == 0:
            return
        p, cd, day, pop = self.params, self.draws, model.day, model.pop
        band = pop.band[ids]
        sym = cd.uniform(K_SYMPTOMATIC, ids) < self.p_sym[band]
        # E -> IS or IA, counts by cell in three bincounts
        cells = self._cells(model, ids)
        n_cell = np.bincount(cells, minlength=self.n_cells)
        n_sym = np.bincount(cells[sym], minlength=self.n_cells)
        self.counts[E] -= n_cell
        self.counts[IS] += n_sym
        self.counts[IA] += n_cell - n_sym
        self.state[ids] = np.where(sym, IS, IA)
        dur = p.dur_infectious.draw(cd, K_INFECTIOUS, ids)
        self._due.append((day + dur, ids, RECOVERY))
        if self.front is not None:
            self.front.add(day, ids, dur, np.where(sym, 1.0, p.rel_trans_asymptomatic))
        # household: each susceptible member, per infector, with p_household
        if self.p_household > 0:
            infector, members = pop.household_members(pop.household[ids], owners=True)
            prob: float | np.ndarray = self.p_household
            if p.rel_trans_asymptomatic != 1.0 or self.household_reduced:
                # (when both are 1 the product below is p_household itself)
                rel = np.where(sym, 1.0, p.rel_trans_asymptomatic)[infector]
                prob = self.p_household * rel * self.rel_household[pop.zone[ids]][infector]
            sus = self.state[members] == S  # (only they need a draw)
            infector, members = infector[sus], members[sus]
            if not isinstance(prob, float):
                prob = prob[sus]
            key = pair(ids[infector], members)  # the (infector, member) pair
            hit = cd.uniform(K_HOUSEHOLD, key) < prob
            if hit.any():
                exposed = members[hit]
                u, d_inf = cd.uniform(K_HOUSEHOLD_DELAY, key[hit]), dur[infector[hit]]
                delay = delay_days(p.rel_infectiousness_daily, u, d_inf)
                today = delay == 0
                if today.any():
                    self._exposed_today.append(exposed[today])
                    delay, exposed = delay[~today], exposed[~today]
                self._due.append((day + delay, exposed, EXPOSURE))
        # severity: symptomatic -> hospitalised -> dies or not -> ICU or not (conditional
        # probabilities, see popsim.epidemic.params.hospital_paths)
        sev_ids = ids[sym]
        sb = band[sym]
        severe = cd.uniform(K_SEVERE, sev_ids) < self.p_sev_sym[sb]
        if self.dies_outside:  # deaths outside hospital, among those not hospitalised
            home = np.ones(len(ids), dtype=bool)
            home[np.flatnonzero(sym)[severe]] = False
            h_ids = ids[home]
            dies = cd.uniform(K_DIES_OUTSIDE, h_ids) < self.p_death_outside[band[home]]
            if dies.any():
                d_ids = h_ids[dies]
                wait = p.dur_onset.draw(cd, K_WAIT_ONSET, d_ids)
                wait += p.dur_symptoms_to_severe.draw(cd, K_WAIT_SEVERE, d_ids)
                wait += p.dur_severe_to_death.draw(cd, K_DEATH_DAYS, d_ids)
                self.deaths_due.add(day + wait, d_ids)
        sev_ids, sb = sev_ids[severe], sb[severe]
        if len(sev_ids):
            k = len(sev_ids)
            paths = self.paths
            dies = cd.uniform(K_DIES, sev_ids) < paths["die"][sb]
            p_icu = np.where(dies, paths["icu_if_die"][sb], paths["icu_if_live"][sb])
            critical = cd.uniform(K_ICU, sev_ids) < p_icu
            icu = np.zeros(k, dtype=np.int64)
            st = self.stays
            ward = st["dur_severe_stay"].draw(cd, K_WARD_DAYS, sev_ids)
            ward_death = dies & ~critical
            icu_death = dies & critical
            if critical.any():
                c_ids = sev_ids[critical]
                icu[critical] = st["dur_critical_stay"].draw(cd, K_ICU_DAYS, c_ids)
                ward[critical] = st["dur_ward_after_icu"].draw(cd, K_WARD_DAYS, c_ids)
            if icu_death.any():  # dies in ICU
                i_ids = sev_ids[icu_death]
                icu[icu_death] = st["dur_critical_to_death"].draw(cd, K_ICU_DAYS, i_ids)
                ward[icu_death] = 0
            if ward_death.any():  # dies on the ward
                d_ids = sev_ids[ward_death]
                ward[ward_death] = st["dur_severe_to_death"].draw(cd, K_WARD_DAYS, d_ids)
            wait = p.dur_onset.draw(cd, K_WAIT_ONSET, sev_ids)
            wait += p.dur_symptoms_to_severe.draw(cd, K_WAIT_SEVERE, sev_ids)
            self.hospital.add(day + wait, sev_ids, critical, icu, ward, dies)

    def _recover(self, model: RegionModel, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        st = self.state[ids]
        infectious = (st == IA) | (st == IS)
        if infectious.all():  # (the usual case: nobody due today died in between)
            self._move(model, ids, R)
        else:
            self._move(model, ids[infectious], R)

    def _hospitalise(self, model: RegionModel, due: tuple[np.ndarray, ...]) -> None:
        ids, critical, icu, ward, dies = due
        pop = model.pop
        ok = pop.alive[ids]
        ids, critical, icu, ward, dies = ids[ok], critical[ok], icu[ok], ward[ok], dies[ok]
        if len(ids) == 0:
            return
        inpatient = int(pop.in_hospital[ids].sum())  # re-planned, not admitted again
        self.n_severe_in_hospital += inpatient
        self.n_hospitalised += len(ids) - inpatient
        self.n_critical_total += int(critical.sum())
        self.n_dies_total += int(dies.sum())
        cells = self._cells(model, ids)
        shape = self.n_critical.shape
        self.n_critical += np.bincount(cells[critical], minlength=self.n_cells).reshape(shape)
        self.n_severe += np.bincount(cells[~critical], minlength=self.n_cells).reshape(shape)
        # the batch's columns built directly (NeedBatch.build broadcasts every column)
        k = len(ids)
        batch = NeedBatch(
            resident=ids.astype(np.int32),
            kind=np.where(critical, EPI_CRITICAL, EPI_SEVERE).astype(np.uint8),
            icu_days=icu.astype(np.int16),
            ward_days=ward.astype(np.int16),
            alc_days=np.zeros(k, dtype=np.int16),
            dies=dies.astype(bool),
            tertiary=np.zeros(k, dtype=bool),
            elective=np.zeros(k, dtype=bool),
        )
        model.request_care(batch)

    # ------------------------------------------------------------- infections
    def _import(self, model: RegionModel, count: int, zone: int | None) -> np.ndarray:
        """Pick ``count`` susceptibles of ``zone`` (None: anywhere, by population)."""
        sus = self.counts[S].astype(np.float64)
        if zone is not None:
            mask = np.zeros(self.n_cells, dtype=bool)
            mask[zone * N_AGE_BANDS : (zone + 1) * N_AGE_BANDS] = True
            sus = np.where(mask, sus, 0.0)
        total = sus.sum()
        if total <= 0 or count <= 0:
            return np.empty(0, dtype=np.int64)
        # a stream of the day's own (importations are few, and do not depend on the
        # epidemic's other draws)
        rng = model.stream(f"{self.name}.import:{model.day}")
        k = rng.multinomial(min(count, int(total)), sus / total)
        k = np.minimum(k, self.counts[S])
        share = self.counts[S] / np.maximum(model.pop.cell_size, 1)
        return model.pop.sample_cells(
            k, rng, accept=lambda ids: self.state[ids] == S, accept_share=share
        )

    def _community(self, model: RegionModel) -> np.ndarray:
        nz = model.pop.n_zones
        c = self.counts
        exposures = model.take_exposures()
        if self.front is None:
            pressure = c[IS] + self.params.rel_trans_asymptomatic * c[IA]
        else:
            self._cells(model, c[S][:0])  # (brings ``cell_of`` up to date)
            pressure = self.front.pressure(model.day, self.state, (IA, IS), self.cell_of)
        pressure = pressure.reshape(nz, N_AGE_BANDS)
        if not pressure.any():
            return np.empty(0, dtype=np.int64)
        alive = np.maximum(model.pop.alive_counts, 1).astype(np.float64)
        hazard = self.hazard(pressure, alive).ravel()
        factor = self.rel_beta * self.season_factor(model)
        if factor != 1.0:
            hazard = hazard * factor
        ids = contacts(model.pop, self.draws, model.day, hazard, K_CONTACT_GAP, K_CONTACT_ROW)
        ids = unique_sorted(ids[(self.state[ids] == S) & model.pop.alive[ids]])
        if exposures:
            extra = self._exposed(model, exposures, hazard)
            if len(extra):
                ids = unique_sorted(np.concatenate([ids, extra]))
        return ids

    def season_factor(self, model: RegionModel) -> float:
        """Today's seasonal forcing of transmission: ``1 + seasonal_amplitude x cos(2 pi
        (day of year - seasonal_peak_day_of_year) / 365.25)`` (1.0 without forcing)."""
        p = self.params
        if p.seasonal_amplitude == 0:
            return 1.0
        doy = model.date.timetuple().tm_yday
        phase = 2 * np.pi * (doy - p.seasonal_peak_day_of_year) / 365.25
        return 1.0 + p.seasonal_amplitude * float(np.cos(phase))

    def _exposed(
        self, model: RegionModel, exposures: list[tuple[np.ndarray, float]], hazard: np.ndarray
    ) -> np.ndarray:
        """Susceptibles of the requested exposures infected by their excess hazard
        ``hazard[cell] * (rel - 1)`` (on top of the cell's draw)."""
        ids = np.concatenate([e[0] for e in exposures])
        rel = np.concatenate([np.full(len(e[0]), e[1]) for e in exposures])
        ok = self.state[ids] == S
        ids, rel = ids[ok], rel[ok]
        excess = hazard[self._cells(model, ids)] * (rel - 1.0)
        return ids[self.draws.uniform(K_EXPOSURE, model.day, ids) < -np.expm1(-excess)]

    # -------------------------------------------------------------------- day
    def step(self, model: RegionModel) -> None:
        day = model.day
        self.new_infections[:] = 0
        self.n_new_today = 0
        for when, count, zone in self.importations:
            if when == day:
                self._infect(model, self._import(model, count, zone))
        due = self.progression.pop(day)
        if due is not None:
            ids, what = due
            self._become_infectious(model, ids[what == ONSET])
            self._recover(model, ids[what == RECOVERY])
            self._exposed_today.append(ids[what == EXPOSURE])
        if self._exposed_today:  # the order does not matter: sorted here
            ids = unique_sorted(np.concatenate(self._exposed_today))
            self._exposed_today.clear()
            self._infect(model, ids[self.state[ids] == S])
        due = self.hospital.pop(day)
        if due is not None:
            self._hospitalise(model, due)
        due = self.deaths_due.pop(day)
        if due is not None:  # (those in hospital by then die there or not, by its path)
            ids = due[0]
            self.n_deaths_outside += len(model.kill(ids[~model.pop.in_hospital[ids]]))
        self._infect(model, self._community(model))
        if self._due:
            days, ids, what = zip(*self._due, strict=True)
            what = np.repeat(np.array(what, dtype=np.uint8), [len(d) for d in days])
            self.progression.add(np.concatenate(days), np.concatenate(ids), what)
            self._due.clear()
        self.daily_infections.append(self.n_new_today)

    # ----------------------------------------------------------------- events
    def apply(self, model: RegionModel, event: Event) -> None:
        if isinstance(event, ContactReduction):
            zones = list(event.zones) or list(range(model.pop.n_zones))
            if not 0.0 <= event.reduction <= 1.0:
                raise ValueError(f"reduction must be in [0, 1], got {event.reduction}")
            if event.setting not in ("community", "household", "school", "all"):
                raise ValueError(
                    f"setting must be community, household, school or all, got {event.setting!r}"
                )
            # from this day on, replacing any earlier reduction of the setting in these
            # zones; "community" is every contact outside the household, school included,
            # and "school" scales school contacts on top (1.0: schools closed)
            if event.setting in ("community", "all"):
                self.rel_community[zones] = 1.0 - event.reduction
            if event.setting == "school":
                self.rel_school[zones] = 1.0 - event.reduction
            if event.setting != "household":
                self.hazard.set_rel(self.rel_community, self.rel_school)
            if event.setting in ("household", "all"):
                self.rel_household[zones] = 1.0 - event.reduction
                self.household_reduced = bool((self.rel_household != 1.0).any())
        elif isinstance(event, Vaccinate):
            for name in ("coverage", "efficacy"):
                if not 0.0 <= getattr(event, name) <= 1.0:
                    raise ValueError(f"{name} must be in [0, 1], got {getattr(event, name)}")
            self._vaccinate(model, event)
        else:
            raise TypeError(f"the epidemic does not handle {event!r}")

    def _vaccinate(self, model: RegionModel, event: Vaccinate) -> None:
        """All-or-nothing vaccine: ``coverage`` of the eligible living residents are
        vaccinated; a share ``efficacy`` of the susceptible among them become immune."""
        pop, cd = model.pop, self.draws
        zones = list(event.zones) or list(range(pop.n_zones))
        lo_band = min(event.min_age // 10, N_AGE_BANDS - 1)
        hi_band = min(event.max_age // 10, N_AGE_BANDS - 1)
        cells = [z * N_AGE_BANDS + b for z in zones for b in range(lo_band, hi_band + 1)]
        if not cells:
            return
        ids = np.concatenate([pop.cell_members(c) for c in cells])
        age = pop.age[ids]
        ids = ids[pop.alive[ids] & (age >= event.min_age) & (age <= event.max_age)]
        chosen = ids[cd.uniform(K_VACCINE_COVER, model.day, ids) < event.coverage]
        self.n_vaccinated += len(chosen)
        effect = cd.uniform(K_VACCINE_EFFECT, model.day, chosen) < event.efficacy
        immune = chosen[(self.state[chosen] == S) & effect]
        self._move(model, immune, V)

    def on_deaths(self, model: RegionModel, ids: np.ndarray) -> None:
        self._move(model, np.asarray(ids, dtype=np.int64), D)
        self.counts[D] = 0
