"""Contact matrices: the shipped published source, aggregation to bands, reciprocity."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from popsim.core.ages import N_AGE_BANDS
from popsim.epidemic.contacts import SETTINGS, community_layers, published, reciprocal, to_bands
from popsim.epidemic.params import EpidemicParams
from popsim.epidemic.transmission import age_counts
from popsim.population import Population
from popsim.region.load import load_region

PREM = "prem2021_canada"


def test_the_shipped_source_has_its_citation_and_four_settings_of_16_groups():
    src = published(PREM)
    assert any("Prem" in s and "e1009098" in s for s in src["sources"])
    assert src["lower"] == list(range(0, 80, 5))
    for s in SETTINGS:
        m = src["settings"][s]
        assert m.shape == (16, 16) and (m >= 0).all()
    # school contacts are those of school ages: 5-19 report most of them
    school = src["settings"]["school"].sum(axis=1)
    assert school[1:4].min() > 5 * school[5:].max()


_COUNTS = arrays(np.float64, 111, elements=st.integers(0, 1_000).map(float))
_MATRIX = arrays(np.float64, (16, 16), elements=st.floats(0, 10))


@settings(max_examples=60, deadline=None)
@given(counts=_COUNTS, m=_MATRIX)
def test_aggregating_to_bands_keeps_every_contact_and_reciprocity_is_exact(counts, m):
    lower = list(range(0, 80, 5))
    bands = to_bands(m, lower, counts)
    n_group = np.add.reduceat(counts, lower)
    n_band = np.add.reduceat(counts, list(range(0, 100, 10)))
    # the contacts made by the whole population are the same counted by band
    made = (n_group[:, None] * m).sum()
    np.testing.assert_allclose((n_band[:, None] * bands).sum(), made, rtol=1e-9, atol=1e-6)
    r = reciprocal(bands, n_band)
    n = np.maximum(n_band, 1.0)
    np.testing.assert_allclose(n[:, None] * r, (n[:, None] * r).T, rtol=1e-9, atol=1e-9)


def test_proportionate_mixing_by_group_stays_proportionate_by_band():
    # contacts with each group in proportion to its size (the open 75+ group included)
    # become contacts with each band in proportion to its size: the weights and the
    # split of 75+ between 70-79, 80-89 and 90+ follow the residents
    rng = np.random.default_rng(1)
    counts = rng.integers(50, 500, 111).astype(np.float64)
    lower = list(range(0, 80, 5))
    n_group = np.add.reduceat(counts, lower)
    m = np.tile(12.0 * n_group / n_group.sum(), (16, 1))
    bands = to_bands(m, lower, counts)
    n_band = np.add.reduceat(counts, list(range(0, 100, 10)))
    np.testing.assert_allclose(bands, np.tile(12.0 * n_band / n_band.sum(), (10, 1)))


def test_fraser_layers_leave_home_out_and_put_school_on_school_ages():
    region = load_region("fraser")
    pop = Population.synthesize(region, np.random.default_rng(0), total=100_000)
    counts = age_counts(pop)
    layers = community_layers(PREM, counts)
    assert set(layers) == {"school", "work", "other"}
    n = pop.alive_counts.sum(axis=0).astype(np.float64)
    for m in layers.values():
        np.testing.assert_allclose(n[:, None] * m, (n[:, None] * m).T, rtol=1e-9)
    school = layers["school"].sum(axis=1)
    assert school[:2].min() > 5 * school[2:].max()  # 0-19 against any adult band
    # the model's community contacts: school + work + other, not home (households are
    # explicit); Prem's all-settings Canada figures are 11-21 a day under 20
    total, at_school = EpidemicParams().contact_layers(counts)
    np.testing.assert_array_equal(at_school, layers["school"])
    per_day = total.sum(axis=1)
    home = to_bands(published(PREM)["settings"]["home"], published(PREM)["lower"], counts)
    assert (per_day < (total + home).sum(axis=1)).all()
    assert 8 < per_day[1] < 20 and per_day[8] < per_day[3]  # teens mix most, 80s least
    assert total.shape == (N_AGE_BANDS, N_AGE_BANDS)
