"""Demography: a 10-year run grows at the target rate and ages; deaths spare patients."""

import numpy as np
import pytest
from pydantic import ValidationError

from popsim.demography import Demography, DemographyParams, gompertz_makeham_band_rates
from popsim.epidemic.module import EpidemicParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


@pytest.fixture(scope="module")
def decade():
    region = synthetic_region(3, 12_000, 2, seed=4)
    cfg = ModelConfig(days=3651, demography=DemographyParams(growth_rate=0.017))
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(8))
    start_alive = model.pop.n_alive
    start_age = float(model.pop.age.mean())
    result = model.run()
    return model, result, start_alive, start_age


def test_ten_years_grow_at_the_target_rate_and_the_mean_age_rises(decade):
    model, result, start_alive, start_age = decade
    demo = model.demography
    assert len(demo.yearly) == 10
    # net migration closes each year exactly on the target; the only slack is the last
    # day's deaths (about 12,000 * 0.008 / 365 < 1 a day) and rounding
    want = start_alive * 1.017**10
    assert abs(model.pop.n_alive - want) < 0.002 * want
    alive = [y["alive"] for y in demo.yearly]
    growth = np.diff(alive) / alive[:-1]
    np.testing.assert_allclose(growth, 0.017, atol=0.003)
    mean_age = [y["mean_age"] for y in demo.yearly]
    assert mean_age[-1] > start_age + 0.3
    # crude rates: deaths about 8 per 1,000 a year and births about 9 per 1,000; Poisson
    # sd over 10 years of ~1,100 deaths is ~3%, allow 25% for the ageing shape.
    years_alive = np.mean(alive) * 10
    assert 0.006 < demo.n_deaths / years_alive < 0.012
    assert 0.006 < demo.n_births / years_alive < 0.012
    # zone_day deaths agree with the module's count, and counts match the population
    assert result.zone_counts("deaths").sum() == demo.n_deaths
    np.testing.assert_array_equal(result.zone_day[-1, ..., 0], model.pop.alive_counts)


def test_newborns_live_with_their_mother_and_the_index_knows_them(decade):
    model, _, start_alive, _ = decade
    pop = model.pop
    born = np.arange(start_alive, pop.n)[pop.age[start_alive:] < 10]
    assert len(born) > 0
    # every newborn's household also holds at least one adult woman of the same zone
    for baby in born[:50]:
        members = pop.household_members(np.array([pop.household[baby]]))
        assert baby in members
        assert ((pop.sex[members] == 0) & (pop.age[members] >= 15)).any()
        assert (pop.zone[members] == pop.zone[baby]).all()
    # every row is indexed (the newborns of the last month wait outside the population)
    assert pop.cell_order.size == pop.n


def test_residents_in_hospital_are_never_picked_to_die():
    region = synthetic_region(2, 3_000, 1, seed=1)
    rates = [0.9] * 10  # very high mortality so that many die in a month
    cfg = ModelConfig(days=30, demography=DemographyParams(death_rate=rates))
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(2))
    patients = np.arange(0, model.pop.n, 7)
    model.pop.in_hospital[patients] = True
    model.run()
    assert model.demography.n_deaths > 300
    assert model.pop.alive[patients].all()


def test_epidemic_and_demography_keep_consistent_counts_over_a_new_year():
    region = synthetic_region(2, 6_000, 1, seed=3)
    cfg = ModelConfig(
        days=400,
        epidemic=EpidemicParams(r0=1.4, start_day=300),
        demography=DemographyParams(growth_rate=-0.02),
    )
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(5))
    result = model.run()
    pop = model.pop
    e, i, r = model.epidemic.state_counts()
    assert (result.zone_day >= 0).all()
    np.testing.assert_array_equal(result.zone_day[-1, ..., :4].sum(axis=-1), pop.alive_counts)
    live = pop.alive
    np.testing.assert_array_equal(
        e.ravel(), np.bincount(pop.cell[live & (pop.epi_state == 1)], minlength=e.size)
    )
    assert model.demography.yearly[0]["net_migrants"] < 0


def test_default_death_rates_rise_with_age_and_bad_tables_are_rejected():
    rates = gompertz_makeham_band_rates()
    assert all(b > a for a, b in zip(rates[1:], rates[2:], strict=False))
    assert 0.001 < rates[4] < 0.004 and 0.05 < rates[8] < 0.15
    with pytest.raises(ValidationError, match="death_rate"):
        DemographyParams(death_rate=[0.1] * 9)
    with pytest.raises(ValidationError, match=r"fertility.*\[0, 1\]"):
        DemographyParams(fertility=[1.5] * 10)
    with pytest.raises(ValidationError, match="growth_rate"):
        DemographyParams(growth_rate=0.5)
    assert Demography(DemographyParams()).name == "demography"


def _crude_deaths_and_old_share(demand, years=3, seed=5):
    """Deaths per 1,000 a year (all causes, in hospital included) and the 65+ share."""
    from popsim.care.params import CareParams
    from popsim.demand import DemandParams

    region = synthetic_region(n_zones=3, population=60_000, seed=2)
    cfg = ModelConfig(
        days=365 * years,
        demography=DemographyParams(),
        demand=DemandParams() if demand else None,
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    model = RegionModel(region, cfg, seed=seed)
    person_years = 0.0
    for _ in range(cfg.days):
        person_years += model.pop.n_alive / 365
        model.step()
    deaths = int(model.results().zone_counts("deaths").sum())
    alive = model.pop.alive
    return 1000 * deaths / person_years, float((model.pop.age[alive] >= 65).mean()), deaths


def test_in_hospital_deaths_are_part_of_all_cause_mortality_not_added_to_it():
    # Demography alone and demography with everyday demand (whose stays end in death in
    # hospital) give the same all-cause crude death rate and the same age structure.
    # About 1,500 deaths in each run: Poisson sd about 2.6%, so 8% is three sd of the
    # difference; the 65+ share moves by a fraction of a point.
    alone, old_alone, n_alone = _crude_deaths_and_old_share(False)
    with_demand, old_demand, n_demand = _crude_deaths_and_old_share(True)
    assert min(n_alone, n_demand) > 1000
    assert abs(with_demand / alone - 1) < 0.08
    assert abs(old_demand - old_alone) < 0.005


def test_births_are_spread_over_the_year_and_newborns_stay_0_at_the_anniversary():
    from datetime import date, timedelta

    region = synthetic_region(3, 40_000, 1, seed=6)
    cfg = ModelConfig(days=400, start=date(2026, 1, 1), demography=DemographyParams())
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(3))
    pop = model.pop
    n0 = pop.n
    births = []
    for _ in range(365):
        before = model.demography.n_births
        model.step()
        births.append(model.demography.n_births - before)
        if (model.date - timedelta(days=1)).day == 1:  # stepped the 1st of a month:
            # every earlier birth joined the population and its indexes, living, aged 0;
            # today's wait for the next month
            assert model.demography.n_waiting == births[-1]
            assert pop.n - n0 == sum(births) - births[-1]
            born = np.arange(n0, pop.n)
            assert np.isin(born, pop.cell_order).all() and (pop.age[born] == 0).all()
    births = np.asarray(births)
    # about 40,000 x 8 per 1,000 = 320 births; by month, each about 27: uniform within
    # chance (chi-square, 11 degrees of freedom, 0.1% critical value 31.3). All on one
    # day (as when births were yearly) would give about 3,500.
    bounds = np.cumsum([0, 31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31])
    monthly = np.add.reduceat(births, bounds[:-1])
    expected = births.sum() * np.diff(bounds) / 365
    assert births.sum() > 200
    assert ((monthly - expected) ** 2 / expected).sum() < 31.3
    assert pop.n_alive == int(pop.alive.sum())
    # the anniversary (day 365): the year's newborns join and stay 0, everyone else ages
    waiting = model.demography.n_waiting
    age_before = pop.age.copy()
    model.step()
    year_born = np.arange(n0, len(age_before) + waiting)
    assert len(year_born) == births.sum()
    assert (pop.age[year_born] == 0).all()
    older = np.flatnonzero(pop.alive[:n0])
    np.testing.assert_array_equal(
        pop.age[older].astype(int), np.minimum(age_before[older].astype(int) + 1, 110)
    )
    assert model.demography.yearly[0]["births"] == births.sum()


def test_the_epidemic_keeps_its_states_while_newborns_join_every_month():
    # newborns joining replace the population's column arrays: the epidemic's states and
    # counts must follow (a kept reference to the old state column lost the infections
    # of the days after)
    region = synthetic_region(2, 20_000, 1, seed=3)
    fertility = [0.0, 0.05, 0.3, 0.3, 0.05, 0.0, 0.0, 0.0, 0.0, 0.0]  # many births a day
    cfg = ModelConfig(
        days=75,
        epidemic=EpidemicParams(r0=2.5, seed_infections=40),
        demography=DemographyParams(fertility=fertility),
    )
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(5))
    pop = model.pop
    for _ in range(cfg.days):
        model.step()
        e, i, r = model.epidemic.state_counts()
        live = pop.alive
        cell, st = pop.cell[live], pop.epi_state[live]
        for want, states in ((e, [1]), (i, [2, 3]), (r, [4, 5])):
            got = np.bincount(cell[np.isin(st, states)], minlength=want.size)
            np.testing.assert_array_equal(got, want.ravel())
    assert model.demography.n_births > 200
    infected = (pop.epi_state[pop.alive] != 0).sum()
    assert infected > 0.5 * model.epidemic.n_infections_total > 1000


def _deaths_in_a_season(in_life_table: bool | None, seed: int = 3) -> tuple[int, float]:
    """Deaths in a year of demography with (or, None, without) a well-mixed epidemic
    whose deaths are half of each band's all-cause deaths, and the epidemic's deaths."""
    from popsim.care.params import CareParams

    region = synthetic_region(n_zones=1, population=100_000, n_facilities=1, seed=2)
    q = np.asarray(gompertz_makeham_band_rates())
    z = 0.797  # final size of R0 2.0, well mixed: every band's attack rate
    p_death = list(0.5 * q / z)
    epidemic = None
    if in_life_table is not None:
        epidemic = EpidemicParams(
            r0=2.0,
            mixing="uniform",
            household_share=0.0,
            coupling=0.0,
            seed_infections=50,
            p_symptomatic=[1.0] * 10,
            p_severe=p_death,
            p_critical=[0.0] * 10,
            p_death=p_death,
            deaths_in_life_table=in_life_table,
            p_attack_typical=[z] * 10,
        )
    cfg = ModelConfig(
        days=365,
        epidemic=epidemic,
        demography=DemographyParams(growth_rate=0.0),
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(seed))
    result = model.run()
    epi_deaths = model.epidemic.n_dies_total if epidemic is not None else 0
    return int(result.zone_counts("deaths").sum()), epi_deaths


def test_a_seasonal_pathogens_deaths_are_taken_out_of_the_life_table_a_pandemics_are_not():
    # An epidemic whose deaths are half of everyone's yearly all-cause risk: as a
    # pandemic (excess deaths) the year's deaths rise by about half; as a seasonal
    # pathogen of typical size (deaths_in_life_table) they stay those of the life table.
    # About 800 deaths a year: Poisson sd 3.5%, of a ratio of two runs 5%: 15% is three sd.
    alone, _ = _deaths_in_a_season(None)
    pandemic, epi_pandemic = _deaths_in_a_season(False)
    seasonal, epi_seasonal = _deaths_in_a_season(True)
    assert alone > 600 and epi_seasonal > 200
    assert abs(seasonal / alone - 1) < 0.15
    assert abs(pandemic / alone - 1.5) < 0.15 * 1.5
    assert abs(epi_pandemic / epi_seasonal - 1) < 0.2  # the same epidemic


def test_deaths_follow_the_life_table_by_single_year_within_a_band():
    # everyone a woman of one age in the 90+ band: 60 days of deaths against the BC life
    # table's q of that age (binomial sd; 4 sd passes). 95 and 105 are one band apart in
    # age only: rates by band would give both the same.
    from popsim.population import life_table

    deaths = {}
    for age in (95, 105):
        region = synthetic_region(2, 20_000, 1, seed=1)
        cfg = ModelConfig(days=60, demography=DemographyParams(growth_rate=0.0))
        model = RegionModel(region, cfg, seed=np.random.SeedSequence(4))
        pop = model.pop
        pop.age[:] = age
        pop.band[:] = 9
        pop.sex[:] = 0
        model.reindexed()
        model.run()
        n = pop.n_alive + model.demography.n_deaths
        p = 1 - (1 - life_table()[age, 0]) ** (60 / 365)
        expected, sd = n * p, np.sqrt(n * p * (1 - p))
        deaths[age] = model.demography.n_deaths
        assert abs(deaths[age] - expected) < 4 * sd, (age, deaths[age], expected)
    assert deaths[105] > 1.8 * deaths[95]
