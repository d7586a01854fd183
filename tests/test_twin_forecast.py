"""Forecasts: the warm start reproduces the observed census exactly; hub-format output."""

from __future__ import annotations

import dataclasses
import datetime as dt

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popsim.cli import main
from popsim.model import RegionModel
from popsim.observed import load_observed
from popsim.scenario import load_spec
from popsim.twin.forecast import run_forecast, tempered_weights
from popsim.twin.score import QUANTILES
from popsim.twin.warmstart import reseed_census

AS_OF = dt.date(2026, 11, 10)


@pytest.fixture(scope="module")
def model_at_day_20(twin_truth):
    spec = load_spec(twin_truth.spec).with_overrides(days=40)
    region = spec.load_region()
    config = dataclasses.replace(spec.model_config_for("baseline", region), record_journeys=False)
    return spec, region, config


@settings(
    max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(st.lists(st.integers(0, 40), min_size=9, max_size=9), st.integers(0, 2**16))
def test_reseeded_census_is_exact_then_evolves(model_at_day_20, counts, seed):
    spec, region, config = model_at_day_20
    model = RegionModel(region, config, 1)
    try:
        for _ in range(20):
            model.step()
        units = ("ward", "icu", "alc")
        census = {(i // 3, units[i % 3]): c for i, c in enumerate(counts)}
        reseed_census(model, census, np.random.default_rng(seed))
        for (fi, unit), c in census.items():
            assert getattr(model.care.facilities[fi], f"{unit}_census") == c
        assert model.care.facilities[0].n_boarding == 0
        patients = list(model.care.patients.values())
        assert len(patients) == sum(counts) == int(model.pop.in_hospital.sum())
        assert all(p.day_next > model.day - 1 for p in patients)  # stays still running
        for _ in range(5):
            model.step()  # the seeded patients move on, are discharged, die: no error
        assert model.care.census() >= 0
    finally:
        model.release()


def test_tempered_weights_keep_half_the_sample():
    ll = np.array([0.0, -1.0, -500.0, -800.0] * 10)
    w = tempered_weights(ll)
    assert abs(w.sum() - 1) < 1e-12 and 1 / np.sum(w**2) >= 0.5 * len(ll) - 1e-6
    flat = tempered_weights(np.zeros(10))
    assert np.allclose(flat, 0.1)


@pytest.mark.slow
def test_forecast_starts_from_the_observed_census_exactly(twin_truth):
    spec = load_spec(twin_truth.spec)
    region = spec.load_region()
    observed = load_observed(twin_truth.observed, region, spec.start, dt.date(2026, 12, 29))
    fc = run_forecast(spec, observed, AS_OF, days=14, replicates=12)
    assert set(fc["quantile"]) == set(QUANTILES) and fc["horizon"].max() == 14
    assert pd.Series(fc["target_date"]).max() == AS_OF + dt.timedelta(days=14)
    h0 = fc[fc["horizon"] == 0]
    for metric in ("ward_census", "icu_census", "alc_census"):
        for fid in region.facility_ids:
            want = observed.value(AS_OF, fid, metric)
            got = h0[(h0["facility"] == fid) & (h0["metric"] == metric)]["value"]
            assert (got == want).all(), (metric, fid, want, got.unique())
    # quantiles are ordered at every target
    wide = fc.pivot_table(
        index=["target_date", "facility", "metric"], columns="quantile", values="value"
    )
    assert (np.diff(wide.to_numpy(), axis=1) >= -1e-9).all()


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
