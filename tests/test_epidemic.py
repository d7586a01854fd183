"""Epidemic: final size, counts, transmission between zones, severity, interventions, params."""

import datetime as dt
import math

import numpy as np
import pytest
from conftest import with_infection_log
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from popsim.core.event_types import ContactReduction, Vaccinate
from popsim.core.requests import EPI_CRITICAL, EPI_SEVERE
from popsim.epidemic.module import IA, IS, E, EpidemicParams, Importation, R, S, V
from popsim.epidemic.transmission import gravity_weights
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


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
    states = sum(
        result.zone_counts(c) for c in ("susceptible", "exposed", "infectious", "recovered")
    )
    # susceptible + exposed + infectious + recovered = living residents every day
    assert (states.sum(axis=(1, 2)) <= pop.n).all()
    np.testing.assert_array_equal(states[-1], pop.alive_counts)
    assert (zd >= 0).all()
    # every infection is counted once: today's new infections add up to the total
    assert result.zone_counts("new_infections").sum() == epi.n_infections_total
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
    assert (ward[~crit] >= 1).all()  # the ward, or the ward until death there
    assert (ward[dies & crit] == 0).all()  # death in ICU
    assert (dies & ~crit).any()  # deaths on the ward happen (most of the oldest)
    # ICU share of the hospitalised by band is p_critical / p_severe, whatever share die
    # (4 binomial sd), and so is the death share p_death / p_severe
    p = model.epidemic.params
    band = model.pop.band[res]
    for table, drawn in ((p.p_critical, crit), (p.p_death, dies)):
        expected = np.asarray(table) / np.asarray(p.p_severe)
        for b in range(10):
            n = int((band == b).sum())
            if n >= 100:
                e = expected[b]
                assert abs(drawn[band == b].mean() - e) < 4 * np.sqrt(e * (1 - e) / n) + 1e-3
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
    from popsim.region.load import load_region

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
    cum = model.run().zone_counts("new_infections").sum(axis=2).cumsum(axis=0)  # (days, zones)
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
    zd = model.run().zone_counts("new_infections").sum(axis=2)  # (days, zones) new infections
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
    zd = model.run().zone_counts("new_infections").sum(axis=(0, 2))  # infections per zone
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


def test_shipped_pathogen_profiles_load_with_sources_and_values_can_be_overridden():
    from popsim.epidemic.params import pathogen_names, pathogen_profile

    names = pathogen_names()
    assert {"covid19-ancestral", "covid19-omicron", "influenza"} <= set(names)
    for name in names:
        profile = pathogen_profile(name)
        assert profile["sources"] and profile["description"]
        params = EpidemicParams(pathogen=name)
        assert params.r0 == profile["params"]["r0"]
    flu = EpidemicParams(pathogen="influenza", r0=2.2, immune=[0.5] * 10)
    assert flu.r0 == 2.2 and flu.immune == [0.5] * 10
    assert flu.p_severe == pathogen_profile("influenza")["params"]["p_severe"]
    with pytest.raises(ValidationError, match="unknown pathogen 'measles'; shipped: covid19"):
        EpidemicParams(pathogen="measles")
    with pytest.raises(ValidationError, match="p_death must be <= p_severe"):
        EpidemicParams(p_death=[0.5] * 10)


def test_a_spec_names_a_pathogen_and_a_bad_name_is_one_line(tmp_path):
    from popsim.cli import main

    spec = tmp_path / "flu.toml"
    spec.write_text(
        'name = "flu"\nregion = "synthetic"\ndays = 5\n[epidemic]\npathogen = "flu-b"\n'
        "[scenarios.baseline]\n"
    )
    code = main(["run", str(spec), "--replicates", "1", "--quiet"])
    assert code == 2


def _flu_season(population=120_000, seed=3, **params):
    region = synthetic_region(n_zones=4, population=population, seed=5)
    epi = EpidemicParams(pathogen="influenza", seed_infections=20, start_day=5, **params)
    model = RegionModel(region, ModelConfig(days=260, epidemic=epi), seed=seed)
    infected = model.run().zone_counts("new_infections").sum(axis=(0, 1)).astype(float)
    return model, infected, model.pop.alive_counts.sum(axis=0).astype(float)


def test_prior_immunity_by_age_starts_that_share_of_each_band_immune():
    immune = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9]
    region = synthetic_region(n_zones=2, population=30_000, n_facilities=2, seed=5)
    epi = EpidemicParams(pathogen="influenza", immune=immune, seed_infections=0)
    model = RegionModel(region, ModelConfig(days=1, epidemic=epi), seed=1)
    pop = model.pop
    for b, share in enumerate(immune):
        rows = pop.band == b
        n = int(rows.sum())
        got = (pop.epi_state[rows] == R).mean()
        assert abs(got - share) < 4 * np.sqrt(share * (1 - share) / n) + 1e-9


def test_a_shipped_flu_season_has_a_typical_canadian_burden():
    # Sources (profile popsim/data/pathogens/influenza.toml): infection attack rate about
    # 22.5% of children and 10.7% of adults (Somes et al. 2018); about 3.2 hospitalisations
    # per 10,000 residents (PHAC); ICU share of the hospitalised 10-25%. Within a factor
    # 1.5. 120,000 residents: the attack rates are of thousands of infections (sd well
    # under 1 point); the hospitalisations expected from the infections by band are used
    # (a few dozen drawn ones would be too noisy), and the drawn ones checked against them.
    model, infected, n_band = _flu_season()
    children = infected[:2].sum() / n_band[:2].sum()  # 0-19 (the source's children: < 18)
    adults = infected[2:].sum() / n_band[2:].sum()
    assert 0.225 / 1.5 <= children <= 0.225 * 1.5
    assert 0.107 / 1.5 <= adults <= 0.107 * 1.5
    assert children > 1.5 * adults
    p = model.epidemic.params
    hosp = infected * np.asarray(p.p_severe)
    per_10k = 1e4 * hosp.sum() / n_band.sum()
    assert 3.2 / 1.5 <= per_10k <= 3.2 * 1.5
    drawn = model.epidemic.n_hospitalised + model.epidemic.n_severe_in_hospital
    assert abs(drawn - hosp.sum()) < 4 * np.sqrt(hosp.sum())
    icu = (infected * np.asarray(p.p_critical)).sum() / hosp.sum()
    assert 0.10 <= icu <= 0.25


@pytest.mark.parametrize("rel", [1.0, 6.0])
def test_a_requested_exposure_multiplies_the_community_hazard(rel):
    """Residents asked to be more exposed (``model.request_exposure``, as staffing does for
    nurses at work) are infected on a day with probability 1 - exp(-rel x hazard of their
    cell): the day's hazard is read as the epidemic computes it (no household spread, so
    nothing else infects them), the expected count is summed over the exposed susceptibles
    and compared with the count within 4 binomial standard deviations; the other value of
    ``rel`` would be far off."""
    region = synthetic_region(3, 20_000, 2, seed=4)
    model = make_model(region, 80, seed=9, r0=2.0, household_share=0.0, seed_infections=60)
    epi = model.epidemic
    seen = []
    hazard = epi.hazard

    def record(pressure, alive):
        out = hazard(pressure, alive)
        seen.append(out.ravel().copy())
        return out

    epi.hazard = record
    group = np.random.default_rng(0).choice(model.pop.n, 2000, replace=False)
    observed = 0
    expected = {1.0: 0.0, 6.0: 0.0}
    var = 0.0
    for _ in range(80):
        sus = group[epi.state[group] == S]
        model.request_exposure(sus, rel)
        seen.clear()
        model.step()
        if not seen:
            continue
        h = seen[0][model.pop.cell[sus]]
        observed += int((epi.state[sus] != S).sum())
        for r in expected:
            expected[r] += float((-np.expm1(-r * h)).sum())
        p = -np.expm1(-rel * h)
        var += float((p * (1 - p)).sum())
    sd = math.sqrt(var)
    assert abs(observed - expected[rel]) < 4 * sd + 1, (observed, expected, sd)
    other = 6.0 if rel == 1.0 else 1.0
    assert abs(observed - expected[other]) > 8 * sd, (observed, expected, sd)


def test_inpatients_who_turn_severe_get_the_epidemic_path_without_a_second_admission():
    from popsim.care.network import CareParams
    from popsim.demand import DemandParams

    region = synthetic_region(3, 20_000, 2, seed=5)
    cfg = ModelConfig(
        days=120,
        epidemic=EpidemicParams(r0=2.5, p_severe=[0.2] * 10, p_symptomatic=[0.9] * 10),
        demand=DemandParams(rel_admissions=6.0),
        care=CareParams(uncapped=True),
    )
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(4))
    result = model.run()
    e, care, t = model.epidemic, model.care.totals, model.demand.totals
    # thousands of infections among a few hundred inpatients: dozens turn severe
    assert e.n_severe_in_hospital >= 10
    # every need (demand's and the epidemic's, inpatients' included) is one admission or
    # one re-planned stay (or skipped: dead; unplaced: no open site), never both
    handled = care["admitted"] + care["repathed"] + care["skipped"] + care["unplaced"]
    # (demand's warm start, the stays already running on day 0, is not in its tally)
    assert handled == t["admissions"] + e.n_hospitalised + e.n_severe_in_hospital
    # most of those in hospital when they turned severe were re-planned (a few were
    # discharged that same day, before the care phase, and admitted again)
    assert care["repathed"] >= 0.6 * e.n_severe_in_hospital
    names = list(result.facility_metrics)
    admissions = result.facility_day[..., names.index("admissions")].sum()
    assert admissions == care["admitted"]


def test_closing_schools_cuts_childrens_infections_more_than_adults():
    # Prem et al.'s school contacts are those of 0-19 (and a few of their teachers):
    # with schools closed from day 0 the children's attack rate falls far more than the
    # adults'. Thousands of infections in each group: sd about 1 point.
    region = synthetic_region(3, 30_000, 1, seed=9)

    def attack(events=()):
        cfg = ModelConfig(
            days=200, epidemic=EpidemicParams(r0=1.6, seed_infections=30), events=tuple(events)
        )
        model = RegionModel(region, cfg, seed=np.random.SeedSequence(3))
        infected = model.run().zone_counts("new_infections").sum(axis=(0, 1)).astype(np.float64)
        n = model.pop.alive_counts.sum(axis=0)
        return infected[:2].sum() / n[:2].sum(), infected[2:].sum() / n[2:].sum()

    children, adults = attack()
    closed = [ContactReduction(day=0, reduction=1.0, setting="school")]
    children_closed, adults_closed = attack(closed)
    assert children > 1.15 * adults  # open schools: children infected most
    assert children_closed < 0.8 * children
    assert children_closed / children < adults_closed / adults


def test_one_extra_infection_changes_only_what_follows_from_it():
    # Common random numbers: two runs of one seed, one of them with a single extra
    # infection on day 20 (a resident infected at work, say). With counter-based draws the
    # rest of the epidemic keeps its draws: the residents infected, and their infection
    # days, stay the same but for the extra infection's own descendants (a few dozen in a
    # wave of about 12,000 at R0 1.5). A sequential stream reshuffles every later draw,
    # so most infections after day 20 fall on other residents or days (measured: over
    # 90%); we allow 10%.
    region = synthetic_region(4, 40_000, 2, seed=5)
    logs, totals = [], []
    for extra in (False, True):
        model = make_model(region, 200, seed=3, r0=1.5, seed_infections=10)
        log = with_infection_log(model)
        model.run(20)
        if extra:
            epi = model.epidemic
            sus = np.flatnonzero((epi.state == S) & model.pop.alive)
            epi._infect(model, sus[:1])
        model.run(180)
        logs.append(log)
        totals.append(model.epidemic.n_infections_total)
    a, b = logs
    infected = (a >= 0) | (b >= 0)
    moved = int((a != b).sum())
    assert totals[0] > 5_000, totals  # a real wave
    assert moved < 0.10 * infected.sum(), (moved, int(infected.sum()))


def _needs_of(model, days):
    needs = []
    original = model.request_care

    def spy(batch):
        needs.append(batch)
        original(batch)

    model.request_care = spy
    model.run(days)
    ids = np.concatenate([b.resident for b in needs])
    ward = np.concatenate([b.ward_days for b in needs]).astype(float)
    return ids, ward


def test_rel_severity_hospitalises_more_of_the_same_infections():
    # Counter-based draws: the infections are (nearly) the same residents whatever the
    # severity, and a resident hospitalised at rel_severity 1 is hospitalised at 2. With p_severe
    # 0.05 of 0.8 symptomatic, twice as many of them: the ratio of about 600 to 300 has
    # a binomial sd of about 0.1; 4 sd allowed. At 20 the probability is capped at the
    # symptomatic: every symptomatic infection is hospitalised.
    region = synthetic_region(4, 30_000, 2, seed=5)
    kw = {"r0": 2.0, "p_symptomatic": [0.8] * 10, "p_severe": [0.05] * 10}
    kw |= {"p_critical": [0.01] * 10, "p_death": [0.0] * 10}  # (deaths end transmission)
    got = {}
    for rel in (1.0, 2.0, 20.0):
        model = make_model(region, 150, seed=4, rel_severity=rel, **kw)
        ids, _ = _needs_of(model, 150)
        got[rel] = (ids, model.epidemic.n_infections_total)
    (a, n1), (b, n2), (c, n20) = got[1.0], got[2.0], got[20.0]
    # the same infections but for the few that the other modules' reactions move (a
    # death or an admission of someone else hospitalised changes who is at home)
    assert abs(n2 / n1 - 1) < 0.01 and abs(n20 / n1 - 1) < 0.01, (n1, n2, n20)
    assert len(set(a) - set(b)) < 0.03 * len(a), (len(set(a) - set(b)), len(a))
    assert len(set(b) - set(c)) < 0.03 * len(b), (len(set(b) - set(c)), len(b))
    assert abs(len(b) / len(a) - 2.0) < 0.4, (len(a), len(b))
    # symptomatic among the infections: 0.8 of them (sd of the share 0.003; 5 sd)
    assert abs(len(c) / n20 - 0.8) < 0.015, (len(c), n20)


def test_rel_transmissibility_is_r0_times_it():
    # r0 1.2 made 1.5 times as transmissible is r0 1.8: the same rates, the same draws,
    # the same epidemic (up to the calibration's bisection tolerance)
    region = synthetic_region(3, 20_000, 2, seed=8)
    a = make_model(region, 120, seed=1, r0=1.8)
    b = make_model(region, 120, seed=1, r0=1.2, rel_transmissibility=1.5)
    c = make_model(region, 120, seed=1, r0=1.2)
    for m in (a, b, c):
        m.run()
    assert a.epidemic.daily_infections == b.epidemic.daily_infections
    assert c.epidemic.n_infections_total < 0.8 * a.epidemic.n_infections_total


def test_rel_stay_scales_the_epidemic_hospital_stays():
    # mean ward days of the hospitalised: lognormal stays, a 1.5 multiplier on mean and
    # sd; about 900 stays of cv ~0.6 each: the ratio's sd is about 0.04; 4 sd allowed
    region = synthetic_region(4, 30_000, 2, seed=5)
    kw = {"r0": 2.0, "p_symptomatic": [0.8] * 10, "p_severe": [0.1] * 10}
    kw |= {"p_critical": [0.02] * 10, "p_death": [0.01] * 10}
    means = []
    for rel in (1.0, 1.5):
        model = make_model(region, 150, seed=4, rel_stay=rel, **kw)
        _, ward = _needs_of(model, 150)
        means.append(ward[ward > 0].mean())
    assert abs(means[1] / means[0] - 1.5) < 0.16, means


@pytest.mark.parametrize(
    "dist", [{"mean": 3.0, "sd": 1.5, "family": "erlang"}, {"mean": 6.0, "sd": 4.0}]
)
def test_counter_based_durations_match_the_sampled_distribution(dist):
    # the inverse of the whole-day CDF (counter-based) against numpy's gamma / lognormal
    # rounded: 100,000 draws each; every day's share within 5 binomial sd of the other's
    from popsim.core.seeds import CounterDraws
    from popsim.epidemic.params import LogNormalDays

    d = LogNormalDays(**dist)
    n = 100_000
    a = np.bincount(d.draw(CounterDraws(np.random.default_rng(1)), 4, np.arange(n)), minlength=366)
    b = np.bincount(d.sample(np.random.default_rng(2), n), minlength=366)
    p = (a + b) / (2 * n)
    sd = np.sqrt(2 * p * (1 - p) / n)
    assert (np.abs(a - b) / n <= 5 * sd + 1e-9).all()
    assert abs(a.dot(np.arange(len(a))) / n - d.expected_days()) < 0.02


def test_seasonal_forcing_moves_the_wave_towards_its_peak_date():
    # seeded on 1 July at r0 1.6 a wave peaks in the summer; forcing of amplitude 0.3
    # peaking on 15 January (day 198 of the run) holds it back in the summer, when
    # transmission is low (R still above 1), and speeds it up towards winter: its peak
    # is later
    region = synthetic_region(2, 20_000, 1, seed=2)
    peaks = []
    for amplitude in (0.0, 0.3):
        cfg = ModelConfig(
            days=330,
            start=dt.date(2026, 7, 1),
            epidemic=EpidemicParams(r0=1.6, seed_infections=50, seasonal_amplitude=amplitude),
        )
        model = RegionModel(region, cfg, seed=np.random.SeedSequence(3))
        model.run()
        peaks.append(int(np.argmax(model.epidemic.daily_infections)))
    assert peaks[1] > peaks[0] + 20, peaks


def test_deaths_outside_hospital_kill_a_share_of_the_infections_not_hospitalised():
    # p_death_community 0.02 of the infections not hospitalised: about 0.02 x 9,000 =
    # 180 deaths (Poisson sd 13; 5 sd allowed), none of them in hospital, all of them
    # dead (the epidemic state D) and counted by the model as deaths
    region = synthetic_region(2, 20_000, 1, seed=4)
    model = make_model(region, 200, seed=6, r0=1.8, p_death_community=[0.02] * 10)
    hospitalised = _needs_of(model, 200)[0]
    e = model.epidemic
    expected = 0.02 * (e.n_infections_total - len(hospitalised))
    assert abs(e.n_deaths_outside - expected) < 5 * np.sqrt(expected), (
        e.n_deaths_outside,
        expected,
    )
    dead = ~model.pop.alive
    assert dead.sum() >= e.n_deaths_outside
    assert (model.epidemic.state[dead] == 6).all()
