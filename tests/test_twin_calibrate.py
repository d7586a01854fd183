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
    with pytest.raises(PopsimError, match="another spec or of other observed data"):
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


# ------------------------------------------------------------ hardening
def _cli(capsys, *args: str) -> tuple[int, str]:
    code = main(["calibrate", *args])
    return code, capsys.readouterr().err


@pytest.mark.parametrize("trials", ["0", "-3", "5001"])
def test_trials_out_of_range_exit_2_before_anything(twin, tmp_path, capsys, trials):
    _, spec, observed = twin
    out = tmp_path / "cal"
    code, err = _cli(
        capsys, str(spec), "--observed", str(observed), "--trials", trials, "--out", str(out)
    )
    assert code == 2 and "Traceback" not in err
    assert err.strip() == f"popsim: error: --trials: expected 1..5,000 trials, got {trials}"
    assert not out.exists()


def test_a_target_missing_from_the_observed_file_exits_2(twin, tmp_path, capsys):
    _, spec, observed = twin
    frame = pd.read_csv(observed).drop(columns=["icu_census", "epidemic_admissions"])
    thin = tmp_path / "thin.csv"
    frame.to_csv(thin, index=False)
    out = tmp_path / "cal"
    code, err = _cli(capsys, str(spec), "--observed", str(thin), "--out", str(out))
    lines = err.splitlines()
    assert code == 2 and "Traceback" not in err and len(lines) == 2, err
    assert "calibration.targets[2]: 'icu_census' is not a column of the observed file" in lines[0]
    assert "calibration.targets[3]: 'epidemic_admissions'" in lines[1]
    assert not out.exists()


def test_a_torn_last_record_of_the_journal_is_dropped_and_the_study_resumes(tmp_path, capsys):
    import optuna

    dist = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
    study = open_study(tmp_path, "s", 1, "aaa", force=False)
    for x in (0.1, 0.2):
        trial = study.ask(dist)
        study.tell(trial, x)
    journal = tmp_path / "study.journal"
    intact = journal.read_bytes()
    with journal.open("ab") as f:  # a crash in the middle of writing a record
        f.write(b'{"op_code":4,"worker_id":"ab')
    again = open_study(tmp_path, "s", 1, "aaa", force=False)
    assert "dropped a torn last record" in capsys.readouterr().err
    kept = journal.read_bytes()
    # the intact records kept, the torn one gone: every line a whole JSON record (the
    # torn bytes themselves may recur by chance: worker ids are random)
    assert kept.startswith(intact) and kept.endswith(b"\n")
    assert all(isinstance(json.loads(line), dict) for line in kept.splitlines())
    again.tell(again.ask(dist), 0.3)
    third = open_study(tmp_path, "s", 1, "aaa", force=False)
    assert [t.value for t in third.get_trials()] == [0.1, 0.2, 0.3]


def test_a_damaged_record_inside_the_journal_is_one_line(tmp_path):
    open_study(tmp_path, "s", 1, "aaa", force=False)
    journal = tmp_path / "study.journal"
    journal.write_bytes(b"not json\n" + journal.read_bytes())
    with pytest.raises(PopsimError, match=r"study.journal: line 1 is not a record"):
        open_study(tmp_path, "s", 1, "aaa", force=False)


def test_out_into_another_calibrations_folder_is_refused_without_force(twin, tmp_path, capsys):
    _, spec, observed = twin
    other = tmp_path / "other"
    other.mkdir()
    files = {
        "best.json": b'{"fingerprint": "0123456789abcdef", "spec": "other"}',
        "draws.parquet": b"PAR1 not ours",
        "calibrated.toml": b'name = "other-calibrated"\n',
    }
    for name, data in files.items():
        (other / name).write_bytes(data)
    code, err = _cli(capsys, str(spec), "--observed", str(observed), "--out", str(other))
    assert code == 2 and "Traceback" not in err and len(err.splitlines()) == 1
    assert "holds the outputs of another calibration" in err and "--force" in err
    assert {p.name: p.read_bytes() for p in other.iterdir()} == files  # nothing written
    # --check with --force: the folder is accepted (and still nothing is written)
    code, _ = _cli(
        capsys, str(spec), "--observed", str(observed), "--out", str(other), "--check", "--force"
    )
    assert code == 0 and {p.name: p.read_bytes() for p in other.iterdir()} == files


def test_the_fingerprint_covers_the_data_used_not_later_rows(twin, tmp_path):
    from popsim.twin import likelihood as lk
    from popsim.twin.calibrate import fingerprint, observed_for
    from popsim.twin.calspec import calibration_of

    _, spec_path, observed = twin
    spec = load_spec(spec_path)
    cal = calibration_of(spec)
    region = spec.load_region()

    def fp(path) -> str:
        obs = observed_for(spec, path)
        first, last = cal.from_, cal.to
        t = lk.targets(obs, cal.targets, region.facility_ids, spec.start, first, last, 7, 7)
        return fingerprint(spec, t)

    frame = pd.read_csv(observed)
    cut = frame[pd.to_datetime(frame["date"]).dt.date <= dt.date(2026, 12, 20)]
    early = tmp_path / "early.csv"
    cut.to_csv(early, index=False)
    # the calibration ends on 2026-12-29: days after it appended change nothing, ...
    later = tmp_path / "later.csv"
    frame[pd.to_datetime(frame["date"]).dt.date <= dt.date(2026, 12, 29)].to_csv(later, index=False)
    assert fp(later) == fp(observed)
    # ... a value inside it does
    changed = frame.copy()
    changed.loc[changed.index[50], "admissions"] += 1
    moved = tmp_path / "moved.csv"
    changed.to_csv(moved, index=False)
    assert fp(moved) != fp(observed) and fp(early) != fp(observed)


def test_a_trial_the_model_refuses_returns_its_reason_not_a_worker_error(twin):
    from popsim.twin import likelihood as lk
    from popsim.twin.calibrate import run_trial

    _, spec_path, _ = twin
    spec = load_spec(spec_path)
    empty = lk.Targets(("admissions",), *([pd.Series([], dtype="int64").to_numpy()] * 5), 0)
    reason = run_trial(spec, {"epidemic.r0": -1.0}, "baseline", 1, 5, empty, 20.0)
    assert isinstance(reason, str) and "epidemic.r0" in reason


INTEGER_CALIBRATION = """
[calibration]
targets = ["admissions", "ward_census", "epidemic_admissions"]
from = 2026-09-01
to = 2026-10-31
replicates_per_trial = 1
[calibration.parameters]
"epidemic.seed_infections" = [100, 300]
"epidemic.p_severe,p_critical,p_death" = { scale = [0.8, 1.25] }
"scenarios.baseline.events[0].day" = [40, 60]
"scenarios.baseline.events[0].contact_reduction" = [0.1, 0.5]

[[scenarios.baseline.events]]
date = 2026-10-15
contact_reduction = 0.3
"""


@pytest.mark.slow
@pytest.mark.cluster
def test_integer_and_multiplier_parameters_end_to_end(twin_truth, tmp_path, capsys):
    spec = tmp_path / "int.toml"
    spec.write_text(twin_truth.spec_text("int", 1, 1.6, 1.3) + INTEGER_CALIBRATION)
    out = tmp_path / "cal"
    args = [str(spec), "--observed", str(twin_truth.observed), "--workers", "1", "--quiet"]
    first = calibrate(
        spec, twin_truth.observed, trials=3, workers=1, out=out, progress=False, fan_draws=2
    )
    assert first is not None and isinstance(first.best["epidemic.seed_infections"], int)
    # a rerun resumes to more trials and writes again
    code, err = _cli(capsys, *args, "--trials", "4", "--out", str(out))
    assert code == 0, err
    draws = pd.read_parquet(out / "draws.parquet")
    assert draws["epidemic.seed_infections"].dtype == "int64"
    scale = "epidemic.p_severe,p_critical,p_death*"
    assert draws[scale].between(0.8, 1.25).all()
    calibrated = tomllib.loads((out / "calibrated.toml").read_text())
    seeds = calibrated["epidemic"]["seed_infections"]
    assert isinstance(seeds, int) and 100 <= seeds <= 300
    base = load_spec(spec).params("epidemic", "baseline").p_severe
    factor = json.loads((out / "best.json").read_text())["parameters"][scale]
    assert calibrated["epidemic"]["p_severe"] == pytest.approx([factor * v for v in base])
    day = "scenarios.baseline.events[0].day"
    assert draws[day].dtype == "int64" and draws[day].between(40, 60).all()
    (event,) = calibrated["scenarios"]["baseline"]["events"]
    best = json.loads((out / "best.json").read_text())["parameters"]
    assert event["date"] == dt.date(2026, 9, 1) + dt.timedelta(days=best[day])
    assert event["contact_reduction"] == pytest.approx(
        best[day.replace("day", "contact_reduction")]
    )
    # the accepted draws (a multiplier column among them) drive a run
    text = (out / "calibrated.toml").read_text()
    text = text.replace(
        '# [parameters]\n# draws = "draws.parquet"', '[parameters]\ndraws = "draws.parquet"'
    )
    (out / "calibrated.toml").write_text(text)
    run = [
        "run",
        str(out / "calibrated.toml"),
        "--replicates",
        "2",
        "--workers",
        "1",
        "--days",
        "3",
    ]
    assert main([*run, "--quiet"]) == 0
    used = [m["parameters"] for m in manifests(out / "calibrated")]
    assert all(isinstance(u["epidemic.seed_infections"], int) for u in used)
    assert all(u[scale] in set(draws[scale]) for u in used)
    assert all(u[day] in set(draws[day]) for u in used)
