"""Parameters given as distributions: checked at their centre, drawn per replicate."""

from __future__ import annotations

import math

import numpy as np
import pytest

from popsim.cli import main
from popsim.errors import SpecError
from popsim.record import manifests
from popsim.scenario import RunSpec
from popsim.twin.uncertainty import apply, replicate_values

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
