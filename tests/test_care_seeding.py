"""Seeding the care network from an observed census (forecast warm start)."""

import numpy as np
import pytest
from conftest import facility_metric as _col

from popsim.care.facility import ALC, WARD
from popsim.care.network import CareParams
from popsim.care.seeding import STAY_DAYS
from popsim.core.requests import MEDICAL
from popsim.demand import P_ALC_BAND, P_ALC_TYPE
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region


def _model(days=5, population=20_000):
    region = synthetic_region(n_zones=3, n_facilities=3, population=population, seed=1)
    return RegionModel(region, ModelConfig(days=days, care=CareParams()), seed=1)


def test_a_seeded_census_is_reproduced_exactly_before_any_step():
    model = _model()
    census = {(0, "ward"): 40, (0, "icu"): 3, (1, "alc"): 7, (2, "ward"): 12, (2, "icu"): 99}
    model.care.seed_census(census, np.random.default_rng(4))
    names = {"ward": "ward_census", "icu": "icu_census", "alc": "alc_census"}
    for f in range(3):
        for unit, column in names.items():
            assert _col(model, column)[0, f] == census.get((f, unit), 0)
    # 99 ICU patients at a site with far fewer ICU beds: placed as observed (the first
    # step brings the ICU within its limit)
    assert model.care.facilities[2].icu_census == 99
    total = sum(census.values())
    assert model.pop.in_hospital.sum() == total == len(model.care.patients)
    assert _col(model, "admissions")[0].sum() == 0
    journeys, codes = model.care.journeys()
    assert (journeys["event"] == codes["event"].index("start")).sum() == total
    model.step()
    assert _col(model, "icu_census")[0, 2] <= model.care.facilities[2].icu_capacity


def test_seeded_remaining_stays_are_those_of_a_steady_state_snapshot():
    """Renewal theory: a stay caught at a random moment has mean remaining length
    E[S^2] / (2 E[S]); rounded up to whole days, half a day more. Tolerance: 4 standard
    errors of the sample mean."""
    model = _model(population=30_000)
    n = 4000
    model.care.seed_census({(0, "ward"): n}, np.random.default_rng(7))
    left = np.array([p.day_next for p in model.care.patients.values()], dtype=float)
    mean, sd = STAY_DAYS[WARD]
    expected = (mean**2 + sd**2) / (2 * mean) + 0.5
    se = left.std(ddof=1) / np.sqrt(n)
    assert abs(left.mean() - expected) < 4 * se
    assert left.min() >= 1


@pytest.mark.parametrize(
    "census",
    [{(5, "ward"): 1}, {(0, "held"): 1}, {(0, "ward"): -2}, {(0, "ward"): 1.5}, {0: 3}],
)
def test_a_bad_census_entry_is_refused_and_nothing_is_placed(census):
    model = _model()
    with pytest.raises(ValueError, match="census"):
        model.care.seed_census(census, np.random.default_rng(1))
    assert len(model.care.patients) == 0


def test_clearing_mid_run_empties_every_place_and_count_then_seeding_is_exact():
    """Mid-run (boarders, patients held outside a full ICU, epidemic patients): clear()
    leaves no patient, census, queue entry or hospital flag behind, counts no discharge,
    and a census seeded afterwards is reproduced exactly."""
    from popsim.care.patient import Patient
    from popsim.core.requests import EPI_CRITICAL, MEDICAL, NeedBatch

    model = _model(days=6)
    for f in model.care.facilities:
        f.icu_beds, f.ward_beds = 1, 5
    ids = np.flatnonzero(model.pop.alive)
    model.request_care(NeedBatch.build(ids[:30], EPI_CRITICAL, icu_days=5, ward_days=3))
    model.request_care(NeedBatch.build(ids[30:90], MEDICAL, ward_days=6))
    model.step()
    assert _col(model, "icu_outside")[0].sum() > 0 and _col(model, "ed_boarding")[0].sum() > 0
    discharged = model.care.totals["discharged"]
    model.care.clear()
    assert all(f.n == [0] * 5 and f.n_epidemic == 0 for f in model.care.facilities)
    assert not model.care.patients and not model.pop.in_hospital.any()
    assert not model.agents_by_type.get(Patient, ())
    assert model.care.totals["discharged"] == discharged
    census = {(0, "icu"): 1, (1, "ward"): 4}
    model.care.seed_census(census, np.random.default_rng(2))
    model.step()  # the seeded patients and no others (their stays outlast today)
    assert _col(model, "icu_census")[1, 0] == 1 and _col(model, "ward_census")[1, 1] == 4
    assert _col(model, "icu_outside")[1].sum() == 0 and _col(model, "ed_boarding")[1].sum() == 0


def test_seeded_ed_boarders_wait_for_a_ward_bed_and_take_the_first_ones_freed():
    """Boarders seeded at a full site are counted in ``ed_boarding`` (not the ward) before
    any step, with no admission counted; when ward beds are added they are placed before
    any new patient (first come, first served), each in the ward."""
    from popsim.care.facility import ED

    model = _model(days=3)
    site = model.care.facilities[0]
    full = site.ward_capacity
    model.care.seed_census({(0, "ward"): full, (0, "ed"): 6}, np.random.default_rng(3))
    assert _col(model, "ed_boarding")[0, 0] == 6 and _col(model, "ward_census")[0, 0] == full
    assert _col(model, "admissions")[0].sum() == 0
    boarders = [p for p in model.care.patients.values() if p.unit == ED]
    assert len(boarders) == 6 and all(p.phases[0][0] == WARD for p in boarders)
    assert all(unit == ALC for p in boarders for unit, _ in p.phases[1:])
    assert not site.ward_free()
    site.change_beds(6, 0)
    model.step()
    assert all(p.unit == WARD and p.site is site for p in boarders)


def test_seeded_ward_patients_go_on_to_alc_like_new_medical_stays():
    """A forecast's ALC census must not drain: seeded ward patients who survive go on to
    ALC with the demand module's probability for a medical stay of their age band (the
    expected count, less the seeded 3% who die; 4 binomial standard errors), and the ALC
    census rises from zero once their ward phases end."""
    model = _model(days=40, population=30_000)
    n = 4000
    model.care.seed_census({(0, "ward"): n}, np.random.default_rng(11))
    patients = list(model.care.patients.values())
    went = np.array([any(u == ALC for u, _ in p.phases) for p in patients])
    p_alc = (P_ALC_BAND * P_ALC_TYPE[MEDICAL])[[p.band for p in patients]] * 0.97
    expected, se = p_alc.sum(), np.sqrt((p_alc * (1 - p_alc)).sum())
    assert abs(went.sum() - expected) < 4 * se and went.sum() > 0
    assert not any(p.dies for p, w in zip(patients, went, strict=True) if w)
    assert _col(model, "alc_census")[0, 0] == 0
    for _ in range(20):
        model.step()
    assert _col(model, "alc_census")[:21, 0].max() > 0
