"""Reference engine: the epidemic's resident rules with one ``mesa.Agent`` per resident.

It exists to check the fast engine (:mod:`popsim.epidemic.module`) on small regions and as the
baseline of ``bench/reference_ratio.py``; it is not a second product. The rules are the
same: the same population synthesis, calibration (:func:`popsim.epidemic.transmission.calibrate`) and
community hazard, household infection scheduled within the infector's infectious
period, the same severity and durations. It has no care network: hospital needs are
counted (by zone and band) and residents whose ICU stay ends in death die on that day.
Every agent steps every day: a progression pass, then an infection pass.
"""

from __future__ import annotations

from collections import defaultdict
from typing import TYPE_CHECKING

import mesa
import numpy as np

from popsim.core.ages import N_AGE_BANDS
from popsim.epidemic.module import (
    IA,
    IS,
    N_STATES,
    D,
    E,
    EpidemicParams,
    R,
    S,
)
from popsim.epidemic.params import hospital_paths, stay
from popsim.epidemic.transmission import calibrate, community_hazard
from popsim.population import Population

if TYPE_CHECKING:
    from popsim.region.load import Region


class Resident(mesa.Agent):
    """One resident: zone, band, household and epidemic state with its due days."""

    def __init__(self, model: ReferenceModel, zone: int, band: int, household: int) -> None:
        super().__init__(model)
        self.zone, self.band, self.household = zone, band, household
        self.cell = zone * N_AGE_BANDS + band
        self.state = S
        self.day_infectious = self.day_recovered = self.day_hospital = self.day_death = -1

    def set_state(self, new: int) -> None:
        self.model.counts[self.state, self.cell] -= 1
        self.model.counts[new, self.cell] += 1
        self.state = new

    def infect(self) -> None:
        m = self.model
        self.set_state(E)
        self.day_infectious = m.day + int(m.params.dur_latent.sample(m.rng, 1)[0])
        m.new_infections[self.cell] += 1

    def progress(self) -> None:
        m, day = self.model, self.model.day
        if self.state == E and self.day_infectious == day:
            self.become_infectious()
        elif self.state in (IA, IS) and self.day_recovered == day:
            self.set_state(R)
        if self.day_hospital == day and self.state != D:
            m.hospital[self.critical, self.cell] += 1
        if self.day_death == day and self.state != D:
            self.set_state(D)

    def become_infectious(self) -> None:
        m, p, rng, day = self.model, self.model.params, self.model.rng, self.model.day
        sym = rng.random() < m.p_sym[self.band]
        self.set_state(IS if sym else IA)
        dur = int(p.dur_infectious.sample(rng, 1)[0])
        self.day_recovered = day + dur
        rel = 1.0 if sym else p.rel_trans_asymptomatic
        for other in m.households[self.household]:
            if other.state == S and rng.random() < m.tr.p_household * rel:
                m.exposures[day + int(rng.random() * dur)].append(other)
        if sym and rng.random() < m.paths["severe"][self.band]:
            dies = rng.random() < m.paths["die"][self.band]
            p_icu = m.paths["icu_if_die" if dies else "icu_if_live"][self.band]
            self.critical = int(rng.random() < p_icu)
            wait = p.dur_onset.sample(rng, 1)[0] + p.dur_symptoms_to_severe.sample(rng, 1)[0]
            self.day_hospital = day + int(wait)
            if dies:
                dur = stay(p, "dur_critical_to_death" if self.critical else "dur_severe_to_death")
                self.day_death = self.day_hospital + int(dur.sample(rng, 1)[0])

    def catch(self) -> None:
        if self.state == S and self.model.rng.random() < self.model.p_inf[self.cell]:
            self.infect()


class ReferenceModel(mesa.Model):
    """The reference engine over a region's residents (synthesised like the fast model)."""

    def __init__(
        self,
        region: Region,
        params: EpidemicParams,
        seed: np.random.SeedSequence | int = 0,
        total: int | None = None,
    ) -> None:
        ss = seed if isinstance(seed, np.random.SeedSequence) else np.random.SeedSequence(seed)
        pop_ss, rng_ss = ss.spawn(2)
        super().__init__(seed=int(np.random.default_rng(rng_ss).integers(2**31 - 1)))
        self.rng = np.random.default_rng(rng_ss)
        self.params, self.day = params, 0
        pop = Population.synthesize(region, np.random.default_rng(pop_ss), total=total)
        self.n_residents, self.n_zones = pop.n, pop.n_zones
        self.tr = calibrate(params, pop, region.zone_zone_minutes)
        self.p_sym = np.asarray(params.p_symptomatic)
        self.paths = hospital_paths(params)
        n_cells = pop.n_zones * N_AGE_BANDS
        self.counts = np.zeros((N_STATES, n_cells), dtype=np.int64)
        self.new_infections = np.zeros(n_cells, dtype=np.int64)
        self.hospital = np.zeros((2, n_cells), dtype=np.int64)  # severe, critical
        self.households: dict[int, list[Resident]] = defaultdict(list)
        self.exposures: dict[int, list[Resident]] = defaultdict(list)
        for z, b, h in zip(
            pop.zone.tolist(), pop.band.tolist(), pop.household.tolist(), strict=True
        ):
            self.households[h].append(Resident(self, z, b, h))
        self.counts[S] = np.bincount(pop.cell, minlength=n_cells)
        self.daily_infections: list[int] = []

        def zone(key: str | int | None) -> int | None:
            return region.zone_index(key) if isinstance(key, str) else key

        seeds = [zone(z) for z in params.seed_zones] or [None]
        self.importations = [(params.start_day, params.seed_infections, z) for z in seeds]
        self.importations += [(i.day, i.count, zone(i.zone)) for i in params.importations]

    def step(self) -> None:
        self.new_infections[:] = 0
        for day, count, zone in self.importations:
            if day == self.day:
                sus = [a for a in self.agents if a.state == S and zone in (None, a.zone)]
                for i in self.rng.choice(len(sus), min(count, len(sus)), replace=False):
                    sus[i].infect()
        self.agents.do("progress")
        for agent in self.exposures.pop(self.day, ()):
            if agent.state == S:
                agent.infect()
        pressure = self.counts[IS] + self.params.rel_trans_asymptomatic * self.counts[IA]
        alive = self.counts[:D].sum(axis=0)
        shape = (self.n_zones, N_AGE_BANDS)
        hazard = community_hazard(
            self.tr, pressure.reshape(shape), alive.reshape(shape), np.ones(self.n_zones)
        )
        self.p_inf = -np.expm1(-hazard.ravel())
        self.agents.do("catch")
        self.daily_infections.append(int(self.new_infections.sum()))
        self.day += 1

    def run(self, days: int) -> ReferenceModel:
        for _ in range(days):
            self.step()
        return self

    @property
    def n_infections_total(self) -> int:
        return int(sum(self.daily_infections))

    def severe_by_band(self) -> np.ndarray:
        """Hospital needs (severe and critical) so far, by age band."""
        return self.hospital.sum(axis=0).reshape(-1, N_AGE_BANDS).sum(axis=0)

    def release(self) -> None:
        """Drop this model from mesa's class-level agent registry."""
        mesa.Agent._ids.pop(self, None)
