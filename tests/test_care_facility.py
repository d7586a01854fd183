"""Facilities: status by date and by event, funded beds changed by events, parameters."""

import dataclasses
from datetime import date

import numpy as np
import pytest
from conftest import NO_REFER
from conftest import facility_metric as _col

from popsim.care.network import CareParams
from popsim.core.event_types import ChangeBeds, CloseFacility, OpenFacility
from popsim.core.requests import MEDICAL, NeedBatch
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region

START = date(2026, 1, 1)


def _region(**cols):
    region = synthetic_region()
    fac = region.facilities.copy()
    for name, values in cols.items():
        fac[name] = values
    return dataclasses.replace(region, facilities=fac)


def _run(region, days=12, events=(), needs=None):
    model = RegionModel(region, ModelConfig(days=days, start=START, events=tuple(events)), seed=2)
    if needs is not None:
        model.request_care(needs(model))
    model.run()
    return model


def test_status_follows_the_table_dates():
    region = _region(
        status=["open", "planned", "closed"],
        open_date=["", "2026-01-06", "2026-01-03"],  # a closed site ignores its open date
        close_date=["2026-01-09", "", ""],
    )
    model = _run(region)
    is_open = _col(model, "open")
    assert is_open[:, 0].tolist() == [1] * 8 + [0] * 4
    assert is_open[:, 1].tolist() == [0] * 5 + [1] * 7
    assert is_open[:, 2].tolist() == [0] * 12
    # dates before the start: a planned site already opened; an open site opening later
    region = _region(
        status=["planned", "open", "planned"],
        open_date=["2025-06-01", "2026-01-04", ""],
        close_date=["", "", "2025-01-01"],
    )
    is_open = _col(_run(region), "open")
    assert is_open[:, 0].tolist() == [1] * 12
    assert is_open[:, 1].tolist() == [0] * 3 + [1] * 9
    assert is_open[:, 2].tolist() == [0] * 12


def test_a_closed_site_gets_no_arrivals_and_its_patients_are_transferred():
    region = synthetic_region()
    zone = int(region.facilities["zone"][1])  # the zone hosting site 1

    def needs(model):
        ids = np.flatnonzero(model.pop.zone == zone)[:5]
        return NeedBatch.build(ids, MEDICAL, ward_days=30)

    model = _run(region, events=[CloseFacility(day=4, facility=1)], needs=needs)
    census = _col(model, "ward_census")
    assert census[:4, 1].tolist() == [5] * 4 and census[4:, 1].sum() == 0
    assert census[4:].sum(axis=1).tolist() == [5] * 8
    assert _col(model, "transfers_out")[4, 1] == 5
    assert _col(model, "open")[4:, 1].sum() == 0
    assert _col(model, "ward_beds")[4:, 1].sum() == 0 < _col(model, "ward_beds")[3, 1]


def test_open_facility_event_opens_a_planned_site():
    region = _region(status=["open", "open", "planned"], open_date=["", "", ""])
    model = _run(region, events=[OpenFacility(day=3, facility=2)])
    assert _col(model, "open")[:, 2].tolist() == [0] * 3 + [1] * 9


def test_change_beds_moves_funded_beds_and_never_below_zero():
    region = synthetic_region()
    ward0 = int(region.facilities["ward_beds"][0])
    icu0 = int(region.facilities["icu_beds"][0])
    events = [
        ChangeBeds(day=2, facility=0, ward_beds=5, icu_beds=1),
        ChangeBeds(day=6, facility=0, ward_beds=-10_000, icu_beds=-1),
    ]
    model = _run(region, events=events)
    ward, icu = _col(model, "ward_beds")[:, 0], _col(model, "icu_beds")[:, 0]
    assert ward.tolist() == [ward0] * 2 + [ward0 + 5] * 4 + [0] * 6
    assert icu.tolist() == [icu0] * 2 + [icu0 + 1] * 4 + [icu0] * 6
    capacity = _col(model, "ward_capacity")[:, 0]
    surge = CareParams().surge_share
    assert capacity[2] == int((ward0 + 5) * (1 + surge)) and capacity[-1] == 0


def test_staffed_beds_limit_placements_like_missing_beds():
    region = synthetic_region(n_zones=1, n_facilities=1, population=3000)
    care = CareParams(surge_share=0.5, max_transfer_minutes=0.0)
    model = RegionModel(region, ModelConfig(days=3, care=care), seed=1)
    fac = model.care.facilities[0]
    assert fac.staffed_ward_beds is None and fac.staffed_icu_beds is None
    fac.staffed_ward_beds = 5
    model.request_care(NeedBatch.build(np.flatnonzero(model.pop.alive)[:8], MEDICAL, ward_days=5))
    model.step()
    assert _col(model, "ward_census")[0, 0] == 5 and _col(model, "ed_boarding")[0, 0] == 3
    assert _col(model, "ward_capacity")[0, 0] == 5  # the limit in force
    fac.staffed_ward_beds = None  # staffing restored: the boarders get beds
    model.step()
    assert _col(model, "ward_census")[1, 0] == 8 and _col(model, "ed_boarding")[1, 0] == 0
    with pytest.raises(ValueError, match="staffed_icu_beds"):
        fac.staffed_icu_beds = -1


def test_few_staffed_beds_divert_emergencies_as_few_funded_beds_do():
    region = synthetic_region(n_zones=4, n_facilities=3, population=20_000, seed=2)
    care = CareParams(divert_at=1.0, max_divert_minutes=600.0, p_refer=NO_REFER)
    model = RegionModel(region, ModelConfig(days=2, care=care), seed=1)
    zone = 0
    near = model.care.facilities[int(np.argmin(region.zone_facility_minutes[zone]))]
    ids = np.flatnonzero((model.pop.zone == zone) & model.pop.alive)[:3]
    near.staffed_ward_beds = 0  # no staff: load over no beds
    model.request_care(NeedBatch.build(ids, MEDICAL, ward_days=5))
    model.step()
    assert _col(model, "diversions")[0, near.index] == 3
    assert all(model.care.patients[int(r)].site is not near for r in ids)
