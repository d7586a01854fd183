"""The twin's in-memory runs: a trial at the hidden parameters is the true system's run."""

from __future__ import annotations

import datetime as dt

import numpy as np

from popsim.run.spec import load_spec
from popsim.twin import likelihood as lk
from popsim.twin import sim
from popsim.twin.observed import Observed


def test_a_trial_at_the_hidden_parameters_and_seed_is_the_truth_run(twin_truth, tmp_path):
    # the calibration's spec (another seed, other values) set to the hidden values by
    # name, as a trial sets them, and run with the truth's seed: the same series, exactly
    # (same model, population, warm start and days; nothing carried over from other runs)
    spec_path = tmp_path / "fit.toml"
    spec_path.write_text(twin_truth.spec_text("fit", 99, 2.0, 1.0), encoding="utf-8")
    trial = sim.with_parameters(load_spec(spec_path), twin_truth.hidden)
    other = sim.with_parameters(load_spec(spec_path), {"demand.rel_admissions": 0.7})
    sim.simulate(other, "baseline", 0, twin_truth.days)  # a run before, in this process
    fd, names = sim.simulate(trial, "baseline", 0, twin_truth.days)
    clean = twin_truth.clean
    for metric in ("admissions", "ward_census", "icu_census", "epidemic_admissions"):
        expected = clean[metric].to_numpy().reshape(twin_truth.days, -1)
        assert np.array_equal(fd[:, :, names.index(metric)], expected), metric
    # and the calibration's targets read from the truth's table land on the same simulated
    # days and sites (no off-by-one between a date and its day in the run)
    metrics = ["admissions", "ward_census", "icu_census", "epidemic_admissions"]
    start = trial.start
    last = start + dt.timedelta(days=twin_truth.days - 1)
    ids = list(sim.region_of(trial).facility_ids)
    t = lk.targets(
        Observed(clean[["date", "facility", *metrics]]), metrics, ids, start, start, last, 7, 7
    )
    assert len(t) > 0 and np.array_equal(lk.simulated_at(t, fd, names), t.y)
