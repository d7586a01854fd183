"""Where patients are: ICU limits, critical care outside the ICU, queues, journeys."""

import dataclasses

import numpy as np
from conftest import NO_REFER, journey_of
from conftest import facility_metric as _col
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.care.facility import HELD, ICU
from popsim.care.network import CareParams
from popsim.core.event_types import ChangeBeds
from popsim.core.requests import EPI_CRITICAL, MEDICAL, NeedBatch
from popsim.epidemic.module import EpidemicParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


def _one_site(ward_beds=20, icu_beds=1, population=3000):
    region = synthetic_region(n_zones=1, n_facilities=1, population=population)
    fac = region.facilities.copy()
    fac["ward_beds"], fac["icu_beds"] = ward_beds, icu_beds
    return dataclasses.replace(region, facilities=fac)


def _journey(model, resident):
    """(event, unit) rows of a resident's journey, and their days."""
    j = journey_of(model, resident)
    return list(zip(j["event"], j["unit"], strict=True)), j["day"]


@settings(max_examples=15, deadline=None)
@given(
    n_zones=st.integers(1, 4),
    n_facilities=st.integers(1, 3),
    seed=st.integers(0, 10_000),
    icu_surge=st.floats(0.0, 0.6),
    transfer=st.floats(0.0, 120.0),
    changes=st.lists(
        st.tuples(st.integers(0, 39), st.integers(0, 2), st.integers(-15, 5), st.integers(-6, 3)),
        max_size=5,
    ),
    staffed=st.lists(st.one_of(st.none(), st.integers(0, 6)), min_size=3, max_size=3),
    critical_per_day=st.integers(0, 6),
)
def test_icu_census_never_exceeds_its_beds_plus_surge(
    n_zones, n_facilities, seed, icu_surge, transfer, changes, staffed, critical_per_day
):
    """Every day at every site, with an epidemic, random bed changes, staffed ICU beds set
    on some days and extra critical needs: ICU census <= ICU beds x (1 + ICU surge) (and
    <= staffed ICU beds when set); every patient is counted once in bed demand."""
    n_facilities = min(n_facilities, n_zones)
    region = synthetic_region(n_zones, 6000, n_facilities, seed=seed)
    events = tuple(
        ChangeBeds(day=d, facility=f % n_facilities, ward_beds=w, icu_beds=i)
        for d, f, w, i in changes
    )
    care = CareParams(icu_surge_share=icu_surge, max_transfer_minutes=transfer)
    epidemic = EpidemicParams(r0=3.0, seed_infections=30, seed_zones=[0])
    cfg = ModelConfig(days=40, epidemic=epidemic, care=care, events=events)
    model = RegionModel(region, cfg, seed=seed)
    rng = np.random.default_rng(seed)
    n = model.pop.n
    for day in range(cfg.days):
        limits = {}
        for fac in model.care.facilities:
            value = staffed[fac.index % 3] if day % 3 == 0 else None
            fac.staffed_icu_beds = value  # as a staffing module would, before the care phase
            if value is not None:
                limits[fac.index] = value
        ids = rng.integers(0, n, critical_per_day)
        icu = rng.integers(1, 12, len(ids))
        model.request_care(NeedBatch.build(ids, EPI_CRITICAL, icu, rng.integers(0, 6, len(ids))))
        model.step()
        census, beds = _col(model, "icu_census")[day], _col(model, "icu_beds")[day]
        assert (census <= beds * (1.0 + icu_surge)).all()
        for f, limit in limits.items():
            assert census[f] <= limit
        assert (_col(model, "icu_outside")[day] >= 0).all()
        demand = _col(model, "ward_demand")[day] + _col(model, "icu_demand")[day]
        assert demand.sum() == len(model.care.patients)


def test_a_full_icu_holds_critical_patients_outside_until_a_bed_frees():
    region = _one_site(icu_beds=1)
    care = CareParams(icu_surge_share=0.0, max_transfer_minutes=0.0, p_refer=NO_REFER)
    model = RegionModel(region, ModelConfig(days=8, care=care), seed=1)
    a, b, c = np.flatnonzero(model.pop.alive)[:3]
    model.request_care(NeedBatch.build([a], EPI_CRITICAL, icu_days=2, ward_days=3))
    model.request_care(NeedBatch.build([b, c], EPI_CRITICAL, icu_days=4, ward_days=3))
    model.run()
    assert _col(model, "icu_census")[:, 0].tolist()[:3] == [1, 1, 1]
    assert _col(model, "icu_outside")[:, 0].tolist()[:3] == [2, 2, 1]  # a steps down on day 2
    assert _col(model, "icu_demand")[0, 0] == 3 and _col(model, "admissions")[0, 0] == 3
    rows, days = _journey(model, int(b))
    assert rows[:3] == [("arrive", "ed"), ("board", "icu_outside"), ("admit", "icu")]
    assert days[:3] == [0, 0, 2]
    # c waits on: its ICU days end (day 4) before a bed frees, and it goes to the ward
    rows, _ = _journey(model, int(c))
    assert ("admit", "icu") not in rows and ("move_unit", "ward") in rows


def test_holding_outside_the_icu_raises_the_risk_of_death_by_the_documented_factor():
    """Every critical patient held (a site without ICU beds, no transfers): a survivor
    dies with probability (rel - 1) p / (1 - p); binomial tolerance of 4 sd."""
    care = CareParams(max_transfer_minutes=0.0, p_refer=NO_REFER)
    region = _one_site(icu_beds=0, ward_beds=5000, population=8000)
    model = RegionModel(region, ModelConfig(days=12, care=care), seed=3)
    ids = np.flatnonzero(model.pop.alive)[:4000]
    model.request_care(NeedBatch.build(ids, EPI_CRITICAL, icu_days=3, ward_days=2))
    model.run()
    q = care.p_die_held
    died = model.care.totals["died"]
    assert _col(model, "icu_outside")[0, 0] == len(ids)
    assert abs(died / len(ids) - q) < 4 * np.sqrt(q * (1 - q) / len(ids))
    assert model.care.totals["held_deaths"] == died
    # the same needs with ICU beds for all: nobody is held and nobody dies
    model = RegionModel(
        _one_site(icu_beds=5000, ward_beds=5000, population=8000),
        ModelConfig(days=12, care=care),
        seed=3,
    )
    model.request_care(NeedBatch.build(ids, EPI_CRITICAL, icu_days=3, ward_days=2))
    model.run()
    assert model.care.totals["died"] == 0 and _col(model, "icu_outside").sum() == 0


def test_icu_beds_cut_under_patients_move_the_excess_outside_the_icu():
    region = _one_site(icu_beds=6)
    care = CareParams(icu_surge_share=0.0, max_transfer_minutes=0.0, p_refer=NO_REFER)
    events = (ChangeBeds(day=2, facility=0, ward_beds=0, icu_beds=-4),)
    model = RegionModel(region, ModelConfig(days=4, care=care, events=events), seed=1)
    ids = np.flatnonzero(model.pop.alive)[:6]
    model.request_care(NeedBatch.build(ids, EPI_CRITICAL, icu_days=np.arange(5, 11), ward_days=2))
    model.run()
    assert _col(model, "icu_census")[:, 0].tolist() == [6, 6, 2, 2]
    assert _col(model, "icu_outside")[:, 0].tolist() == [0, 0, 4, 4]
    # those nearest the end of their ICU stay left it first
    held = {p.resident for p in model.care.patients.values() if p.unit == HELD}
    assert held == {int(r) for r in ids[:4]}


def test_an_icu_transfer_of_an_inpatient_is_an_icu_entry_and_a_warm_start_is_not():
    region = synthetic_region(n_zones=2, n_facilities=2, population=4000, seed=2)
    fac = region.facilities.copy()
    fac["icu_beds"] = [0, 4]  # the first site has no ICU
    region = dataclasses.replace(region, facilities=fac)
    care = CareParams(p_refer=NO_REFER, max_transfer_minutes=600.0)
    model = RegionModel(region, ModelConfig(days=5, care=care), seed=1)
    home = int(region.facilities["zone"][0])
    r = int(np.flatnonzero((model.pop.zone == home) & model.pop.alive)[0])
    warm = int(np.flatnonzero((model.pop.zone == home) & model.pop.alive)[1])
    model.request_care(NeedBatch.build([warm], MEDICAL, ward_days=6, prevalent=True))
    model.request_care(NeedBatch.build([r], MEDICAL, ward_days=6))
    model.step()
    assert model.care.patients[r].site.index == 0
    model.request_care(NeedBatch.build([r], EPI_CRITICAL, icu_days=2, ward_days=1))
    model.step()
    rows, _ = _journey(model, r)
    assert rows == [("arrive", "ed"), ("admit", "ward"), ("transfer", "icu"), ("admit", "icu")]
    assert model.care.patients[r].unit == ICU and model.care.patients[r].site.index == 1
    rows, days = _journey(model, warm)
    assert rows == [("start", "ward")] and days == [0]
    assert _col(model, "admissions")[0].sum() == 1  # the warm start is no admission


def test_a_patient_leaving_and_rejoining_a_queue_keeps_its_place_only_once():
    """A boarder moved to the ICU by a new need, then stepped down to the still full ward,
    queues again behind those who came meanwhile (its old entry is dead)."""
    region = _one_site(ward_beds=1, icu_beds=2)
    care = CareParams(surge_share=0.0, icu_surge_share=0.0, p_refer=NO_REFER)
    model = RegionModel(region, ModelConfig(days=12, care=care), seed=1)
    a, b, c, d = (int(x) for x in np.flatnonzero(model.pop.alive)[:4])
    model.request_care(NeedBatch.build([a], MEDICAL, ward_days=4))  # in the one bed
    model.request_care(NeedBatch.build([b], MEDICAL, ward_days=5))  # boards first
    model.step()
    model.request_care(NeedBatch.build([b], EPI_CRITICAL, icu_days=1, ward_days=5))
    model.request_care(NeedBatch.build([c], MEDICAL, ward_days=5))  # boards next
    model.step()
    model.step()  # b steps down on day 2 to the full ward: boards behind c
    model.request_care(NeedBatch.build([d], MEDICAL, ward_days=5))
    model.step()
    model.step()  # day 4: a leaves; c (waiting since day 1) gets the bed, not b
    patients = model.care.patients
    assert patients[c].unit != patients[b].unit
    assert _journey(model, c)[0][-1] == ("admit", "ward")
    assert _journey(model, b)[0][-1] == ("board", "ed")
