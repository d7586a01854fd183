"""The ``[calibration]`` section: every problem listed at once, ranges checked against the
parameters' own bounds and types, multipliers of list and nested parameters."""

from __future__ import annotations

import pytest

from popsim.cli import main
from popsim.errors import SpecError
from popsim.run.spec import RunSpec
from popsim.twin.calspec import calibration_of
from popsim.twin.uncertainty import apply

BASE = {
    "name": "c",
    "region": "synthetic",
    "days": 60,
    "epidemic": {"r0": 1.5, "seed_infections": 100, "start_day": 3},
}


def spec_with(parameters: dict, **extra) -> RunSpec:
    return RunSpec.from_dict({**BASE, "calibration": {"parameters": parameters, **extra}})


def lines_of(parameters: dict, **extra) -> list[str]:
    with pytest.raises(SpecError) as err:
        calibration_of(spec_with(parameters, **extra))
    return str(err.value).splitlines()


def test_five_problems_of_a_section_are_listed_together(tmp_path, capsys):
    spec = tmp_path / "five.toml"
    spec.write_text(
        'region = "synthetic"\ndays = 60\n[epidemic]\nr0 = 1.5\n'
        "[calibration]\n"
        'targets = ["admissions", "cases_seen"]\n'
        "replicates_per_trial = 0\n"
        "bogus = 1\n"
        "[calibration.parameters]\n"
        '"epidemic.r0" = [0, 100]\n'
        '"epidemic.start_day" = [0.5, 3.5]\n'
        '"demand.rel_admissions" = ["low", "high"]\n',
        encoding="utf-8",
    )
    observed = tmp_path / "obs.csv"
    observed.write_text("date,facility,admissions\n2026-01-05,F1,3\n", encoding="utf-8")
    out = tmp_path / "cal"
    code = main(["calibrate", str(spec), "--observed", str(observed), "--check", "--out", str(out)])
    err = capsys.readouterr().err
    assert code == 2 and "Traceback" not in err
    lines = err.splitlines()
    for where in (
        "calibration.targets[1]",
        "calibration.replicates_per_trial",
        "calibration.bogus",
        "calibration.parameters.epidemic.r0",
        "calibration.parameters.epidemic.start_day",
        "calibration.parameters.demand.rel_admissions",
    ):
        assert sum(where + ":" in line for line in lines) == 1, (where, err)
    assert all(line.startswith(str(spec)) for line in lines), err
    assert not out.exists()


def test_ranges_are_checked_against_the_parameters_own_bounds_and_types():
    (r0,) = lines_of({"epidemic.r0": [0, 100]})
    assert "epidemic.r0" in r0 and "at 0" in r0 and "greater than 0" in r0
    (start,) = lines_of({"epidemic.start_day": [0.5, 3.5]})
    assert "whole-number bounds" in start
    (text,) = lines_of({"epidemic.r0": ["1", "2"]})
    assert "two finite numbers" in text
    (flag,) = lines_of({"epidemic.r0": [True, 2]})
    assert "two finite numbers" in flag
    (order,) = lines_of({"epidemic.r0": [2.0, 1.0]})
    assert "low < high" in order
    (listed,) = lines_of({"epidemic.p_severe": [0.5, 2.0]})
    assert "fit a multiplier" in listed
    (shared,) = lines_of({"epidemic.p_severe": {"scale": [0.2, 1.0]}})
    # alone, a smaller p_severe falls below p_critical in some age band
    assert "p_critical must be <= p_severe" in shared
    (nothing,) = lines_of({"epidemic.seed_zones": {"scale": [0.5, 2.0]}})
    assert "no real-valued numbers" in nothing


def test_a_distribution_and_a_calibration_range_of_one_parameter_are_refused():
    data = {
        **BASE,
        "epidemic": {**BASE["epidemic"], "r0": {"dist": "uniform", "low": 1, "high": 2}},
    }
    spec = RunSpec.from_dict({**data, "calibration": {"parameters": {"epidemic.r0": [1.1, 2.0]}}})
    with pytest.raises(SpecError, match="also given as a distribution"):
        calibration_of(spec)


def test_integer_and_multiplier_parameters_are_recognised():
    cal = calibration_of(
        spec_with(
            {
                "epidemic.seed_infections": [50, 400],
                "epidemic.r0": [1.1, 2.2],
                "epidemic.p_severe,p_critical,p_death": {"scale": [0.5, 1.5]},
                "epidemic.dur_severe_stay": {"scale": [0.6, 1.4]},
            }
        )
    )
    kinds = {p.name: (p.integer, p.is_scale) for p in cal.fit}
    assert kinds == {
        "epidemic.seed_infections": (True, False),
        "epidemic.r0": (False, False),
        "epidemic.p_severe,p_critical,p_death*": (False, True),
        "epidemic.dur_severe_stay*": (False, True),
    }


def test_a_multiplier_multiplies_every_real_number_of_its_parameters():
    spec = RunSpec.from_dict(BASE)
    before = spec.params("epidemic", "baseline")
    values = {"epidemic.p_severe,p_critical*": 1.25, "epidemic.dur_severe_stay*": 0.5}
    after = apply(spec, "baseline", values).params("epidemic", "baseline")
    for key in ("p_severe", "p_critical"):
        assert getattr(after, key) == pytest.approx([1.25 * v for v in getattr(before, key)])
    assert after.p_death == before.p_death  # not named: as it was
    assert after.dur_severe_stay.mean == pytest.approx(0.5 * before.dur_severe_stay.mean)
    assert after.dur_severe_stay.sd == pytest.approx(0.5 * before.dur_severe_stay.sd)
    assert after.seed_infections == before.seed_infections


def test_an_integer_parameter_takes_whole_floats_as_integers():
    spec = RunSpec.from_dict(BASE)
    new = apply(spec, "baseline", {"epidemic.seed_infections": 125.0})
    value = new.params("epidemic", "baseline").seed_infections
    assert value == 125 and isinstance(value, int)
    with pytest.raises(SpecError, match="seed_infections"):
        apply(spec, "baseline", {"epidemic.seed_infections": 125.5})


EVENTS = {
    **BASE,
    "scenarios": {
        "baseline": {"events": [{"date": "2026-01-21", "contact_reduction": 0.3}]},
        "other": {"events": [{"day": 10, "close": "F2"}]},
    },
}


def test_a_dated_contact_reduction_has_a_day_and_size_to_fit():
    spec = RunSpec.from_dict(
        {
            **EVENTS,
            "calibration": {
                "parameters": {
                    "scenarios.baseline.events[0].day": [10, 50],
                    "scenarios.baseline.events[0].contact_reduction": [0.0, 0.6],
                }
            },
        }
    )
    cal = calibration_of(spec)
    assert [(p.name, p.integer) for p in cal.fit] == [
        ("scenarios.baseline.events[0].day", True),
        ("scenarios.baseline.events[0].contact_reduction", False),
    ]
    values = {"scenarios.baseline.events[0].day": 35.0, cal.fit[1].name: 0.45}
    new = apply(spec, "baseline", values)
    (event,) = new.scenarios["baseline"].events
    assert str(event.date) == "2026-02-05" and event.day is None  # day 35 of a run from Jan 1
    assert event.contact_reduction == 0.45
    assert spec.scenarios["baseline"].events[0].contact_reduction == 0.3  # a copy
    # and the model runs it on that day
    from popsim.twin.sim import region_of

    (resolved,) = [e for e in new.model_config_for("baseline", region_of(new)).events]
    assert resolved.day == 35 and resolved.reduction == 0.45


def test_event_numbers_are_checked_like_parameters():
    def problems(parameters: dict) -> list[str]:
        with pytest.raises(SpecError) as err:
            calibration_of(RunSpec.from_dict({**EVENTS, "calibration": {"parameters": parameters}}))
        return str(err.value).splitlines()

    lines = problems(
        {
            "scenarios.baseline.events[0].day": [10, 80],
            "scenarios.baseline.events[0].contact_reduction": [0.2, 1.5],
            "scenarios.baseline.events[3].day": [1, 2],
            "scenarios.nope.events[0].day": [1, 2],
            "scenarios.other.events[0].contact_reduction": [0.1, 0.2],
            "scenarios.baseline.events[0].date": [1, 2],
        }
    )
    assert len(lines) == 6, lines
    assert "at 80, day 80 is outside the run" in lines[0]
    assert "at 1.5" in lines[1] and "less than or equal to 1" in lines[1]
    assert "has 1 events" in lines[2] and "no scenario 'nope'" in lines[3]
    assert "no 'contact_reduction'" in lines[4] and "fit the event's day" in lines[5]
