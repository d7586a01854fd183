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

    [scenarios.baseline]
    [scenarios.new-surrey]
    events = [{ day = 0, open = "new-surrey-hospital" }]
    [scenarios.severe-flu.epidemic]  # a scenario may override module parameters
    r0 = 2.3

Event kinds (each gives ``day = N`` or ``date = YYYY-MM-DD``):

- ``{ open = "site" }``, ``{ close = "site" }``;
- ``{ facility = "site", ward_beds = -20, icu_beds = 2 }`` (bed deltas);
- ``{ contact_reduction = 0.3, zones = ["Surrey"], setting = "community" }``;
- ``{ vaccinate = 0.6, efficacy = 0.7, ages = [65, 120], zones = [] }`` (coverage);
- ``{ electives = "pause" }`` or ``{ electives = "resume" }``;
- staffing (:mod:`popsim.staffing`): ``{ facility = "site", unit = "ward", nurses = -20 }``
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
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, ValidationError

from popsim import events as ev
from popsim.errors import SpecError, SpecProblems

if TYPE_CHECKING:
    from popsim.model import ModelConfig
    from popsim.region import Region

_SCENARIO_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]*")
#: Longest scenario or spec name (a scenario name is a folder name, limited to 255 bytes).
MAX_NAME = 100
#: Largest horizon: days are stored as int16 in the outputs.
MAX_DAYS = 32_000
#: Most replicates: replicate numbers are stored as int16 in the outputs.
MAX_REPLICATES = 10_000
#: Largest population (an assumption: 25 times the default Fraser region; the memory a
#: run needs is checked against the machine before it starts, see popsim.resources).
MAX_POPULATION = 50_000_000
#: Earliest and latest start dates (an assumption: the model's demographic and seasonal
#: inputs describe present-day populations; also keeps every date of the run valid).
FIRST_START, LAST_START = dt.date(1900, 1, 1), dt.date(2200, 12, 31)
#: Integers in a spec are 32-bit (``seed``: 64-bit, non-negative).
INT32_MAX, SEED_MAX = 2**31 - 1, 2**63 - 1
#: Module sections of a spec and the parameter class each is validated with.
SECTIONS: dict[str, tuple[str, str]] = {
    "epidemic": ("popsim.epidemic", "EpidemicParams"),
    "demand": ("popsim.demand", "DemandParams"),
    "demography": ("popsim.demography", "DemographyParams"),
    "care": ("popsim.care.network", "CareParams"),
    "staffing": ("popsim.staffing", "StaffingParams"),
}
#: Sections that are on unless the spec says ``enabled = false``.
ON_BY_DEFAULT = ("demand", "care")
EVENT_KINDS = (
    "open",
    "close",
    "facility",
    "contact_reduction",
    "vaccinate",
    "electives",
    "nurses",
    "ratio",
    "strike",
    "sickness_wave",
)
#: Keys each event kind may use besides ``day``/``date``.
EVENT_KEYS: dict[str, tuple[str, ...]] = {
    "open": ("open",),
    "close": ("close",),
    "facility": ("facility", "ward_beds", "icu_beds"),
    "contact_reduction": ("contact_reduction", "zones", "setting"),
    "vaccinate": ("vaccinate", "efficacy", "ages", "zones"),
    "electives": ("electives",),
    "nurses": ("nurses", "facility", "unit"),
    "ratio": ("ratio", "unit", "facility"),
    "strike": ("strike", "duration_days", "facility"),
    "sickness_wave": ("sickness_wave", "duration_days"),
}
#: Event kinds that also name a ``facility`` (so ``facility`` is not their kind).
_WITH_FACILITY = ("nurses", "ratio", "strike")


class EventSpec(BaseModel):
    """One dated event as written in a spec (names and dates, not yet resolved)."""

    model_config = ConfigDict(extra="forbid")

    day: int | None = None
    date: dt.date | None = None
    open: str | None = None
    close: str | None = None
    facility: str | None = None
    ward_beds: int | None = None
    icu_beds: int | None = None
    contact_reduction: float | None = Field(None, ge=0.0, le=1.0)
    setting: Literal["household", "community", "all"] | None = None
    vaccinate: float | None = Field(None, ge=0.0, le=1.0)
    efficacy: float | None = Field(None, ge=0.0, le=1.0)
    ages: list[int] | None = Field(None, min_length=2, max_length=2)
    zones: list[str] | None = None
    electives: Literal["pause", "resume"] | None = None
    nurses: int | None = None
    unit: Literal["ward", "icu", "ed"] | None = None
    ratio: float | None = Field(None, ge=0.25, le=20.0)
    strike: float | None = Field(None, ge=0.0, le=1.0)
    sickness_wave: float | None = Field(None, ge=0.0, le=0.9)
    duration_days: int | None = Field(None, ge=1)


class ScenarioSpec(BaseModel):
    """A scenario: its events and optional overrides of the module sections."""

    model_config = ConfigDict(extra="forbid")

    description: str = ""
    events: list[EventSpec] = Field(default_factory=list)
    epidemic: dict[str, Any] | None = None
    demand: dict[str, Any] | None = None
    demography: dict[str, Any] | None = None
    care: dict[str, Any] | None = None
    staffing: dict[str, Any] | None = None


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
        if not _SCENARIO_NAME.fullmatch(name):
            raise SpecError(
                path, f"analysis.windows.{name}", "a window name is letters, digits, '-', '_', '.'"
            )
        if last < first:
            raise SpecError(
                path, f"analysis.windows.{name}", f"ends ({last}) before it starts ({first})"
            )


class RunSpec(BaseModel):
    """A validated run spec. Build with :func:`load_spec` (or :meth:`from_dict`)."""

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
    epidemic: dict[str, Any] | None = None
    demand: dict[str, Any] | None = None
    demography: dict[str, Any] | None = None
    care: dict[str, Any] | None = None
    staffing: dict[str, Any] | None = None
    scenarios: dict[str, ScenarioSpec] = Field(default_factory=lambda: {"baseline": ScenarioSpec()})
    analysis: AnalysisSpec | None = None
    #: What ``popsim calibrate`` fits and against what (checked by popsim.twin.calibrate).
    calibration: dict[str, Any] | None = None

    _path: str = PrivateAttr(default="<spec>")
    _base_dir: str | None = PrivateAttr(default=None)
    _strict_days: int | None = PrivateAttr(default=None)

    # ------------------------------------------------------------ building
    @classmethod
    def from_dict(
        cls, data: dict[str, Any], path: str | Path = "<spec>", base_dir: Path | None = None
    ) -> RunSpec:
        """Validate a parsed spec; errors become :class:`SpecError` naming ``path``."""
        data = dict(data)
        if "name" not in data and path != "<spec>":
            data["name"] = Path(path).stem
        problems = _number_problems(path, data)
        try:
            spec = _validate(cls, data, path)
        except SpecError as err:
            raise _problems(problems + getattr(err, "problems", [err])) from None
        for name in spec.scenarios:
            if not _SCENARIO_NAME.fullmatch(name) or len(name) > MAX_NAME:
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
        for section in SECTIONS:
            for scenario in spec.scenarios:
                try:
                    spec.params(section, scenario)  # validates every section now
                except SpecError as err:
                    problems += getattr(err, "problems", [err])
        if problems:
            raise _problems(problems)
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
        new._strict_days = self._strict_days
        return new

    @property
    def path(self) -> str:
        return self._path

    def region_ref(self) -> str:
        """What :func:`popsim.region.load_region` gets: a region folder beside the spec
        (a relative path) if there is one, else the value as written (a shipped name)."""
        if self._base_dir is not None:
            candidate = Path(self._base_dir) / self.region
            if (candidate / "region.toml").is_file():
                return str(candidate.resolve())
        return self.region

    def load_region(self) -> Region:
        """Load the spec's region; a region that cannot be found is a :class:`SpecError`."""
        from popsim.errors import RegionError
        from popsim.region import load_region, resolve_region

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
        base = getattr(self, section)
        override = getattr(self.scenarios[scenario], section)
        if base is None and override is None:
            return _default_params(section) if section in ON_BY_DEFAULT else None
        merged = {**(base or {}), **(override or {})}
        where = section if override is None else f"scenarios.{scenario}.{section}"
        enabled = merged.pop("enabled", True)
        if not isinstance(enabled, bool):
            raise SpecError(self._path, f"{where}.enabled", "expected true or false")
        if not enabled:
            return None
        from popsim.twin.uncertainty import DistributionError, centralise

        try:  # a parameter given as a distribution is checked at its central value
            merged = centralise(merged)
        except DistributionError as err:
            raise SpecError(self._path, f"{where}.{err.key}", err.problem) from None
        return _validate(_params_class(section), merged, self._path, prefix=where)

    def model_config_for(self, scenario: str, region: Region) -> ModelConfig:
        """Resolve ``scenario`` against ``region`` into a :class:`popsim.model.ModelConfig`."""
        from popsim.model import ModelConfig

        if scenario not in self.scenarios:
            raise SpecError(
                self._path,
                "scenarios",
                f"no scenario {scenario!r}; have {', '.join(self.scenarios)}",
            )
        epidemic = self.params("epidemic", scenario)
        if epidemic is not None:
            epidemic = self._with_seed_zones(epidemic, scenario, region)
        events: list[ev.Event] = []
        problems: list[SpecError] = []
        for i, event in enumerate(self.scenarios[scenario].events):
            try:
                resolved = self._resolve_event(event, f"scenarios.{scenario}.events[{i}]", region)
            except SpecError as err:
                problems.append(err)
                continue
            if resolved is not None:
                events.append(resolved)
        if problems:
            raise _problems(problems)
        events.sort(key=lambda e: e.day)
        return ModelConfig(
            days=self.days,
            start=self.start,
            population=self.population,
            epidemic=epidemic,
            demand=self.params("demand", scenario),
            demography=self.params("demography", scenario),
            care=self.params("care", scenario),
            staffing=self.params("staffing", scenario),
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
        if problems:
            raise _problems(problems)
        return configs

    # -------------------------------------------------------------- helpers
    def _with_seed_zones(self, params: Any, scenario: str, region: Region) -> Any:
        """Check the epidemic's zone names against the region; pass zone indices on."""
        override = self.scenarios[scenario].epidemic or {}
        prefix = f"scenarios.{scenario}.epidemic" if "seed_zones" in override else "epidemic"
        update: dict[str, Any] = {}
        if getattr(params, "seed_zones", None):
            update["seed_zones"] = [
                self._zone(region, z, f"{prefix}.seed_zones[{i}]")
                for i, z in enumerate(params.seed_zones)
            ]
        prefix = f"scenarios.{scenario}.epidemic" if "importations" in override else "epidemic"
        strict = self._strict_days or self.days
        for i, imp in enumerate(getattr(params, "importations", None) or ()):
            if getattr(imp, "zone", None) is not None:
                self._zone(region, imp.zone, f"{prefix}.importations[{i}].zone")
            day = getattr(imp, "day", None)
            if isinstance(day, int) and not 0 <= day < strict:
                raise SpecError(
                    self._path,
                    f"{prefix}.importations[{i}].day",
                    f"day {day} is outside the run (day 0..{strict - 1})",
                )
        return params.model_copy(update=update) if update else params

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

    def _resolve_event(self, event: EventSpec, where: str, region: Region) -> ev.Event | None:
        given = event.model_dump(exclude_none=True)
        kinds = [k for k in EVENT_KINDS if k in given]
        if "facility" in kinds and any(k in kinds for k in _WITH_FACILITY):
            kinds.remove("facility")
        if len(kinds) != 1:
            raise SpecError(
                self._path,
                where,
                f"an event needs exactly one of {', '.join(EVENT_KINDS)}"
                + (f"; got {', '.join(kinds)}" if kinds else ""),
            )
        kind = kinds[0]
        for key in given:
            if key not in (*EVENT_KEYS[kind], "day", "date"):
                raise SpecError(
                    self._path,
                    f"{where}.{key}",
                    f"not a key of a {kind!r} event (allowed: day/date, {', '.join(EVENT_KEYS[kind])})",
                )
        day = self._event_day(event, where)
        if day is None:
            return None
        zones = tuple(
            self._zone(region, z, f"{where}.zones[{i}]") for i, z in enumerate(event.zones or ())
        )
        if kind == "open":
            return ev.OpenFacility(day, self._facility(region, event.open, f"{where}.open"))
        if kind == "close":
            return ev.CloseFacility(day, self._facility(region, event.close, f"{where}.close"))
        if kind == "facility":
            if event.ward_beds is None and event.icu_beds is None:
                raise SpecError(self._path, where, "a facility event needs ward_beds or icu_beds")
            return ev.ChangeBeds(
                day,
                self._facility(region, event.facility, f"{where}.facility"),
                ward_beds=event.ward_beds or 0,
                icu_beds=event.icu_beds or 0,
            )
        if kind == "contact_reduction":
            return ev.ContactReduction(
                day, event.contact_reduction, zones=zones, setting=event.setting or "all"
            )
        if kind == "vaccinate":
            lo, hi = event.ages if event.ages is not None else (0, 120)
            if not 0 <= lo <= hi <= 120:
                raise SpecError(
                    self._path,
                    f"{where}.ages",
                    f"expected [min, max] with 0 <= min <= max <= 120, got [{lo}, {hi}]",
                )
            if event.efficacy is None:
                raise SpecError(
                    self._path, f"{where}.efficacy", "a vaccinate event needs efficacy (0..1)"
                )
            return ev.Vaccinate(
                day, event.vaccinate, event.efficacy, min_age=lo, max_age=hi, zones=zones
            )
        if kind == "electives":
            return ev.Electives(day, paused=event.electives == "pause")
        return self._staffing_event(event, kind, day, where, region)

    def _staffing_event(
        self, event: EventSpec, kind: str, day: int, where: str, region: Region
    ) -> ev.Event:
        site = (
            -1
            if event.facility is None
            else self._facility(region, event.facility, f"{where}.facility")
        )
        if kind in ("nurses", "ratio") and event.unit is None:
            raise SpecError(self._path, f"{where}.unit", "expected ward, icu or ed")
        if kind == "nurses":
            if site < 0:
                raise SpecError(self._path, f"{where}.facility", "a nurses event names a site")
            return ev.ChangeRoster(day, site, event.unit, event.nurses)
        if kind == "ratio":
            return ev.ChangeRatio(day, event.unit, event.ratio, facility=site)
        if event.duration_days is None:
            raise SpecError(self._path, f"{where}.duration_days", "expected a number of days >= 1")
        if kind == "strike":
            return ev.Strike(day, event.strike, event.duration_days, facility=site)
        return ev.SicknessWave(day, event.sickness_wave, event.duration_days)


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
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SpecError(path, None, f"not valid TOML: {err}") from None
    data.setdefault("name", path.stem)
    spec = RunSpec.from_dict(data, path=path, base_dir=path.parent)
    if check_region:
        spec.check(spec.load_region())
    return spec


# ------------------------------------------------------------------ errors
def _params_class(section: str) -> type[BaseModel]:
    import importlib

    module, name = SECTIONS[section]
    return getattr(importlib.import_module(module), name)


def _default_params(section: str) -> Any:
    return _params_class(section)()


def dotted(loc: tuple[Any, ...]) -> str:
    """``("scenarios", "a", "events", 0, "day")`` -> ``scenarios.a.events[0].day``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


def _allowed_keys(model: type[BaseModel], loc: tuple[Any, ...]) -> list[str] | None:
    """Field names of the model that owns ``loc[-1]`` (for 'unknown key' messages)."""
    current: Any = model
    for part in loc[:-1]:
        if current is RunSpec and part == "scenarios":
            current = "scenarios"
        elif current == "scenarios":
            current = ScenarioSpec
        elif current is ScenarioSpec and part == "events":
            current = "events"
        elif current == "events" and isinstance(part, int):
            current = EventSpec
        else:
            return None
    return list(current.model_fields) if isinstance(current, type) else None


#: Strict-mode complaints that are not errors in a spec: a date written as a string
#: (a spec read back from JSON), a pair written as a list.
_LAX_OK = frozenset({"date_type", "datetime_type", "tuple_type"})


def _validate(
    model: type[BaseModel], data: dict[str, Any], path: str | Path, prefix: str = ""
) -> Any:
    """Validate with strict types (no bool for a number, no string for a bool, no float
    for an integer); every problem becomes a :class:`SpecError` line."""
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as err:
        strict = [e for e in err.errors() if e["type"] not in _LAX_OK]
    try:
        value = model.model_validate(data)
    except ValidationError as err:
        raise _problems(_spec_errors(path, strict or err.errors(), model, prefix)) from None
    if strict:
        raise _problems(_spec_errors(path, strict, model, prefix))
    return value


def _spec_errors(
    path: str | Path, errors: list[Any], model: type[BaseModel], prefix: str = ""
) -> list[SpecError]:
    """One :class:`SpecError` per problem pydantic found, in order."""
    found: list[SpecError] = []
    seen: set[str] = set()
    for problem_ in errors:
        loc = tuple(problem_["loc"])
        where = dotted(loc)
        if prefix:
            where = f"{prefix}.{where}" if where else prefix
        if problem_["type"] == "extra_forbidden":
            allowed = _allowed_keys(model, loc)
            problem = "unknown key" + (f" (allowed: {', '.join(allowed)})" if allowed else "")
        else:
            problem = problem_["msg"]
            if "input" in problem_ and problem_["type"] != "missing":
                given = problem_["input"]
                shown = given.isoformat() if isinstance(given, dt.date) else repr(given)
                problem += f", got {shown if len(shown) <= 60 else shown[:57] + '...'}"
        if where in seen:  # a union reports each of its branches: keep the first
            continue
        seen.add(where)
        found.append(SpecError(path, where or None, problem))
    return found


def _number_problems(path: str | Path, data: Any, loc: tuple[Any, ...] = ()) -> list[SpecError]:
    """Integers beyond 32 bits (``seed``: 64 bits) and non-finite floats, anywhere."""
    import math

    found: list[SpecError] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += _number_problems(path, value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += _number_problems(path, value, (*loc, i))
    elif isinstance(data, int) and not isinstance(data, bool):
        hi = SEED_MAX if loc == ("seed",) else INT32_MAX
        if not -hi - 1 <= data <= hi:
            found.append(
                SpecError(path, dotted(loc), f"integer out of range (-{hi + 1}..{hi}), got {data}")
            )
    elif isinstance(data, float) and not math.isfinite(data):
        found.append(SpecError(path, dotted(loc), f"expected a finite number, got {data}"))
    return found


def _problems(problems: list[SpecError]) -> SpecError:
    """One error for one problem, :class:`SpecProblems` (one line each) for several."""
    unique: list[SpecError] = []
    for p in problems:
        if not any(str(p) == str(u) or (p.where and p.where == u.where) for u in unique):
            unique.append(p)
    return unique[0] if len(unique) == 1 else SpecProblems(unique)
