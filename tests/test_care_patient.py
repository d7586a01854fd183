"""Patients: paths through ICU, ward and ALC, discharge and death written back to residents."""

import copy
import dataclasses

import numpy as np
from conftest import NO_REFER as NO_REFER_SHARES
from conftest import journey_of, residents_in_zone
from hypothesis import given
from hypothesis import strategies as st

from popsim.care.facility import ALC, ICU, WARD
from popsim.care.network import CareParams
from popsim.care.patient import (
    EVENT_NAMES,
    JourneyLog,
    Patient,
    deregister_patients,
    merge_paths,
    plan_path,
    register_patients,
)
from popsim.core.requests import EPI_CRITICAL, MEDICAL, NeedBatch
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region

#: No referrals: these tests follow one patient at the site it arrived at.
NO_REFER = CareParams(p_refer=NO_REFER_SHARES)


def _model(days=30, **kw):
    return RegionModel(synthetic_region(**kw), ModelConfig(days=days, care=NO_REFER), seed=3)


def _resident_in_zone(model, zone):
    return int(residents_in_zone(model, zone)[0])


def _events(model, resident):
    j = journey_of(model, resident)
    return j["event"], j["day"], j["unit"], j["facility"]


def _n_patient_agents(model):
    return sum(isinstance(a, Patient) for a in model.agents)


def test_plan_path_orders_icu_ward_alc_and_skips_empty_phases():
    assert plan_path(2, 3, 4) == ((ICU, 2), (WARD, 3), (ALC, 4))
    assert plan_path(0, 5, 0) == ((WARD, 5),)
    assert plan_path(3, 0, 0) == ((ICU, 3),)
    assert plan_path(0, 0, 0) == ((WARD, 1),)


def test_icu_step_down_alc_and_discharge_follow_the_planned_days():
    model = _model()
    r = _resident_in_zone(model, 0)
    site = int(np.argmin(model.region.zone_facility_minutes[0]))
    model.request_care(NeedBatch.build([r], MEDICAL, icu_days=2, ward_days=3, alc_days=4))
    inside = []
    for _ in range(12):
        model.step()
        inside.append(bool(model.pop.in_hospital[r]))
    names, days, units, facs = _events(model, r)
    assert names == ["arrive", "admit", "move_unit", "alc", "discharge"]
    assert days == [0, 0, 2, 5, 9]
    assert units == ["ed", "icu", "ward", "alc", "alc"]
    assert set(facs) == {site}
    assert inside == [True] * 9 + [False] * 3
    fd = model.facility_day
    m = {k: i for i, k in enumerate(model.care.metrics)}
    assert fd[:12, site, m["icu_census"]].tolist() == [1, 1] + [0] * 10
    assert fd[:12, site, m["ward_census"]].tolist() == [0, 0, 1, 1, 1] + [0] * 7
    assert fd[:12, site, m["alc_census"]].tolist() == [0] * 5 + [1] * 4 + [0] * 3
    assert fd[9, site, m["discharges"]] == 1 and fd[:, site, m["discharges"]].sum() == 1
    assert model.pop.alive[r] and _n_patient_agents(model) == 0


def test_a_stay_that_ends_in_death_kills_the_resident_and_removes_the_agent():
    model = _model()
    r = _resident_in_zone(model, 1)
    model.request_care(NeedBatch.build([r], MEDICAL, ward_days=3, dies=True))
    model.step()
    assert _n_patient_agents(model) == 1 and model.pop.in_hospital[r]
    for _ in range(4):
        model.step()
    names, days, _, _ = _events(model, r)
    assert names == ["arrive", "admit", "death"] and days == [0, 0, 3]
    assert not model.pop.alive[r] and not model.pop.in_hospital[r]
    assert _n_patient_agents(model) == 0
    zone, band = model.pop.zone[r], model.pop.band[r]
    assert model.zone_day[3, zone, band, -1] == 1  # deaths column of zone_day
    assert model.zone_day[0, zone, band, -2] == 1  # new_admissions column
    assert model.care.totals["died"] == 1


def test_needs_of_dead_residents_are_skipped_and_inpatients_are_repathed():
    model = _model()
    dead, r = _resident_in_zone(model, 0), _resident_in_zone(model, 2)
    model.kill(np.array([dead]))
    model.request_care(NeedBatch.build([dead, r], MEDICAL, ward_days=10))
    model.step()
    assert model.care.totals["skipped"] == 1 and len(model.care.patients) == 1
    model.step()
    # an epidemic critical case for the inpatient: moves to ICU today and dies there
    model.request_care(NeedBatch.build([r], EPI_CRITICAL, icu_days=2, ward_days=0, dies=True))
    model.step()
    names, days, units, _ = _events(model, r)
    assert names[-1] == "move_unit" and units[-1] == "icu" and days[-1] == 2
    for _ in range(3):
        model.step()
    names, days, _, _ = _events(model, r)
    assert names[-1] == "death" and days[-1] == 4  # the old discharge on day 10 is gone
    assert model.care.census() == 0 and not model.pop.alive[r]


def test_a_resident_killed_elsewhere_leaves_hospital_at_the_next_event():
    model = _model()
    r = _resident_in_zone(model, 3)
    model.request_care(NeedBatch.build([r], MEDICAL, ward_days=4))
    model.step()
    model.kill(np.array([r]))  # e.g. demography
    for _ in range(5):
        model.step()
    names, days, _, _ = _events(model, r)
    assert names == ["arrive", "admit", "death"] and days[-1] == 4
    assert model.care.census() == 0 and not model.pop.in_hospital[r]


def test_journey_log_arrays_have_the_schema_types_and_can_be_switched_off():
    log = JourneyLog()
    log.add(5, 1, 0, 2, 1)
    log.add(7, 3, 6, 0, 3)
    cols, codes = log.arrays()
    assert cols["resident_id"].dtype == np.int32 and cols["day"].dtype == np.int16
    assert cols["event"].dtype == np.uint8 and cols["facility"].dtype == np.int16
    assert cols["unit"].dtype == np.uint8
    assert cols["resident_id"].tolist() == [5, 7] and cols["unit"].tolist() == [1, 3]
    assert codes["event"] == EVENT_NAMES and "discharge" in codes["event"]
    off = JourneyLog(enabled=False)
    off.add(1, 1, 1, 1, 1)
    assert len(off) == 0 and len(off.arrays()[0]["day"]) == 0


def test_a_deep_copy_of_the_model_writes_journey_rows_to_its_own_log():
    """The network and its placement append rows to the log's list of the day; a deep
    copy of the model (the twin's branching) appends to its own, the original's log is
    untouched, and both copies' rows of the days before are the same."""
    model = _model()
    r = _resident_in_zone(model, 0)
    model.request_care(NeedBatch.build([r], MEDICAL, ward_days=2))
    model.step()
    rows_before = model.care.journeys()[0]["day"].tolist()
    twin = copy.deepcopy(model)
    for _ in range(3):  # the copy's patient is discharged on day 2
        twin.step()
    assert model.care.journeys()[0]["day"].tolist() == rows_before
    assert _events(twin, r)[0] == ["arrive", "admit", "discharge"]
    assert twin.care.journeys()[0]["day"].tolist()[: len(rows_before)] == rows_before


def test_an_icu_step_down_to_a_full_ward_boards_until_a_bed_frees():
    region = synthetic_region(n_zones=1, n_facilities=1, population=3000)
    fac = region.facilities.copy()
    fac["ward_beds"] = 2
    care = NO_REFER.model_copy(update={"surge_share": 0.0})
    model = RegionModel(dataclasses.replace(region, facilities=fac), ModelConfig(care=care), seed=3)
    ids = np.flatnonzero(model.pop.alive)[:3]
    model.request_care(NeedBatch.build(ids[:2], MEDICAL, ward_days=4))  # the ward is full
    model.request_care(NeedBatch.build(ids[2:], EPI_CRITICAL, icu_days=2, ward_days=3))
    for _ in range(7):
        model.step()
    m = {k: i for i, k in enumerate(model.care.metrics)}
    fd = model.facility_day[:7, 0]
    assert fd[:, m["icu_census"]].tolist() == [1, 1, 0, 0, 0, 0, 0]
    assert fd[:, m["ed_boarding"]].tolist() == [0, 0, 1, 1, 0, 0, 0]  # waits days 2-3
    assert fd[:, m["ward_census"]].tolist() == [2, 2, 2, 2, 1, 0, 0]  # never above beds
    names, days, units, _ = _events(model, int(ids[2]))
    assert names == ["arrive", "admit", "board", "admit", "discharge"]
    assert days == [0, 0, 2, 4, 5] and units[2:4] == ["ed", "ward"]


_PHASES = st.lists(
    st.tuples(st.sampled_from([ICU, WARD, ALC]), st.integers(1, 12)), min_size=1, max_size=3
)
_RANK = {ICU: 3, WARD: 2, ALC: 1}


def _days(phases):
    return [u for u, n in phases for _ in range(n)]


@given(old=_PHASES, old_dies=st.booleans(), new=_PHASES, new_dies=st.booleans())
def test_a_merged_path_gives_each_day_the_more_intensive_unit_of_the_two(
    old, old_dies, new, new_dies
):
    merged, dies = merge_paths(tuple(old), old_dies, tuple(new), new_dies)
    a, b, m = _days(old), _days(new), _days(merged)
    # as long as the longer path, or the new one when it ends in death
    assert len(m) == (len(b) if new_dies else max(len(a), len(b)))
    for i, unit in enumerate(m):
        here = [x[i] for x in (a, b) if i < len(x)]
        assert _RANK[unit] == max(_RANK[u] for u in here)
    assert dies == (old_dies or new_dies)
    assert all(n > 0 for _, n in merged)
    assert all(u != v for (u, _), (v, _) in zip(merged, merged[1:], strict=False))


def test_a_merge_keeps_an_open_ended_alc_stay_after_the_new_need_and_never_is_empty():
    old = ((ALC, 20_000),)  # an open-ended ALC stay (ALC_OPEN_DAYS)
    assert merge_paths(old, False, ((ICU, 2), (WARD, 3)), False) == (
        ((ICU, 2), (WARD, 3), (ALC, 19_995)),
        False,
    )
    assert merge_paths(old, False, ((WARD, 4),), True) == (((WARD, 4),), True)
    assert merge_paths(((WARD, 0),), False, ((ICU, -1),), False) == (((WARD, 1),), False)


def test_an_inpatient_with_a_longer_epidemic_need_stays_longer_on_one_admission():
    model = _model()
    r = _resident_in_zone(model, 1)
    model.request_care(NeedBatch.build([r], MEDICAL, ward_days=4))
    model.step()  # day 0: admitted, discharge planned on day 4
    model.step()
    model.request_care(NeedBatch.build([r], EPI_CRITICAL, icu_days=3, ward_days=5))
    for _ in range(12):
        model.step()
    names, days, units, _ = _events(model, r)
    # to the ICU on day 2, back to the ward on day 5, home on day 10: one admission
    assert names.count("admit") == 1 and names.count("arrive") == 1
    assert ("move_unit", 2, "icu") in list(zip(names, days, units, strict=True))
    assert names[-1] == "discharge" and days[-1] == 10
    assert model.care.totals["admitted"] == 1 and model.care.totals["repathed"] == 1
    assert model.pop.alive[r]


def test_batch_registration_is_mesas_membership_and_count():
    """Patients registered in a batch are in Mesa's registries (membership, count,
    order), leave them one by one through Mesa (``remove``) or in a batch, and a
    patient registered by Mesa itself leaves with a batch."""
    model = _model()
    first = Patient(model, 0, MEDICAL, 0, 5, 0, ((WARD, 3),), False)  # through Mesa
    batch = [
        Patient(model, r, MEDICAL, 0, 5, 0, ((WARD, 3),), False, register=False)
        for r in (1, 2, 3, 4)
    ]
    register_patients(model, batch)
    by_type = model.agents_by_type[Patient]
    assert list(by_type) == [first, *batch]
    assert len(by_type) == 5 and _n_patient_agents(model) == 5
    assert batch[2] in by_type and batch[2] in model.agents
    batch[2].remove()
    assert batch[2] not in by_type and len(by_type) == 4 and _n_patient_agents(model) == 4
    deregister_patients(model, [first, batch[0]])
    assert list(by_type) == [batch[1], batch[3]] and len(model.agents_by_type[Patient]) == 2
    deregister_patients(model, [batch[1], batch[3]])
    assert len(by_type) == 0 and _n_patient_agents(model) == 0
