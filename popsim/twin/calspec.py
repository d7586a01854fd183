"""The ``[calibration]`` section of a spec: what a calibration fits, against what.

::

    [calibration]
    targets = ["admissions", "ward_census", "icu_census"]
    from = 2026-09-01
    to = 2026-12-31

    [calibration.parameters]
    "epidemic.r0" = [1.1, 2.2]                 # a number: its range
    "epidemic.seed_infections" = [50, 400]      # an integer parameter: searched over integers
    "epidemic.p_severe" = { scale = [0.5, 2.0] }  # a list or nested table: a multiplier
    "epidemic.p_severe,p_critical,p_death" = { scale = [0.5, 1.5] }  # several together
    "epidemic.dur_severe_stay" = { scale = [0.6, 1.4] }  # a stay's mean and sd
    "scenarios.baseline.events[0].day" = [30, 70]          # a dated event's day ...
    "scenarios.baseline.events[0].contact_reduction" = [0.0, 0.6]  # ... and size

A multiplier is named ``section.key*`` in the trials and the accepted draws (a draws
column a run takes as it is, see :mod:`popsim.twin.uncertainty`); it multiplies every
real-valued number of the parameters it names (the entries of an age table, the mean
and sd of a stay), the values the calibration's scenario runs with. Several parameters
of one section multiplied together (``p_severe,p_critical,p_death``) keep the ratios
between them: the share of hospitalised patients who need an ICU stays as it is, and
``p_critical <= p_severe`` holds at any factor.

A number of a scenario's event is named by its place in the spec,
``scenarios.<scenario>.events[<i>].<key>``: the day (``day``, written back as a date
where the event gives a date) and size of a ``contact_reduction`` make a change of
contacts on a date the calibration fits. The event must be in the spec (its value there
is the one checks and other scenarios see).

The section is checked as a whole and every problem is listed, one line each: unknown
keys, a range that is not two numbers with low < high, a parameter that does not exist,
is off, is not a number (a list given a plain range), is also a distribution, an
integer parameter given fractional bounds, and a range whose ends the parameter's own
validation refuses (``r0 = [0, 100]`` with r0 in (0, 30]): each end is validated with
the spec's other values, as a trial would run it.
"""

from __future__ import annotations

import datetime as dt
import math
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from popsim.errors import SpecError, SpecProblems
from popsim.modules import REGISTRY
from popsim.run.spec import RunSpec
from popsim.twin import named, uncertainty
from popsim.twin.observed import FACILITY_OBSERVABLES

#: 95% quantiles of the chi-square distribution with 1..10 degrees of freedom (tables).
CHI2_95 = (3.841, 5.991, 7.815, 9.488, 11.070, 12.592, 14.067, 15.507, 16.919, 18.307)
#: Most parameters fitted at once (the likelihood-ratio table above; the quadratic
#: surrogate has 66 terms at 10 parameters and needs three times as many good trials).
MAX_PARAMETERS = len(CHI2_95)


class CalibrationSpec(BaseModel):
    """The ``[calibration]`` section of a spec (``parameters`` as written: see
    :func:`calibration_of` for the checked :class:`FitParameter` list)."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    parameters: dict[str, Any] = Field(min_length=1)
    targets: list[str] = Field(
        default_factory=lambda: ["admissions", "ward_census", "icu_census"], min_length=1
    )
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    scenario: str = "baseline"
    replicates_per_trial: int = Field(2, ge=1, le=100)
    likelihood: str = Field("negbin", pattern="^(negbin|poisson)$")
    dispersion: float = Field(20.0, gt=0, description="negative-binomial size k (assumption)")
    census_every_days: int = Field(7, ge=1, le=60)
    flow_block_days: int = Field(7, ge=1, le=60)

    @property
    def k(self) -> float:
        return math.inf if self.likelihood == "poisson" else self.dispersion


@dataclass(frozen=True)
class FitParameter:
    """One fitted quantity: ``name`` is its column in the trials and the draws
    (``epidemic.r0``; a multiplier ``epidemic.p_severe*``), searched in
    ``[low, high]`` (over integers when ``integer``)."""

    name: str
    low: float
    high: float
    integer: bool

    @property
    def is_scale(self) -> bool:
        return named.split_scale(self.name) is not None


@dataclass(frozen=True)
class Calibration:
    """A checked ``[calibration]`` section: its settings and what it fits."""

    spec: CalibrationSpec
    fit: tuple[FitParameter, ...]

    @property
    def names(self) -> list[str]:
        return [p.name for p in self.fit]

    @property
    def bounds(self) -> dict[str, tuple[float, float]]:
        return {p.name: (p.low, p.high) for p in self.fit}

    def __getattr__(self, key: str) -> Any:  # the section's settings: cal.targets, ...
        if key.startswith("__"):
            raise AttributeError(key)
        return getattr(self.spec, key)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _range_of(value: Any) -> tuple[tuple[float, float] | None, bool, str | None]:
    """``(range, is_scale, problem)`` of a parameter's entry as written."""
    scale = False
    if isinstance(value, dict):
        if set(value) != {"scale"}:
            return None, True, "expected [low, high] or { scale = [low, high] }"
        value, scale = value["scale"], True
    if not isinstance(value, list | tuple) or len(value) != 2:
        return None, scale, "expected [low, high] or { scale = [low, high] }"
    if not all(_number(v) for v in value):
        return None, scale, f"expected two finite numbers [low, high], got {value!r}"[:160]
    lo, hi = float(value[0]), float(value[1])
    if not lo < hi:
        return None, scale, f"range [{value[0]}, {value[1]}] needs low < high"
    if scale and lo <= 0:
        return None, scale, f"a multiplier's range needs low > 0, got {value[0]}"
    return (lo, hi), scale, None


def _name_problem(spec: RunSpec, name: str, scenario: str) -> str | None:
    """What is wrong with a plain parameter's name ``section.key`` (None: nothing)."""
    section, _, key = name.partition(".")
    if section not in REGISTRY.names() or not key or "." in key:
        return (
            f"expected section.parameter with a section of {', '.join(REGISTRY.names())} "
            "(e.g. 'epidemic.r0')"
        )
    params = spec.params(section, scenario)
    if params is None:
        return f"section [{section}] is off in scenario {scenario!r}"
    if key == "enabled" or key not in type(params).model_fields:
        return f"no parameter {key!r} in [{section}]"
    value = getattr(params, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        if named.n_scaled(value):
            return "not a number: fit a multiplier, { scale = [low, high] }"
        return "not a numeric parameter"
    if name in uncertainty.distributions(spec, scenario):
        return "also given as a distribution in the spec; remove one of the two"
    return None


def _end_problem(spec: RunSpec, scenario: str, name: str, value: float) -> str | None:
    """The parameter's own validation of one end of its range (None: allowed)."""
    try:
        new = uncertainty.apply(spec, scenario, {name: value})
        for section in REGISTRY.names():
            new.params(section, scenario)
    except SpecError as err:
        problems = getattr(err, "problems", [err])
        return problems[0].problem
    return None


def _event_end_problem(spec: RunSpec, name: str, value: float) -> str | None:
    """An event's number at one end of its range, resolved against the region."""
    from popsim.twin.sim import region_of

    scenario = named.split_event(name)[0]  # type: ignore[index]
    try:
        uncertainty.apply(spec, scenario, {name: value}).model_config_for(scenario, region_of(spec))
    except SpecError as err:
        return getattr(err, "problems", [err])[0].problem
    return None


def _fit_event(spec: RunSpec, name: str, value: Any) -> tuple[FitParameter | None, str | None]:
    """A number of a scenario's event (``scenarios.a.events[0].day``) to fit."""
    rng, scale, problem = _range_of(value)
    if problem is None and scale:
        problem = "an event's number is fitted by its range [low, high], not a multiplier"
    problem = problem or named.event_problems(spec, name)
    if problem is not None:
        return None, problem
    lo, hi = rng  # type: ignore[misc]
    integer = named.event_is_integer(spec, name)
    if integer and not (lo == round(lo) and hi == round(hi)):
        return None, f"a day: expected whole-number bounds, got [{lo:g}, {hi:g}]"
    for end in (lo, hi):
        problem = _event_end_problem(spec, name, int(end) if integer else end)
        if problem is not None:
            return None, (
                f"range [{lo:g}, {hi:g}] leaves the event's allowed values: at {end:g}, {problem}"
            )
    return FitParameter(name, lo, hi, integer), None


def _fit_parameter(
    spec: RunSpec, scenario: str, key: str, value: Any
) -> tuple[FitParameter | None, str | None]:
    if named.split_event(key) is not None:
        return _fit_event(spec, key, value)
    rng, scale, problem = _range_of(value)
    if problem is not None:
        return None, problem
    assert rng is not None
    name = key
    if key.endswith(named.SCALE_MARK):
        scale = True
    elif scale:
        name = key + named.SCALE_MARK
    if scale:
        problem = named.scale_problems(spec, name)
        if problem is None:
            section = name.split(".", 1)[0]
            if spec.params(section, scenario) is None:
                problem = f"section [{section}] is off in scenario {scenario!r}"
        integer = False
    else:
        problem = _name_problem(spec, name, scenario)
        integer = problem is None and named.is_integer_parameter(
            spec.params(name.split(".", 1)[0], scenario), name.split(".", 1)[1]
        )
    if problem is not None:
        return None, problem
    lo, hi = rng
    if integer and not (lo == round(lo) and hi == round(hi)):
        return None, f"an integer parameter: expected whole-number bounds, got [{lo:g}, {hi:g}]"
    for end in (lo, hi):
        problem = _end_problem(spec, scenario, name, int(end) if integer else end)
        if problem is not None:
            kind = "multiplier" if scale else "range"
            return None, (
                f"{kind} [{lo:g}, {hi:g}] leaves the parameter's allowed values: "
                f"at {end:g}, {problem}"
            )
    return FitParameter(name, lo, hi, integer), None


def calibration_of(spec: RunSpec) -> Calibration:
    """The spec's checked ``[calibration]`` section; every problem of it as one
    :class:`SpecError` line (:class:`SpecProblems` for several)."""
    raw = getattr(spec, "calibration", None)
    if not raw:
        raise SpecError(
            spec.path, "calibration", "missing section [calibration] (see docs/twin.md)"
        )
    problems: list[SpecError] = []

    def problem(where: str, text: str) -> None:
        problems.append(SpecError(spec.path, where, text))

    try:
        cal = CalibrationSpec.model_validate(raw)
    except ValidationError as err:
        for e in err.errors():
            where = ".".join(str(p) for p in ("calibration", *e["loc"]))
            got = "" if e["type"] in ("missing", "extra_forbidden") else f", got {e['input']!r}"
            text = "unknown key" if e["type"] == "extra_forbidden" else e["msg"] + got[:80]
            problem(where, text)
        cal = _salvage(raw)
    for i, t in enumerate(cal.targets if isinstance(cal.targets, list) else []):
        if t not in FACILITY_OBSERVABLES:
            problem(
                f"calibration.targets[{i}]",
                f"unknown target {t!r} (any of {', '.join(FACILITY_OBSERVABLES)})",
            )
    if spec.parameters is not None:
        problem(
            "parameters.draws",
            "a calibration fits the spec's own values: remove the [parameters] section",
        )
    scenario_ok = cal.scenario in spec.scenarios
    if not scenario_ok:
        problem("calibration.scenario", f"no scenario {cal.scenario!r}")
    last = spec.start + dt.timedelta(days=spec.days - 1)
    for key, day in (("from", cal.from_), ("to", cal.to)):
        if isinstance(day, dt.date) and not spec.start <= day <= last:
            problem(f"calibration.{key}", f"{day} is outside the run ({spec.start}..{last})")
    if isinstance(cal.from_, dt.date) and isinstance(cal.to, dt.date) and cal.to < cal.from_:
        problem("calibration.to", f"{cal.to} is before from = {cal.from_}")
    fit: list[FitParameter] = []
    params = raw.get("parameters") if isinstance(raw, dict) else None
    if isinstance(params, dict):
        if len(params) > MAX_PARAMETERS:
            problem(
                "calibration.parameters",
                f"at most {MAX_PARAMETERS} parameters at once, got {len(params)}",
            )
        for key, value in params.items() if scenario_ok else ():
            found, text = _fit_parameter(spec, cal.scenario, str(key), value)
            if text is not None:
                problem(f"calibration.parameters.{key}", text)
            elif found is not None:
                fit.append(found)
    if problems:
        raise problems[0] if len(problems) == 1 else SpecProblems(problems)
    return Calibration(cal, tuple(fit))


def _salvage(raw: Any) -> CalibrationSpec:
    """The section's valid settings (defaults for the invalid ones), so that the
    checks that follow still run and list their problems too."""
    data = dict(raw) if isinstance(raw, dict) else {}
    fields = CalibrationSpec.model_fields
    kept: dict[str, Any] = {"parameters": {"x": None}}
    for key, value in data.items():
        name = "from_" if key == "from" else key
        if name not in fields or name == "parameters":
            continue
        try:
            CalibrationSpec.model_validate({"parameters": {"x": None}, key: value})
        except ValidationError:
            continue
        kept[key] = value
    return CalibrationSpec.model_validate(kept)
