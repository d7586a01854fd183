"""Run specs: a TOML file -> a validated :class:`RunSpec` -> one ``ModelConfig`` per scenario.

A spec names a region, a start date, a horizon, the modules' parameters and the
scenarios to compare, each a list of dated events::

    name = "fraser-flu"
    region = "fraser"              # a folder under regions/, or a path relative to this file
    start = 2026-09-01
    days = 365
    population = 2_000_000         # optional: scale the region to this many residents
    replicates = 8
    seed = 42

    [epidemic]                     # optional; absent = no epidemic
    r0 = 1.8
    seed_zones = ["Surrey"]        # zone names or ids, resolved against the region

    [demand]                       # on by default; `enabled = false` switches it off
    [care]
    [demography]                   # optional; for runs over several years

    [parameters]                   # optional: each replicate takes a row of joint draws
    draws = "fit/calibration/draws.parquet"   # (popsim.twin.uncertainty)

    [scenarios.baseline]
    [scenarios.new-surrey]
    events = [{ day = 0, open = "new-surrey-hospital" }]
    [scenarios.severe-flu.epidemic]  # a scenario may override module parameters
    r0 = 2.3

Sections: one per registered module (:mod:`popsim.modules`), validated with the
module's parameter class; ``enabled = false`` switches a module off, and a module that
is on by default (demand, care) is on without its section.

Event kinds (each gives ``day = N`` or ``date = YYYY-MM-DD``), declared by the event types
the modules own (:mod:`popsim.core.event_types`, :mod:`popsim.staffing.module`):

- ``{ open = "site" }``, ``{ close = "site" }``;
- ``{ facility = "site", ward_beds = -20, icu_beds = 2 }`` (bed deltas);
- ``{ contact_reduction = 0.3, zones = ["Surrey"], setting = "community" }``;
- ``{ vaccinate = 0.6, efficacy = 0.7, ages = [65, 120], zones = [] }`` (coverage);
- ``{ electives = "pause" }`` or ``{ electives = "resume" }``;
- staffing (:mod:`popsim.staffing.module`): ``{ facility = "site", unit = "ward", nurses = -20 }``
  (roster change per shift), ``{ ratio = 5, unit = "ward", facility = "site" }`` (patients
  per nurse; no facility: every site), ``{ strike = 0.5, duration_days = 3 }`` (share of
  nurses out, at one site with ``facility``), ``{ sickness_wave = 0.1, duration_days = 14 }``
  (extra share of nurses off sick).

Any problem raises :class:`popsim.errors.SpecError` naming the file, the key as a
dotted path (``scenarios.new-surrey.events[0].open``) and what was expected; a spec with
several problems raises :class:`popsim.errors.SpecProblems`, one line per problem.
Types are strict: ``days = true`` or ``record_journeys = "yes"`` are errors, not 1 and
true; integers beyond 32 bits (64 for ``seed``) and non-finite numbers are refused.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import tomllib
from pathlib import Path
from typing import TYPE_CHECKING, Any

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, create_model

from popsim import tomlread
from popsim.core.config import ModelConfig
from popsim.core.schema import SCENARIO_NAME
from popsim.errors import SpecError
from popsim.modules import REGISTRY
from popsim.run.resources import MAX_DAYS, MAX_POPULATION, MAX_REPLICATES
from popsim.run.speccheck import bed_cut_problems, draw_problems
from popsim.run.specerrors import SEED_MAX, number_problems, one_error, validate
from popsim.twin.uncertainty import DrawTable, ParametersSpec, load_draws

if TYPE_CHECKING:
    from popsim.core.events import Event
    from popsim.region.load import Region

#: Longest scenario or spec name (a scenario name is a folder name, limited to 255 bytes).
MAX_NAME = 100
#: Largest horizon, most replicates, largest population: bounded in one place,
#: :mod:`popsim.run.resources` (which also checks the memory a run needs).
#: Earliest and latest start dates (an assumption: the model's demographic and seasonal
#: inputs describe present-day populations; also keeps every date of the run valid).
FIRST_START, LAST_START = dt.date(1900, 1, 1), dt.date(2200, 12, 31)


class EventSpec(BaseModel):
    """One dated event as written in a spec (names and dates, not yet resolved).

    Its other keys are the registered event types' ``spec_fields`` (see
    :func:`spec_models`)."""

    model_config = ConfigDict(extra="forbid")

    day: int | None = None
    date: dt.date | None = None


class ScenarioSpec(BaseModel):
    """A scenario: its events and optional overrides of the module sections (one key
    per registered module, see :func:`spec_models`)."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    if TYPE_CHECKING:
        events: list[EventSpec]


class AnalysisSpec(BaseModel):
    """The ``[analysis]`` section: the comparator and named date windows of the analysis.

    ``baseline`` names the scenario the others are compared with (default: the scenario
    named ``baseline``, else the first); ``windows`` maps a name to its first and last
    date (inclusive), e.g. ``windows = { winter = ["2026-12-01", "2027-02-28"] }``. The
    analysis reports every measure for the whole run and for each window. It does not
    change the simulation (replicates are not rerun when only this section changes).
    """

    model_config = ConfigDict(extra="forbid")

    baseline: str | None = None
    windows: dict[str, tuple[dt.date, dt.date]] = Field(default_factory=dict)


def _check_analysis(path: str | Path, spec: RunSpec) -> None:
    """The ``[analysis]`` baseline names a scenario; each window ends on or after it starts."""
    a = spec.analysis
    assert a is not None
    if a.baseline is not None and a.baseline not in spec.scenarios:
        raise SpecError(
            path,
            "analysis.baseline",
            f"no scenario {a.baseline!r}; have {', '.join(spec.scenarios)}",
        )
    for name, (first, last) in a.windows.items():
        if not SCENARIO_NAME.fullmatch(name):
            raise SpecError(
                path, f"analysis.windows.{name}", "a window name is letters, digits, '-', '_', '.'"
            )
        if last < first:
            raise SpecError(
                path, f"analysis.windows.{name}", f"ends ({last}) before it starts ({first})"
            )


class RunSpec(BaseModel):
    """A validated run spec. Build with :func:`load_spec` (or :meth:`from_dict`).

    The module sections (one optional table per registered module) and ``scenarios``
    are added by :func:`spec_models`; a spec is an instance of that subclass."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=MAX_NAME, pattern=r"^[A-Za-z0-9_.-]+$")
    description: str = ""
    region: str = Field(min_length=1)
    start: dt.date = Field(dt.date(2026, 1, 1), ge=FIRST_START, le=LAST_START)
    days: int = Field(365, ge=1, le=MAX_DAYS)
    population: int | None = Field(None, ge=1, le=MAX_POPULATION)
    replicates: int = Field(1, ge=1, le=MAX_REPLICATES)
    seed: int = Field(0, ge=0, le=SEED_MAX)
    record_journeys: bool = True
    if TYPE_CHECKING:
        scenarios: dict[str, ScenarioSpec]
        analysis: AnalysisSpec | None
        #: What ``popsim calibrate`` fits and against what (checked by popsim.twin.calibrate).
        calibration: dict[str, Any] | None
        #: Where parameter values come from (a table of joint draws, popsim.twin.uncertainty).
        parameters: ParametersSpec | None
        #: The observation model and the transmission walk of forecasts (popsim.twin.obsmodel).
        observation: dict[str, Any] | None
        transmission: dict[str, Any] | None

    _path: str = PrivateAttr(default="<spec>")
    _base_dir: str | None = PrivateAttr(default=None)
    _strict_days: int | None = PrivateAttr(default=None)
    _draws: DrawTable | None = PrivateAttr(default=None)

    # ------------------------------------------------------------ building
    @classmethod
    def from_dict(
        cls, data: dict[str, Any], path: str | Path = "<spec>", base_dir: Path | None = None
    ) -> RunSpec:
        """Validate a parsed spec; errors become :class:`SpecError` naming ``path``."""
        data = dict(data)
        if "name" not in data and path != "<spec>":
            data["name"] = Path(path).stem
        problems = number_problems(path, data)
        try:
            spec = validate(spec_models()[0], data, path, _allowed_keys)
        except SpecError as err:
            raise one_error(problems + getattr(err, "problems", [err])) from None
        for name in spec.scenarios:
            if not SCENARIO_NAME.fullmatch(name) or len(name) > MAX_NAME:
                problems.append(
                    SpecError(
                        path,
                        f"scenarios.{name[:40]}" + ("..." if len(name) > 40 else ""),
                        f"a scenario name is at most {MAX_NAME} letters, digits, '-', '_' "
                        "and '.', starting with a letter or digit (it names a folder)",
                    )
                )
        if spec.analysis is not None:
            _check_analysis(path, spec)
        spec._path = str(path)
        spec._base_dir = str(base_dir) if base_dir is not None else None
        spec._strict_days = spec.days
        for section in REGISTRY.names():
            for scenario in spec.scenarios:
                try:
                    spec.params(section, scenario)  # validates every section now
                except SpecError as err:
                    problems += getattr(err, "problems", [err])
        if not problems and spec.parameters is not None:
            try:  # the table of parameter draws, read and checked now
                spec._draws = load_draws(spec, base_dir)
            except SpecError as err:
                problems += getattr(err, "problems", [err])
        if problems:
            raise one_error(problems)
        return spec

    def with_overrides(
        self,
        days: int | None = None,
        population: int | None = None,
        replicates: int | None = None,
    ) -> RunSpec:
        """A copy with command-line overrides. Events after a shortened horizon are dropped."""
        update: dict[str, Any] = {}
        for key, value in (("days", days), ("population", population), ("replicates", replicates)):
            if value is not None:
                field = type(self).model_fields[key]
                lo = next((m.ge for m in field.metadata if hasattr(m, "ge")), None)
                hi = next((m.le for m in field.metadata if hasattr(m, "le")), None)
                if (lo is not None and value < lo) or (hi is not None and value > hi):
                    raise SpecError(self._path, key, f"--{key} must be in {lo}..{hi}, got {value}")
                update[key] = value
        new = self.model_copy(update=update)
        new._path, new._base_dir = self._path, self._base_dir
        new._strict_days, new._draws = self._strict_days, self._draws
        return new

    def __reduce__(self) -> tuple[Any, ...]:
        # the class is built from the registry (spec_models), so it is not importable by
        # name: a spec travels (to Dask workers) as its data and is validated again there,
        # after the modules registered here are registered there (by import path)
        state = (self.model_dump(), self._path, self._base_dir, self._strict_days, self._draws)
        return (_restore_spec, (*state, REGISTRY.import_paths()))

    @property
    def path(self) -> str:
        return self._path

    def region_ref(self) -> str:
        """What :func:`popsim.region.load.load_region` gets: a region folder beside the spec
        (a relative path) if there is one, else the value as written (a shipped name)."""
        if self._base_dir is not None:
            candidate = Path(self._base_dir) / self.region
            if (candidate / "region.toml").is_file():
                return str(candidate.resolve())
        return self.region

    def load_region(self) -> Region:
        """Load the spec's region; a region that cannot be found is a :class:`SpecError`."""
        from popsim.errors import RegionError
        from popsim.region.load import load_region, resolve_region

        try:
            folder = resolve_region(self.region_ref())
        except RegionError as err:
            raise SpecError(self._path, "region", f"{self.region!r}: {err.problem}") from None
        return load_region(folder)

    def to_json(self) -> str:
        """The effective spec as compact JSON in spec order (goes into outputs' metadata)."""
        drop = {"analysis"} if self.analysis is None else set()
        return json.dumps(self.model_dump(mode="json", exclude=drop), separators=(",", ":"))

    # ----------------------------------------------------------- resolving
    def params(self, section: str, scenario: str) -> Any:
        """The validated parameter object of ``section`` for ``scenario`` (None = off)."""
        module = REGISTRY[section]
        base = getattr(self, section)
        override = getattr(self.scenarios[scenario], section)
        if base is None and override is None:
            return _params_class(section)() if module.default_on else None
        merged = {**(base or {}), **(override or {})}
        where = section if override is None else f"scenarios.{scenario}.{section}"
        enabled = merged.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise SpecError(self._path, f"{where}.enabled", "expected true or false")
        if not enabled:
            return None
        from popsim.twin.uncertainty import DistributionError, centralise, support_problems

        try:  # a parameter given as a distribution is checked at its central value
            central = centralise(merged)
        except DistributionError as err:
            raise SpecError(self._path, f"{where}.{err.key}", err.problem) from None
        fields = _params_class(section).model_fields
        for key, value in central.items():  # an integer parameter's centre, rounded
            if value is not merged[key] and key in fields and fields[key].annotation is int:
                central[key] = int(round(value))
        params = validate(_params_class(section), central, self._path, _allowed_keys, prefix=where)
        if central != merged:  # and its draws against the parameter's allowed values
            found = support_problems(params, merged)
            if found:
                raise one_error([SpecError(self._path, f"{where}.{k}", m) for k, m in found])
        return params

    def model_config_for(self, scenario: str, region: Region) -> ModelConfig:
        """Resolve ``scenario`` against ``region`` into a :class:`popsim.core.config.ModelConfig`."""
        if scenario not in self.scenarios:
            raise SpecError(
                self._path,
                "scenarios",
                f"no scenario {scenario!r}; have {', '.join(self.scenarios)}",
            )
        params: dict[str, Any] = {}
        problems: list[SpecError] = []  # every problem of every section and event
        for module in REGISTRY.modules():  # each checks its own section against the region
            try:
                section = self.params(module.name, scenario)
                if section is not None:
                    section = module.resolve_params(
                        section, _ResolveSection(self, region, module.name, scenario)
                    )
            except SpecError as err:
                problems += getattr(err, "problems", [err])
                section = None
            params[module.name] = section
        events: list[Event] = []
        placed: list[tuple[str, Event]] = []
        for i, event in enumerate(self.scenarios[scenario].events):
            where = f"scenarios.{scenario}.events[{i}]"
            try:
                resolved = self._resolve_event(event, where, region)
            except SpecError as err:
                problems += getattr(err, "problems", [err])
                continue
            if resolved is not None:
                events.append(resolved)
                placed.append((where, resolved))
        problems += [SpecError(self._path, w, p) for w, p in bed_cut_problems(placed, region)]
        if problems:
            raise one_error(problems)
        events.sort(key=lambda e: e.day)
        return ModelConfig(
            days=self.days,
            start=self.start,
            population=self.population,
            params=params,
            events=tuple(events),
            record_journeys=self.record_journeys,
        )

    def check(self, region: Region) -> dict[str, ModelConfig]:
        """Resolve every scenario; returns their configurations. Raises a
        :class:`SpecError` listing every problem found (one line each)."""
        configs: dict[str, ModelConfig] = {}
        problems: list[SpecError] = []
        for scenario in self.scenarios:
            try:
                configs[scenario] = self.model_config_for(scenario, region)
            except SpecError as err:
                problems += getattr(err, "problems", [err])
        if not problems:  # each replicate's drawn parameters (none without distributions)
            problems += draw_problems(self)
        if problems:
            raise one_error(problems)
        return configs

    # -------------------------------------------------------------- helpers
    def _zone(self, region: Region, name: str | int, where: str) -> int:
        if isinstance(name, int) and not isinstance(name, bool):
            if not 0 <= name < region.n_zones:
                raise SpecError(
                    self._path, where, f"zone index {name} out of range 0..{region.n_zones - 1}"
                )
            return name
        try:
            return region.zone_index(str(name))
        except KeyError as err:
            raise SpecError(self._path, where, str(err.args[0])) from None

    def _facility(self, region: Region, name: str, where: str) -> int:
        try:
            return region.facility_index(name)
        except KeyError as err:
            raise SpecError(self._path, where, str(err.args[0])) from None

    def _event_day(self, event: EventSpec, where: str) -> int | None:
        if (event.day is None) == (event.date is None):
            raise SpecError(self._path, where, "give exactly one of day = N or date = YYYY-MM-DD")
        strict = self._strict_days or self.days
        if event.day is not None:
            day, key = event.day, f"{where}.day"
        else:
            day, key = (event.date - self.start).days, f"{where}.date"
        if not 0 <= day < strict:
            last = self.start + dt.timedelta(days=strict - 1)
            raise SpecError(
                self._path,
                key,
                f"day {day} is outside the run (day 0..{strict - 1}, {self.start}..{last})",
            )
        return day if day < self.days else None  # beyond a shortened horizon: dropped

    def _resolve_event(self, event: EventSpec, where: str, region: Region) -> Event | None:
        registered = REGISTRY.event_kinds()
        given = event.model_dump(exclude_none=True)
        kinds = [k for k in registered if k in given]
        # a kind's key may also be a plain key of another kind given (``facility`` names
        # the site of a nurses, ratio or strike event): then it is not the kind
        kinds = [
            k for k in kinds if not any(k in registered[o].spec_fields for o in kinds if o != k)
        ] or kinds
        if len(kinds) != 1:
            raise SpecError(
                self._path,
                where,
                f"an event needs exactly one of {', '.join(registered)}"
                + (f"; got {', '.join(kinds)}" if kinds else ""),
            )
        kind = kinds[0]
        event_type = registered[kind]
        keys = tuple(event_type.spec_fields)
        for key in given:
            if key not in (*keys, "day", "date"):
                raise SpecError(
                    self._path,
                    f"{where}.{key}",
                    f"not a key of a {kind!r} event (allowed: day/date, {', '.join(keys)})",
                )
        day = self._event_day(event, where)
        if day is None:
            return None
        values = {key: getattr(event, key) for key in keys}
        return event_type.from_spec(day, values, _Resolve(self, region, where))


class _Resolve:
    """Names to indices for one event (:class:`popsim.core.events.Resolver`); errors name
    the spec file and the event's key."""

    def __init__(self, spec: RunSpec, region: Region, where: str) -> None:
        self.spec, self.region, self.where = spec, region, where

    def facility(self, name: str, key: str) -> int:
        return self.spec._facility(self.region, name, f"{self.where}.{key}")

    def zone(self, name: str | int, key: str) -> int:
        return self.spec._zone(self.region, name, f"{self.where}.{key}")

    def error(self, key: str | None, problem: str) -> SpecError:
        return SpecError(
            self.spec.path, self.where if key is None else f"{self.where}.{key}", problem
        )


class _ResolveSection:
    """Names to indices and days checked for one module's section of one scenario
    (:class:`popsim.core.module.SectionResolver`); an error names the scenario's section
    when the scenario set the key, else the spec's."""

    def __init__(self, spec: RunSpec, region: Region, section: str, scenario: str) -> None:
        self.spec, self.region = spec, region
        self.section, self.scenario = section, scenario

    def where(self, key: str) -> str:
        override = getattr(self.spec.scenarios[self.scenario], self.section) or {}
        field = re.split(r"[.\[]", key, maxsplit=1)[0]
        prefix = f"scenarios.{self.scenario}." if field in override else ""
        return f"{prefix}{self.section}.{key}"

    def zone(self, name: str | int, key: str) -> int:
        return self.spec._zone(self.region, name, self.where(key))

    def facility(self, name: str, key: str) -> int:
        return self.spec._facility(self.region, name, self.where(key))

    def day(self, day: int, key: str) -> int:
        strict = self.spec._strict_days or self.spec.days
        if not 0 <= day < strict:
            raise self.error(key, f"day {day} is outside the run (day 0..{strict - 1})")
        return day

    def path(self, value: str, key: str) -> Path:
        path = Path(value).expanduser()
        if not path.is_absolute() and self.spec._base_dir is not None:
            path = Path(self.spec._base_dir) / path
        return path

    def dates(self) -> tuple[dt.date, int]:
        return self.spec.start, self.spec.days

    def error(self, key: str, problem: str) -> SpecError:
        return SpecError(self.spec.path, self.where(key), problem)


# ------------------------------------------------------------- spec classes
_MODELS: dict[int, tuple[type[RunSpec], type[ScenarioSpec], type[EventSpec]]] = {}


def spec_models() -> tuple[type[RunSpec], type[ScenarioSpec], type[EventSpec]]:
    """The pydantic classes of a spec, a scenario and an event for the modules registered
    now: one optional section per module (registration order), one set of keys per event
    type. Built once per state of the registry."""
    key = REGISTRY.version
    if key not in _MODELS:
        keys: dict[str, Any] = {}
        for event_type in REGISTRY.event_kinds().values():
            for name, definition in event_type.spec_fields.items():
                keys.setdefault(name, definition)
        event = create_model("EventSpec", __base__=EventSpec, __module__=__name__, **keys)
        sections: dict[str, Any] = {
            name: (dict[str, Any] | None, None) for name in REGISTRY.names()
        }
        scenario = create_model(
            "ScenarioSpec",
            __base__=ScenarioSpec,
            __module__=__name__,
            events=(list[event], Field(default_factory=list)),
            **sections,
        )
        run = create_model(
            "RunSpec",
            __base__=RunSpec,
            __module__=__name__,
            **sections,
            scenarios=(
                dict[str, scenario],
                Field(default_factory=lambda: {"baseline": scenario()}),
            ),
            analysis=(AnalysisSpec | None, None),
            calibration=(dict[str, Any] | None, None),
            parameters=(ParametersSpec | None, None),
            observation=(dict[str, Any] | None, None),
            transmission=(dict[str, Any] | None, None),
        )
        _MODELS[key] = (run, scenario, event)
    return _MODELS[key]


def _restore_spec(
    data: dict[str, Any],
    path: str,
    base_dir: str | None,
    strict_days: int | None,
    draws: DrawTable | None = None,
    modules: tuple[str, ...] = (),
) -> RunSpec:
    REGISTRY.ensure(modules)  # modules the sending process had registered
    spec = spec_models()[0].model_validate(data)
    spec._path, spec._base_dir, spec._strict_days = path, base_dir, strict_days
    spec._draws = draws
    return spec


def load_spec(path: str | Path, check_region: bool = False) -> RunSpec:
    """Read and validate a TOML run spec; with ``check_region`` also resolve every scenario
    against its region (unknown facilities, zones...)."""
    path = Path(path)
    if path.suffix != ".toml":  # its name also names the output folder (without .toml)
        raise SpecError(path, None, "a run spec is a TOML file whose name ends in .toml")
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise SpecError(path, None, "no such spec file") from None
    except IsADirectoryError:
        raise SpecError(path, None, "is a folder, not a spec file") from None
    except (OSError, UnicodeDecodeError) as err:
        raise SpecError(
            path, None, f"cannot read: {getattr(err, 'strerror', None) or err}"
        ) from None
    try:
        data = tomlread.loads(text)
    except tomlread.TooDeep as err:
        raise SpecError(path, None, str(err)) from None
    except tomllib.TOMLDecodeError as err:
        raise SpecError(path, None, f"not valid TOML: {err}") from None
    data.setdefault("name", path.stem)
    spec = RunSpec.from_dict(data, path=path, base_dir=path.parent)
    if check_region:
        spec.check(spec.load_region())
    return spec


# ------------------------------------------------------------------ errors
def _params_class(section: str) -> type[BaseModel]:
    cls = REGISTRY[section].params_class
    if cls is None:
        raise TypeError(f"module {section!r} has a spec section but no params_class")
    return cls


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the model that owns ``loc[-1]`` (for 'unknown key' messages)."""
    _, scenario, event = spec_models()
    current: Any = model
    for part in loc[:-1]:
        if isinstance(current, type) and issubclass(current, RunSpec) and part == "scenarios":
            current = "scenarios"
        elif current == "scenarios":
            current = scenario
        elif isinstance(current, type) and issubclass(current, ScenarioSpec) and part == "events":
            current = "events"
        elif current == "events" and isinstance(part, int):
            current = event
        else:
            return None
    return list(current.model_fields) if isinstance(current, type) else None
