"""Parameters given as distributions (checked at their centre, drawn per replicate) or as
a table of joint draws (one row per replicate)."""

from __future__ import annotations

import math
import pickle

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.cli import main
from popsim.errors import SpecError
from popsim.run.record import manifests
from popsim.run.spec import RunSpec, load_spec
from popsim.twin.uncertainty import DrawTable, apply, draw_row, replicate_values

BASE = {
    "name": "u",
    "region": "synthetic",
    "days": 5,
    "epidemic": {"r0": {"dist": "uniform", "low": 1.2, "high": 1.5}, "start_day": 1},
    "demand": {"rel_stay": {"dist": "lognormal", "median": 1.0, "sigma": 0.2}},
    "scenarios": {"baseline": {}, "closed": {"events": [{"day": 1, "close": "F2"}]}},
}


def test_validation_sees_the_central_value_and_draws_differ_per_replicate():
    spec = RunSpec.from_dict(BASE)
    assert spec.params("epidemic", "baseline").r0 == pytest.approx(1.35)
    a, b = replicate_values(spec, "baseline", 0), replicate_values(spec, "baseline", 1)
    assert a != b and set(a) == {"demand.rel_stay", "epidemic.r0"}
    # the same draw in every scenario (common random numbers), reproducible
    assert replicate_values(spec, "closed", 0) == a == replicate_values(spec, "baseline", 0)
    assert apply(spec, "baseline", a).params("epidemic", "baseline").r0 == a["epidemic.r0"]


def test_draws_follow_their_distributions():
    spec = RunSpec.from_dict(BASE)
    n = 600
    draws = [replicate_values(spec, "baseline", r) for r in range(n)]
    r0 = np.array([d["epidemic.r0"] for d in draws])
    stay = np.log([d["demand.rel_stay"] for d in draws])
    assert r0.min() >= 1.2 and r0.max() <= 1.5
    # uniform(1.2, 1.5): mean 1.35, sd 0.3 / sqrt(12); log of the lognormal: N(0, 0.2)
    assert abs(r0.mean() - 1.35) < 4 * (0.3 / math.sqrt(12)) / math.sqrt(n)
    assert abs(stay.mean()) < 4 * 0.2 / math.sqrt(n)
    assert abs(stay.std() - 0.2) < 4 * 0.2 / math.sqrt(2 * n)


def test_scenario_override_with_a_distribution_is_drawn_in_that_scenario():
    data = dict(BASE)
    data["scenarios"] = {
        "baseline": {},
        "worse": {"epidemic": {"r0": {"dist": "normal", "mean": 2.5, "sd": 0.1}}},
    }
    spec = RunSpec.from_dict(data)
    v = replicate_values(spec, "worse", 3)
    new = apply(spec, "worse", v)
    assert new.params("epidemic", "worse").r0 == v["epidemic.r0"] and 2.0 < v["epidemic.r0"] < 3.0


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"dist": "beta", "a": 1}, "dist must be one of"),
        ({"dist": "uniform", "low": 2.0, "high": 1.0}, "low < high"),
        ({"dist": "normal", "mean": 1.0}, "needs a number sd"),
        ({"dist": "normal", "mean": 1.0, "sd": 0.1, "low": 0}, "unknown key"),
    ],
)
def test_bad_distribution_names_the_parameter(value, needle):
    data = dict(BASE)
    data["epidemic"] = {"r0": value}
    with pytest.raises(SpecError) as err:
        RunSpec.from_dict(data)
    assert "epidemic.r0" in str(err.value) and needle in str(err.value)


@pytest.mark.cluster
def test_run_records_each_replicates_draw_in_its_manifest(tmp_path):
    spec = tmp_path / "u.toml"
    spec.write_text(
        'region = "synthetic"\ndays = 5\nreplicates = 3\nrecord_journeys = false\n'
        '[epidemic]\nr0 = { dist = "uniform", low = 1.2, high = 1.5 }\n',
        encoding="utf-8",
    )
    assert main(["run", str(spec), "--workers", "1", "--quiet"]) == 0
    found = manifests(tmp_path / "u")
    values = [m["parameters"]["epidemic.r0"] for m in found]
    assert len(set(values)) == 3 and all(1.2 <= v <= 1.5 for v in values)
    loaded = RunSpec.from_dict(
        {
            "name": "u",
            "region": "synthetic",
            "days": 5,
            "replicates": 3,
            "record_journeys": False,
            "epidemic": {"r0": {"dist": "uniform", "low": 1.2, "high": 1.5}},
        }
    )
    assert values == [replicate_values(loaded, "baseline", r)["epidemic.r0"] for r in range(3)]


# ------------------------------------------------------------ a table of draws
DRAWS_SPEC = """region = "synthetic"
days = 5
replicates = {replicates}
record_journeys = false
seed = 7
[epidemic]
r0 = 1.5
start_day = 1
[demand]
rel_admissions = 1.0
[scenarios.baseline]
[scenarios.hot.epidemic]
r0 = 2.4
[parameters]
draws = "{draws}"
"""


def _draws_spec(folder, table: pd.DataFrame, replicates: int = 3, name: str = "d.parquet"):
    path = folder / name
    if name.endswith(".csv"):
        table.to_csv(path, index=False)
    else:
        table.to_parquet(path, index=False)
    spec = folder / "d.toml"
    spec.write_text(DRAWS_SPEC.format(replicates=replicates, draws=name), encoding="utf-8")
    return spec


TABLE = pd.DataFrame(
    {
        "trial": [4, 9, 2, 7],
        "epidemic.r0": [1.31, 1.42, 1.53, 1.64],
        "demand.rel_admissions": [0.91, 1.02, 1.13, 1.24],
        "log_likelihood": [-10.0, -10.5, -11.0, -12.0],
    }
)


@settings(max_examples=40, deadline=None)
@given(n=st.integers(1, 25), seed=st.integers(0, 2**32))
def test_replicates_take_distinct_rows_until_the_table_is_used_up(n, seed):
    spec = RunSpec.from_dict({"name": "p", "region": "synthetic", "seed": seed})
    spec._draws = DrawTable("t", ("epidemic.r0",), np.arange(n, dtype=float)[:, None], "x")
    rows = [draw_row(spec, r) for r in range(2 * n)]
    assert sorted(rows[:n]) == list(range(n))  # a permutation: each draw once
    assert rows[n:] == rows[:n]  # then again in the same order


@pytest.mark.cluster
def test_each_replicate_runs_one_row_of_the_draws_table(tmp_path):
    spec_path = _draws_spec(tmp_path, TABLE, replicates=4)
    assert main(["run", str(spec_path), "--workers", "1", "--quiet"]) == 0
    rows = {tuple(r) for r in TABLE[["epidemic.r0", "demand.rel_admissions"]].to_numpy()}
    found = manifests(tmp_path / "d")
    base = sorted(
        (m["parameters"]["epidemic.r0"], m["parameters"]["demand.rel_admissions"])
        for m in found
        if m["scenario"] == "baseline"
    )
    # four replicates, four rows: every row once, both parameters of a row together
    assert set(base) == rows and len(base) == 4
    for m in found:
        if m["scenario"] == "hot":  # the scenario's own r0 stays; the row's rel_admissions
            assert set(m["parameters"]) == {"demand.rel_admissions"}
            assert m["config"]["epidemic"]["r0"] == 2.4
        else:
            assert m["config"]["epidemic"]["r0"] == m["parameters"]["epidemic.r0"]
        assert m["config"]["demand"]["rel_admissions"] == m["parameters"]["demand.rel_admissions"]
    # another draws file is another configuration: the run is not silently mixed
    changed = TABLE.assign(**{"epidemic.r0": TABLE["epidemic.r0"] + 0.01})
    changed.to_parquet(tmp_path / "d.parquet", index=False)
    assert main(["run", str(spec_path), "--workers", "1", "--quiet"]) == 2


def test_spec_travels_with_its_draws(tmp_path):
    spec = load_spec(_draws_spec(tmp_path, TABLE))
    back = pickle.loads(pickle.dumps(spec))  # as it goes to a Dask worker
    assert [replicate_values(back, "baseline", r) for r in range(4)] == [
        replicate_values(spec, "baseline", r) for r in range(4)
    ]
    assert back.with_overrides(days=2)._draws.digest == spec._draws.digest


@pytest.mark.parametrize(
    ("table", "name", "lines"),
    [
        (
            pd.DataFrame({"epidemic.r0": [1.5, 0.0], "epidemic.start_day": [1, -3]}),
            "d.parquet",
            [
                "d.parquet: row 3: epidemic.r0: Input should be greater than 0",
                "d.parquet: row 3: epidemic.start_day: Input should be greater than or equal",
            ],
        ),
        (
            pd.DataFrame({"epidemic.r0": ["1.5", "abc", ""], "epidemic.start_day": [1, 2.5, 3]}),
            "d.csv",
            [
                "d.csv: row 3: epidemic.r0: expected a finite number, got 'abc'",
                "d.csv: row 4: epidemic.r0: expected a finite number, got ''",
                "d.csv: row 3: epidemic.start_day: expected a whole number",
            ],
        ),
        (
            pd.DataFrame({"demand.bogus": [1.0], "weight": [1.0], "care.uncapped": [True]}),
            "d.parquet",
            [
                "d.parquet: column demand.bogus: no parameter 'bogus' in [demand]",
                "d.parquet: column weight: expected section.parameter",
                "d.parquet: column care.uncapped: not a numeric parameter",
            ],
        ),
        (pd.DataFrame({"trial": [1]}), "d.parquet", ["d.parquet: no parameter columns"]),
        (
            pd.DataFrame({"epidemic.r0": [True, False], "epidemic.p_severe*": [1.2, -1.0]}),
            "d.parquet",
            [
                "d.parquet: row 2: epidemic.r0: expected a finite number, got True",
                "d.parquet: row 3: epidemic.r0: expected a finite number, got False",
            ],
        ),
        (
            pd.DataFrame({"epidemic.p_severe*": [1.2, -1.0], "epidemic.seed_zones*": [1, 1]}),
            "d.parquet",
            ["d.parquet: column epidemic.seed_zones*: epidemic.seed_zones has no real-valued"],
        ),
        (
            pd.DataFrame({"epidemic.p_severe*": [1.2, -1.0]}),
            "d.parquet",
            ["d.parquet: row 3: epidemic.p_severe: Value error, p_severe: every probability"],
        ),
    ],
)
def test_bad_draws_table_one_line_per_problem(tmp_path, capsys, table, name, lines):
    spec = _draws_spec(tmp_path, table, name=name)
    assert main(["run", str(spec), "--check"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    got = [line.removeprefix("popsim: error: ") for line in err.strip().splitlines()]
    assert len(got) == len(lines), got
    for want in lines:
        assert any(want in line for line in got), (want, got)
    assert not (tmp_path / "d").exists()


def test_draws_file_missing_or_of_another_kind(tmp_path, capsys):
    spec = tmp_path / "d.toml"
    spec.write_text(DRAWS_SPEC.format(replicates=1, draws="none.parquet"), encoding="utf-8")
    assert main(["run", str(spec), "--check"]) == 2
    assert "parameters.draws: no such file 'none.parquet'" in capsys.readouterr().err
    (tmp_path / "d.json").write_text("{}", encoding="utf-8")
    spec.write_text(DRAWS_SPEC.format(replicates=1, draws="d.json"), encoding="utf-8")
    assert main(["run", str(spec), "--check"]) == 2
    assert "expected a .parquet or .csv file" in capsys.readouterr().err
    (tmp_path / "e.parquet").write_bytes(b"not parquet at all")
    spec.write_text(DRAWS_SPEC.format(replicates=1, draws="e.parquet"), encoding="utf-8")
    assert main(["run", str(spec), "--check"]) == 2
    assert "e.parquet: cannot be read as a table" in capsys.readouterr().err


def test_a_parameter_in_the_table_and_as_a_distribution_is_refused(tmp_path, capsys):
    spec = _draws_spec(tmp_path, TABLE)
    text = spec.read_text().replace("r0 = 1.5", 'r0 = { dist = "uniform", low = 1, high = 2 }')
    spec.write_text(text, encoding="utf-8")
    assert main(["run", str(spec), "--check"]) == 2
    assert "column epidemic.r0: epidemic.r0 is also given as a distribution" in (
        capsys.readouterr().err
    )


@pytest.mark.parametrize(
    ("value", "needle"),
    [
        ({"dist": "normal", "mean": 1.5, "sd": 100}, "central 99.9% is [-327.6, 330.6]"),
        ({"dist": "uniform", "low": 0.5, "high": 40}, "its range is [0.5, 40]"),
        ({"dist": "lognormal", "median": 5, "sigma": 1.0}, "at 134"),
    ],
)
def test_a_distribution_whose_draws_leave_the_allowed_values_is_refused(
    tmp_path, capsys, value, needle
):
    spec = tmp_path / "d.toml"
    shown = ", ".join(f"{k} = {v!r}".replace("'", '"') for k, v in value.items())
    spec.write_text(
        f'region = "synthetic"\ndays = 5\n[epidemic]\nr0 = {{ {shown} }}\n', encoding="utf-8"
    )
    assert main(["run", str(spec), "--check"]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.splitlines()) == 1
    assert "epidemic.r0: draws outside the parameter's allowed values" in err and needle in err


def test_draws_beyond_a_parameters_bounds_are_drawn_again():
    # household_share < 1: a normal of mean 0.96 and sd 0.012 passes the 99.9% check
    # (0.96 + 3.29 * 0.012 = 0.9995) but about 1 draw in 2,000 is beyond 1
    data = {
        **BASE,
        "epidemic": {"r0": 1.5, "household_share": {"dist": "normal", "mean": 0.96, "sd": 0.012}},
    }
    spec = RunSpec.from_dict(data)
    shares = np.array(
        [replicate_values(spec, "baseline", r)["epidemic.household_share"] for r in range(8000)]
    )
    assert shares.max() < 1.0
    # the truncation is in the far tail: the draws keep their distribution
    assert abs(shares.mean() - 0.96) < 4 * 0.012 / math.sqrt(len(shares))


def test_a_multiplier_column_multiplies_the_scenarios_values():
    spec = RunSpec.from_dict({"name": "m", "region": "synthetic", "epidemic": {"r0": 1.5}})
    spec._draws = DrawTable("t", ("epidemic.dur_severe_stay*",), np.array([[1.5]]), "x")
    values = replicate_values(spec, "baseline", 0)
    assert values == {"epidemic.dur_severe_stay*": 1.5}
    before = spec.params("epidemic", "baseline").dur_severe_stay
    after = apply(spec, "baseline", values).params("epidemic", "baseline").dur_severe_stay
    assert (after.mean, after.sd) == pytest.approx((1.5 * before.mean, 1.5 * before.sd))


def test_an_integer_parameter_may_be_a_distribution():
    data = {
        "name": "i",
        "region": "synthetic",
        "days": 50,
        "epidemic": {"r0": 1.5, "start_day": {"dist": "uniform", "low": 0, "high": 10}},
    }
    spec = RunSpec.from_dict(data)  # checked at its centre, 5 (was refused as 5.0)
    assert spec.params("epidemic", "baseline").start_day == 5
    days = [replicate_values(spec, "baseline", r)["epidemic.start_day"] for r in range(40)]
    assert all(isinstance(d, int) and 0 <= d <= 10 for d in days) and len(set(days)) > 3
    assert (
        apply(spec, "baseline", {"epidemic.start_day": days[0]})
        .params("epidemic", "baseline")
        .start_day
        == days[0]
    )
