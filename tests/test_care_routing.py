"""Routing: nearest site, diversion, tertiary care, ICU transfers, boarding, ED visits."""

import dataclasses

import numpy as np
from conftest import NO_REFER, journey_of
from conftest import facility_metric as _col
from conftest import residents_in_zone as _residents

from popsim.care.facility import HELD, ICU, WARD
from popsim.care.network import CareParams
from popsim.core.requests import EPI_CRITICAL, MEDICAL, SURGICAL, NeedBatch
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


def _model(region=None, days=40, **care):
    region = region or synthetic_region()
    care.setdefault("p_refer", NO_REFER)
    return RegionModel(region, ModelConfig(days=days, care=CareParams(**care)), seed=5)


def _journey(model, resident):
    j = journey_of(model, resident)
    return j["event"], j["facility"]


def test_each_zone_goes_to_its_nearest_site():
    model = _model()
    minutes = model.region.zone_facility_minutes
    ids = np.concatenate([_residents(model, z) for z in range(model.region.n_zones)])
    model.request_care(NeedBatch.build(ids, MEDICAL, ward_days=5))
    model.step()
    for r in ids:
        assert model.care.patients[int(r)].site.index == int(np.argmin(minutes[model.pop.zone[r]]))


def test_a_site_past_its_threshold_diverts_emergencies_to_the_next_nearest():
    model = _model(divert_at=1.0, max_divert_minutes=600)
    zone = 0
    order = np.argsort(model.region.zone_facility_minutes[zone])
    near, second = model.care.facilities[order[0]], model.care.facilities[order[1]]
    near.n[WARD] = near.ward_beds  # full to funded beds: load 1.0 >= divert_at
    ids = _residents(model, zone, 3)
    model.request_care(NeedBatch.build(ids, MEDICAL, ward_days=5))
    model.step()
    assert {model.care.patients[int(r)].site.index for r in ids} == {second.index}
    assert _col(model, "diversions")[0, near.index] == 3
    assert _col(model, "ed_visits")[0, second.index] == 3


def test_a_site_whose_ed_works_short_diverts_emergencies_but_not_planned_care():
    """``Facility.ed_short`` (set by staffing) diverts new emergencies to the next nearest
    site as a site at its threshold does, with beds free; planned care still comes."""
    model = _model(max_divert_minutes=600)
    zone = 0
    order = np.argsort(model.region.zone_facility_minutes[zone])
    near, second = model.care.facilities[order[0]], model.care.facilities[order[1]]
    near.ed_short = True
    ids = _residents(model, zone, 4)
    model.request_care(NeedBatch.build(ids[:3], MEDICAL, ward_days=5))
    model.request_care(NeedBatch.build(ids[3:], SURGICAL, ward_days=5, elective=True))
    model.step()
    assert {model.care.patients[int(r)].site.index for r in ids[:3]} == {second.index}
    assert model.care.patients[int(ids[3])].site.index == near.index
    assert _col(model, "diversions")[0, near.index] == 3
    for fac in model.care.facilities:  # every ED short: the nearest anyway, uncounted
        fac.ed_short = True
    more = _residents(model, zone, 6)[4:]
    model.request_care(NeedBatch.build(more, MEDICAL, ward_days=5))
    model.step()
    assert {model.care.patients[int(r)].site.index for r in more} == {near.index}
    assert _col(model, "diversions")[1, near.index] == 0


def test_planned_surgery_is_not_diverted_and_tertiary_needs_go_to_the_tertiary_site():
    model = _model(divert_at=1.0)
    zone = 0
    near = model.care.facilities[int(np.argmin(model.region.zone_facility_minutes[zone]))]
    assert near.role != "tertiary"
    near.n[WARD] = near.ward_beds
    a, b = _residents(model, zone, 2)
    model.request_care(NeedBatch.build([a], SURGICAL, ward_days=3, elective=True))
    model.request_care(NeedBatch.build([b], MEDICAL, ward_days=3, tertiary=True))
    model.step()
    assert model.care.patients[int(a)].site is near
    tertiary = [f.index for f in model.care.facilities if f.role == "tertiary"]
    assert model.care.patients[int(b)].site.index in tertiary
    assert _col(model, "ed_visits")[0, near.index] == 0  # planned surgery skips the ED


def test_an_icu_need_at_a_full_icu_is_transferred_within_the_limit_or_held_outside_it():
    zone = 0
    for limit, moved in ((600.0, True), (0.0, False)):
        model = _model(max_transfer_minutes=limit)
        near = model.care.facilities[int(np.argmin(model.region.zone_facility_minutes[zone]))]
        near.n[ICU] = near.icu_capacity  # full, surge beds included
        r = int(_residents(model, zone)[0])
        model.request_care(NeedBatch.build([r], EPI_CRITICAL, icu_days=4, ward_days=2))
        model.step()
        p = model.care.patients[r]
        names, facs = _journey(model, r)
        if moved:
            assert p.unit == ICU
            assert p.site is not near and p.site.icu_census <= p.site.icu_capacity
            assert names == ["arrive", "transfer", "admit"] and facs[0] == near.index
            assert _col(model, "transfers_out")[0, near.index] == 1
            assert _col(model, "transfers_in")[0, p.site.index] == 1
        else:
            assert p.site is near and p.unit == HELD and near.icu_census == near.icu_capacity
            assert names == ["arrive", "board"]
            assert _col(model, "icu_outside")[0, near.index] == 1


def test_with_every_bed_full_patients_board_in_the_ed_and_get_the_next_free_bed():
    region = synthetic_region(n_zones=1, n_facilities=1, population=3000)
    fac = region.facilities.copy()
    fac["ward_beds"] = 2
    model = _model(dataclasses.replace(region, facilities=fac), surge_share=0.0)
    ids = _residents(model, 0, 4)
    model.request_care(NeedBatch.build(ids[:2], MEDICAL, ward_days=np.array([3, 10])))
    model.request_care(NeedBatch.build(ids[2:], MEDICAL, ward_days=np.array([20, 20])))
    for _ in range(6):
        model.step()
    board = _col(model, "ed_boarding")[:6, 0].tolist()
    ward = _col(model, "ward_census")[:6, 0].tolist()
    assert board == [2, 2, 2, 1, 1, 1]  # the day-3 discharge frees one bed for a boarder
    assert ward == [2] * 6
    assert _col(model, "admissions")[0, 0] == 4  # nobody is dropped
    names, _ = _journey(model, int(ids[2]))
    assert names == ["arrive", "board", "admit"]
    assert model.care.census() == 3 == len(model.care.patients)


def test_surge_beds_let_the_ward_census_exceed_funded_beds():
    region = synthetic_region(n_zones=1, n_facilities=1, population=3000)
    fac = region.facilities.copy()
    fac["ward_beds"] = 10
    model = _model(dataclasses.replace(region, facilities=fac), surge_share=0.3)
    model.request_care(NeedBatch.build(_residents(model, 0, 15), MEDICAL, ward_days=5))
    model.step()
    assert _col(model, "ward_census")[0, 0] == 13 and _col(model, "ed_boarding")[0, 0] == 2
    assert _col(model, "ward_capacity")[0, 0] == 13 and _col(model, "ward_beds")[0, 0] == 10


def test_ed_only_visits_are_counted_at_the_nearest_open_ed():
    model = _model()
    nz, nf = model.region.n_zones, model.region.n_facilities
    visits = np.arange(1, nz + 1) * 10
    model.request_ed_visits(visits)
    model.step()
    expected = np.zeros(nf, dtype=int)
    np.add.at(expected, np.argmin(model.region.zone_facility_minutes, axis=1), visits)
    assert _col(model, "ed_visits")[0].tolist() == expected.tolist()


def test_an_inpatient_turning_critical_moves_to_a_free_icu_elsewhere_when_its_own_is_full():
    model = _model(max_transfer_minutes=600)
    zone = 0
    near = model.care.facilities[int(np.argmin(model.region.zone_facility_minutes[zone]))]
    r = int(_residents(model, zone)[0])
    model.request_care(NeedBatch.build([r], MEDICAL, ward_days=10))
    model.step()
    near.n[ICU] = near.icu_capacity  # the ICU fills up, surge beds included
    model.request_care(NeedBatch.build([r], EPI_CRITICAL, icu_days=3, ward_days=2))
    model.step()
    p = model.care.patients[r]
    names, facs = _journey(model, r)
    # the transfer is followed by its admit into the ICU (an ICU entry)
    assert names == ["arrive", "admit", "transfer", "admit"]
    assert p.unit == ICU and p.site is not near
    assert near.ward_census == 0 and p.site.icu_census == 1
    assert _col(model, "transfers_out")[1, near.index] == 1


def test_with_no_open_ed_an_emergency_goes_to_any_open_site():
    region = synthetic_region()
    fac = region.facilities.copy()
    fac["has_ed"] = [False, False, False]
    model = _model(dataclasses.replace(region, facilities=fac))
    r = int(_residents(model, 0)[0])
    model.request_care(NeedBatch.build([r], MEDICAL, ward_days=3))
    model.step()
    nearest = int(np.argmin(model.region.zone_facility_minutes[0]))
    assert model.care.patients[r].site.index == nearest
    assert model.care.totals["unplaced"] == 0


def test_a_critical_need_bypasses_a_site_without_an_icu():
    region = synthetic_region()
    zone = 0
    near = int(np.argmin(region.zone_facility_minutes[zone]))
    fac = region.facilities.copy()
    fac.loc[near, "icu_beds"] = 0
    model = _model(dataclasses.replace(region, facilities=fac))
    a, b = (int(r) for r in _residents(model, zone, 2))
    model.request_care(NeedBatch.build([a], EPI_CRITICAL, icu_days=3, ward_days=2))
    model.request_care(NeedBatch.build([b], MEDICAL, ward_days=2))
    model.step()
    critical_site = model.care.patients[a].site
    assert critical_site.index != near and critical_site.icu_beds > 0
    assert _journey(model, a)[0] == ["arrive", "admit"]  # straight there, no transfer
    assert model.care.patients[b].site.index == near


def _network_region(refers_to, p_refer):
    region = synthetic_region(n_zones=4, n_facilities=3, population=20_000, seed=3)
    fac = region.facilities.copy()
    fac["role"] = ["community", "regional", "tertiary"]
    fac["refers_to"] = refers_to
    fac["p_refer"] = p_refer
    return dataclasses.replace(region, facilities=fac)


def test_referrals_follow_the_site_referral_network_not_the_nearest_higher_site():
    # site 0 refers every emergency on; its list names the tertiary site, farther or not
    ids = ["", "", ""]
    region = _network_region(["", "", ""], [1.0, float("nan"), float("nan")])
    ids = list(region.facilities["facility_id"])
    for target in (1, 2):
        region = _network_region([ids[target], "", ""], [1.0, float("nan"), float("nan")])
        model = _model(region)
        zone = int(region.facilities["zone"].iloc[0])
        near = np.argmin(region.zone_facility_minutes, axis=1) == 0
        zones = np.flatnonzero(near)
        people = np.concatenate([_residents(model, int(z))[:20] for z in zones])
        model.request_care(NeedBatch.build(people, MEDICAL, ward_days=5))
        model.step()
        sites = {model.care.patients[int(r)].site.index for r in people}
        assert sites == {target}, (zone, sites)


def test_a_full_community_site_transfers_along_its_network_into_surge_beds():
    region = _network_region(["", "", ""], [0.0, 0.0, 0.0])
    ids = list(region.facilities["facility_id"])
    for listed in (False, True):
        reg = _network_region([ids[1] if listed else "", "", ""], [0.0, 0.0, 0.0])
        model = _model(reg, max_transfer_minutes=1000)
        router = model.care.router
        site, dest = model.care.facilities[0], model.care.facilities[1]
        site.n[WARD] = site.ward_capacity  # full, surge beds too
        dest.n[WARD] = dest.ward_beds  # funded beds full, surge beds free
        model.care.facilities[2].n[WARD] = model.care.facilities[2].ward_capacity
        assert router.ward_transfer(site) == (1 if listed else -1)
