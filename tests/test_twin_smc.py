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
