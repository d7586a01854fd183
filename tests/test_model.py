"""RegionModel: the day's phases, named random streams, events and bookkeeping."""

import gc
import weakref

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.care.network import CareParams
from popsim.core.event_types import ChangeBeds
from popsim.demand import DemandParams
from popsim.epidemic.module import EpidemicParams
from popsim.model import ZONE_METRICS, ModelConfig, RegionModel
from popsim.region.synth import synthetic_region

ZI = {name: i for i, name in enumerate(ZONE_METRICS)}


@pytest.fixture
def region(small_region):
    return small_region


def _config(**kw):
    base = dict(days=40, demand=DemandParams(), care=CareParams())
    base.update(kw)
    return ModelConfig(**base)


def test_named_streams_are_reproducible_and_independent(region):
    a = RegionModel(region, _config(days=1), seed=7)
    b = RegionModel(region, _config(days=1, demand=None), seed=7)
    # The same name gives the same draws whatever else is switched on...
    assert np.array_equal(a.stream("epidemic").random(5), b.stream("epidemic").random(5))
    # ...and different names or seeds give different draws.
    assert not np.array_equal(a.stream("epidemic").random(5), a.stream("demand").random(5))
    c = RegionModel(region, _config(days=1), seed=8)
    assert not np.array_equal(a.stream("epidemic").random(5), c.stream("epidemic").random(5))


def test_same_seed_same_results_and_another_seed_differs(region):
    r1 = RegionModel(region, _config(), seed=11).run()
    r2 = RegionModel(region, _config(), seed=11).run()
    r3 = RegionModel(region, _config(), seed=12).run()
    assert np.array_equal(r1.facility_day, r2.facility_day)
    assert np.array_equal(r1.zone_day, r2.zone_day)
    assert not np.array_equal(r1.facility_day, r3.facility_day)


def test_zone_day_accounts_for_every_resident_and_matches_care(region):
    cfg = _config(
        days=60,
        epidemic=EpidemicParams(r0=2.5, seed_infections=30, seed_zones=["Z01"]),
    )
    model = RegionModel(region, cfg, seed=5)
    res = model.run()
    zd = res.zone_day
    states = zd[..., [ZI["susceptible"], ZI["exposed"], ZI["infectious"], ZI["recovered"]]]
    assert (states >= 0).all()
    total_dead = zd[..., ZI["deaths"]].sum()
    # Every resident is in exactly one state while alive; the dead leave the counts.
    living = states.sum(axis=(1, 2, 3))
    deaths_so_far = np.cumsum(zd[..., ZI["deaths"]].sum(axis=(1, 2)))
    assert np.array_equal(living, region.total_population - deaths_so_far)
    assert total_dead == (~model.pop.alive).sum()
    # New infections appear once the wave is seeded, and people recover.
    assert zd[..., ZI["new_infections"]].sum() > 100
    assert zd[-1, ..., ZI["recovered"]].sum() > 0
    # Admissions counted by zone equal admissions counted by site.
    adm = res.facility_metrics.index("admissions")
    assert zd[..., ZI["new_admissions"]].sum() == res.facility_day[..., adm].sum()


def test_events_apply_on_their_day_only(region):
    cfg = _config(days=10, events=(ChangeBeds(day=4, facility=1, ward_beds=-5, icu_beds=2),))
    res = RegionModel(region, cfg, seed=1).run()
    ward = res.facility_day[:, 1, res.facility_metrics.index("ward_beds")]
    icu = res.facility_day[:, 1, res.facility_metrics.index("icu_beds")]
    funded_ward = int(region.facilities.loc[1, "ward_beds"])
    funded_icu = int(region.facilities.loc[1, "icu_beds"])
    assert ward[:4].tolist() == [funded_ward] * 4
    assert ward[4:].tolist() == [funded_ward - 5] * 6
    assert icu[4:].tolist() == [funded_icu + 2] * 6


def test_a_released_model_can_be_collected(region):
    model = RegionModel(region, _config(days=5), seed=2)
    model.run()
    ref = weakref.ref(model)
    model.release()
    del model
    gc.collect()
    assert ref() is None


def test_newborns_join_every_module_as_a_full_reindex_would(region):
    """Births join monthly through ``model.joined()`` (the new rows only): at that moment
    the population's indexes and the epidemic's and demand's per-cell counts equal a full
    rebuild (deaths in between included)."""
    import copy

    from popsim.demography import DemographyParams

    cfg = _config(
        days=95,
        epidemic=EpidemicParams(r0=2.5, seed_infections=30),
        demography=DemographyParams(fertility=[0, 0.05, 0.4, 0.4, 0.05, 0, 0, 0, 0, 0]),
    )
    model = RegionModel(region, cfg, seed=4)
    pop, joins = model.pop, []

    def joined() -> None:
        n_indexed = len(pop.cell_order)
        RegionModel.joined(model)
        joins.append(pop.n - n_indexed)
        full = copy.copy(pop)
        full.reindex()
        for name in ("cell_order", "cell_start", "hh_order", "hh_start", "alive_counts"):
            np.testing.assert_array_equal(getattr(pop, name), getattr(full, name), name)
        for module, names in (
            (model.epidemic, ("counts", "cell_of")),
            (model.demand, ("n_female", "female_share", "ed_cell_rates")),
        ):
            rebuilt = copy.copy(module)
            type(module).on_reindex(rebuilt, model)
            for name in names:
                np.testing.assert_array_equal(getattr(module, name), getattr(rebuilt, name))

    model.joined = joined
    model.run()
    assert len(joins) == 3 and min(joins) > 0  # the first of February, March and April


@pytest.mark.slow
@settings(max_examples=12, deadline=None)
@given(
    n_zones=st.integers(1, 4),
    population=st.integers(1_500, 5_000),
    seed=st.integers(0, 10_000),
    r0=st.floats(0.5, 4.0),
    rel_admissions=st.floats(0.5, 6.0),
    growth=st.floats(-0.05, 0.08),
    surge=st.floats(0.0, 0.3),
)
def test_nobody_is_lost_across_all_modules(
    n_zones, population, seed, r0, rel_admissions, growth, surge
):
    """Epidemic, demand, demography and care together, across a new year (births,
    migration, ageing): every resident is alive in exactly one state or dead, the zone
    counts add up to the living, and everyone in hospital is a living Patient agent."""
    from popsim.care.patient import Patient
    from popsim.demography import DemographyParams

    region = synthetic_region(n_zones, population, min(2, n_zones), seed=seed)
    cfg = ModelConfig(
        days=370,
        epidemic=EpidemicParams(r0=r0, seed_infections=10, start_day=300),
        demand=DemandParams(rel_admissions=rel_admissions, warm_start_days=30),
        demography=DemographyParams(growth_rate=growth),
        care=CareParams(surge_share=surge),
    )
    model = RegionModel(region, cfg, seed=seed)
    pop = model.pop
    deaths = 0
    for day in range(cfg.days):
        model.step()
        row = model.zone_day[day]
        deaths += int(row[..., ZI["deaths"]].sum())
        states = row[..., : ZI["recovered"] + 1]
        assert (states >= 0).all()
        assert np.array_equal(states.sum(axis=-1), pop.alive_counts)
        assert int(pop.alive.sum()) == int(pop.alive_counts.sum())
        assert deaths == int((~pop.alive & ~pop.emigrated).sum())
        assert not (pop.alive & pop.emigrated).any()
        in_hospital = np.flatnonzero(pop.in_hospital)
        assert pop.alive[in_hospital].all()
        patients = {a.resident for a in model.agents if isinstance(a, Patient)}
        assert set(in_hospital.tolist()) == patients == set(model.care.patients)
    # The new year happened: rows were appended for births and migrants when growing.
    if growth > 0.01:
        assert pop.n > region.total_population


NOTEBOOK_SPEC = """
region = "synthetic"
start = 2026-01-01
days = 40
seed = 3
[epidemic]
r0 = 2.0
seed_infections = 20
[scenarios.baseline]
[scenarios.closed]
events = [{ day = 1, close = "F2" }]
"""


def test_notebook_api_steps_a_day_and_labels_results_like_the_outputs(tmp_path):
    import popsim
    from popsim.run import record
    from popsim.run.spec import load_spec

    path = tmp_path / "nb.toml"
    path.write_text(NOTEBOOK_SPEC, encoding="utf-8")
    model = popsim.Model.from_spec(path, scenario="closed", replicate=1, days=6, population=3000)
    model.step()
    fd = model.facility_frame()
    assert len(fd) == model.region.n_facilities and fd["day"].tolist() == [0, 0, 0]
    assert list(fd["facility"]) == model.region.facility_ids
    model.run(5)
    with pytest.raises(RuntimeError, match="6 days"):
        model.step()
    # the labelled frames hold what the Parquet tables hold, under the same names
    result = model.results()
    for name, frame in (
        ("facility_day", model.facility_frame()),
        ("zone_day", model.zone_frame()),
        ("journeys", model.journey_frame()),
    ):
        table = record.tables(result, 1)[name].to_pandas().drop(columns="replicate")
        assert list(frame.columns) == list(table.columns), name
        for col in frame.columns:
            got, want = frame[col], table[col]
            if col == "date":
                got, want = got.dt.date, want
            assert list(got.astype(str)) == list(want.astype(str)), (name, col)
    assert model.facility_frame().query("facility == 'F2' and day >= 1")["open"].eq(0).all()
    # the same replicate as an ensemble run: the same seed
    spec = load_spec(path).with_overrides(days=6, population=3000)
    again = popsim.Model.from_spec(spec, scenario="closed", replicate=1)
    assert np.array_equal(again.run().zone_day, result.zone_day)


def test_population_snapshots_on_the_first_day_and_each_new_year(region):
    """Residents by zone, band and sex are counted at the start of the first day and of
    each 1 January: a New Year's count equals the living residents zone_day recorded at
    the end of 31 December (demography's births, deaths, ageing and migration between)."""
    import datetime as dt

    from popsim.demography import DemographyParams

    config = _config(days=430, start=dt.date(2026, 11, 1), demography=DemographyParams())
    res = RegionModel(region, config, seed=3).run()
    snap = res.population
    start = dt.date(2026, 11, 1)
    assert [start + dt.timedelta(days=int(d)) for d in snap["day"]] == [
        start,
        dt.date(2027, 1, 1),
        dt.date(2028, 1, 1),
    ]
    alive = sum(res.zone_counts(m) for m in ("susceptible", "exposed", "infectious", "recovered"))
    for day, counts in zip(snap["day"][1:], snap["counts"][1:], strict=True):
        assert np.array_equal(counts.sum(axis=-1), alive[day - 1])
    assert abs(int(snap["counts"][0].sum()) - int(alive[0].sum())) < 50  # births, deaths
    assert (snap["counts"][..., 0].sum() > 0) and (snap["counts"][..., 1].sum() > 0)  # both sexes
