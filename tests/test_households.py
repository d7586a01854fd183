"""The early growth of the epidemic with households (popsim.epidemic.households)."""

import math

import numpy as np
import pytest

from popsim.epidemic.households import (
    generation_mgf,
    generation_pmf,
    household_growth_rate,
    household_outbreaks,
)
from popsim.epidemic.params import EpidemicParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


@pytest.fixture(scope="module")
def town():
    """A town of 20,000 with its households, and its calibrated transmission."""
    region = synthetic_region(2, 20_000, 1, seed=5)

    def build(share: float):
        p = EpidemicParams(r0=1.8, household_share=share)
        model = RegionModel(region, ModelConfig(days=1, epidemic=p), seed=1)
        return p, model.pop, model.epidemic.tr

    return build


def test_the_generation_interval_in_whole_days():
    # latent 3 days, infectious 2: infections on days 3 and 4 after one's own, half each
    p = EpidemicParams(dur_latent={"mean": 3, "sd": 0}, dur_infectious={"mean": 2, "sd": 0})
    g = generation_pmf(p)
    assert g[3] == pytest.approx(0.5) and g[4] == pytest.approx(0.5)
    assert g.sum() == pytest.approx(1.0)
    # the drawn periods (lognormal) against the pmf: the same moment generating function
    # up to the Monte Carlo error of 200,000 draws
    q = EpidemicParams()
    lag = np.arange(len(generation_pmf(q)))
    assert generation_mgf(q, 0.1) == pytest.approx(
        float((generation_pmf(q) * np.exp(-0.1 * lag)).sum()), rel=0.01
    )


def test_without_households_the_relation_is_wallinga_lipsitch(town):
    p, pop, tr = town(0.0)
    r = household_growth_rate(p, pop, tr.beta, 0.0, n_per_band=2_000)
    assert 1.0 / generation_mgf(p, r) == pytest.approx(1.8, rel=0.005)


def test_households_saturate_so_growth_is_slower_than_r0_says(town):
    p, pop, tr = town(0.3)
    assert tr.p_household > 0
    r = household_growth_rate(p, pop, tr.beta, tr.p_household, n_per_band=2_000)
    implied = 1.0 / generation_mgf(p, r)
    assert math.isfinite(r) and 1.5 < implied < 1.79


def test_household_outbreaks_follow_the_rules(town):
    p, pop, tr = town(0.3)
    primary_band, band, day = household_outbreaks(p, pop, 1.0, n_per_band=200)
    # with certain transmission every living housemate is infected, none on day 0 but
    # the primaries (a latent period of at least a day), none before a latent period
    assert (day == 0).sum() == 200 * len(np.unique(primary_band))
    assert day[day > 0].min() >= 1
    _, _, none = household_outbreaks(p, pop, 0.0, n_per_band=200)
    assert (none == 0).all()
