"""Everyday demand: rates, age gradient, season, weekdays, electives, clinical paths."""

from datetime import date

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from popsim.core.ages import N_AGE_BANDS
from popsim.core.event_types import Electives
from popsim.core.requests import MATERNITY, MEDICAL, MENTAL, SURGICAL, NeedBatch
from popsim.demand import (
    T_ELECTIVE,
    Demand,
    DemandParams,
    admission_rates,
    ed_only_rates,
)
from popsim.endoflife import terminal_rates
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import CANADA_AGE_SHARES, synthetic_region


def _capture(days, population=60_000, seed=4, events=(), **params):
    """Run demand alone for ``days``, capturing what it hands to the care network."""
    region = synthetic_region(n_zones=4, population=population, seed=seed)
    cfg = ModelConfig(days=days, demand=DemandParams(**params), events=tuple(events))
    model = RegionModel(region, cfg, seed=seed)
    needs, ed, day_of = [], [], []

    def take(batch):
        needs.append(batch)
        day_of.append(np.full(len(batch), model.day))

    model.request_care = take
    model.request_ed_visits = lambda v: ed.append(np.asarray(v))
    model.run()
    batch = NeedBatch.concat(needs)
    days_of = np.concatenate(day_of) if day_of else np.empty(0, int)
    return model, batch, days_of, np.array(ed)


def _expected_per_day(model, rates):
    """Expected admissions a day from the rate table and the living residents by sex."""
    pop = model.pop
    counts = np.zeros((2, N_AGE_BANDS))
    np.add.at(counts, (pop.sex[pop.alive], pop.band[pop.alive]), 1)
    return float((counts[..., None] * rates).sum())


def test_rates_on_the_canadian_age_shape_land_near_canadian_figures():
    # CIHI: about 70 hospitalisations per 1,000 a year; Ontario about 413 ED visits per 1,000.
    shares = CANADA_AGE_SHARES / CANADA_AGE_SHARES.sum()
    per_year = 1000 * 365.25
    adm = admission_rates(DemandParams()) * per_year  # (sex, band, type) per 1,000 a year
    adm_total = 0.5 * (adm[0].sum(axis=1) + adm[1].sum(axis=1)) @ shares
    assert 63 <= adm_total <= 77
    ed = ed_only_rates(DemandParams()) * per_year
    emergency = adm[..., [0, 1, 4]].sum(axis=2)  # medical, emergency surgical, mental health
    ed_total = (0.5 * (ed + emergency).sum(axis=0)) @ shares
    assert 360 <= ed_total <= 450
    per_band = adm.sum(axis=2).mean(axis=0)
    assert per_band[8] > 4 * per_band[4] and per_band[9] > per_band[7] > per_band[5]
    assert adm[1, :, 3].sum() == 0 and adm[0, 2, 3] > 0  # childbirth: women only


def test_admissions_follow_the_rates_and_older_residents_far_more_often():
    params = dict(winter_amplitude=0.0)
    model, batch, _, ed = _capture(365, **params)
    rates = admission_rates(DemandParams(**params))
    expected = _expected_per_day(model, rates) * 365
    # Poisson count: 4 standard deviations (sqrt of the mean), plus 1% for the skipped
    # inpatients and the weekday profiles not averaging to exactly 1 over 365 days.
    assert abs(len(batch) - expected) < 4 * np.sqrt(expected) + 0.01 * expected
    pop = model.pop
    band = pop.band[batch.resident]
    per_capita = np.bincount(band, minlength=10) / np.bincount(pop.band, minlength=10)
    assert per_capita[8] > 4 * per_capita[4] and per_capita[8] > 3 * per_capita[3]
    assert per_capita[7] > 2 * per_capita[5]
    female = pop.sex[batch.resident] == 0
    assert np.all(female[batch.kind == MATERNITY])
    assert set(np.unique(batch.kind)) == {MEDICAL, SURGICAL, MATERNITY, MENTAL}
    ed_rate = ed.sum() / pop.n * 1000  # ED-only visits a year per 1,000
    assert 300 <= ed_rate <= 420


def test_stays_icu_alc_and_deaths_have_the_documented_shape():
    _, batch, _, _ = _capture(365, population=80_000, seed=9)
    n = len(batch)  # about 5,500 stays
    stay = batch.icu_days + batch.ward_days + batch.alc_days
    # mean near CIHI's 7.3 days (ALC days included); the sd of the mean is about 0.2 here
    assert 6.4 <= stay.mean() <= 8.4
    assert np.percentile(stay, 99) > 4 * np.median(stay)  # long right tail
    assert batch.icu_days.min() >= 0 and stay.min() >= 1
    alc = batch.alc_days > 0
    # CIHI 5.8-6.2% of stays with ALC days; binomial sd about 0.3 points at n=5,500
    assert 0.045 <= alc.mean() <= 0.08
    assert np.median(batch.alc_days[alc]) >= 14  # weeks long
    icu = batch.icu_days > 0
    assert 0.03 <= icu.mean() <= 0.09
    assert not np.any(alc & batch.dies)
    assert 0.015 <= batch.dies.mean() <= 0.05 and n > 4000


def test_icu_and_alc_days_are_drawn_for_each_patient_not_each_day():
    # Patients admitted on the same day get their own ICU and ALC durations: the spread
    # within a day is the spread overall (a shared draw per day would make it zero).
    _, batch, day_of, _ = _capture(365, population=80_000, seed=9)
    for days in (batch.icu_days, batch.alc_days):
        has = days > 0
        d, x = day_of[has], days[has].astype(float)
        n_day = np.bincount(d, minlength=366)
        day_mean = np.bincount(d, x, minlength=366) / np.maximum(n_day, 1)
        # pooled within-day variance, unbiased: sum of squares over (stays - days with stays)
        dof = len(x) - np.count_nonzero(n_day)
        within = ((x - day_mean[d]) ** 2).sum() / dof
        # independent draws give a ratio to the overall variance near 1, a shared draw per
        # day exactly 0; with ~100 degrees of freedom of a heavy-tailed (lognormal, cv > 1)
        # duration the ratio's sampling error is large, so the bound is generous
        assert dof > 50 and within > 0.2 * x.var(ddof=1)


def test_alc_stays_are_mostly_residents_aged_65_and_over():
    model, batch, _, _ = _capture(365, population=80_000, seed=9)
    ages = model.pop.age[batch.resident[batch.alc_days > 0]]
    assert (ages >= 60).mean() > 0.8


def test_winter_peak_and_weekday_pattern():
    model, batch, day, ed = _capture(365, population=60_000, winter_amplitude=0.4)
    emergency = ~batch.elective & (batch.kind != MATERNITY)
    per_day = np.bincount(day[emergency], minlength=365)
    # amplitude 0.4 gives Jan/Jul about 1.4/0.6; counts per month are about 300 (sd ~17)
    assert per_day[:31].sum() > 1.6 * per_day[181:212].sum()
    assert ed[:31].sum() > 1.6 * ed[181:212].sum()
    weekday = np.array([(date(2026, 1, 1).toordinal() + d) % 7 for d in day])  # 0 = Sunday
    elective_days = weekday[batch.elective]
    assert len(elective_days) > 100 and not np.isin(elective_days, [0, 6]).any()


def test_electives_pause_and_resume_with_the_event():
    events = (Electives(day=30, paused=True), Electives(day=60, paused=False))
    model, batch, day, _ = _capture(90, events=events)
    on = batch.elective
    assert on[day < 30].sum() > 20 and on[(day >= 30) & (day < 60)].sum() == 0
    assert on[day >= 60].sum() > 20
    demand = next(m for m in model.modules if isinstance(m, Demand))
    assert demand.n_cancelled > 20 and not demand.paused


def test_residents_in_hospital_are_not_drawn():
    region = synthetic_region(n_zones=2, population=5000, n_facilities=2)
    model = RegionModel(region, ModelConfig(days=20, demand=DemandParams(rel_admissions=10)), 1)
    model.pop.in_hospital[: model.pop.n // 2] = True
    drawn = []
    model.request_care = drawn.append
    model.run()
    ids = NeedBatch.concat(drawn).resident
    assert len(ids) > 40 and ids.min() >= model.pop.n // 2  # about 95 expected


@pytest.mark.parametrize(
    ("field", "value"),
    [("rel_admissions", -1), ("winter_amplitude", 1.5), ("peak_day_of_year", 0), ("x", 1)],
)
def test_demand_params_reject_bad_values(field, value):
    with pytest.raises(ValidationError, match=field):
        DemandParams(**{field: value})


def test_demand_feeds_the_care_network_in_a_full_model():
    region = synthetic_region(population=20_000)
    model = RegionModel(region, ModelConfig(days=60, demand=DemandParams()), seed=1)
    result = model.run()
    assert model.care.totals["admitted"] > 100
    adm = result.facility_day[..., list(result.facility_metrics).index("admissions")]
    assert adm.sum() == model.care.totals["admitted"]
    assert result.zone_counts("new_admissions").sum() == model.care.totals["admitted"]
    assert T_ELECTIVE == 2


def test_pausing_electives_leaves_every_other_draw_unchanged():
    # common random numbers: the scenarios differ by the electives only
    _, base, _, ed_a = _capture(40, population=30_000)
    _, paused, _, ed_b = _capture(40, population=30_000, electives_paused=True)
    assert paused.elective.sum() == 0 and base.elective.sum() > 10
    keep = ~base.elective
    assert paused.resident.tolist() == base.resident[keep].tolist()
    assert paused.ward_days.tolist() == base.ward_days[keep].tolist()
    assert np.array_equal(ed_a, ed_b)


def test_cancelled_electives_are_caught_up_after_the_pause():
    events = (Electives(day=10, paused=True), Electives(day=30, paused=False))
    model, batch, day, _ = _capture(150, events=events, backlog_catch_up=0.5)
    _, base, base_day, _ = _capture(150)
    demand = next(m for m in model.modules if isinstance(m, Demand))
    assert demand.n_cancelled > 30 and not demand.backlog  # all caught up by day 150
    assert demand.n_caught_up == demand.n_cancelled  # nobody died waiting in this small run
    assert batch.elective.sum() == base.elective.sum()
    # the catch-up runs above the usual volume for a while after the pause
    after = (day >= 30) & (day < 60)
    assert batch.elective[after].sum() > base.elective[(base_day >= 30) & (base_day < 60)].sum()
    # with no catch-up, the cancelled surgery is lost
    lost, lost_batch, _, _ = _capture(150, events=events, backlog_catch_up=0.0)
    assert lost_batch.elective.sum() == base.elective.sum() - demand.n_cancelled


def _admissions_beside_an_epidemic(r0, seed, days=150):
    """(day, resident) of every everyday admission, and the residents the epidemic sent
    to hospital, in a run with an epidemic of ``r0``."""
    from popsim.core.requests import EPI_CRITICAL, EPI_SEVERE
    from popsim.epidemic.module import EpidemicParams

    region = synthetic_region(n_zones=4, population=40_000, seed=3)
    epi = EpidemicParams(r0=r0, seed_infections=30, start_day=5)
    cfg = ModelConfig(days=days, epidemic=epi, demand=DemandParams(), record_journeys=False)
    model = RegionModel(region, cfg, seed=seed)
    everyday, epidemic = set(), set()
    request = model.request_care

    def take(batch):
        is_epi = np.isin(batch.kind, [EPI_SEVERE, EPI_CRITICAL])
        epidemic.update(batch.resident[is_epi].tolist())
        everyday.update((model.day, int(r)) for r in batch.resident[~is_epi])
        request(batch)

    model.request_care = take
    model.run()
    return everyday, epidemic, model


def test_an_epidemic_only_change_leaves_everyday_admissions_alone_replicate_by_replicate():
    # Common random numbers across modules: a bigger epidemic (more deaths, more residents
    # in hospital) changes only the everyday admissions of the residents it touched; every
    # other everyday admission is drawn exactly as before, same day, same resident.
    for seed in (1, 2):
        small, epi_small, m_small = _admissions_beside_an_epidemic(1.5, seed)
        big, epi_big, m_big = _admissions_beside_an_epidemic(2.5, seed)
        assert m_big.epidemic.n_infections_total > 1.5 * m_small.epidemic.n_infections_total
        assert len(small) > 1000
        changed = {resident for _, resident in small ^ big}
        touched = epi_small | epi_big | set(np.flatnonzero(~m_big.pop.alive).tolist())
        assert changed <= touched
        # (without common random numbers nearly every admission would differ)
        assert len(small ^ big) < 0.05 * len(small)


def test_stays_match_cihi_acute_length_of_stay_and_alc_share():
    # CIHI: acute stay 7-8 days; ALC days about 13-15% of acute bed-days; about 6% of
    # stays with ALC days (5.8% 2021-22, 6.2% 2022-23). A year of 150,000 residents:
    # about 10,000 stays, about 570 with ALC days: the ALC share of bed-days has a
    # standard error of about 0.8 points (ALC stays have a cv near 0.9).
    model, batch, _, _ = _capture(365, population=150_000, seed=8)
    acute = batch.icu_days.astype(float) + batch.ward_days
    alc = batch.alc_days.astype(float)
    assert 6.5 <= acute.mean() <= 8.5
    assert 0.12 <= alc.sum() / (alc.sum() + acute.sum()) <= 0.16
    assert 0.045 <= (alc > 0).mean() <= 0.07
    per_1000 = 1000 * len(batch) / model.pop.n_alive
    assert 65 <= per_1000 <= 85


def _deaths_by_place(p_death_in_hospital, seed=6, days=200):
    """Deaths in hospital and in all over ``days`` of a synthetic region with demography
    (a death rate of 0.1 a year at every age, so that many die) and everyday demand."""
    from popsim.care.params import CareParams
    from popsim.demography import DemographyParams

    region = synthetic_region(n_zones=3, population=30_000, seed=2)
    cfg = ModelConfig(
        days=days,
        demography=DemographyParams(death_rate=[0.1] * N_AGE_BANDS),
        demand=DemandParams(p_death_in_hospital=p_death_in_hospital),
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    result = RegionModel(region, cfg, seed=seed).run()
    in_hospital = float(result.facility_frame()["deaths"].sum())
    return in_hospital, float(result.zone_counts("deaths").sum())


def test_terminal_admissions_bring_the_share_of_deaths_in_hospital_to_the_set_share():
    # Without terminal admissions only the stays' own deaths are in hospital (a small
    # share at a death rate of 0.1 a year); with a set share of 0.6 at every age the
    # deaths in hospital are 0.6 of all. About 1,600 deaths: binomial sd of the share
    # about 0.012, so 0.04 is over three sd.
    none_in, none_all = _deaths_by_place([0.0] * N_AGE_BANDS)
    set_in, set_all = _deaths_by_place([0.6] * N_AGE_BANDS)
    assert min(none_all, set_all) > 1200
    assert none_in / none_all < 0.3
    assert abs(set_in / set_all - 0.6) < 0.04
    # the terminal admissions delay deaths by their stays, not add or remove them
    assert abs(set_all / none_all - 1) < 3 * (2 / none_all) ** 0.5 + 0.03


def test_terminal_decisions_are_keyed_by_resident_and_day_not_by_who_else_dies():
    from popsim.care.params import CareParams
    from popsim.demography import DemographyParams

    region = synthetic_region(n_zones=3, population=30_000, seed=2)
    cfg = ModelConfig(
        days=5,
        demography=DemographyParams(),
        demand=DemandParams(p_death_in_hospital=[0.5] * N_AGE_BANDS),
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    model = RegionModel(region, cfg, seed=1)
    admitted = []
    model.request_care = admitted.append
    ids = np.flatnonzero(model.pop.alive & (model.pop.age >= 60))[:2000].astype(np.int64)
    dying_here = model.demand.end_of_life(model, ids)
    part = ids[::3]
    dying_here_part = model.demand.end_of_life(model, part)
    # the same residents of the part are admitted, whoever else is drawn that day
    assert np.array_equal(np.intersect1d(dying_here, part), dying_here_part)
    assert 0 < len(dying_here) < len(ids)
    stays = NeedBatch.concat(admitted)
    assert stays.dies.all() and (stays.kind == MEDICAL).all() and (stays.icu_days == 0).all()
    # lognormal of mean 14 days (cv 1): the mean of about 1,000 stays within 15%
    assert abs(stays.ward_days.mean() - 14) < 0.15 * 14
    # another day: other draws
    model.day += 1
    assert not np.array_equal(model.demand.end_of_life(model, ids), dying_here)


@pytest.mark.parametrize("value", [[0.5] * 9, [1.2] + [0.5] * 9])
def test_p_death_in_hospital_needs_one_share_per_band(value):
    with pytest.raises(ValidationError, match="p_death_in_hospital"):
        DemandParams(p_death_in_hospital=value)


@settings(deadline=None)  # (a shared machine's timings vary)
@given(
    share=st.floats(0.0, 1.0),
    q=st.floats(1e-4, 0.5),
    d_of_q=st.floats(0.0, 1.0),
    p_d=st.floats(0.0, 0.5),
    medical=st.floats(0.0, 0.5),
)
def test_terminal_rates_reach_the_share_of_deaths_in_hospital_when_they_can(
    share, q, d_of_q, p_d, medical
):
    # the stays' own deaths (less those of the medical stays that made room) plus the
    # terminal admissions' are the share wanted of all deaths, unless the stays alone
    # already die in hospital more often than that; room never exceeds the medical stays
    d = d_of_q * q * (1 - p_d)  # at most what the stays can bring
    room, p = terminal_rates(*(np.array([x]) for x in (share, q, d, p_d, medical)))
    assert 0 <= room[0] <= medical + 1e-15 and 0 <= p[0] <= 1
    in_hospital = d - p_d * room[0] + p[0] * (q - d + p_d * room[0])
    if share * q >= d:
        assert in_hospital == pytest.approx(share * q, rel=1e-9, abs=1e-12)
    else:
        assert room[0] == 0 and p[0] == 0
