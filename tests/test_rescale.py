"""Rescaling the infected residents on their way to hospital (popsim.epidemic.rescale)."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.epidemic.module import IA, IS, E, EpidemicParams, S
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


@pytest.fixture(scope="module")
def region():
    return synthetic_region(3, 4_000, 1, seed=6)


def run_to(region, days=25, seed=1):
    cfg = ModelConfig(
        days=80,
        epidemic=EpidemicParams(
            r0=2.5, seed_infections=40, p_severe=[0.2] * 10, p_symptomatic=[0.9] * 10
        ),
    )
    model = RegionModel(region, cfg, seed=np.random.SeedSequence(seed))
    model.run(days)
    return model


def infected_out(model):
    st_, pop = model.pop.epi_state, model.pop
    return np.flatnonzero(np.isin(st_, [E, IA, IS]) & pop.alive & ~pop.in_hospital)


def calendar_ids(cal):
    return np.concatenate(
        [cols[0][lo:hi] for parts in cal.buckets.values() for cols, lo, hi in parts]
        or [np.empty(0, dtype=np.int64)]
    )


def recount(model):
    pop, epi = model.pop, model.epidemic
    key = pop.epi_state[pop.alive].astype(np.int64) * epi.n_cells + pop.cell[pop.alive]
    return np.bincount(key, minlength=7 * epi.n_cells).reshape(7, epi.n_cells)


@settings(max_examples=12, deadline=None)
@given(ratio=st.floats(0.25, 4.0), seed=st.integers(0, 2**31))
def test_the_infected_scale_by_the_ratio_and_residents_are_conserved(region, ratio, seed):
    model = run_to(region)
    epi, pop = model.epidemic, model.pop
    n = len(infected_out(model))
    assert n > 50  # the wave is under way
    alive, in_hosp = pop.alive.copy(), pop.in_hospital.copy()
    change = epi.rescale_infected(model, ratio, np.random.default_rng(seed))
    after = len(infected_out(model))
    assert after == n + change
    # within rounding (copies fall short only where a cell runs out of susceptibles)
    assert abs(after - n * ratio) <= 1
    np.testing.assert_array_equal(recount(model)[:6], epi.counts[:6])
    np.testing.assert_array_equal(pop.alive, alive)
    np.testing.assert_array_equal(pop.in_hospital, in_hosp)
    # the epidemic carries on from the rescaled state
    model.run(10)
    np.testing.assert_array_equal(recount(model)[:6], epi.counts[:6])


def test_made_susceptible_leave_every_calendar_and_copies_take_the_originals_rows(region):
    model = run_to(region)
    epi = model.epidemic
    before = infected_out(model)
    epi.rescale_infected(model, 0.5, np.random.default_rng(3))
    gone = np.setdiff1d(before, infected_out(model))
    assert len(gone) == round(len(before) * 0.5)
    assert (model.pop.epi_state[gone] == S).all()
    for cal in (epi.progression, epi.hospital, epi.deaths_due):
        assert not np.isin(calendar_ids(cal), gone).any()

    model = run_to(region)
    epi = model.epidemic
    before = infected_out(model)
    rows = calendar_ids(epi.hospital)
    pending = int(np.isin(rows, before).sum())
    assert pending > 0  # some are on their way to hospital
    epi.rescale_infected(model, 2.0, np.random.default_rng(3))
    # each infected resident copied once: twice their hospital admissions to come
    assert len(calendar_ids(epi.hospital)) == len(rows) + pending
    copies = np.setdiff1d(infected_out(model), before)
    assert len(copies) == len(before)


def test_the_same_seed_picks_the_same_residents_and_another_seed_others(region):
    states = []
    for seed in (5, 5, 6):
        model = run_to(region)
        model.epidemic.rescale_infected(model, 1.7, np.random.default_rng(seed))
        states.append(model.pop.epi_state.copy())
    np.testing.assert_array_equal(states[0], states[1])
    assert (states[0] != states[2]).any()


def test_a_ratio_that_is_not_positive_is_refused(region):
    model = run_to(region, days=2)
    with pytest.raises(ValueError, match="positive"):
        model.epidemic.rescale_infected(model, 0.0, np.random.default_rng(0))
