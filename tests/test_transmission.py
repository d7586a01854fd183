"""Transmission helpers: the calendar's order and contents, the cached hazard."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.epidemic.module import EpidemicParams
from popsim.epidemic.transmission import Calendar, HazardCache, calibrate, community_hazard
from popsim.population import Population
from popsim.region.synth import synthetic_region

adds = st.lists(
    st.lists(st.integers(1, 12), min_size=0, max_size=15),
    min_size=1,
    max_size=6,
)


@settings(max_examples=30, deadline=None)
@given(adds)
def test_calendar_returns_each_day_rows_in_the_order_added(calls):
    # compared with a plain list of (day, row id, payload) filed in order
    cal, filed, next_id = Calendar(), [], 0
    for days in calls:
        ids = np.arange(next_id, next_id + len(days))
        next_id += len(days)
        cal.add(np.asarray(days, dtype=np.int64), ids, ids * 10)
        filed += [(d, i) for d, i in zip(days, ids.tolist(), strict=True)]
    for day in range(0, 14):
        got = cal.pop(day)
        want = [i for d, i in filed if d == day]
        if not want:
            assert got is None
            continue
        assert got[0].tolist() == want
        assert got[1].tolist() == [10 * i for i in want]
    assert cal.pop(5) is None  # popped days are gone
    assert cal.buckets == {}  # every day was popped


def test_calendar_keeps_later_days_when_adding_between_pops():
    cal = Calendar()
    cal.add(np.array([2, 4, 2]), np.array([1, 2, 3]))
    assert cal.pop(1) is None
    assert cal.pop(2)[0].tolist() == [1, 3]
    cal.add(np.array([4, 3]), np.array([7, 8]))
    assert cal.pop(3)[0].tolist() == [8]
    assert cal.pop(4)[0].tolist() == [2, 7]


def test_calendar_large_add_same_order_as_a_stable_sort():
    # more than 256 rows: the days are sorted as int16 (radix); the same order
    rng = np.random.default_rng(3)
    days = rng.integers(100, 140, 5_000)
    ids = np.arange(5_000)
    cal = Calendar()
    cal.add(days, ids)
    for day in range(100, 140):
        np.testing.assert_array_equal(cal.pop(day)[0], ids[days == day])


def test_hazard_cache_equals_community_hazard_exactly():
    region = synthetic_region(4, 8_000, 3, seed=2)
    pop = Population.synthesize(region, np.random.default_rng(0))
    tr = calibrate(EpidemicParams(r0=2.0, coupling=0.3), pop, region.zone_zone_minutes)
    rel = np.ones(pop.n_zones)
    school = np.ones(pop.n_zones)
    cache = HazardCache(tr, rel, school)
    rng = np.random.default_rng(1)
    alive = np.maximum(pop.alive_counts, 1).astype(np.float64)
    for step in range(9):
        if step == 3:  # a contact reduction in two zones
            rel[[0, 2]] = 0.4
            cache.set_rel(rel, school)
        if step == 6:  # schools closed in zone 1
            school[1] = 0.0
            cache.set_rel(rel, school)
        pressure = rng.integers(0, 50, size=alive.shape).astype(np.float64)
        want = community_hazard(tr, pressure, alive, rel, school)
        assert np.array_equal(cache(pressure, alive), want)
    ones = np.ones(pop.n_zones)
    assert not np.array_equal(want, community_hazard(tr, pressure, alive, ones))
    # closing schools lowers the hazard in that zone only, most for school ages
    open_ = community_hazard(tr, pressure, alive, rel)
    assert (want[1] < open_[1]).all() and np.array_equal(want[[0, 2, 3]], open_[[0, 2, 3]])
    drop = 1 - want[1] / open_[1]
    assert drop[1] > 3 * drop[4]  # 10-19 against 40-49


def test_household_matrix_counts_housemates_by_band_and_leaves_out_the_dead():
    from popsim.epidemic.transmission import household_matrix

    # households: {0-9, 30-39, 30-39}, {70-79}, {30-39, 0-9 (dead)}
    ages = np.array([5, 35, 33, 75, 38, 4])
    pop = Population(ages, np.zeros(6), np.zeros(6), np.array([0, 0, 0, 1, 2, 2]), n_zones=1)
    pop.kill(np.array([5]))
    h = household_matrix(pop)
    assert h[3, 0] == 2.0 and h[0, 0] == 0.0  # the child lives with two 30-39s
    # the three 30-39s have two living children and two 30-39 housemates between them
    # (the third lives with a child who died: not counted)
    assert abs(h[0, 3] - 2 / 3) < 1e-12 and abs(h[3, 3] - 2 / 3) < 1e-12
    assert h[:, 7].sum() == 0.0  # living alone


def test_r0_is_the_spectral_radius_with_households_and_growth_follows_it():
    # calibrate puts the radius of community + household next-generation matrix at r0
    # (not the two split additively); the households' effect on early growth is
    # measured against Wallinga-Lipsitch by popsim validate
    from popsim.epidemic.transmission import next_generation, spectral_radius

    region = synthetic_region(n_zones=3, population=30_000, n_facilities=2, seed=1)
    pop = Population.synthesize(region, np.random.default_rng(0))
    for share in (0.0, 0.3, 0.6):
        p = EpidemicParams(r0=2.0, household_share=share)
        tr = calibrate(p, pop, region.zone_zone_minutes)
        rho = spectral_radius(next_generation(p, pop, tr.beta, tr.p_household))
        assert abs(rho - 2.0) < 1e-6
        if share:
            additive = EpidemicParams(r0=2.0 * (1 - share), household_share=0.0)
            beta_additive = calibrate(additive, pop, region.zone_zone_minutes).beta
            assert tr.beta != beta_additive


@settings(max_examples=50, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 9), st.integers(0, 20)), min_size=1, max_size=40),
    st.lists(st.integers(0, 20), max_size=8),
    st.lists(st.tuples(st.integers(0, 20), st.integers(100, 120)), max_size=8),
)
def test_calendar_drops_and_copies_a_residents_rows(rows, dropped, pairs):
    """``drop`` removes exactly the rows of the given residents; ``copy_rows`` adds, per
    (source, copy) pair, the source's rows under the copy's id (same day, payload)."""
    cal = Calendar()
    days = np.array([d for d, _ in rows])
    ids = np.array([r for _, r in rows])
    cal.add(days, ids, ids * 10)

    def content():
        out = []
        for day in sorted(cal.buckets):
            got = cal.pop(day)
            out += list(zip([day] * len(got[0]), got[0].tolist(), got[1].tolist(), strict=True))
        return sorted(out)

    want = [(d, r, 10 * r) for d, r in rows if r not in dropped]
    want += [(d, c, 10 * r) for s, c in pairs for d, r in rows if r == s and r not in dropped]
    cal.drop(np.array(dropped, dtype=np.int64))
    if pairs:
        src, dst = (np.array(x) for x in zip(*pairs, strict=True))
        cal.copy_rows(src, dst)
    assert content() == sorted(want)
