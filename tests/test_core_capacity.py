"""The one definition of over capacity (popsim.core.capacity): properties (hypothesis)."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from popsim.core import capacity as cap

demands = arrays(np.int64, st.integers(1, 80), elements=st.integers(0, 60))
levels = st.sampled_from(cap.LEVELS_PCT)


@settings(max_examples=60, deadline=None)
@given(demands, levels)
def test_beds_needed_is_the_smallest_bed_count_meeting_the_level(d: np.ndarray, level: int):
    need = cap.beds_needed(d, level)
    allowed = len(d) * level // 100
    if d.max() == 0:
        assert need is None  # admits nobody: no need
        return
    assert need is not None and 0 <= need <= d.max()
    assert cap.days_over(d, need) <= allowed  # enough beds ...
    assert cap.days_over(d, need - 1) > allowed  # ... and one fewer is not


@settings(max_examples=40, deadline=None)
@given(demands, levels, st.randoms(use_true_random=False))
def test_beds_needed_from_a_histogram_equals_from_days(d: np.ndarray, level: int, rnd) -> None:
    values, counts = np.unique(d, return_counts=True)
    order = list(range(len(values)))
    rnd.shuffle(order)  # the histogram's order does not matter
    got = cap.beds_needed_from_counts(values[order], counts[order], level)
    assert got == cap.beds_needed(d, level)


@settings(max_examples=40, deadline=None)
@given(demands, levels, st.integers(0, 2**31 - 1))
def test_more_demand_never_needs_fewer_beds(d: np.ndarray, level: int, seed: int) -> None:
    more = d + np.random.default_rng(seed).integers(0, 5, size=d.shape)
    a, b = cap.beds_needed(d, level), cap.beds_needed(more, level)
    assert b is not None or a is None
    assert a is None or b >= a


@settings(max_examples=40, deadline=None)
@given(
    arrays(np.int64, 30, elements=st.integers(0, 40)),
    arrays(np.int64, 30, elements=st.integers(0, 40)),
    st.integers(0, 40),
    st.integers(0, 10),
)
def test_site_excess_never_pools_beds(wd: np.ndarray, idem: np.ndarray, wb: int, ib: int):
    ex = cap.site_excess(wd, wb, idem, ib)
    pooled = np.maximum(wd + idem - wb - ib, 0)
    assert (ex >= pooled).all()  # an empty ICU does not hide a full ward
    over = cap.site_is_over(wd, wb, idem, ib)
    assert ((ex > 0) == over).all()
    assert cap.bed_days_over(wd, wb) + cap.bed_days_over(idem, ib) == ex.sum()


def test_closed_unit_with_demand_is_over_by_all_of_it() -> None:
    # a site closed for the day has 0 funded beds: all its demand is excess
    assert cap.excess([7, 0], [0, 0]).tolist() == [7, 0]
    assert cap.is_over([7, 0], [0, 0]).tolist() == [True, False]
    assert cap.beds_needed([], 5) is None
