"""RegionModel: the day's phases, named random streams, events and bookkeeping."""

import mesa
import numpy as np
import pytest

from popsim.care.network import CareParams
from popsim.demand import DemandParams
from popsim.epidemic import EpidemicParams
from popsim.events import ChangeBeds
from popsim.model import ZONE_METRICS, ModelConfig, RegionModel
from popsim.synth import synthetic_region

ZI = {name: i for i, name in enumerate(ZONE_METRICS)}


@pytest.fixture(scope="module")
def region():
    return synthetic_region(n_zones=4, population=20_000, n_facilities=3, seed=3)


def _config(**kw):
    base = dict(days=40, demand=DemandParams(), care=CareParams())
    base.update(kw)
    return ModelConfig(**base)


def test_named_streams_are_reproducible_and_independent(region):
    a = RegionModel(region, _config(days=1), seed=7)
    b = RegionModel(region, _config(days=1, demand=None), seed=7)
    # The same name gives the same draws whatever else is switched on...
    assert np.array_equal(a.stream("epidemic").random(5), b.stream("epidemic").random(5))
    # ...and different names or seeds give different draws.
    assert not np.array_equal(a.stream("epidemic").random(5), a.stream("demand").random(5))
    c = RegionModel(region, _config(days=1), seed=8)
    assert not np.array_equal(a.stream("epidemic").random(5), c.stream("epidemic").random(5))


def test_same_seed_same_results_and_another_seed_differs(region):
    r1 = RegionModel(region, _config(), seed=11).run()
    r2 = RegionModel(region, _config(), seed=11).run()
    r3 = RegionModel(region, _config(), seed=12).run()
    assert np.array_equal(r1.facility_day, r2.facility_day)
    assert np.array_equal(r1.zone_day, r2.zone_day)
    assert not np.array_equal(r1.facility_day, r3.facility_day)


def test_zone_day_accounts_for_every_resident_and_matches_care(region):
    cfg = _config(
        days=60,
        epidemic=EpidemicParams(r0=2.5, seed_infections=30, seed_zones=["Z01"]),
    )
    model = RegionModel(region, cfg, seed=5)
    res = model.run()
    zd = res.zone_day
    states = zd[..., [ZI["susceptible"], ZI["exposed"], ZI["infectious"], ZI["recovered"]]]
    assert (states >= 0).all()
    total_dead = zd[..., ZI["deaths"]].sum()
    # Every resident is in exactly one state while alive; the dead leave the counts.
    living = states.sum(axis=(1, 2, 3))
    deaths_so_far = np.cumsum(zd[..., ZI["deaths"]].sum(axis=(1, 2)))
    assert np.array_equal(living, region.total_population - deaths_so_far)
    assert total_dead == (~model.pop.alive).sum()
    # New infections appear once the wave is seeded, and people recover.
    assert zd[..., ZI["new_infections"]].sum() > 100
    assert zd[-1, ..., ZI["recovered"]].sum() > 0
    # Admissions counted by zone equal admissions counted by site.
    adm = res.facility_metrics.index("admissions")
    assert zd[..., ZI["new_admissions"]].sum() == res.facility_day[..., adm].sum()


def test_events_apply_on_their_day_only(region):
    cfg = _config(days=10, events=(ChangeBeds(day=4, facility=1, ward_beds=-5, icu_beds=2),))
    res = RegionModel(region, cfg, seed=1).run()
    ward = res.facility_day[:, 1, res.facility_metrics.index("ward_beds")]
    icu = res.facility_day[:, 1, res.facility_metrics.index("icu_beds")]
    funded_ward = int(region.facilities.loc[1, "ward_beds"])
    funded_icu = int(region.facilities.loc[1, "icu_beds"])
    assert ward[:4].tolist() == [funded_ward] * 4
    assert ward[4:].tolist() == [funded_ward - 5] * 6
    assert icu[4:].tolist() == [funded_icu + 2] * 6


def test_release_frees_mesa_id_registry(region):
    model = RegionModel(region, _config(days=5), seed=2)
    model.run()
    assert model in mesa.Agent._ids
    model.release()
    assert model not in mesa.Agent._ids
