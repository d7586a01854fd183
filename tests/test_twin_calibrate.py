"""Calibration: a "true" system (hidden parameters plus reporting noise) is recovered."""

from __future__ import annotations

import datetime as dt
import json
import tomllib
import types

import pandas as pd
import pytest

from popsim.cli import main
from popsim.errors import PopsimError, SpecError
from popsim.run.record import manifests
from popsim.run.spec import load_spec
from popsim.twin import tomlw
from popsim.twin.calibrate import calibrate, drive_trials, open_study

CALIBRATION = """
[calibration]
parameters = { "demand.rel_admissions" = [0.5, 2.0], "epidemic.r0" = [1.1, 2.2] }
targets = ["admissions", "ward_census", "icu_census", "epidemic_admissions"]
from = 2026-09-01
to = 2026-12-29
replicates_per_trial = 4
"""


@pytest.fixture(scope="module")
def twin(twin_truth, tmp_path_factory):
    folder = tmp_path_factory.mktemp("twin")
    spec = folder / "fit.toml"
    spec.write_text(twin_truth.spec_text("fit", 1, 2.0, 1.0) + CALIBRATION, encoding="utf-8")
    return folder, spec, twin_truth.observed


def test_toml_writer_round_trips_a_spec(twin):
    _, spec, _ = twin
    data = load_spec(spec).model_dump(mode="python", exclude_none=True)
    data["scenarios"]["other"] = {"events": [{"day": 3, "close": "F2"}], "epidemic": {"r0": 2.5}}
    back = tomllib.loads(tomlw.dumps(data))
    assert back["start"] == data["start"] and back["epidemic"] == data["epidemic"]
    assert back["scenarios"]["other"] == data["scenarios"]["other"]
    assert back["calibration"]["parameters"] == {
        k: list(v) for k, v in data["calibration"]["parameters"].items()
    }
    assert back["calibration"]["from"] == dt.date(2026, 9, 1)


@pytest.mark.slow
def test_calibration_recovers_hidden_parameters_and_resumes(twin, twin_truth):
    folder, spec, observed = twin
    out = folder / "cal"
    first = calibrate(spec, observed, trials=24, workers=2, out=out, progress=False)
    assert first.n_trials == 24
    result = calibrate(spec, observed, trials=60, workers=2, out=out, progress=False)
    trials = pd.read_parquet(out / "trials.parquet")
    assert (trials["state"] == "COMPLETE").sum() == 60  # resumed: 36 more, not 60
    for name, truth in twin_truth.hidden.items():
        assert abs(result.best[name] / truth - 1) < 0.10, (name, result.best[name], truth)
        lo, hi = result.draws[name].min(), result.draws[name].max()
        assert lo <= truth <= hi, (name, lo, hi, truth)
    # the calibrated spec runs as is
    code = main(
        [
            "run",
            str(out / "calibrated.toml"),
            "--replicates",
            "1",
            "--workers",
            "1",
            "--days",
            "5",
            "--out",
            str(folder / "calrun"),
            "--quiet",
        ]
    )
    assert code == 0
    best = json.loads((out / "best.json").read_text())
    assert best["parameters"] == pytest.approx(result.best)
    assert (out / "fit.png").stat().st_size > 10_000 and "base64" in (out / "fit.html").read_text()
    # the accepted draws as the calibrated spec's parameter source: one draw per replicate
    text = (out / "calibrated.toml").read_text()
    with_draws = text.replace(
        '# [parameters]\n# draws = "draws.parquet"', '[parameters]\ndraws = "draws.parquet"'
    )
    assert with_draws != text
    (out / "calibrated.toml").write_text(with_draws)
    args = ["run", str(out / "calibrated.toml"), "--replicates", "3", "--workers", "1"]
    assert main([*args, "--days", "5", "--quiet"]) == 0
    draws = pd.read_parquet(out / "draws.parquet")
    names = list(twin_truth.hidden)
    rows = {tuple(r) for r in draws[names].to_numpy()}
    used = [tuple(m["parameters"][n] for n in names) for m in manifests(out / "calibrated")]
    assert len(used) == 3 and set(used) <= rows and len(set(used)) == min(3, len(rows))
    # its report shows the calibration's fit
    assert main(["report", str(out / "calibrated")]) == 0
    report = (out / "calibrated" / "analysis" / "report.html").read_text()
    assert "<h2>Calibration fit</h2>" in report and names[0] in report


def test_cli_bad_observed_data_exits_2(twin, tmp_path, capsys):
    _, spec, _ = twin
    bad = tmp_path / "bad.csv"
    bad.write_text("date,facility,ward_census\n2026-09-01,F1,-1\n2026-09-02,F7,1\n")
    code = main(["calibrate", str(spec), "--observed", str(bad), "--trials", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    assert "row 2: ward_census" in err and "row 3: facility" in err


def test_cli_bad_calibration_section_exits_2(twin, tmp_path, capsys):
    _, spec, observed = twin
    text = spec.read_text().replace('"epidemic.r0" = [1.1, 2.2]', '"epidemic.r9" = [1.1, 2.2]')
    bad = tmp_path / "bad.toml"
    bad.write_text(text)
    code = main(["calibrate", str(bad), "--observed", str(observed), "--trials", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "calibration.parameters.epidemic.r9" in err


def test_unknown_target_exits_2(twin, tmp_path, capsys):
    _, spec, observed = twin
    text = spec.read_text().replace(
        'targets = ["admissions",', 'targets = ["cases_seen", "admissions",'
    )
    bad = tmp_path / "bad2.toml"
    bad.write_text(text)
    code = main(["calibrate", str(bad), "--observed", str(observed), "--trials", "1"])
    err = capsys.readouterr().err
    assert code == 2 and "calibration.targets" in err and "Traceback" not in err


def test_study_resumes_the_same_calibration_and_refuses_another(tmp_path):
    import optuna

    dist = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
    study = open_study(tmp_path, "s", 1, "aaa", force=False)
    done = study.ask(dist)
    study.tell(done, 1.0)
    study.ask(dist)  # in flight when the calibration was interrupted
    again = open_study(tmp_path, "s", 1, "aaa", force=False)
    assert [t.state.name for t in again.get_trials()] == ["COMPLETE", "FAIL"]
    assert again.best_params == done.params
    with pytest.raises(PopsimError, match="another spec or observed file"):
        open_study(tmp_path, "s", 1, "bbb", force=False)
    assert open_study(tmp_path, "s", 1, "bbb", force=True).get_trials() == []


def _score(x: float) -> float:
    if x > 0.85:
        raise SpecError("<spec>", "calibration", "refused")
    return -((x - 0.3) ** 2)


def test_trials_run_as_they_finish_until_the_total(tmp_path, dask_cluster):
    import optuna

    _, client = dask_cluster
    study = open_study(tmp_path, "s", 3, "f", force=False)
    dist = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
    in_flight = []

    def submit(trial):
        running = [t for t in study.get_trials(deepcopy=False) if t.state.name == "RUNNING"]
        in_flight.append(len(running))
        return client.submit(_score, trial.params["x"], pure=False)

    bar = types.SimpleNamespace(update=lambda n: None)
    assert drive_trials(study, dist, submit, 30, 0, 4, bar) == 30
    states = [t.state.name for t in study.get_trials()]
    assert states.count("COMPLETE") == 30 and len(states) == 30 + states.count("FAIL")
    assert max(in_flight) <= 4  # never more than asked for in flight
    # every refused trial is one the model refused
    assert all(t.params["x"] > 0.85 for t in study.get_trials() if t.state.name == "FAIL")
    # resumed with a larger total: only the missing trials run
    assert drive_trials(study, dist, submit, 34, 30, 4, bar) == 34
    assert [t.state.name for t in study.get_trials()].count("COMPLETE") == 34
