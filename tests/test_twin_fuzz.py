"""Fuzzing the twin's inputs: hypothesis ``[calibration]`` sections (through
``popsim calibrate --check``), tables of draws (through ``popsim run --check``), damaged
study journals, observed facility tables (CSV and Parquet) and a staffing spec's
``forecast_file``. Each ends in exit 0 (or loads), or exit 2 and one line per problem
naming the input; never a traceback, never a write outside the output folder."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from popsim.cli import main
from popsim.errors import PopsimError
from popsim.region.load import load_region
from popsim.twin import tomlw
from popsim.twin.observed import ObservedProblems, load_observed

SPEC = {"region": "synthetic", "start": "2026-09-01", "days": 30, "population": 20000}
PARAMETER_NAMES = (
    "epidemic.r0",
    "epidemic.seed_infections",
    "epidemic.start_day",
    "epidemic.p_severe",
    "epidemic.p_severe,p_critical",
    "epidemic.p_severe*",
    "epidemic.dur_severe_stay",
    "epidemic.seed_zones",
    "epidemic.pathogen",
    "demand.rel_admissions",
    "care.surge_share",
    "care.uncapped",
    "bogus.x",
    "epidemic",
    "epidemic.r0.x",
    "",
    "epidemic.enabled",
)
numbers = st.one_of(
    st.integers(-5, 500),
    st.floats(-2, 5),
    st.floats(allow_nan=True, allow_infinity=True),
    st.integers(-(2**70), 2**70),
)
hostile = st.one_of(
    numbers,
    st.booleans(),
    st.text(max_size=8),
    st.dates(),
    st.lists(st.one_of(numbers, st.booleans(), st.text(max_size=3)), max_size=3),
    st.fixed_dictionaries({"scale": st.lists(numbers, min_size=0, max_size=3)}),
    st.dictionaries(st.sampled_from(["scale", "low", "dist"]), numbers, max_size=2),
)
ranges = st.one_of(
    st.tuples(numbers, numbers).map(list),
    st.fixed_dictionaries({"scale": st.tuples(st.floats(0.1, 3), st.floats(0.1, 3)).map(list)}),
    hostile,
)
SETTINGS = (
    "targets",
    "from",
    "to",
    "scenario",
    "replicates_per_trial",
    "likelihood",
    "dispersion",
    "census_every_days",
    "flow_block_days",
    "bogus",
)


@st.composite
def calibrations(draw) -> dict[str, Any]:
    section: dict[str, Any] = {}
    if draw(st.integers(0, 5)):
        names = draw(st.lists(st.sampled_from(PARAMETER_NAMES), max_size=4, unique=True))
        section["parameters"] = {n: draw(ranges) for n in names}
    for key in draw(st.lists(st.sampled_from(SETTINGS), max_size=4, unique=True)):
        if key == "targets":
            section[key] = draw(
                st.one_of(
                    st.lists(
                        st.sampled_from(["admissions", "ward_census", "icu_census", "nope"]),
                        max_size=3,
                    ),
                    hostile,
                )
            )
        else:
            section[key] = draw(hostile)
    return section


@pytest.fixture(scope="module")
def observed_csv(tmp_path_factory) -> Path:
    folder = tmp_path_factory.mktemp("observed")
    days = pd.date_range("2026-09-01", periods=30).date
    rows = [(d, f, 3, 40, 5) for d in days for f in ("F1", "F2", "F3")]
    frame = pd.DataFrame(
        rows, columns=["date", "facility", "admissions", "ward_census", "icu_census"]
    )
    path = folder / "observed.csv"
    frame.to_csv(path, index=False)
    return path


def snapshot(root: Path) -> dict[str, bytes]:
    return {str(p): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def one_line_per_problem(err: str, spec: Path, *others: Path) -> bool:
    prefixes = ("popsim: error: ", str(spec), *(str(o) for o in others))
    lines = err.splitlines()
    return bool(lines) and all(line.startswith(prefixes) for line in lines)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(section=calibrations(), trials=st.integers(-2, 6000))
def test_fuzzed_calibration_sections(section, trials, observed_csv, tmp_path_factory, capsys):
    root = tmp_path_factory.mktemp("cal")
    spec = root / "fuzz.toml"
    try:
        spec.write_text(tomlw.dumps({**SPEC, "calibration": section}), encoding="utf-8")
    except (TypeError, ValueError):  # a value TOML cannot hold (the writer refuses it)
        assume(False)
    before = snapshot(root)
    out = root / "out"
    args = [str(spec), "--observed", str(observed_csv), "--trials", str(trials)]
    code = main(["calibrate", *args, "--check", "--out", str(out), "--quiet"])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert code in (0, 2), printed.err
    if code == 0:
        assert "ok" in printed.out and printed.err == ""
    else:
        assert one_line_per_problem(printed.err, spec, observed_csv), printed.err
    assert snapshot(root) == before and not out.exists()


DRAW_COLUMNS = (
    "epidemic.r0",
    "epidemic.seed_infections",
    "epidemic.p_severe*",
    "epidemic.p_severe,p_death*",
    "epidemic.seed_zones*",
    "epidemic.nope*",
    "demand.rel_admissions",
    "trial",
    "state",
    "log_likelihood",
    "x",
    "bogus.y",
)
cells = st.one_of(
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(0.5, 2.5),
    st.integers(-3, 400),
    st.booleans(),
    st.text(max_size=4),
    st.none(),
)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    columns=st.lists(st.sampled_from(DRAW_COLUMNS), max_size=4, unique=True),
    rows=st.integers(0, 4),
    data=st.data(),
    kind=st.sampled_from(["parquet", "csv"]),
)
def test_fuzzed_draws_tables(columns, rows, data, kind, tmp_path_factory, capsys):
    root = tmp_path_factory.mktemp("draws")
    table = pd.DataFrame(
        {c: data.draw(st.lists(cells, min_size=rows, max_size=rows)) for c in columns}
    )
    path = root / f"d.{kind}"
    try:
        table.to_parquet(path, index=False) if kind == "parquet" else table.to_csv(
            path, index=False
        )
    except (TypeError, ValueError, OverflowError, ImportError) as err:  # pyarrow refuses
        assume(not isinstance(err, ImportError) and False)
    spec = root / "d.toml"
    text = tomlw.dumps({**SPEC, "days": 3, "parameters": {"draws": path.name}})
    spec.write_text(text, encoding="utf-8")
    before = snapshot(root)
    code = main(["run", str(spec), "--check", "--quiet", "--out", str(root / "out")])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert code in (0, 2), printed.err
    if code == 2:
        assert one_line_per_problem(printed.err, spec, path), printed.err
    assert snapshot(root) == before


@pytest.fixture(scope="module")
def journal_lines(tmp_path_factory) -> list[bytes]:
    import optuna

    from popsim.twin.calibrate import open_study

    folder = tmp_path_factory.mktemp("journal")
    study = open_study(folder, "s", 1, "fp", force=False)
    dist = {"x": optuna.distributions.FloatDistribution(0.0, 1.0)}
    for x in (0.1, 0.5):
        study.tell(study.ask(dist), x)
    study.ask(dist)
    return (folder / "study.journal").read_bytes().splitlines(keepends=True)


json_values = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(-3, 20), st.floats(-1, 1), st.text(max_size=5)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=3),
        st.dictionaries(
            st.sampled_from(["op_code", "worker_id", "study_id", "trial_id", "value", "x"]),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=8,
)


@settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    keep=st.integers(0, 10),
    cut=st.integers(0, 400),
    junk=st.one_of(
        st.binary(max_size=40),
        json_values.map(lambda v: json.dumps(v).encode() + b"\n"),
        st.just(b""),
    ),
    where=st.sampled_from(["end", "start", "middle", "torn"]),
)
def test_fuzzed_study_journals(journal_lines, keep, cut, junk, where, tmp_path_factory):
    from popsim.twin.calibrate import open_study

    lines = list(journal_lines[:keep])
    if where == "end":
        lines.append(junk)
    elif where == "start":
        lines.insert(0, junk)
    elif where == "middle":
        lines.insert(len(lines) // 2, junk)
    data = b"".join(lines)
    if where == "torn":
        data = data[: max(0, len(data) - cut)]
    folder = tmp_path_factory.mktemp("j")
    (folder / "study.journal").write_bytes(data)
    try:
        study = open_study(folder, "s", 1, "fp", force=False)
    except PopsimError as err:
        assert "\n" not in str(err) and "study.journal" in str(err)
        return
    assert all(np.isfinite(t.value) for t in study.get_trials() if t.value is not None)


# ------------------------------------------------------------ observed data
START = dt.date(2026, 9, 1)
LAST = START + dt.timedelta(days=59)

CELLS = st.one_of(
    st.integers(-5, 10**12).map(str),
    st.floats(allow_nan=True, allow_infinity=True).map(repr),
    st.sampled_from(["", "NA", "true", "False", "1e9", "0x10", " 3 ", "1,000", "\x00", "é"]),
    st.text(max_size=6),
)
DATES = st.one_of(
    st.dates(dt.date(2026, 8, 1), dt.date(2026, 11, 30)).map(str),
    st.sampled_from(["2026-13-01", "", "yesterday", "2026-09-01T00:00"]),
)
FACILITIES = st.sampled_from(["F1", "F2", "F3", "all", "F9", "", "ALL", "F1 "])
COLUMNS = st.lists(
    st.sampled_from(
        ["ward_census", "icu_census", "admissions", "epidemic_census", "bogus", "replicate"]
    ),
    min_size=0,
    max_size=4,
    unique=True,
)


@pytest.fixture(scope="module")
def region():
    return load_region("synthetic")


def _csv_cell(v: str) -> str:
    return '"' + v.replace('"', '""') + '"'


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    COLUMNS,
    st.lists(st.tuples(DATES, FACILITIES, st.lists(CELLS, min_size=4, max_size=4)), max_size=12),
    st.sampled_from([1.0, 0.25]),
    st.sampled_from(["keep", "missing"]),
    st.sampled_from(["ignore", "error"]),
)
def test_observed_csv_loads_or_lists_problems(
    region, tmp_path, columns, rows, scale, carried, outside
):
    header = ["date", "facility", *columns]
    lines = [",".join(header)]
    for date, fac, cells in rows:
        lines.append(",".join(_csv_cell(v) for v in [date, fac, *cells[: len(columns)]]))
    path = tmp_path / "obs.csv"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    try:
        obs = load_observed(
            path, region, START, LAST, scale=scale, carried_over=carried, outside=outside
        )
    except ObservedProblems as err:
        assert err.problems and all(str(p).startswith(str(path)) for p in err.problems)
        return
    except PopsimError as err:
        assert str(path) in str(err)
        return
    values = obs.facility[obs.metrics].to_numpy(dtype=float)
    assert obs.metrics and np.isfinite(values[~np.isnan(values)]).all()
    assert (values[~np.isnan(values)] >= 0).all()
    assert obs.facility["date"].between(START, LAST).all()


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.dates(dt.date(2026, 8, 20), dt.date(2026, 11, 10)),
            FACILITIES,
            st.one_of(
                st.integers(-3, 10**8),
                st.floats(allow_nan=True, allow_infinity=True),
                st.booleans(),
            ),
        ),
        max_size=10,
    ),
    st.sampled_from(["int", "float", "bool", "object"]),
)
def test_observed_parquet_loads_or_lists_problems(region, tmp_path, rows, kind):
    frame = pd.DataFrame(rows, columns=["date", "facility", "ward_census"])
    if kind != "object" and len(frame):
        try:
            frame["ward_census"] = frame["ward_census"].astype(kind)
        except (ValueError, OverflowError, TypeError):
            return
    else:
        frame["ward_census"] = frame["ward_census"].astype(object)
    path = tmp_path / "obs.parquet"
    try:
        frame.to_parquet(path)
    except (ValueError, TypeError, OverflowError):  # pyarrow cannot store mixed objects
        return
    try:
        obs = load_observed(path, region, START, LAST, outside="ignore")
    except PopsimError as err:
        assert str(path) in str(err)
        return
    assert kind != "bool" or not len(frame)
    assert (obs.facility["ward_census"].dropna() >= 0).all()


@pytest.mark.slow
@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    st.lists(
        st.tuples(
            st.dates(dt.date(2026, 8, 20), dt.date(2026, 11, 10)),
            FACILITIES,
            st.sampled_from(["ward_census", "icu_census", "alc_census", "admissions", "x"]),
            st.one_of(st.floats(-1, 2), st.just(float("nan"))),
            st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-5, 10**6)),
        ),
        max_size=10,
    ),
    st.lists(st.sampled_from(["as_of", "target_date", "quantile", "value"]), max_size=1),
)
def test_a_forecast_file_is_read_or_refused_line_by_line(region, tmp_path, rows, drop):
    from popsim.staffing.forecast import read_forecast

    frame = pd.DataFrame(
        [(START, d, f, m, q, float(v)) for d, f, m, q, v in rows],
        columns=["as_of", "target_date", "facility", "metric", "quantile", "value"],
    ).drop(columns=drop)
    path = tmp_path / "forecast.parquet"
    frame.to_parquet(path)
    got, problems = read_forecast(path, list(region.facility_ids), START, 60, 0.9)
    assert all(isinstance(p, str) and "\n" not in p for p in problems)
    if not problems:
        assert all(0 <= fi < region.n_facilities and c >= 0 for fi, _, _, c in got)
