"""Facilities: status by date and by event, funded beds changed by events, parameters."""

import dataclasses
from datetime import date

import numpy as np
from conftest import facility_metric as _col

from popsim.events import ChangeBeds, CloseFacility, OpenFacility
from popsim.model import ModelConfig, RegionModel
from popsim.needs import MEDICAL, NeedBatch
from popsim.synth import synthetic_region

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
    assert capacity[2] == int((ward0 + 5) * 1.15) and capacity[-1] == 0
