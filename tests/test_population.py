"""Population: synthesis, indexes, sampling, deaths, births and ageing."""

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.core.ages import N_AGE_BANDS
from popsim.population import (
    ADULT_AGE,
    HOUSEHOLD_SIZE_SHARES,
    Column,
    Population,
    household_layout,
    insert_sorted,
    order_within_groups,
    scale_counts,
    unique_sorted,
)
from popsim.region.synth import synthetic_region


@pytest.fixture(scope="module")
def region():
    return synthetic_region(4, 20_000, 2, seed=5)


@pytest.fixture
def pop(region):
    return Population.synthesize(region, np.random.default_rng(1))


def test_synthesis_matches_the_region_counts_by_zone_band_and_sex(region, pop):
    got = np.zeros_like(region.age)
    np.add.at(got, (pop.zone, pop.band, pop.sex), 1)
    np.testing.assert_array_equal(got, region.age)
    assert pop.n == region.total_population
    np.testing.assert_array_equal(pop.alive_counts, region.age.sum(axis=2))


def test_scaled_synthesis_hits_the_total_and_keeps_the_shape(region):
    pop = Population.synthesize(region, np.random.default_rng(1), total=50_000)
    assert pop.n == 50_000
    share = pop.alive_counts.sum(axis=1) / pop.n
    np.testing.assert_allclose(share, region.age.sum(axis=(1, 2)) / region.total_population, 1e-3)


def test_synthesis_is_deterministic_from_the_seed(region):
    a = Population.synthesize(region, np.random.default_rng(9))
    b = Population.synthesize(region, np.random.default_rng(9))
    c = Population.synthesize(region, np.random.default_rng(10))
    for name in ("age", "sex", "zone", "household"):
        np.testing.assert_array_equal(getattr(a, name), getattr(b, name))
    assert not np.array_equal(a.age, c.age)


def test_households_share_a_zone_have_an_adult_and_realistic_sizes(pop):
    hh = pop.household
    sizes = np.bincount(hh)
    assert sizes.min() >= 1
    zone_lo = np.full(len(sizes), 10**6)
    zone_hi = np.full(len(sizes), -1)
    np.minimum.at(zone_lo, hh, pop.zone)
    np.maximum.at(zone_hi, hh, pop.zone)
    assert (zone_lo == zone_hi).all()
    adults = np.bincount(hh, weights=pop.age >= ADULT_AGE, minlength=len(sizes))
    assert (adults >= 1).all()
    # share of households of each size 1..5: about 4,000 households per zone, so the
    # sd of a share is below 0.004; allow 0.02 (the last household of a zone is cut).
    share = np.bincount(np.minimum(sizes, 6), minlength=7)[1:] / len(sizes)
    want = HOUSEHOLD_SIZE_SHARES / HOUSEHOLD_SIZE_SHARES.sum()
    np.testing.assert_allclose(share, want, atol=0.02)


def test_household_members_lists_every_member(pop):
    hh = np.array([0, 5, 5, 17])
    members = pop.household_members(hh)
    expected = np.concatenate([np.flatnonzero(pop.household == h) for h in hh])
    np.testing.assert_array_equal(np.sort(members), np.sort(expected))
    owner, same = pop.household_members(hh, owners=True)
    np.testing.assert_array_equal(same, members)
    # each member is listed for its own household, in the order asked
    np.testing.assert_array_equal(pop.household[members], hh[owner])
    assert (np.diff(owner) >= 0).all()
    empty_owner, empty = pop.household_members(np.array([], dtype=np.int64), owners=True)
    assert len(empty_owner) == len(empty) == 0


@settings(max_examples=30, deadline=None)
@given(st.lists(st.integers(-5, 40), max_size=60))
def test_unique_sorted_equals_numpy_unique(values):
    a = np.asarray(values, dtype=np.int64)
    np.testing.assert_array_equal(unique_sorted(a), np.unique(a))


@settings(max_examples=25, deadline=None)
@given(
    k=st.lists(st.integers(0, 400), min_size=40, max_size=40),
    seed=st.integers(0, 2**31),
    kill_share=st.floats(0, 0.9),
)
def test_sample_cells_gives_distinct_living_residents_of_each_cell(region, k, seed, kill_share):
    pop = Population.synthesize(region, np.random.default_rng(2))
    rng = np.random.default_rng(seed)
    pop.kill(np.flatnonzero(rng.random(pop.n) < kill_share))
    k = np.array(k)
    ids = pop.sample_cells(k, rng, accept=lambda ids: pop.sex[ids] == 0)
    assert len(np.unique(ids)) == len(ids)
    assert pop.alive[ids].all() and (pop.sex[ids] == 0).all()
    got = np.bincount(pop.cell[ids], minlength=len(k))
    eligible = np.bincount(pop.cell[pop.alive & (pop.sex == 0)], minlength=len(k))
    np.testing.assert_array_equal(got, np.minimum(k, eligible))
    one = pop.sample_cell(7, int(k[7]), rng)
    assert len(np.unique(one)) == len(one) <= k[7]
    assert pop.alive[one].all() and (pop.cell[one] == 7).all()


@settings(max_examples=30, deadline=None)
@given(
    batches=st.lists(
        st.tuples(st.booleans(), st.lists(st.integers(0, 199), max_size=12)), max_size=6
    )
)
def test_the_count_of_removals_is_everyone_who_died_or_left(region, batches):
    """``n_removed`` counts each resident once, whether killed or emigrated, however the
    batches repeat and overlap (a module compares it with the deaths it was told of)."""
    pop = Population.synthesize(region, np.random.default_rng(3), total=200)
    for emigrate, ids in batches:
        ids = np.array(ids, dtype=np.int64)
        if emigrate:
            pop.emigrate(ids)
        else:
            pop.kill(ids)
        assert pop.n_removed == int((~pop.alive).sum())


def test_kill_counts_each_resident_once(pop):
    before = pop.alive_counts.copy()
    dead = pop.kill(np.array([3, 3, 10, 11]))
    assert dead.tolist() == [3, 10, 11]
    assert len(pop.kill(np.array([3, 10]))) == 0
    assert before.sum() - pop.alive_counts.sum() == 3
    assert pop.n_alive == before.sum() - 3


def test_append_counts_the_newcomers_at_once_and_indexes_them_at_reindex(pop):
    pop.add_column(Column("flag", "uint8", 7))
    n0 = pop.n
    before = pop.alive_counts.copy()
    ids = pop.append(
        np.array([0, 35]), np.array([1, 0]), np.array([2, 2]), np.array([pop.household[0], 999_999])
    )
    assert ids.tolist() == [n0, n0 + 1] and pop.n == n0 + 2
    assert pop.flag[ids].tolist() == [7, 7] and pop.alive[ids].all()
    assert not pop.in_hospital[ids].any()
    # counted among the living at once, drawn from no cell until the reindex
    assert pop.alive_counts[2, 0] == before[2, 0] + 1
    assert pop.alive_counts[2, 3] == before[2, 3] + 1
    assert ids[1] not in pop.cell_members(2 * N_AGE_BANDS + 3)
    appended = pop.alive_counts.copy()
    pop.reindex()
    np.testing.assert_array_equal(pop.alive_counts, appended)
    assert n0 in pop.household_members(np.array([pop.household[0]]))
    assert ids[1] in pop.cell_members(2 * N_AGE_BANDS + 3)


INDEXES = ("cell_order", "cell_size", "cell_start", "hh_order", "hh_start", "alive_counts")


@settings(max_examples=30, deadline=None)
@given(
    batches=st.lists(st.integers(0, 60), min_size=1, max_size=3),
    new_households=st.integers(0, 5),
    seed=st.integers(0, 2**31),
)
def test_index_appended_builds_the_indexes_a_reindex_would(region, batches, new_households, seed):
    """Rows appended in batches (newborns in existing households, a few new households),
    with deaths in between, indexed incrementally: every index equals a full reindex."""
    rng = np.random.default_rng(seed)
    pop = Population.synthesize(region, np.random.default_rng(3))
    for n_new in batches:
        pop.kill(np.flatnonzero(rng.random(pop.n) < 0.01))
        mothers = rng.integers(0, pop.n, n_new)
        household = pop.household[mothers]
        fresh = pop.n_households + np.arange(new_households)
        pop.append(
            np.zeros(n_new + new_households, np.uint8),
            rng.integers(0, 2, n_new + new_households),
            np.concatenate([pop.zone[mothers], rng.integers(0, pop.n_zones, new_households)]),
            np.concatenate([household, fresh]),
        )
        ids = pop.index_appended()
        assert ids.tolist() == list(range(pop.n - n_new - new_households, pop.n))
        full = Population.__new__(Population)
        full.__dict__.update(pop.__dict__)
        full.reindex()
        for name in INDEXES:
            got, want = getattr(pop, name), getattr(full, name)
            assert got.dtype == want.dtype, name
            np.testing.assert_array_equal(got, want, err_msg=name)
        assert pop.hh_in_row_order == full.hh_in_row_order
    assert len(pop.index_appended()) == 0  # nothing new: nothing to do


def test_advance_ages_moves_bands_and_spares_the_dead(pop):
    pop.kill(np.array([0]))
    age0 = pop.age.copy()
    pop.advance_ages()
    assert pop.age[0] == age0[0]
    assert (pop.age[1:].astype(int) == np.minimum(age0[1:].astype(int) + 1, 110)).all()
    np.testing.assert_array_equal(pop.band, np.minimum(pop.age // 10, 9))


def test_advance_ages_spares_the_rows_from_spare_from_on(pop):
    age0 = pop.age.copy()
    cut = pop.n - 5
    pop.advance_ages(1, spare_from=cut)
    np.testing.assert_array_equal(pop.age[cut:], age0[cut:])
    assert (pop.age[:cut].astype(int) == np.minimum(age0[:cut].astype(int) + 1, 110)).all()


def test_memory_per_resident_is_compact(pop):
    # core columns (11 bytes) + cell and household indexes: about 24 bytes a resident
    assert pop.nbytes_per_resident() < 32


def test_scale_counts_sums_to_the_total():
    counts = np.array([[3, 1], [0, 6]])
    out = scale_counts(counts, 21)
    assert out.sum() == 21 and out[1, 0] == 0
    with pytest.raises(ValueError):
        scale_counts(np.zeros((2, 2)), 5)


@settings(max_examples=30, deadline=None)
@given(ages=st.lists(st.integers(0, 99), min_size=1, max_size=60), seed=st.integers(0, 2**31))
def test_household_layout_of_any_small_group(ages, seed):
    age = np.array(ages)
    order, sizes = household_layout(age, np.random.default_rng(seed))
    assert sorted(order.tolist()) == list(range(len(age)))
    assert sizes.sum() == len(age) and (sizes >= 1).all()
    if (age >= ADULT_AGE).any():  # the head (first member) of each household is an adult
        heads = order[np.concatenate([[0], np.cumsum(sizes)[:-1]])]
        assert (age[heads] >= ADULT_AGE).all()


@settings(max_examples=30, deadline=None)
@given(st.integers(0, 2000), st.integers(1, 1500), st.integers(0, 2**32 - 1))
def test_order_within_groups_equals_lexsort(n, n_groups, seed):
    # exact: the same permutation as np.lexsort, also with repeated draws (ties broken
    # by position) and with more groups than the int64 key holds (lexsort fallback)
    rng = np.random.default_rng(seed)
    group = np.sort(rng.integers(0, n_groups, n))
    u = rng.random(n)
    if n > 10:
        u[: n // 4] = u[n // 4 : 2 * (n // 4)]  # ties
    want = np.lexsort((u, group))
    np.testing.assert_array_equal(order_within_groups(group, u, n_groups), want)


def test_ages_follow_the_life_table_within_bands_with_a_tail_past_99():
    from popsim.population import draw_ages

    rng = np.random.default_rng(0)
    n = 200_000
    age = draw_ages(np.full(n, 9), np.zeros(n, dtype=int), rng)
    assert age.min() == 90 and age.max() > 99
    counts = np.bincount(age, minlength=111)
    # survivors thin out: far more 90-year-olds than 99-year-olds (not uniform in the band)
    assert counts[90] > 3 * counts[99]
    young = draw_ages(np.full(n, 2), np.zeros(n, dtype=int), rng)
    share = np.bincount(young - 20, minlength=10) / n
    assert np.all(np.abs(share - 0.1) < 0.01)  # few deaths at 20-29: nearly even


def test_a_regions_age_table_gives_its_cohort_sizes_within_a_band():
    from popsim.population import age_counts, draw_ages

    rng = np.random.default_rng(0)
    n = 200_000
    # within 80-89 (men) the shares are the table's cohort sizes, not a stationary curve
    table = age_counts("canada_2026")[80:90, 1]
    want = table / table.sum()
    old = draw_ages(np.full(n, 8), np.ones(n, dtype=int), rng, "canada_2026")
    share = np.bincount(old - 80, minlength=10) / n
    se = np.sqrt(want * (1 - want) / n)
    assert np.all(np.abs(share - want) < 5 * se)
    stationary = np.bincount(draw_ages(np.full(n, 8), np.ones(n, dtype=int), rng) - 80) / n
    assert np.abs(stationary - want).max() > 10 * se.max()  # the two shapes differ
    # the 90+ band still runs past 99 (its 100-and-over spread by the life table)
    assert draw_ages(np.full(n, 9), np.ones(n, dtype=int), rng, "canada_2026").max() > 100
    with pytest.raises(ValueError, match="unknown age table"):
        age_counts("nowhere")


def test_household_sizes_tilt_to_the_zone_mean():
    from popsim.population import household_shares

    k = np.arange(1, 7)
    for mean in (1.9, 2.4, 3.0):
        assert abs((household_shares(mean) * k).sum() - mean) < 1e-6


@given(
    st.lists(st.integers(0, 1000), max_size=40),
    st.lists(st.tuples(st.integers(0, 40), st.integers(0, 1000)), max_size=20),
)
def test_insert_sorted_is_numpy_insert(old, inserts):
    """The index insertion of births equals ``np.insert`` at sorted positions (runs of
    equal positions, at the start, at the end)."""
    arr = np.array(old, dtype=np.int32)
    at = np.sort(np.array([min(a, len(arr)) for a, _ in inserts], dtype=np.int64))
    values = np.array([v for _, v in inserts], dtype=np.int32)
    got = insert_sorted(arr, at, values)
    assert got.dtype == arr.dtype
    np.testing.assert_array_equal(got, np.insert(arr, at, values))


def test_append_writes_into_room_and_copies_stay_apart():
    """Births appended twice: the second is written into the room the first left (no
    new array), every column keeps its values, and a deep copy is independent and does
    not carry the spare room."""
    import copy

    pop = Population.synthesize(synthetic_region(), np.random.default_rng(3), total=2_000)
    n0 = pop.n
    before = {k: v.copy() for k, v in pop.columns.items()}
    pop.append(np.zeros(5, np.uint8), np.ones(5), np.zeros(5), np.arange(5))
    buffer_of_sex = pop.sex.base
    pop.append(np.full(3, 40, np.uint8), np.zeros(3), np.ones(3), np.arange(3))
    assert pop.sex.base is buffer_of_sex  # written in place
    assert pop.n == n0 + 8
    for name, old in before.items():
        np.testing.assert_array_equal(pop.columns[name][:n0], old)
    np.testing.assert_array_equal(pop.age[n0:], [0] * 5 + [40] * 3)
    np.testing.assert_array_equal(pop.sex[n0:], [1] * 5 + [0] * 3)
    assert pop.alive[n0:].all() and not pop.in_hospital[n0:].any()
    twin = copy.deepcopy(pop)
    assert twin.sex.base is None  # the copy holds the column only
    twin.alive[n0] = False
    assert pop.alive[n0]
    twin.append(np.zeros(2, np.uint8), np.zeros(2), np.zeros(2), np.arange(2))
    assert twin.n == pop.n + 2 and pop.n == n0 + 8
