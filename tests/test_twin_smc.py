"""The filter's pieces: the walk of log rel_beta (plain and with a damped trend) and the
tempering of a knot's likelihood."""

from __future__ import annotations

import math

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.twin.smc import Transmission, clip_log_m, ess, temper


def test_without_a_trend_the_walk_is_the_plain_walk_draw_for_draw():
    walk = Transmission(sd_log_week=0.15)
    a, b = np.random.default_rng(5), np.random.default_rng(5)
    lm, tr = np.zeros(200), np.zeros(200)
    lm, tr = walk.step(lm, tr, a)
    assert np.allclose(lm, clip_log_m(0.15 * b.standard_normal(200)))
    assert not tr.any()


def test_a_damped_trend_carries_the_direction_and_fades():
    # no noise: the trend alone, 0.1 a week damped by 0.8
    walk = Transmission(sd_log_week=0.0, sd_trend_week=1e-12, trend_damping=0.8)
    rng = np.random.default_rng(1)
    lm, tr = np.zeros(1), np.full(1, 0.1)
    path = []
    for _ in range(30):
        lm, tr = walk.step(lm, tr, rng)
        path.append(float(lm[0]))
    steps = np.diff([0.0, *path])
    assert np.all(steps > 0) and np.all(np.diff(steps) < 0)  # up, ever less
    assert path[-1] < 0.1 * 0.8 / (1 - 0.8) + 1e-6  # bounded: a damped trend stops


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.floats(-50, 0), min_size=4, max_size=40),
    st.floats(0.05, 0.95),
)
def test_tempering_keeps_the_share_asked_and_zero_never_tempers(ll, share):
    ll = np.array(ll)
    log_w = np.full(len(ll), -math.log(len(ll)))
    lam = temper(log_w, ll, share)
    assert 0.0 <= lam <= 1.0
    assert ess(log_w + lam * ll) >= share * len(ll) - 1e-6 or lam == 0.0
    assert temper(log_w, ll, 0.0) == 1.0


def test_census_days_favour_the_particle_that_follows_the_census_all_week():
    """Two particles with the observed census on the window's last day: one followed it
    all week, one caught up from half of it. Weighed on the last day they tie; weighed
    on every day (``census_days``) the one that followed it is favoured; a flow is
    weighed the same either way."""
    from popsim.twin.smc import Series, window_log_likelihood

    observed = np.array([20.0, 22, 24, 26, 28, 30, 32])
    days = np.arange(7)
    follows = np.zeros((7, 1, 2))
    follows[:, 0, 0] = observed
    catches_up = follows.copy()
    catches_up[:, 0, 0] = [10.0, 12, 15, 19, 23, 27, 32]
    census = [Series(-1, "epidemic_census", True, days, observed)]
    names = ["epidemic_census", "admissions"]

    def ll(model, series, every):
        return window_log_likelihood(model, names, series, 0, 6, 20.0, census_days=every)

    assert ll(follows, census, False) == ll(catches_up, census, False)
    assert ll(follows, census, True) > ll(catches_up, census, True) + 0.5
    # one observation's weight: the same particle on a perfectly followed week scores
    # like a single day's exact value
    single = [Series(-1, "epidemic_census", True, days[-1:], observed[-1:])]
    assert math.isclose(ll(follows, single, True), ll(follows, single, False))
    flow = [Series(-1, "admissions", False, days, np.full(7, 3.0))]
    follows[:, 0, 1] = 3.0
    assert ll(follows, flow, True) == ll(follows, flow, False)
