"""Demography: deaths by age every day; ageing, births and net migration once a year.

Assumptions (stated, replaceable by official tables through the parameters):

- **Deaths**: annual mortality by single year of age and sex from the British Columbia
  2020 life table (Statistics Canada, Table 13-10-0837-01, single-year complete life
  tables; :func:`popsim.population.life_table`), ages 0 to 110 (the table's last row,
  110 and over, closes it: no cap below). ``death_rate`` (one rate per 10-year band)
  replaces it when given (the earlier default, a Gompertz-Makeham curve,
  :func:`gompertz_makeham_band_rates`, is kept for that). Drawn by thinning: each day a
  cell (zone, band) draws rows at the highest daily hazard of its ages and keeps each
  with its own age and sex's share of it (BC: about 7 per 1,000 a year
  from 1976 to 2014; about 8.5 in 2021-22, with the COVID-19 pandemic and the toxic
  drug crisis: over 44,000 deaths in 2021, 45,380 in 2022; BC Stats). This is
  all-cause mortality, deaths in hospital included: with everyday demand on, the hazard
  applied out of hospital is reduced by demand's expected in-hospital deaths (and raised
  for the time spent in hospital, when the care network owns the resident), see
  :meth:`Demography.community_death_day`. Long-term care residents in their home are
  not picked: their deaths are the long-term care module's (exits that are deaths, in
  the home), and the others' hazard is reduced by them (:func:`ltc_burden`),
  so deaths in care homes are part of all-cause mortality too. With everyday demand on,
  some of those picked are admitted to die in hospital (end-of-life admissions,
  :meth:`popsim.demand.Demand.end_of_life`). Epidemic deaths are excess mortality on
  top (a pandemic), except for a pathogen whose deaths are already in the life table
  (``deaths_in_life_table``, seasonal influenza): for the year from the epidemic's
  start the hazard is also reduced by a typical season's deaths, ``p_attack_typical x
  p_death`` by band, so a typical season adds no deaths and only a worse-than-typical
  one adds excess deaths.
  Counter-based draws: each day's deaths come from a stream keyed by the day, drawn on
  the cell index (dead rows dropped), so another module's deaths move no later draw.
- **Births**: age-specific fertility of women 15-49 (total fertility about 1.25, BC
  and Fraser 2021-22 about 1.1-1.3), spread over the year: each day a woman gives
  birth with probability ``fertility / 365`` (counter-based: a stream keyed by the day,
  drawn on the cell index, like the deaths), counted that day (``n_births``). The
  newborns join the population (the mother's household and zone of the birth day) on
  the first day of the next month, in one batch added to the indexes (adding rows copies
  every column and each index once, monthly, not daily): for up to a month a newborn is
  not yet among the residents (not counted alive, not drawn to die or to need care). A newborn is 0
  until the first anniversary after its first birthday.
- **Growth**: net migration each year brings the living population to
  ``(1 + growth_rate)`` times the last year's (BC Stats projects Fraser Health to grow
  about 1.5-2% a year, 1.85 million in 2021 to about 2.0 million in 2025-26).
  Migrants are mostly young adults (:data:`MIGRANT_BAND_SHARES`) and arrive as new
  households in zones in proportion to their population; a negative net flow removes
  random residents (out-migration, not counted as deaths).

Ageing and migration happen together on each anniversary of the start day, followed
by one ``model.reindexed()``; otherwise the month's newborns join the indexes on the first
of a month (``model.joined()``), never daily.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator

from popsim.core.ages import N_AGE_BANDS
from popsim.core.module import Module
from popsim.core.requests import NeedBatch
from popsim.population import MAX_AGE, Population, draw_ages, household_layout, life_table

if TYPE_CHECKING:
    from popsim.core.module import ModelAPI as RegionModel

DAYS_PER_YEAR = 365
#: Deaths are drawn by thinning at this multiple of the life table's rates (enough for the
#: out-of-hospital adjustment, :meth:`Demography.community_q`, which raises a band's rate
#: by at most a few per cent).
THINNING_HEADROOM = 1.5
#: The warm start puts in hospital the terminal admissions (everyday demand's) of up to
#: this many days before the start (a stay of mean 14 days and cv 1 is over 60 days less
#: than 1% of the time).
TERMINAL_WARM_DAYS = 60


def gompertz_makeham_band_rates() -> list[float]:
    """Annual death probability per 10-year band (see the module docstring)."""
    ages = np.arange(0, 100)
    rate = 0.0002 + 2.7e-5 * np.exp(0.0907 * ages)
    rate[0] = 0.0045  # infant mortality
    rate = np.minimum(rate, 0.5)
    return [round(float(rate[b * 10 : b * 10 + 10].mean()), 6) for b in range(N_AGE_BANDS)]


#: Births per woman per year by band (0-9 .. 90+): 15-19 counted in band 1 at half rate.
FERTILITY_BY_BAND = (0.0, 0.0025, 0.045, 0.07, 0.008, 0.0, 0.0, 0.0, 0.0, 0.0)
#: Age shares of net migrants by band (young-adult heavy; assumption).
MIGRANT_BAND_SHARES = (0.12, 0.10, 0.30, 0.22, 0.10, 0.07, 0.05, 0.025, 0.01, 0.005)


def _band_table(name: str, v: list[float], upper: float) -> list[float]:
    if len(v) != N_AGE_BANDS:
        raise ValueError(f"{name} needs {N_AGE_BANDS} entries (one per age band), got {len(v)}")
    if any(not (0.0 <= x <= upper) for x in v):
        raise ValueError(f"{name}: every entry must be in [0, {upper:g}], got {v}")
    return v


class DemographyParams(BaseModel):
    """Parameters of demography; tables have one entry per 10-year age band."""

    model_config = ConfigDict(extra="forbid")

    growth_rate: float = Field(
        0.017, ge=-0.1, le=0.1, description="yearly growth of the population, in [-0.1, 0.1]"
    )
    death_rate: list[float] | None = Field(
        None,
        description="yearly death rate per 10-year band; None: the BC life table by age and sex",
    )
    fertility: list[float] = Field(default_factory=lambda: list(FERTILITY_BY_BAND))
    migrant_shares: list[float] = Field(default_factory=lambda: list(MIGRANT_BAND_SHARES))
    p_male_birth: float = Field(0.512, ge=0, le=1, description="share of boys, in [0, 1]")

    @field_validator("death_rate", "fertility")
    @classmethod
    def _rates(cls, v: list[float] | None, info: ValidationInfo) -> list[float] | None:
        return None if v is None else _band_table(info.field_name, v, 1.0)

    @field_validator("migrant_shares")
    @classmethod
    def _shares(cls, v: list[float]) -> list[float]:
        _band_table("migrant_shares", v, 1.0)
        if sum(v) <= 0:
            raise ValueError("migrant_shares must not all be 0")
        return v


def band_q(params: DemographyParams, pop: Population) -> np.ndarray:
    """Yearly death probability by band: ``death_rate`` when given, else the life
    table's mean over the band's living residents (by their age and sex)."""
    if params.death_rate is not None:
        return np.asarray(params.death_rate, dtype=np.float64)
    alive = pop.alive
    q = life_table()[np.minimum(pop.age[alive], MAX_AGE), pop.sex[alive]]
    band = pop.band[alive]
    total = np.bincount(band, weights=q, minlength=N_AGE_BANDS)
    count = np.bincount(band, minlength=N_AGE_BANDS)
    fallback = life_table()[np.arange(N_AGE_BANDS) * 10].mean(axis=1)  # empty bands
    return np.where(count > 0, total / np.maximum(count, 1), fallback)


def ltc_burden(model: RegionModel) -> tuple[np.ndarray, np.ndarray] | None:
    """Long-term care residents' expected deaths in their home per resident-year, and
    their share of the residents, by band (None: no long-term care). Its residents leave
    their home at ``1 / los_mean_days`` a day, ``p_death_at_exit`` of them by dying (in
    the home): their mortality, which the life table's includes. Demography picks no
    resident in a home to die and takes their deaths off the others' hazard
    (:meth:`Demography.community_q`), so care home deaths are not added to the life
    table's."""
    ltc = getattr(model, "ltc", None)
    homes = getattr(ltc, "res_home", None)
    if not homes:
        return None
    pop = model.pop
    ids = np.fromiter(homes, np.int64, len(homes))
    alive = np.maximum(pop.alive_counts.sum(axis=0), 1)
    share = np.bincount(pop.band[ids], minlength=N_AGE_BANDS) / alive
    p = ltc.params
    per_year = DAYS_PER_YEAR * p.p_death_at_exit / p.los_mean_days
    return share * per_year, share


class Demography(Module):
    """Deaths daily; ageing, births and migration yearly (see the module docstring)."""

    name: ClassVar[str] = "demography"
    params_class = DemographyParams

    def __init__(self, params: DemographyParams) -> None:
        self.params = params
        self.accept: np.ndarray | None = None  # thinning: (age, sex) share of the cell rate
        self.n_deaths = 0
        self.n_births = 0
        self.year_births = 0  # since the last anniversary
        self.n_migrants = 0
        self.yearly: list[dict[str, float]] = []

    def init(self, model: RegionModel) -> None:
        self.rng = model.stream(f"{self.name}.year:0")
        self.year_start_alive = model.pop.n_alive
        self.q_band = self.band_q(model)
        # long-term care residents in their home (None: no long-term care)
        self.ltc_homes: dict[int, int] | None = (
            getattr(getattr(model, "ltc", None), "res_home", None) or None
        )
        self.ltc_burden = ltc_burden(model)
        # daily death probability of each (zone, band) cell, in alive_counts.ravel() order
        # (the highest of the band's ages with a life table: thinned by ``accept``)
        p_band, self.accept = self._daily(self.community_q(model))
        self.p_death_day = p_band
        self.p_death_cell = np.tile(p_band, model.pop.n_zones)
        # everyday demand admits some of those who die (terminal admissions)
        self.demand = getattr(model, "demand", None)
        self._terminal_warm_start(model)
        # a seasonal pathogen's deaths already in the life table: the hazard of the year
        # from its start day, less a typical season's deaths (None: no such pathogen)
        self.season: tuple[int, np.ndarray, np.ndarray | None] | None = None
        seasonal = self.seasonal_deaths(model)
        if seasonal.any():
            start = model.epidemic.params.start_day
            day, accept = self._daily(self.community_q(model, seasonal))
            self.season = (start, np.tile(day, model.pop.n_zones), accept)
        # daily birth probability of a woman of each cell (a rate a day; the rows drawn
        # that are not living women are dropped)
        fertility = np.asarray(self.params.fertility, dtype=np.float64)
        self.p_birth_cell = np.tile(fertility / DAYS_PER_YEAR, model.pop.n_zones)
        self.first_newborn = model.pop.n  # rows from here on: born since the last anniversary
        # born since the first of the month: (sex, zone, household) batches, not yet rows
        self.newborns: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self.n_waiting = 0  # how many newborns wait

    def band_q(self, model: RegionModel) -> np.ndarray:
        """Yearly death probability by band (:func:`band_q`)."""
        return band_q(self.params, model.pop)

    def _daily(self, q_adj: np.ndarray) -> tuple[np.ndarray, np.ndarray | None]:
        """Daily death probability per band (the highest of its ages and sexes with a
        life table), and the ``(age, sex)`` share of it each resident keeps (None: band
        rates). ``q_adj`` is the band's yearly probability out of hospital
        (:meth:`community_q`); the life table is scaled by ``q_adj / q_band`` per band."""

        def daily(q: np.ndarray) -> np.ndarray:
            return -np.expm1(np.log1p(-np.minimum(q, 0.999)) / DAYS_PER_YEAR)

        if self.params.death_rate is not None:
            return daily(q_adj), None
        band_of_age = np.minimum(np.arange(MAX_AGE + 1) // 10, N_AGE_BANDS - 1)
        ratio = q_adj / np.maximum(self.q_band, 1e-12)
        p = daily(life_table() * ratio[band_of_age][:, None])
        # the cells draw at a rate that does not depend on the adjustment (the table's
        # highest rate of the band, with room for ratios up to THINNING_HEADROOM), so runs
        # with and without everyday demand draw the same rows and uniforms (common random
        # numbers) and differ only in which they keep
        top = np.zeros(N_AGE_BANDS)
        np.maximum.at(top, band_of_age, daily(life_table() * THINNING_HEADROOM).max(axis=1))
        accept = np.minimum(p / np.maximum(top[band_of_age][:, None], 1e-300), 1.0)
        return top, accept

    def community_death_day(self, model: RegionModel) -> np.ndarray:
        """Daily death probability by band of a resident out of hospital.

        ``death_rate`` is all-cause mortality (deaths in hospital included). With
        everyday demand on, its stays end in death at an expected ``d`` per resident-year
        and take up a share ``h`` of the year; the out-of-hospital hazard is then
        ``(q - d) / (1 - h)``, so that out-of-hospital and in-hospital deaths add up to
        ``q`` instead of counting in-hospital deaths twice. Epidemic deaths are excess
        mortality on top (but see :meth:`seasonal_deaths`)."""
        return -np.expm1(np.log1p(-self.community_q(model)) / DAYS_PER_YEAR)

    def community_q(self, model: RegionModel, less: np.ndarray | None = None) -> np.ndarray:
        """Yearly death probability by band out of hospital (:meth:`community_death_day`),
        with ``less`` (expected deaths per resident-year by band) taken out of ``q``
        first."""
        q = self.q_band.copy()  # (set in init)
        if less is not None:
            q = np.maximum(q - less, 0.0)
        if self.ltc_burden is not None:  # deaths in long-term care homes: its own
            deaths, share = self.ltc_burden
            q = np.maximum(q - deaths, 0.0) / np.maximum(1.0 - share, 0.5)
        demand = getattr(model, "demand", None)
        if demand is not None:
            pop = model.pop
            alive = np.maximum(pop.alive_counts.sum(axis=0), 1)
            female = np.bincount(pop.band[pop.alive & (pop.sex == 0)], minlength=N_AGE_BANDS)
            d, h = demand.hospital_burden(female / alive)
            q = np.maximum(q - d, 0.0) / np.maximum(1.0 - h, 0.5)
        return np.minimum(q, 0.999)

    @staticmethod
    def seasonal_deaths(model: RegionModel) -> np.ndarray:
        """Expected deaths per resident by band of a typical season of the epidemic's
        pathogen when its deaths are already in the life table (``deaths_in_life_table``:
        ``p_attack_typical x (p_death + p_death_community)``), else 0 (a pandemic: excess
        deaths)."""
        epidemic = getattr(model, "epidemic", None)
        if epidemic is None or not epidemic.params.deaths_in_life_table:
            return np.zeros(N_AGE_BANDS)
        p = epidemic.params
        return np.asarray(p.p_attack_typical) * (
            np.asarray(p.p_death) + np.asarray(p.p_death_community)
        )

    def step(self, model: RegionModel) -> None:
        if model.day > 0 and model.day % DAYS_PER_YEAR == 0:
            self.new_year(model)
        elif self.n_waiting and model.date.day == 1:
            self._add_newborns(model)  # the last month's newborns join the population
            model.joined()
        p_death, accept = self.p_death_cell, self.accept
        if self.season is not None and 0 <= model.day - self.season[0] < DAYS_PER_YEAR:
            _, p_death, accept = self.season  # a seasonal pathogen's year: its deaths out
        ids = self._drawn_deaths(model, model.day, p_death, accept)
        if len(ids):
            if self.demand is not None:  # some die in hospital after a terminal admission
                ids = self.demand.end_of_life(model, ids)
            self.n_deaths += len(model.kill(ids))
        self._births(model)

    def _drawn_deaths(
        self, model: RegionModel, day: int, p_death: np.ndarray, accept: np.ndarray | None
    ) -> np.ndarray:
        """The residents out of hospital whom the life table picks to die on ``day``.
        Counter-based: one stream per day, drawn on the cell index (dead rows included),
        so other modules' deaths and admissions change no later draw."""
        pop = model.pop
        rng = model.stream(f"{self.name}:{day}")
        k = rng.binomial(pop.cell_size, p_death)
        if not k.any():
            return np.zeros(0, dtype=np.int64)
        ids = pop.draw_rows(k, rng)
        if accept is not None:  # thinning to each resident's age and sex
            ids = ids[rng.random(len(ids)) < accept[pop.age[ids], pop.sex[ids]]]
        ids = np.unique(ids[pop.alive[ids] & ~pop.in_hospital[ids]])
        homes = self.ltc_homes
        if homes and len(ids):  # long-term care residents die by its exits
            ids = ids[~np.fromiter((r in homes for r in ids.tolist()), bool, len(ids))]
        return ids

    def _terminal_warm_start(self, model: RegionModel) -> None:
        """Terminal stays under way on day 0 (with everyday demand's warm start): the
        life table's picks of each of the ``TERMINAL_WARM_DAYS`` days before the start,
        admitted then and still in hospital (the most recent day's if drawn twice)."""
        demand = self.demand
        if demand is None or demand.p_terminal is None or demand.params.warm_start_days <= 0:
            return
        batches = []
        seen = np.zeros(0, dtype=np.int64)
        for back in range(1, min(TERMINAL_WARM_DAYS, demand.params.warm_start_days) + 1):
            ids = self._drawn_deaths(model, -back, self.p_death_cell, self.accept)
            ids = ids[~np.isin(ids, seen)]
            batch = demand.terminal_prevalent(model, ids, back)
            batches.append(batch)
            seen = np.concatenate([seen, batch.resident])
        model.request_care(NeedBatch.concat(batches))

    def _births(self, model: RegionModel) -> None:
        """Today's births: mothers drawn on the cell index (counter-based, a stream of
        their own keyed by the day), counted today; the newborns (sex, and their mother's
        zone and household today) wait for :meth:`_add_newborns`."""
        pop = model.pop
        rng = model.stream(f"{self.name}.births:{model.day}")
        k = rng.binomial(pop.cell_size, self.p_birth_cell)
        if not k.any():
            return
        ids = pop.draw_rows(k, rng)
        mothers = np.unique(ids[pop.alive[ids] & (pop.sex[ids] == 0)])
        n = len(mothers)
        if n == 0:
            return
        sex = (rng.random(n) < self.params.p_male_birth).astype(np.uint8)
        self.newborns.append((sex, pop.zone[mothers], pop.household[mothers]))
        self.n_births += n
        self.year_births += n
        self.n_waiting += n

    def _add_newborns(self, model: RegionModel) -> None:
        """The newborns since the last call join the population, aged 0 (one append: it
        copies every column); the caller re-indexes."""
        if not self.newborns:
            return
        sex, zone, household = (np.concatenate(c) for c in zip(*self.newborns, strict=True))
        model.pop.append(np.zeros(len(sex), np.uint8), sex, zone, household)
        self.newborns.clear()
        self.n_waiting = 0

    def new_year(self, model: RegionModel) -> None:
        """Age everyone a year (but the year's newborns), add the net migrants, reindex."""
        self.rng = model.stream(f"{self.name}.year:{model.day}")
        pop, rng, p = model.pop, self.rng, self.params
        self._add_newborns(model)  # (rows from first_newborn on: the year's, aged 0)
        pop.advance_ages(1, spare_from=self.first_newborn)
        target = round(self.year_start_alive * (1 + p.growth_rate))
        net = target - pop.n_alive  # (the year's newborns are among the living)
        if net > 0:
            self._immigrate(model, net)
        elif net < 0:
            living = np.flatnonzero(pop.alive & ~pop.in_hospital)
            gone = rng.choice(living, min(-net, len(living)), replace=False)
            pop.emigrate(gone)  # out-migration: not a death
        self.n_migrants += net
        model.reindexed()
        self.first_newborn = pop.n
        alive = pop.alive
        self.yearly.append(
            {
                "day": model.day,
                "alive": float(alive.sum()),
                "mean_age": float(pop.age[alive].mean()),
                "births": float(self.year_births),
                "net_migrants": float(net),
            }
        )
        self.year_start_alive = pop.n_alive
        self.year_births = 0

    def _immigrate(self, model: RegionModel, n: int) -> None:
        pop, rng = model.pop, self.rng
        shares = np.asarray(self.params.migrant_shares, dtype=np.float64)
        band = rng.choice(N_AGE_BANDS, size=n, p=shares / shares.sum())
        sex = rng.integers(0, 2, n)
        age = draw_ages(band, sex, rng, pop.age_table)
        zone_pop = pop.alive_counts.sum(axis=1).astype(np.float64)
        zone = rng.choice(pop.n_zones, size=n, p=zone_pop / zone_pop.sum())
        next_hh = int(pop.household.max()) + 1
        ages, sexes, zones, households = [], [], [], []
        for z in np.unique(zone):
            idx = np.flatnonzero(zone == z)
            order, sizes = household_layout(age[idx], rng)
            ages.append(age[idx][order])
            sexes.append(sex[idx][order])
            zones.append(np.full(len(idx), z))
            households.append(np.repeat(np.arange(len(sizes)), sizes) + next_hh)
            next_hh += len(sizes)
        pop.append(
            np.concatenate(ages),
            np.concatenate(sexes),
            np.concatenate(zones),
            np.concatenate(households),
        )
