"""Front-loaded infectiousness: the day weights, the household delay, the wave."""

import math

import numpy as np
import pytest
from conftest import with_infection_log
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.epidemic.households import generation_mgf, generation_pmf
from popsim.epidemic.infectiousness import day_weights, delay_days
from popsim.epidemic.module import EpidemicParams, S
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


@settings(max_examples=60, deadline=None)
@given(q=st.floats(0.05, 1.0), dur=st.integers(1, 30))
def test_the_days_of_a_period_add_up_to_its_length_and_fall(q, dur):
    w = day_weights(q, np.full(dur, dur), np.arange(dur))
    assert math.isclose(w.sum(), dur, rel_tol=1e-9)
    assert (np.diff(w) <= 1e-12).all()


@pytest.mark.parametrize("q", [1.0, 0.7, 0.3])
def test_the_household_delay_follows_the_day_weights(q):
    # a fine grid of uniforms: the share of each day is its weight over the period
    dur, m = 7, 70_000
    u = (np.arange(m) + 0.5) / m
    k = delay_days(q, u, np.full(m, dur))
    share = np.bincount(k, minlength=dur) / m
    want = day_weights(q, np.full(dur, dur), np.arange(dur)) / dur
    assert np.abs(share - want).max() < 2 / m + 1e-9, (share, want)
    if q == 1.0:  # the flat draw, as before
        assert (k == (u * dur).astype(np.int64)).all()


def test_front_loading_shortens_the_generation_interval():
    flat = generation_pmf(EpidemicParams(pathogen="covid19-ancestral"))
    front = generation_pmf(
        EpidemicParams(pathogen="covid19-ancestral", rel_infectiousness_daily=0.6)
    )
    j = np.arange(len(flat))
    assert math.isclose(flat.sum(), 1.0) and math.isclose(front.sum(), 1.0)
    assert (j * front).sum() < (j * flat).sum() - 2  # 8.3 -> 5.9 days


def _run(region, q, days, extra=False):
    cfg = ModelConfig(
        days=days,
        epidemic=EpidemicParams(
            r0=1.6,
            household_share=0.0,
            mixing="uniform",
            seed_infections=20,
            rel_infectiousness_daily=q,
        ),
    )
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(7))
    epi = model.epidemic
    log = with_infection_log(model)
    model.run(20)
    if extra:
        sus = np.flatnonzero((epi.state == S) & model.pop.alive)
        epi._infect(model, sus[:1])
    model.run(days - 20)
    return model, log


def test_front_loading_keeps_the_final_size_and_speeds_the_wave():
    # well mixed, no households: the final size solves z = 1 - exp(-R0 z) whatever the
    # timing of infectiousness (R0 1.6: z = 0.641, sd about 0.005 for 20,000; 5 sd plus
    # 0.003 allowed); front-loading moves infections earlier, so the wave peaks sooner
    region = synthetic_region(1, 20_000, 1, seed=3)
    z = 0.5
    for _ in range(200):
        z = 1 - math.exp(-1.6 * z)
    peaks = []
    for q in (1.0, 0.5):
        model, _ = _run(region, q, 400)
        attack = model.epidemic.n_infections_total / 20_000
        assert abs(attack - z) < 5 * 0.005 + 0.003, (q, attack, z)
        peaks.append(int(np.argmax(model.epidemic.daily_infections)))
    assert peaks[1] < peaks[0] - 10, peaks


def test_front_loaded_one_extra_infection_changes_only_what_follows_from_it():
    # common random numbers hold with the option on: one extra infection on day 20
    # moves a few of the wave's infections (its descendants), not most (10% allowed)
    region = synthetic_region(1, 20_000, 1, seed=3)
    (_, a), (_, b) = _run(region, 0.5, 200), _run(region, 0.5, 200, extra=True)
    infected = (a >= 0) | (b >= 0)
    assert infected.sum() > 5_000
    assert (a != b).sum() < 0.10 * infected.sum()


def test_the_generation_interval_and_its_mgf_agree_when_front_loaded():
    # two computations of E[exp(-r T)]: the exact whole-day pmf and the Monte Carlo of
    # the duration samplers (200,000 draws: relative error well under 0.5%)
    p = EpidemicParams(pathogen="covid19-ancestral", rel_infectiousness_daily=0.6)
    g = generation_pmf(p)
    j = np.arange(len(g))
    for r in (0.05, 0.1, 0.2):
        assert math.isclose(generation_mgf(p, r), (g * np.exp(-r * j)).sum(), rel_tol=0.005)


def test_front_loaded_growth_reads_as_its_r0_through_its_generation_interval():
    # well mixed, 300,000 residents, R0 1.8, q 0.6: the early growth rate (cumulative
    # attack 0.2%-3%) read through the front-loaded generation interval (Euler-Lotka)
    # gives back R0 (measured 1.808; flat, two seeds: 1.754 and 1.771, so a spread of
    # a few hundredths: 0.1 allowed), where the flat interval would read R 2.3
    region = synthetic_region(1, 300_000, 1, seed=3)
    p = EpidemicParams(
        r0=1.8,
        household_share=0.0,
        mixing="uniform",
        seed_infections=50,
        rel_infectiousness_daily=0.6,
    )
    model = RegionModel(region, ModelConfig(days=120, epidemic=p), seed=np.random.SeedSequence(1))
    model.run()
    d = np.array(model.epidemic.daily_infections, dtype=float)
    c = np.cumsum(d) / 300_000
    w = np.flatnonzero((c > 0.002) & (c < 0.03))
    r = np.polyfit(w, np.log(d[w]), 1)[0]
    assert abs(1 / generation_mgf(p, r) - 1.8) < 0.1, r
    flat = EpidemicParams(r0=1.8, household_share=0.0, mixing="uniform")
    assert 1 / generation_mgf(flat, r) > 2.1


@pytest.mark.parametrize("q", [0.0, 1.5, -0.2])
def test_a_bad_daily_factor_is_rejected_naming_it(q):
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="rel_infectiousness_daily"):
        EpidemicParams(rel_infectiousness_daily=q)
