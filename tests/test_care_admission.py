"""Admission of a day's needs: unserved needs, epidemic admissions and census, new needs
of inpatients, and residents who died in hospital today."""

import numpy as np
from conftest import facility_metric as _col

from popsim.care.network import CareParams
from popsim.core.event_types import CloseFacility
from popsim.core.requests import EPI_SEVERE, MEDICAL, NeedBatch
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


def test_needs_with_no_open_site_are_unserved_at_the_nearest_site():
    region = synthetic_region(n_zones=3, n_facilities=2, population=6000, seed=1)
    events = tuple(CloseFacility(day=1, facility=f) for f in range(2))
    model = RegionModel(region, ModelConfig(days=3, events=events), seed=1)
    zone = 2
    nearest = int(np.argmin(region.zone_facility_minutes[zone]))
    ids = np.flatnonzero(model.pop.zone == zone)[:4]
    model.step()
    model.request_care(NeedBatch.build(ids, MEDICAL, ward_days=3))
    model.step()
    unserved = _col(model.results(), "unserved")
    assert unserved[1].tolist() == [4 if f == nearest else 0 for f in range(2)]
    assert unserved[0].sum() == 0 and model.care.totals["unplaced"] == 4
    assert not model.pop.in_hospital[ids].any()


def test_epidemic_census_follows_the_epidemic_admissions():
    region = synthetic_region(n_zones=1, n_facilities=1, population=3000)
    model = RegionModel(region, ModelConfig(days=8), seed=1)
    ids = np.flatnonzero(model.pop.alive)[:7]
    model.request_care(NeedBatch.build(ids[:4], EPI_SEVERE, ward_days=5))
    model.request_care(NeedBatch.build(ids[4:], MEDICAL, ward_days=2))
    model.run()
    result = model.results()
    assert _col(result, "epidemic_admissions")[:, 0].tolist() == [4] + [0] * 7
    assert _col(result, "epidemic_census")[:, 0].tolist() == [4] * 5 + [0] * 3
    assert _col(result, "admissions")[0, 0] == 7


def test_an_inpatient_with_an_epidemic_need_joins_the_epidemic_census_not_its_admissions():
    region = synthetic_region(n_zones=1, n_facilities=1, population=3000)
    model = RegionModel(region, ModelConfig(days=8), seed=1)
    ids = np.flatnonzero(model.pop.alive)[:3]
    model.request_care(NeedBatch.build(ids, MEDICAL, ward_days=6))
    model.step()
    model.request_care(NeedBatch.build(ids[:1], EPI_SEVERE, ward_days=3))
    model.run(7)
    result = model.results()
    assert _col(result, "epidemic_admissions")[:, 0].sum() == 0
    assert _col(result, "epidemic_census")[:, 0].tolist() == [0, 1, 1, 1, 1, 1, 0, 0]
    assert _col(result, "admissions")[:, 0].sum() == 3


def test_a_patient_who_died_today_is_not_admitted_again_the_same_day():
    # a stay ending in death today releases the patient (the model kills the resident at
    # the end of the day); a new need of that resident the same day must not admit a
    # patient who is then dead in hospital
    region = synthetic_region(n_zones=2, n_facilities=1, population=2_000, seed=1)
    model = RegionModel(region, ModelConfig(days=5, care=CareParams()), seed=3)
    r = np.array([int(np.flatnonzero(model.pop.alive & ~model.pop.in_hospital)[0])])
    model.request_care(NeedBatch.build(r, MEDICAL, ward_days=1, dies=True))
    model.step()
    assert int(r[0]) in model.care.patients
    model.request_care(NeedBatch.build(r, MEDICAL, ward_days=5))
    model.step()
    assert not model.pop.alive[r[0]] and not model.pop.in_hospital[r[0]]
    assert int(r[0]) not in model.care.patients
