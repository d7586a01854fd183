"""Epidemic: final size, counts, transmission between zones, severity, interventions, params."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from popsim.epidemic import IA, IS, E, EpidemicParams, Importation, R, S, V
from popsim.events import ContactReduction, Vaccinate
from popsim.model import ModelConfig, RegionModel
from popsim.needs import EPI_CRITICAL, EPI_SEVERE
from popsim.synth import synthetic_region
from popsim.transmission import gravity_weights


def make_model(region, days, seed=0, population=None, **params):
    cfg = ModelConfig(days=days, population=population, epidemic=EpidemicParams(**params))
    return RegionModel(region, cfg, seed=np.random.SeedSequence(seed))


def final_size(r0: float) -> float:
    z = 0.5
    for _ in range(200):
        z = 1 - math.exp(-r0 * z)
    return z


@pytest.mark.parametrize("r0", [1.6, 2.5])
def test_well_mixed_final_size_matches_sir_relation(r0):
    # One zone, no household transmission, proportionate (uniform) mixing: the final size
    # z solves z = 1 - exp(-R0 z). Its standard deviation for N residents is about
    # sqrt(z (1 - z) (1 + cv^2 R0^2 (1 - z)) / N) / (1 - R0 (1 - z)) (Andersson & Britton),
    # cv = 0.25 the infectious period's coefficient of variation: 0.005 (R0 1.6) and
    # 0.002 (R0 2.5) for N = 20,000. We allow 5 sd plus 0.003 for the 20 seeds.
    n = 20_000
    region = synthetic_region(1, n, 1, seed=3)
    model = make_model(
        region, 400, seed=7, r0=r0, household_share=0.0, mixing="uniform", seed_infections=20
    )
    model.run()
    z = final_size(r0)
    sd = math.sqrt(z * (1 - z) * (1 + 0.0625 * r0**2 * (1 - z)) / n) / (1 - r0 * (1 - z))
    attack = model.epidemic.n_infections_total / n
    assert abs(attack - z) < 5 * sd + 0.003, (attack, z, sd)
    e, i, _ = model.epidemic.state_counts()
    assert e.sum() + i.sum() == 0  # the wave is over


@pytest.fixture(scope="module")
def wave():
    region = synthetic_region(6, 30_000, 3, seed=1)
    model = make_model(region, 150, seed=2, r0=2.2, p_severe=[0.2] * 10, p_symptomatic=[0.9] * 10)
    needs = []
    original = model.request_care

    def spy(batch):
        needs.append(batch)
        original(batch)

    model.request_care = spy
    result = model.run()
    return model, result, needs


def test_state_counts_match_the_state_column_and_living_residents(wave):
    model, result, _ = wave
    pop, epi = model.pop, model.epidemic
    e, i, r = epi.state_counts()
    cell = pop.cell[pop.alive]
    st = pop.epi_state[pop.alive]
    for want, states in ((e, [E]), (i, [IA, IS]), (r, [R, V])):
        got = np.bincount(cell[np.isin(st, states)], minlength=want.size).reshape(want.shape)
        np.testing.assert_array_equal(got, want)
    zd = result.zone_day
    # susceptible + exposed + infectious + recovered = living residents every day
    assert (zd[..., :4].sum(axis=-1).sum(axis=(1, 2)) <= pop.n).all()
    np.testing.assert_array_equal(zd[-1, ..., :4].sum(axis=-1), pop.alive_counts)
    assert (zd >= 0).all()
    # every infection is counted once: today's new infections add up to the total
    assert zd[..., 4].sum() == epi.n_infections_total
    assert (pop.epi_state == S).sum() + epi.n_infections_total <= pop.n


def test_severe_and_critical_needs_carry_a_consistent_path(wave):
    model, _, needs = wave
    epi = [b for b in needs if len(b) and np.isin(b.kind, [EPI_SEVERE, EPI_CRITICAL]).any()]
    assert epi
    kind = np.concatenate([b.kind for b in epi])
    icu = np.concatenate([b.icu_days for b in epi])
    ward = np.concatenate([b.ward_days for b in epi])
    dies = np.concatenate([b.dies for b in epi])
    res = np.concatenate([b.resident for b in epi])
    assert len(np.unique(res)) == len(res)  # one hospital need per infection
    crit = kind == EPI_CRITICAL
    assert (icu[crit] >= 1).all() and (icu[~crit] == 0).all()
    assert (ward[~crit] >= 1).all() and not dies[~crit].any()
    assert (ward[dies] == 0).all()
    # critical share rises with age (Covasim table: 0.15% of severe at 0-9, 71% at 80-89)
    band = model.pop.band[res]
    young, old = band <= 2, band >= 7
    assert crit[old].mean() > crit[young].mean() + 0.2
    assert model.epidemic.n_severe.sum() + model.epidemic.n_critical.sum() == len(res)


def test_same_seed_same_wave_and_a_different_seed_differs():
    region = synthetic_region(3, 5_000, 2, seed=4)
    a = make_model(region, 60, seed=5, r0=2.5).run().zone_day
    b = make_model(region, 60, seed=5, r0=2.5).run().zone_day
    c = make_model(region, 60, seed=6, r0=2.5).run().zone_day
    np.testing.assert_array_equal(a, b)
    assert not np.array_equal(a, c)


def test_gravity_coupling_falls_with_travel_time_and_grows_with_population():
    minutes = np.array([[5.0, 20.0, 20.0], [20.0, 5.0, 90.0], [20.0, 90.0, 5.0]])
    w = gravity_weights(np.array([1000, 1000, 5000]), minutes, 0.05, 30.0, 1.0)
    np.testing.assert_allclose(w.sum(axis=1), 1.0)
    assert w[0, 2] > w[0, 1]  # same distance, bigger zone
    assert w[1, 0] > w[1, 2] * 0.2  # much nearer though smaller
    assert w[1, 2] < w[0, 2]  # farther
    assert (np.diag(w) > 0.5).all()


def test_wave_seeded_in_surrey_reaches_burnaby_before_hope():
    from popsim.region import load_region

    region = load_region("fraser")
    model = make_model(
        region,
        160,
        seed=11,
        population=150_000,
        r0=2.0,
        seed_zones=["Surrey"],
        seed_infections=30,
        coupling=0.05,
    )
    zd = model.run().zone_day
    cum = zd[..., 4].sum(axis=2).cumsum(axis=0)  # (days, zones)
    pops = model.pop.alive_counts.sum(axis=1)

    def day_reaching(zone: str, share: float = 0.01) -> int:
        z = region.zone_index(zone)
        hit = np.flatnonzero(cum[:, z] >= share * pops[z])
        return int(hit[0]) if len(hit) else 10_000

    assert cum[0, region.zone_index("Hope")] == 0
    assert day_reaching("Surrey") <= day_reaching("Burnaby") < day_reaching("Hope")


def test_contact_reduction_lowers_the_attack_rate_and_vaccination_protects():
    region = synthetic_region(2, 8_000, 1, seed=9)

    def attack(events=()):
        cfg = ModelConfig(days=120, epidemic=EpidemicParams(r0=2.0), events=tuple(events))
        model = RegionModel(region, cfg, seed=np.random.SeedSequence(3))
        model.run()
        return model.epidemic.n_infections_total / model.pop.n, model

    base, _ = attack()
    reduced, _ = attack([ContactReduction(day=0, reduction=0.6, setting="all")])
    # R0 2.0 -> 0.8: the wave dies out (base attack about 0.7, sd of order 0.01)
    assert base > 0.5 and reduced < base / 3
    vacc, model = attack([Vaccinate(day=0, coverage=1.0, efficacy=1.0, min_age=0, max_age=120)])
    # every susceptible is immune from day 0: only the 20 seeds can be infected
    assert model.epidemic.n_infections_total <= 20
    assert model.epidemic.n_vaccinated == model.pop.n_alive


def test_deaths_leave_the_counts_of_living_residents():
    region = synthetic_region(2, 4_000, 1, seed=2)
    model = make_model(region, 30, seed=1, r0=3.0, seed_infections=200)
    model.run(20)
    epi = model.epidemic
    infected = np.flatnonzero(np.isin(model.pop.epi_state, [E, IA, IS, R]))
    before = sum(x.sum() for x in epi.state_counts())
    dead = model.kill(infected[:50])
    assert len(dead) == 50
    assert sum(x.sum() for x in epi.state_counts()) == before - 50
    model.run(10)  # the dead are never infected or moved again
    assert (model.pop.epi_state[dead] == model.pop.epi_state[dead[0]]).all()


@pytest.mark.parametrize(
    ("kwargs", "names"),
    [
        ({"r0": 0}, ["r0", "greater than 0"]),
        ({"r0": -1.5}, ["r0", "greater than 0"]),
        ({"p_severe": [0.1] * 9 + [1.5]}, ["p_severe", "[0, 1]"]),
        ({"p_symptomatic": [-0.1] + [0.5] * 9}, ["p_symptomatic", "[0, 1]"]),
        ({"p_death": [0.01] * 9}, ["p_death", "10 entries"]),
        ({"dur_latent": {"mean": -2, "sd": 1}}, ["dur_latent", "mean", "greater than 0"]),
        ({"dur_infectious": {"mean": 5, "sd": -1}}, ["dur_infectious", "sd", "greater than"]),
        ({"household_share": 1.2}, ["household_share", "less than 1"]),
        ({"contact_matrix": [[1.0] * 10] * 9}, ["contact_matrix", "10x10"]),
        ({"p_critical": [0.5] * 10}, ["p_critical", "p_severe"]),
        ({"r_nought": 2}, ["r_nought", "Extra inputs"]),
    ],
)
def test_bad_parameters_are_rejected_naming_the_parameter_and_range(kwargs, names):
    with pytest.raises(ValidationError) as info:
        EpidemicParams(**kwargs)
    text = str(info.value)
    for name in names:
        assert name in text


def test_importations_arrive_in_their_zone_on_their_day():
    region = synthetic_region(3, 6_000, 1, seed=2)
    model = make_model(
        region,
        40,
        seed=3,
        r0=2.0,
        seed_infections=0,
        importations=[Importation(day=30, count=50, zone="Z02")],
    )
    zd = model.run().zone_day[..., 4].sum(axis=2)  # (days, zones) new infections
    assert zd[:30].sum() == 0
    assert zd[30].tolist() == [0, 50, 0]


def test_contact_reduction_applies_only_to_its_zones():
    region = synthetic_region(2, 8_000, 1, seed=9)
    cfg = ModelConfig(
        days=150,
        epidemic=EpidemicParams(r0=2.5, coupling=0.0, seed_zones=[0, 1], seed_infections=10),
        events=(ContactReduction(day=0, reduction=1.0, zones=(0,), setting="all"),),
    )
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(4))
    zd = model.run().zone_day[..., 4].sum(axis=(0, 2))  # infections per zone
    assert zd[0] == 10  # only the seeds: no contacts at all in zone 0
    assert zd[1] > 0.5 * model.pop.alive_counts[1].sum()


@pytest.fixture(scope="module")
def small_region():
    return synthetic_region(3, 3_000, 1, seed=6)


@settings(max_examples=20, deadline=None)
@given(
    seed=st.integers(0, 2**31),
    days=st.integers(1, 40),
    kill_share=st.floats(0, 0.3),
    coverage=st.floats(0, 1),
)
def test_counts_always_match_a_recount_of_the_living(
    small_region, seed, days, kill_share, coverage
):
    model = make_model(small_region, 80, seed=seed, r0=3.0, seed_infections=30)
    model.run(days)
    rng = np.random.default_rng(seed)
    model.kill(np.flatnonzero(rng.random(model.pop.n) < kill_share))
    model.epidemic.apply(model, Vaccinate(day=days, coverage=coverage, efficacy=0.8))
    model.run(10)
    pop, epi = model.pop, model.epidemic
    recount = np.bincount(
        pop.epi_state[pop.alive].astype(np.int64) * epi.n_cells + pop.cell[pop.alive],
        minlength=7 * epi.n_cells,
    ).reshape(7, epi.n_cells)
    np.testing.assert_array_equal(recount[:6], epi.counts[:6])
    assert not pop.alive[pop.epi_state == 6].any()  # the dead are marked dead
