"""The care network as a whole: conservation, queueing theory, closures, Fraser figures."""

import dataclasses
from collections import Counter

import numpy as np
import pytest
from conftest import facility_metric as _col
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.care.facility import ED, HELD
from popsim.care.network import CareParams
from popsim.care.patient import Patient
from popsim.core.event_types import ChangeBeds, CloseFacility
from popsim.core.requests import EPI_CRITICAL, EPI_SEVERE, MEDICAL, NeedBatch
from popsim.demand import DemandParams, admission_rates
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region

CENSUS = ("ward_census", "icu_census", "alc_census", "ed_boarding", "icu_outside")


def _census(result, names=CENSUS):
    idx = [list(result.facility_metrics).index(n) for n in names]
    return result.facility_day[..., idx].sum(axis=-1)


@settings(max_examples=20, deadline=None)
@given(
    n_zones=st.integers(1, 5),
    n_facilities=st.integers(1, 3),
    population=st.integers(2_000, 8_000),
    seed=st.integers(0, 10_000),
    surge=st.floats(0.0, 0.5),
    divert_at=st.floats(0.6, 1.5),
    transfer=st.floats(0.0, 90.0),
    rel=st.floats(1.0, 8.0),
    beds=st.integers(-30, 5),
    close=st.booleans(),
    warm=st.integers(0, 60),
    refer=st.floats(0.0, 1.0),
    stabilisation=st.booleans(),
)
def test_every_admission_ends_once_and_census_matches_the_patients(
    n_zones,
    n_facilities,
    population,
    seed,
    surge,
    divert_at,
    transfer,
    rel,
    beds,
    close,
    warm,
    refer,
    stabilisation,
):
    n_facilities = min(n_facilities, n_zones)
    region = synthetic_region(n_zones, population, n_facilities, seed=seed)
    if stabilisation and n_facilities > 1:  # the last site only stabilises and refers up
        fac = region.facilities.copy()
        fac.loc[n_facilities - 1, "role"] = "stabilisation"
        region = dataclasses.replace(region, facilities=fac)
    events = [ChangeBeds(day=10, facility=0, ward_beds=beds, icu_beds=-1)]
    if close and n_facilities > 1:
        events.append(CloseFacility(day=20, facility=n_facilities - 1))
    care = CareParams(
        surge_share=surge,
        divert_at=divert_at,
        max_transfer_minutes=transfer,
        p_refer={"community": refer, "stabilisation": 1.0},
    )
    cfg = ModelConfig(
        days=45,
        demand=DemandParams(rel_admissions=rel, warm_start_days=warm),
        care=care,
        events=tuple(events),
    )
    model = RegionModel(region, cfg, seed=seed)
    rng = np.random.default_rng(seed)
    n = model.pop.n
    for day in range(cfg.days):
        # epidemic-like needs (some for inpatients or the dead) and deaths from elsewhere
        ids = rng.integers(0, n, rng.integers(0, 8))
        kind = np.where(rng.random(len(ids)) < 0.5, EPI_SEVERE, EPI_CRITICAL)
        icu = np.where(kind == EPI_CRITICAL, rng.integers(1, 10, len(ids)), 0)
        model.request_care(
            NeedBatch.build(
                ids, kind, icu, rng.integers(0, 10, len(ids)), 0, rng.random(len(ids)) < 0.3
            )
        )
        if day % 7 == 3:
            model.kill(rng.integers(0, n, 3))
        model.step()
        result = model.results()
        census = _census(result)[day]
        assert (model.facility_day[day, :, :5] >= 0).all() and (census >= 0).all()
        # every patient counted once in bed demand; new patients never placed past the
        # ward's limit (a bed cut may leave the census above it, but it cannot grow there)
        assert _region_demand(result)[day] == len(model.care.patients)
        in_ward = _census(result, ("ward_census", "alc_census"))
        over = in_ward[day] > _col(result, "ward_capacity")[day]
        if day and not care.uncapped:
            assert (in_ward[day][over] <= in_ward[day - 1][over]).all()
        n_agents = sum(isinstance(a, Patient) for a in model.agents)
        assert census.sum() == len(model.care.patients) == n_agents
        # Mesa's registries hold exactly the living patients (patients register directly)
        by_type = model.agents_by_type.get(Patient, ())
        assert set(by_type) == set(model.care.patients.values())
        # site counters are the patients' places; every boarder is in its site's queue
        places = Counter((p.site.index, p.unit) for p in model.care.patients.values())
        for f in model.care.facilities:
            assert f.n == [places[f.index, unit] for unit in range(5)]
            for queue, unit in ((f.boarding, ED), (f.held, HELD)):
                live = [p for t, p in queue if p.ticket == t and p.site is f and p.unit == unit]
                mine = {p for p in model.care.patients.values() if p.site is f and p.unit == unit}
                assert len(live) == len(set(live)) and set(live) == mine
        assert model.pop.in_hospital.sum() == n_agents
    totals = model.care.totals
    started = totals["admitted"] + totals["prevalent"]  # prevalent: in hospital on day 0
    assert started == totals["discharged"] + totals["died"] + len(model.care.patients)
    journeys, codes = model.care.journeys()
    ev = {name: i for i, name in enumerate(codes["event"])}
    open_stay: dict[int, bool] = {}
    rows = zip(*(journeys[k].tolist() for k in ("resident_id", "event", "day")), strict=True)
    for r, e, day in rows:
        inside = open_stay.get(r, False)
        if e == ev["start"]:  # warm start: in from day 0
            assert day == 0 and not inside
            open_stay[r] = True
        elif e == ev["arrive"]:
            assert not inside
            open_stay[r] = True
        elif e in (ev["discharge"], ev["death"]):
            assert inside
            open_stay[r] = False
        else:
            assert inside
    assert {r for r, v in open_stay.items() if v} == set(model.care.patients)
    assert (journeys["event"] == ev["arrive"]).sum() == totals["admitted"]


def test_uncapped_census_follows_littles_law_and_m_g_infinity():
    """M/G/inf: census mean = arrival rate x mean stay, and Poisson (variance = mean).

    The arrival rate comes from the demand rate table and the residents, not from the run.
    Tolerance for the mean of the census over T days: an M/G/inf census is correlated over
    E[S^2] / E[S] days (the integral of its autocorrelation, both sides), so its time
    average has variance m * E[S^2] / E[S] / T; we allow 4 of those sd plus 4 Poisson sd of
    the arrival count (which sets m through the rate).
    """
    region = synthetic_region(n_zones=3, n_facilities=1, population=100_000, seed=1)
    params = DemandParams(winter_amplitude=0.0)
    days, burn = 700, 200
    cfg = ModelConfig(days=days, demand=params, care=CareParams(uncapped=True))
    model = RegionModel(region, cfg, seed=1)
    result = model.run()
    pop = model.pop
    counts = np.zeros((2, 10))
    np.add.at(counts, (pop.sex, pop.band), 1)
    rate = float((counts[..., None] * admission_rates(params)).sum())  # a day
    totals = model.care.totals
    mean_stay = totals["planned_days"] / totals["admitted"]
    corr_days = totals["planned_days_sq"] / totals["planned_days"]  # E[S^2] / E[S]
    census = _census(result)[burn:, 0]
    expected = rate * mean_stay
    sd_mean = np.sqrt(expected * corr_days / len(census))
    sd_rate = expected / np.sqrt(rate * days)
    assert abs(census.mean() - expected) < 4 * (sd_mean + sd_rate)
    assert abs(totals["admitted"] - rate * days) < 4 * np.sqrt(rate * days) + 0.01 * rate * days
    # warm start: day 0 is already in the steady state (Poisson sd of the census, plus 3%)
    first = _census(result)[0, 0]
    assert abs(first - expected) < 4 * np.sqrt(expected) + 0.03 * expected
    # dispersion: about len / corr_days independent values; a sample variance over k
    # of them has relative sd sqrt(2 / k) (about 0.3 here): allow 2.5 of those
    k = len(census) / corr_days
    assert abs(census.var() / census.mean() - 1) < 2.5 * np.sqrt(2 / k)
    assert _col(result, "ed_boarding").sum() == 0 and _col(result, "diversions").sum() == 0


def _site_census(event, days=150):
    region = synthetic_region(n_zones=4, n_facilities=3, population=40_000, seed=2)
    # (acute stays 0.8 times the defaults: the load this test was sized for, before
    # stays were lengthened to CIHI's; neighbours with room to take the closed site's load)
    demand = DemandParams(rel_stay=0.8)
    cfg = ModelConfig(days=days, demand=demand, events=(event,) if event else ())
    return _census(RegionModel(region, cfg, seed=7).run())[60:].mean(axis=0)


def test_closing_a_site_or_its_beds_raises_its_neighbours_census():
    base = _site_census(None)
    for event in (
        CloseFacility(day=30, facility=1),
        ChangeBeds(day=30, facility=1, ward_beds=-10_000, icu_beds=-10_000),
    ):
        after = _site_census(event)
        neighbours = [0, 2]
        # site 1 carries about a third of the load; at least half of it must show up next door
        assert after[neighbours].sum() > base[neighbours].sum() + 0.5 * base[1]
        # (what stays: ED boarders on days no neighbour has a free funded bed; 0.15 of the
        # base with ages uniform in bands, 0.25 with ages from the life table's survivors)
        assert after[1] < 0.3 * base[1]


@pytest.mark.slow
def test_default_fraser_year_without_epidemic_lands_in_plausible_bands():
    """One year of everyday demand in the default Fraser region (1.86 M residents, 2021).

    Bands (see the shared Fraser Health reference):
    - admissions 60-80 per 1,000 a year (CIHI: 70 per 1,000, 2023-24);
    - mean planned stay 6.5-8.5 days, ALC days included (CIHI: 7.3 days average stay);
    - ALC: 4.5-8% of ended stays (CIHI: 5.8% 2021-22, 6.2% 2022-23);
    - ED visits 330-470 per 1,000 a year (Ontario: 413);
    - region-wide occupancy of funded ward beds (ward + ALC census), every day (a warm
      start puts the stays already running on day 0 in hospital): 0.85-1.15 (BC acute occupancy 103% in 2018-19; single Fraser
      sites 118-123%);
    - ICU occupancy 0.5-1.1 (Fraser: about 80 ICU beds, 90% full in March 2020);
    - by site, with community hospitals referring a share of emergencies to the regional
      and tertiary sites: at least 9 of the 11 admitting sites at a mean 0.85-1.15 of
      funded ward beds (BC 103% in 2018-19, Chilliwack 123%, Abbotsford 118%; crowding
      risk above 95%), Abbotsford Regional (serving all of Fraser East) at least 0.9;
      Fraser Canyon (stabilisation and triage only) admits nobody and
      transfers its admissions on; Delta (about 60 beds for about 108,000 residents)
      boards fewer than 40 a day on average (29 measured, region-wide 46; Fraser
      region-wide about 222 boarders a day, target 165, news reports).
    """
    from popsim.region.load import load_region

    region = load_region("fraser")
    model = RegionModel(region, ModelConfig(days=365, demand=DemandParams()), seed=11)
    result = model.run()
    n = model.pop.n
    totals = model.care.totals
    ended = totals["ended"]
    assert 60 <= totals["admitted"] / n * 1000 <= 80
    assert 6.5 <= totals["planned_days"] / totals["admitted"] <= 8.5
    assert 0.045 <= totals["alc_stays"] / ended <= 0.08
    assert 330 <= _col(result, "ed_visits").sum() / n * 1000 <= 470
    late = slice(0, None)
    beds = _col(result, "ward_beds")[late].sum(axis=1)
    used = _col(result, "ward_census")[late] + _col(result, "alc_census")[late]
    assert 0.85 <= (used.sum(axis=1) / beds).mean() <= 1.15
    icu = _col(result, "icu_census")[late].sum(axis=1) / _col(result, "icu_beds")[late].sum(1)
    assert 0.5 <= icu.mean() <= 1.1
    adm = _col(result, "admissions").sum(axis=1)
    assert (
        adm[0] < 1.5 * adm.mean() and totals["prevalent"] > 5 * adm.mean()
    )  # warm start: about 7 days of admissions in
    planned = region.facility_index("new-surrey-hospital")
    assert _census(result)[:, planned].sum() == 0  # opens in 2030
    canyon = region.facility_index("fraser-canyon")
    assert _census(result)[:, canyon].sum() == 0 and _col(result, "transfers_out")[:, canyon].sum()
    site_occ = (used / np.maximum(_col(result, "ward_beds"), 1)).mean(axis=0)
    admitting = [i for i in range(region.n_facilities) if i not in (canyon, planned)]
    assert ((site_occ[admitting] >= 0.85) & (site_occ[admitting] <= 1.15)).sum() >= 9
    assert site_occ[region.facility_index("abbotsford-regional")] >= 0.9  # 0.77 unreferred
    # (29 a day with CIHI's acute stays and ALC share; 20 before, with shorter stays)
    assert _col(result, "ed_boarding")[:, region.facility_index("delta")].mean() < 40


def test_an_epidemic_raises_icu_census_first_near_the_seeded_zone():
    from popsim.epidemic.module import EpidemicParams
    from popsim.region.load import load_region

    region = load_region("fraser")
    epi = EpidemicParams(seed_zones=["chilliwack"], seed_infections=30)
    cfg = ModelConfig(days=120, population=400_000, epidemic=epi)
    result = RegionModel(region, cfg, seed=1).run()
    icu = _col(result, "icu_census")

    def first_day(site, at_least=3):
        days = np.flatnonzero(icu[:, region.facility_index(site)] >= at_least)
        return days[0] if len(days) else cfg.days

    near = first_day("chilliwack-general")
    far = [first_day(s) for s in ("royal-columbian", "surrey-memorial", "burnaby", "eagle-ridge")]
    assert near < min(far)
    assert near < cfg.days


# ------------------------------------------------------------------ bed demand
def _region_demand(result):
    return _census(result, ("ward_demand", "icu_demand")).sum(axis=1)


def test_region_bed_demand_does_not_depend_on_the_beds():
    """Cutting beds moves patients (diversions, transfers, boarding) but not the region's
    bed demand, while the census in beds falls: paired by replicate (common random
    numbers), the mean paired difference of the region's mean daily demand must lie within
    four standard errors of the paired differences (computed from the sample), and the
    census-in-beds difference must not."""
    region = synthetic_region(n_zones=4, n_facilities=3, population=30_000, seed=4)
    from popsim.epidemic.module import EpidemicParams

    cut = (ChangeBeds(day=20, facility=0, ward_beds=-25, icu_beds=-2),)
    demand, census = [], []
    for seed in range(4):
        runs = []
        for events in ((), cut):
            cfg = ModelConfig(
                days=120,
                demand=DemandParams(rel_admissions=1.5),
                epidemic=EpidemicParams(r0=2.0, seed_infections=30, seed_zones=[0]),
                care=CareParams(surge_share=0.05),
                events=events,
            )
            runs.append(RegionModel(region, cfg, seed=seed).run())
        base, less = runs
        assert _col(less, "ed_boarding").sum() > _col(base, "ed_boarding").sum()
        demand.append(_region_demand(less)[20:].mean() - _region_demand(base)[20:].mean())
        beds = ("ward_census", "icu_census", "alc_census")
        census.append(
            _census(less, beds)[20:].sum(1).mean() - _census(base, beds)[20:].sum(1).mean()
        )
    demand, census = np.array(demand), np.array(census)
    se = demand.std(ddof=1) / np.sqrt(len(demand))
    assert abs(demand.mean()) <= 4 * se
    assert abs(census.mean()) > 4 * se + 1.0  # the census in beds does move


def test_every_patient_is_counted_once_in_bed_demand_and_surge_is_above_funded_beds():
    region = synthetic_region(n_zones=1, n_facilities=1, population=3000)
    fac = region.facilities.copy()
    fac["ward_beds"], fac["icu_beds"] = 10, 2
    region = dataclasses.replace(region, facilities=fac)
    cfg = ModelConfig(days=3, care=CareParams(surge_share=0.2, max_transfer_minutes=0))
    model = RegionModel(region, cfg, seed=1)
    ids = np.flatnonzero(model.pop.alive)[:20]
    model.request_care(NeedBatch.build(ids[:15], MEDICAL, ward_days=5))
    model.request_care(NeedBatch.build(ids[15:18], EPI_CRITICAL, icu_days=5, ward_days=2))
    model.step()
    row = {name: _col(model.results(), name)[0, 0] for name in model.care.metrics}
    assert row["ward_census"] == 12 and row["ed_boarding"] == 3  # funded 10 + surge 2
    assert row["ward_surge"] == 2 and row["ward_demand"] == 15
    assert row["icu_demand"] == 3
    assert row["ward_demand"] + row["icu_demand"] == len(model.care.patients) == 18
    assert row["epidemic_admissions"] == 3 and row["epidemic_census"] == 3
