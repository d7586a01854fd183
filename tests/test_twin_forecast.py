"""Forecasts: the warm start reproduces the observed census exactly; hub-format output."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popsim.care.seeding import SEED_UNITS
from popsim.cli import main
from popsim.model import RegionModel
from popsim.run.spec import load_spec
from popsim.twin.branching import BranchingModel, branch_seed, particle_model
from popsim.twin.forecast import particle_values, particles, run_forecast, run_forecasts
from popsim.twin.observed import load_observed
from popsim.twin.score import QUANTILES
from popsim.twin.sim import region_of, simulate
from popsim.twin.warmstart import warm_start

AS_OF = dt.date(2026, 11, 10)


@pytest.fixture(scope="module")
def model_setup(twin_truth):
    spec = load_spec(twin_truth.spec).with_overrides(days=60)
    region = spec.load_region()
    config = dataclasses.replace(spec.model_config_for("baseline", region), record_journeys=False)
    return spec, region, config


UNITS = ("ward", "icu", "alc", "ed")
ALL_UNITS = tuple(SEED_UNITS.values())
COLUMNS = {"ward": "ward_census", "icu": "icu_census", "alc": "alc_census", "ed": "ed_boarding"}


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.dictionaries(
        st.tuples(st.integers(0, 2), st.sampled_from(UNITS)), st.integers(0, 40), max_size=12
    ),
    st.integers(0, 2**16),
)
def test_warm_start_census_is_exact_then_evolves(model_setup, census, seed):
    """Observed units get exactly the observed census (in the model and in the as-of
    day's row); units not observed keep the simulated patients; each unit keeps its
    epidemic patients' number, at most its new census."""
    spec, region, config = model_setup
    model = RegionModel(region, config, 1)
    try:
        for _ in range(50):  # the epidemic starts on day 30
            model.step()
        before = model.facility_day[49].copy()
        names = list(model.care.metrics)

        def epidemic_by_unit():
            out = {}
            for p in model.care.patients.values():
                key = (p.site.index, p.unit)
                out[key] = out.get(key, 0) + p.epidemic
            return out

        epi_before = epidemic_by_unit()
        assert sum(epi_before.values()) > 0  # the epidemic is under way
        warm_start(model, census, np.random.default_rng(seed))
        epi_after = epidemic_by_unit()
        for (fi, unit), count in census.items():
            key = (fi, SEED_UNITS[unit])
            assert epi_after.get(key, 0) == min(epi_before.get(key, 0), count)
        epi_col = model.facility_day[49, :, names.index("epidemic_census")]
        assert epi_col.tolist() == [f.n_epidemic for f in model.care.facilities]
        for fi in range(3):
            for unit, column in COLUMNS.items():
                got = model.facility_day[49, fi, names.index(column)]
                want = census.get((fi, unit), before[fi, names.index(column)])
                assert got == want, (fi, unit)
                n = model.care.facilities[fi].n[SEED_UNITS[unit]]
                assert n == want
        assert len(model.care.patients) == int(model.pop.in_hospital.sum())
        assert all(p.day_next > model.day - 1 for p in model.care.patients.values())
        for _ in range(5):
            model.step()  # the seeded patients move on, are discharged, die: no error
        assert model.care.census() >= 0
    finally:
        model.release()


def test_a_warm_start_from_the_models_own_census_continues_its_own_stays(model_setup):
    """Observed = simulated: every unit of every site gets back the stays it held (kind,
    remaining phases, outcome, epidemic or not), not stays of a parametric kind; then
    a few more patients than the site had copy its own stays again."""
    spec, region, config = model_setup
    model = RegionModel(region, config, 3)
    try:
        for _ in range(50):
            model.step()
        day = model.day

        def stays(units=ALL_UNITS):
            out: dict = {}
            for p in model.care.patients.values():
                if p.site is not None and p.unit in units:
                    key = (p.site.index, p.unit)
                    stay = (p.kind, p.remaining(day), p.dies, p.epidemic)
                    out.setdefault(key, []).append(stay)
            return {k: sorted(v) for k, v in out.items()}

        before = stays()
        kinds = {t[0] for v in before.values() for t in v}
        assert len(kinds) >= 3  # medical, surgical, childbirth, epidemic ...
        census = {
            (fi, unit): len(before.get((fi, code), []))
            for fi in range(3)
            for unit, code in SEED_UNITS.items()
        }
        warm_start(model, census, np.random.default_rng(5))
        assert stays() == before
        ward = SEED_UNITS["ward"]
        n0 = len(before[(0, ward)])
        warm_start(model, {(0, "ward"): n0 + 7}, np.random.default_rng(6))
        again = stays([ward])[(0, ward)]
        assert len(again) == n0 + 7 and set(again) == set(before[(0, ward)])
    finally:
        model.release()


def test_particle_0_is_replicate_0_and_particles_share_only_the_set_up(twin_truth):
    """Particle 0 (a copy of the model built once) runs exactly as replicate 0 of an
    ensemble run; particle 1 has the same residents but a history of its own."""
    spec = load_spec(twin_truth.spec).with_overrides(days=45)
    want, _ = simulate(spec, "baseline", 0)
    region = region_of(spec)
    config = dataclasses.replace(spec.model_config_for("baseline", region), record_journeys=False)
    runs = []
    for particle in (0, 1, 0):
        model = particle_model(region, config, spec.seed, particle)
        try:
            runs.append((model.run().facility_day, model.pop.age.copy()))
        finally:
            model.release()
    assert np.array_equal(runs[0][0], want) and np.array_equal(runs[2][0], want)
    assert np.array_equal(runs[1][1], runs[0][1])
    admissions = list(model.care.metrics).index("admissions")
    assert not np.array_equal(runs[1][0][..., admissions], want[..., admissions])


def test_a_branch_draws_only_from_its_own_streams(model_setup):
    """Every random generator reachable from a branch is one it reseeded, and the branch
    leaves its parent's state and draws unchanged."""
    import gc
    import random
    import types

    skip = (np.ndarray, type, types.ModuleType, types.FunctionType, types.BuiltinFunctionType)

    spec, region, config = model_setup
    parent = BranchingModel(region, config, 5)
    twin = BranchingModel(region, config, 5)
    try:
        for _ in range(10):
            parent.step()
            twin.step()
        child = parent.branch(branch_seed(spec.seed, 0, 0))
        try:
            own = {id(g) for g in child.named_streams.values()} | {id(child.rng), id(child.random)}
            seen, todo, found = set(), [child], []
            while todo:
                obj = todo.pop()
                if id(obj) in seen or isinstance(obj, skip) or obj is region:
                    if isinstance(obj, types.FunctionType):  # what it closes over
                        todo.extend(c.cell_contents for c in obj.__closure__ or ())
                    continue
                seen.add(id(obj))
                if isinstance(obj, (np.random.Generator, random.Random)):
                    found.append(obj)
                    continue
                todo.extend(gc.get_referents(obj))
            assert found and all(id(g) in own for g in found)
            for _ in range(5):
                parent.step()
                twin.step()
                child.step()
            assert np.array_equal(parent.facility_day, twin.facility_day)
            assert not np.array_equal(child.facility_day[10:15], parent.facility_day[10:15])
        finally:
            child.release()
    finally:
        parent.release()
        twin.release()


def test_forecast_starts_from_the_observed_census_exactly(twin_truth, tmp_path):
    """Horizon 0 is the observed census of the as-of date, site by site, in ward, ICU
    and ALC beds and ED boarding (boarders observed at two sites of an uncapped region,
    where the model itself never has any)."""
    frame = pd.read_csv(twin_truth.observed)
    on_day = frame["date"] == str(AS_OF)
    frame.loc[on_day, "ed_boarding"] = [4, 0, 2]
    path = tmp_path / "observed.csv"
    frame.to_csv(path, index=False)
    spec = load_spec(twin_truth.spec)
    region = spec.load_region()
    observed = load_observed(path, region, spec.start, dt.date(2026, 12, 29))
    fc = run_forecast(spec, observed, AS_OF, days=14, replicates=12)
    assert set(fc["quantile"]) == set(QUANTILES) and fc["horizon"].max() == 14
    assert fc.attrs["particles"] == 6 and 1 <= fc.attrs["ess"] <= 6
    assert pd.Series(fc["target_date"]).max() == AS_OF + dt.timedelta(days=14)
    h0 = fc[fc["horizon"] == 0]
    for metric in ("ward_census", "icu_census", "alc_census", "ed_boarding"):
        for fid in region.facility_ids:
            want = observed.value(AS_OF, fid, metric)
            got = h0[(h0["facility"] == fid) & (h0["metric"] == metric)]["value"]
            assert (got == want).all(), (metric, fid, want, got.unique())
    assert h0[(h0["facility"] == "all") & (h0["metric"] == "ed_boarding")]["value"].eq(6).all()
    # a site's observed epidemic census is how many of its seeded patients are epidemic ones
    for fid in region.facility_ids:
        want = observed.value(AS_OF, fid, "epidemic_census")
        room = sum(observed.value(AS_OF, fid, m) for m in COLUMNS.values())
        got = h0[(h0["facility"] == fid) & (h0["metric"] == "epidemic_census")]["value"]
        assert (got == min(want, room)).all(), (fid, want, room, got.unique())
    # quantiles are ordered at every target
    wide = fc.pivot_table(
        index=["target_date", "facility", "metric"], columns="quantile", values="value"
    )
    assert (np.diff(wide.to_numpy(), axis=1) >= -1e-9).all()


def test_replicates_are_split_into_particles_of_at_most_the_branches():
    assert particles(12, 5) == [[0, 1, 2, 3, 4], [0, 1, 2, 3, 4], [0, 1]]
    assert particles(3, 5) == [[0, 1, 2]]
    assert sum(len(p) for p in particles(100, 7)) == 100


@pytest.mark.slow
def test_forecast_command_writes_hub_parquet_and_page(twin_truth, tmp_path):
    out = tmp_path / "fc"
    code = main(
        [
            "forecast",
            str(twin_truth.spec),
            "--observed",
            str(twin_truth.observed),
            "--as-of",
            "2026-10-20",
            "--days",
            "7",
            "--replicates",
            "4",
            "--workers",
            "1",
            "--out",
            str(out),
            "--quiet",
        ]
    )
    assert code == 0
    fc = pd.read_parquet(out / "forecast.parquet")
    assert list(fc.columns) == [
        "as_of",
        "target_date",
        "horizon",
        "facility",
        "metric",
        "quantile",
        "value",
    ]
    assert set(fc["facility"]) == {"F1", "F2", "F3", "all"}
    assert {"epidemic_census", "epidemic_admissions", "ward_census"} <= set(fc["metric"])
    assert (out / "forecast.png").stat().st_size > 5_000 and (out / "forecast.html").is_file()


@pytest.mark.slow
def test_forecast_takes_the_specs_own_table_of_draws(twin_truth, tmp_path):
    """A spec with ``[parameters] draws`` forecasts with its rows: admissions three times
    the truth's rate give a higher forecast than the spec's own values, site by site."""
    spec = tmp_path / "drawn.toml"
    spec.write_text(
        twin_truth.spec.read_text(encoding="utf-8") + '\n[parameters]\ndraws = "d.csv"\n',
        encoding="utf-8",
    )
    (tmp_path / "d.csv").write_text("demand.rel_admissions\n3.0\n3.0\n", encoding="utf-8")
    medians = []
    for path, out in ((twin_truth.spec, tmp_path / "plain"), (spec, tmp_path / "drawn")):
        argv = ["forecast", str(path), "--observed", str(twin_truth.observed)]
        argv += ["--as-of", "2026-10-20", "--days", "7", "--replicates", "2", "--workers", "1"]
        assert main([*argv, "--out", str(out), "--quiet"]) == 0
        fc = pd.read_parquet(out / "forecast.parquet")
        fc = fc[(fc["metric"] == "admissions") & (fc["quantile"] == 0.5)]
        medians.append(fc[fc["facility"] != "all"].groupby("facility")["value"].sum())
    plain, drawn = medians
    assert (drawn > plain).all(), (plain, drawn)


def _spec_with(tmp_path, base: str, extra: str):
    path = tmp_path / "spec.toml"
    path.write_text(base + extra, encoding="utf-8")
    return load_spec(path)


def test_particles_draw_the_specs_distributions_and_calibration_draws_fill_the_rest(
    twin_truth, tmp_path
):
    """Particle k takes what replicate k of a run takes (its own draw of a distribution),
    then a calibration draw for each parameter the scenario does not set itself."""
    text = twin_truth.spec.read_text(encoding="utf-8")
    text = text.replace("r0 = 1.6", 'r0 = { dist = "uniform", low = 1.2, high = 1.5 }')
    extra = "\n[scenarios.baseline]\n[scenarios.busy]\ndemand = { rel_admissions = 2.0 }\n"
    spec = _spec_with(tmp_path, text, extra)
    draws = pd.DataFrame(
        {"demand.rel_admissions": [0.8, 0.9], "epidemic.start_day": [10.0, 20.0], "trial": [1, 2]}
    )
    r0 = [particle_values(spec, "baseline", k)["epidemic.r0"] for k in range(20)]
    assert all(1.2 <= v <= 1.5 for v in r0) and len(set(r0)) == 20
    both = [particle_values(spec, "baseline", k, draws) for k in range(3)]
    assert [v["demand.rel_admissions"] for v in both] == [0.8, 0.9, 0.8]
    assert [v["epidemic.start_day"] for v in both] == [10, 20, 10]
    assert all(isinstance(v["epidemic.start_day"], int) for v in both)
    assert [v["epidemic.r0"] for v in both] == r0[:3]  # the same draws with a table or not
    busy = particle_values(spec, "busy", 0, draws)
    assert "demand.rel_admissions" not in busy and busy["epidemic.start_day"] == 10


def test_forecast_as_of_outside_the_run_exits_2(twin_truth, capsys):
    code = main(
        [
            "forecast",
            str(twin_truth.spec),
            "--observed",
            str(twin_truth.observed),
            "--as-of",
            "2030-01-01",
        ]
    )
    assert code == 2 and "outside the spec's run" in capsys.readouterr().err


def _cut_truth(spec, cut_day: int, rel_beta: float, days: int) -> pd.DataFrame:
    """The region's epidemic census of one run whose transmission is cut to ``rel_beta``
    from ``cut_day`` on (as contacts change in a real wave)."""
    region = spec.load_region()
    config = dataclasses.replace(spec.model_config_for("baseline", region), record_journeys=False)
    model = RegionModel(region, config, 7)
    try:
        for d in range(days):
            if d == cut_day:
                model.epidemic.rel_beta = rel_beta
            model.step()
        names = list(model.care.metrics)
        col = model.facility_day[:days, :, names.index("epidemic_census")].sum(axis=1)
    finally:
        model.release()
    dates = [spec.start + dt.timedelta(days=d) for d in range(days)]
    return pd.DataFrame({"date": dates, "facility": "all", "epidemic_census": col})


def test_an_epidemic_only_file_is_filtered_and_starts_from_its_total(twin_truth, tmp_path):
    """Only the region's epidemic census observed (the public-series case): the forecast
    runs, its day-0 interval is the observed total (within 2%), and the filtered
    transmission multiplier has fallen below 1 where the truth's was cut to 0.5."""
    spec = load_spec(twin_truth.spec)
    truth = _cut_truth(spec, 50, 0.5, 90)
    path = tmp_path / "epi.csv"
    truth.to_csv(path, index=False)
    observed = load_observed(path, spec.load_region(), spec.start, dt.date(2026, 12, 29))
    as_of = spec.start + dt.timedelta(days=85)
    fc = run_forecast(spec, observed, as_of, days=7, replicates=32)
    want = observed.value(as_of, "all", "epidemic_census")
    h0 = fc[(fc["horizon"] == 0) & (fc["facility"] == "all") & (fc["metric"] == "epidemic_census")]
    assert want > 20
    assert (h0["value"] - want).abs().max() <= 0.02 * want, (want, h0["value"].unique())
    lo, mid, hi = fc.attrs["log_m"]
    assert mid < np.log(0.9), fc.attrs  # the cut (log 0.5 = -0.69) is found
    assert fc.attrs["ess"] >= 1


def test_island_results_do_not_depend_on_the_client(twin_truth, dask_cluster):
    """The same forecast on two workers and in this process (islands are a function of
    the number of particles only)."""
    spec = load_spec(twin_truth.spec)
    observed = load_observed(
        twin_truth.observed, spec.load_region(), spec.start, dt.date(2026, 12, 29)
    )
    here = run_forecast(spec, observed, dt.date(2026, 10, 20), days=5, replicates=36)
    there = run_forecast(
        spec, observed, dt.date(2026, 10, 20), days=5, replicates=36, client=dask_cluster[1]
    )
    pd.testing.assert_frame_equal(here, there)


@pytest.mark.parametrize("anchored", [False, True])
def test_one_pass_over_several_origins_gives_each_origins_own_forecast(
    twin_truth, tmp_path, anchored
):
    """The backtest's sequential filter (one pass, forecasts branched at each origin) gives
    at every origin exactly the forecast a filter run to that origin alone gives: origins
    on a knot's last day and inside a knot's window (the pass weighs the window's first
    days for the forecast, then carries on with the whole window); with the filter's
    anchors too (``filter_anchor``: particles reset to the observed census at each knot)."""
    path = tmp_path / "spec.toml"
    text = twin_truth.spec.read_text(encoding="utf-8")
    path.write_text(text + ("\n[observation]\nfilter_anchor = true\n" if anchored else ""))
    spec = load_spec(path)
    observed = load_observed(
        twin_truth.observed, spec.load_region(), spec.start, dt.date(2026, 12, 29)
    )
    first = min(observed.dates)
    as_ofs = [
        first + dt.timedelta(days=3),  # inside the first knot's window
        first + dt.timedelta(days=17),  # inside the third knot's window
        first + dt.timedelta(days=20),  # the third knot's last day
        first + dt.timedelta(days=30),
    ]
    days = [4, 6, 3, 5]
    seq = run_forecasts(spec, observed, as_ofs, days, replicates=6)
    for a, d, fc in zip(as_ofs, days, seq, strict=True):
        alone = run_forecast(spec, observed, a, days=d, replicates=6)
        pd.testing.assert_frame_equal(fc, alone)
        assert fc.attrs == alone.attrs, a
    # the origins' forecasts differ (the pass does not hand one origin's to the next)
    assert not seq[1]["value"].equals(seq[3]["value"])


@pytest.mark.parametrize(
    ("observed", "options", "needle"),
    [
        ("date,facility,ward_census\n", [], "no observed value"),  # issue 25 item 12
        ("date,facility,ward_census\n2026-10-01,F1,1e9\n", [], "expected a count in 0.."),
        (
            "date,facility,ward_census\n2026-10-01,all,9000000\n",
            [],
            "more than the region's",
        ),  # item 8: a census of more patients than residents
        ("date,facility,ward_census\n2026-10-01,F1,5\n", ["--days", "100000"], "--days 100000"),
        (
            "date,facility,ward_census\n2026-10-01,F1,5\n",
            ["--replicates", "100000000"],
            "--replicates 100000000",
        ),  # item 14
        (
            "date,facility,ward_census\n2026-10-01,F1,5\n",
            ["--replicates", "9000", "--days", "30000"],
            "GiB",
        ),
    ],
)
def test_bad_forecast_inputs_exit_2_with_one_line_and_write_nothing(
    twin_truth, tmp_path, capsys, observed, options, needle
):
    path = tmp_path / "obs.csv"
    path.write_text(observed, encoding="utf-8")
    out = tmp_path / "fc"
    args = ["forecast", str(twin_truth.spec), "--observed", str(path), "--as-of", "2026-10-01"]
    code = main([*args, "--out", str(out), "--quiet", *options])
    err = capsys.readouterr().err
    assert code == 2 and needle in err, err
    assert "Traceback" not in err and not out.exists()


def test_a_backtest_with_nothing_to_score_exits_2_and_writes_nothing(twin_truth, tmp_path, capsys):
    """Issue 25 item 12 (backtest side): no observed value after the first origin."""
    path = tmp_path / "obs.csv"
    path.write_text("date,facility,ward_census\n2026-09-02,F1,5\n", encoding="utf-8")
    out = tmp_path / "bt"
    code = main(
        ["backtest", str(twin_truth.spec), "--observed", str(path), "--out", str(out), "--quiet"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "no observed data after the first origin" in err, err
    assert not out.exists()


@settings(max_examples=50, deadline=None)
@given(
    st.integers(0, 500),
    st.lists(st.integers(0, 30), min_size=1, max_size=6).filter(lambda xs: sum(xs) > 0),
    st.integers(0, 2**16),
)
def test_a_region_total_is_spread_by_shares_and_seeded_exactly(total, own, seed):
    """The region's epidemic total splits into whole numbers summing to it, each within
    one of its share; adjusted templates hold exactly that many epidemic stays per unit
    (borrowing another unit's when a unit has none)."""
    from popsim.care.seeding import from_templates
    from popsim.twin.warmstart import StartPlan, _largest_remainder

    shares = np.array(own, dtype=float)
    want = _largest_remainder(total, shares)
    assert want.sum() == total
    assert np.all(np.abs(want - total * shares / shares.sum()) < 1)
    ward = SEED_UNITS["ward"]
    epi = ((0, ((ward, 3),), False, True),)
    other = ((0, ((ward, 5),), False, False),)
    templates = {(i, ward): list(epi * n + other * 2) for i, n in enumerate(own)}
    rng = np.random.default_rng(seed)
    adjusted = StartPlan.adjust(templates, {(i, ward): int(k) for i, k in enumerate(want)}, rng)
    for i, k in enumerate(want):
        seeded = from_templates(adjusted, i, ward, int(k) + 2, rng)
        assert sum(t[3] for t in seeded) == k and len(seeded) == k + 2


def test_the_warm_start_rescales_the_infected_by_the_census_ratio_when_asked(model_setup):
    """``rescale_infected``: the ratio is the observed total over the particle's own
    epidemic patients, bounded to 1/4-4, and the particle's infected residents not in
    hospital are scaled by it; off (the default), nothing is asked of the epidemic."""
    from popsim.epidemic.module import IA, IS, E
    from popsim.twin.warmstart import UNIT_NAMES, StartPlan

    spec, region, config = model_setup
    model = particle_model(region, config, spec.seed, 0)
    try:
        while model.day < 40:
            model.step()
        own = sum(
            1
            for p in model.care.patients.values()
            if p.epidemic and p.site is not None and p.unit in UNIT_NAMES
        )
        assert own > 0
        assert StartPlan({}, 2 * own).infected_ratio(model) is None  # off by default
        for total, want in ((2 * own, 2.0), (100 * own, 4.0), (0, 0.25)):
            plan = StartPlan({}, total)
            plan.rescale_infected = True
            assert plan.infected_ratio(model) == pytest.approx(want)
        pop = model.pop

        def infected():
            st_ = pop.epi_state
            return int((np.isin(st_, [E, IA, IS]) & pop.alive & ~pop.in_hospital).sum())

        n = infected()
        StartPlan.rescale(model, 0.5, np.random.default_rng(1))
        assert abs(infected() - n / 2) <= 1
    finally:
        model.release()


def test_an_anchor_resets_a_particles_epidemic_census_and_scales_its_infected(model_setup):
    """``filter_anchor``: at a knot's end the particle's epidemic census becomes the
    observed total and its infected residents not in hospital are scaled by the same
    ratio (here twice its own), on streams keyed to the day."""
    from popsim.epidemic.module import IA, IS, E
    from popsim.twin.smc import anchor
    from popsim.twin.warmstart import UNIT_NAMES, StartPlan

    spec, region, config = model_setup
    model = particle_model(region, config, spec.seed, 0)
    pop = model.pop

    def epidemic_census():
        return sum(
            1
            for p in model.care.patients.values()
            if p.epidemic and p.site is not None and p.unit in UNIT_NAMES
        )

    def infected():
        return int((np.isin(pop.epi_state, [E, IA, IS]) & pop.alive & ~pop.in_hospital).sum())

    try:
        while model.day < 40:
            model.step()
        own, n = epidemic_census(), infected()
        assert own > 0 and n > 0
        plan = StartPlan({}, 2 * own)
        plan.rescale_infected = True
        anchor(model, plan, model.day - 1)
        assert epidemic_census() == 2 * own
        assert abs(infected() - 2 * n) <= max(2, 0.02 * n)  # copies need susceptibles
        model.step()  # the model runs on from the anchored state
    finally:
        model.release()
