"""Referral by role: emergencies admitted at a higher-role site with the site role's p_refer."""

import dataclasses

import numpy as np
from conftest import NO_REFER
from conftest import facility_metric as _col

from popsim.care.network import CareParams
from popsim.core.requests import MATERNITY, MEDICAL, SURGICAL, NeedBatch
from popsim.demand import DemandParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


def _region(roles):
    """A synthetic region with the given roles (facility 0 stays the tertiary site)."""
    region = synthetic_region(n_zones=4, n_facilities=len(roles), population=30_000, seed=4)
    fac = region.facilities.copy()
    fac["role"] = roles
    return dataclasses.replace(region, facilities=fac)


def _rows(model):
    """Journey rows as (resident, event name, facility) tuples in order."""
    j, codes = model.care.journeys()
    names = [codes["event"][e] for e in j["event"].tolist()]
    return list(zip(j["resident_id"].tolist(), names, j["facility"].tolist(), strict=True))


def _demand_model(region, days, **care):
    cfg = ModelConfig(days=days, demand=DemandParams(), care=CareParams(**care))
    model = RegionModel(region, cfg, seed=9)
    model.run()
    return model


def test_a_stabilisation_site_admits_nobody_and_transfers_its_emergencies_up():
    region = _region(["tertiary", "stabilisation", "regional"])
    p_refer = {**NO_REFER, "stabilisation": 1.0}
    model = _demand_model(region, 40, p_refer=p_refer)
    stab = 1
    for name in ("ward_census", "icu_census", "alc_census", "ed_boarding", "admissions"):
        assert _col(model, name)[:, stab].sum() == 0, name
    assert _col(model, "transfers_in")[:, stab].sum() == 0
    rows = _rows(model)
    arrived = [i for i, (_, e, f) in enumerate(rows) if e == "arrive" and f == stab]
    assert len(arrived) > 20  # the site's ED sees its zones' emergencies (about 30 here)
    higher = int(np.argmin(region.zone_facility_minutes[model.care.facilities[stab].zone, [0, 2]]))
    target = [0, 2][higher]  # the nearest higher-role site to the stabilisation site
    for i in arrived:  # each is followed by a transfer of the same resident up
        r, e, f = rows[i + 1]
        assert (r, e, f) == (rows[i][0], "transfer", target)
    assert _col(model, "transfers_out")[:, stab].sum() == len(arrived)
    assert _col(model, "ed_visits")[:, stab].sum() >= len(arrived)


def test_with_every_p_refer_zero_each_admission_stays_at_its_nearest_site():
    region = _region(["tertiary", "stabilisation", "community"])
    care = CareParams(p_refer=NO_REFER)
    model = RegionModel(region, ModelConfig(days=5, care=care), seed=9)
    nearest = np.argmin(region.zone_facility_minutes, axis=1)
    zone = model.pop.zone
    ids = np.concatenate([np.flatnonzero(zone == z)[:5] for z in range(region.n_zones)])
    model.request_care(NeedBatch.build(ids[::2], MEDICAL, ward_days=3))
    model.request_care(NeedBatch.build(ids[1::2], SURGICAL, ward_days=3, elective=True))
    model.step()
    for r in ids.tolist():
        assert model.care.patients[r].site.index == nearest[zone[r]]
    assert _col(model, "admissions")[0, 1] > 0  # the stabilisation site admits too
    # a month of everyday demand (about 170 stays): no transfer at all without bed limits
    model = _demand_model(region, 30, p_refer=NO_REFER, uncapped=True)
    assert _col(model, "transfers_out").sum() == 0
    rows = _rows(model)
    arrivals = [i for i, (_, e, _) in enumerate(rows) if e == "arrive"]
    assert len(arrivals) > 100
    assert all(rows[i + 1] == (rows[i][0], "admit", rows[i][2]) for i in arrivals)
    assert _col(model, "admissions")[:, 1].sum() > 0


def test_the_referral_rate_at_a_community_site_matches_p_refer():
    region = _region(["tertiary", "community", "community"])
    p = 0.3
    cfg = ModelConfig(days=2, care=CareParams(uncapped=True, p_refer={**NO_REFER, "community": p}))
    model = RegionModel(region, cfg, seed=9)
    nearest = np.argmin(region.zone_facility_minutes, axis=1)
    community_zones = np.flatnonzero(nearest != 0)
    ids = np.flatnonzero(np.isin(model.pop.zone, community_zones) & model.pop.alive)
    ids = ids[~model.pop.in_hospital[ids]]
    n = 3000
    emergency, planned = ids[:n], ids[n : n + 400]
    model.request_care(NeedBatch.build(emergency, MEDICAL, ward_days=3))
    half = len(planned) // 2
    model.request_care(NeedBatch.build(planned[:half], SURGICAL, ward_days=2, elective=True))
    model.request_care(NeedBatch.build(planned[half:], MATERNITY, ward_days=2))
    model.step()
    referred = {r for r, e, _ in _rows(model) if e == "transfer"}
    assert not referred & set(planned.tolist())  # planned care goes where it is booked
    # binomial(n, p): sd sqrt(n p (1 - p)) (25 here); allow 4 sd
    k = len(referred)
    assert abs(k - n * p) < 4 * np.sqrt(n * p * (1 - p))
    assert _col(model, "transfers_out")[0, 1:].sum() == k == _col(model, "transfers_in")[0, 0]
    # the same seed gives the same referrals (the care network's own random stream)
    again = RegionModel(region, cfg, seed=9)
    again.request_care(NeedBatch.build(emergency, MEDICAL, ward_days=3))
    again.step()
    assert {r for r, e, _ in _rows(again) if e == "transfer"} == referred
