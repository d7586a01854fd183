"""Parameter uncertainty: a spec parameter may be a distribution, drawn per replicate.

In any module section of a spec (or a scenario's override of it)::

    [epidemic]
    r0 = { dist = "uniform", low = 1.2, high = 1.5 }
    [demand]
    rel_admissions = { dist = "normal", mean = 1.0, sd = 0.05 }
    rel_stay = { dist = "lognormal", median = 1.0, sigma = 0.1 }

Validation (:meth:`popsim.run.spec.RunSpec.params`) sees each distribution's central
value (uniform: midpoint, normal: mean, lognormal: median), so a spec is checked as a
whole before anything runs. Replicate ``r`` of a run draws its own values from its own
random stream, ``SeedSequence(seed, spawn_key=(r, PARAMETER_STREAM))``, the same in
every scenario (common random numbers: scenarios differ by their interventions, not by
their parameter draws); the values drawn are recorded in the replicate's manifest
(``parameters``). A draw outside the parameter's allowed range is a model error of that
replicate.

Or the parameters come jointly from a table of draws, e.g. a calibration's accepted
draws (``popsim calibrate`` writes ``calibration/draws.parquet``)::

    [parameters]
    draws = "calibration/draws.parquet"   # relative to the spec file

Its columns are parameters by dotted name (``epidemic.r0``), plus the calibration's own
``trial``, ``state`` and ``log_likelihood`` (ignored). Replicate ``r`` takes row
``perm[r % n]`` of a permutation of the ``n`` rows drawn from
``SeedSequence(seed, spawn_key=(DRAWS_STREAM,))``: every parameter of a row together
(their correlation is kept), distinct rows until the table is used up, the same row in
every scenario, and adding replicates leaves the earlier ones' rows unchanged. The
values go into the spec's base sections: a scenario that sets a parameter itself keeps
its own value. The table is read and checked when the spec is loaded (one line per
problem: a column that is no parameter, a value that is missing, not a number, not an
integer where the parameter is one, or outside the parameter's allowed range) and
travels with the spec to the workers; its digest is part of the run's configuration.

A name may also be a multiplier of a parameter that is a list or a nested table (or
several of one section together): ``epidemic.p_severe*`` multiplies every number of
``p_severe``; ``epidemic.p_severe,p_critical,p_death*`` multiplies the three tables by
the same factor (the conditional probabilities between them kept); ``epidemic.dur_severe_stay*``
multiplies that stay's mean and sd. Only the real-valued numbers are multiplied (days
and counts are integers and stay as they are); the factor applies to the values the
scenario runs with. A calibration's draws table has such columns when it fitted a
multiplier (:mod:`popsim.twin.calspec`).

A name may also be a number of a scenario's event, ``scenarios.<scenario>.events[<i>].<key>``
(``scenarios.baseline.events[0].day``, ``....contact_reduction``): a calibration fits the
date and size of a dated ``contact_reduction`` this way. ``day`` is the event's day in
the run, written back as a date when the event gives a date.

A distribution's draws must be values the parameter allows: the spec is refused when
its central 99.9% (uniform: its whole range) leaves the parameter's allowed range, and
the rare draw beyond the parameter's own bounds is drawn again (so the distribution is
truncated to the bounds, and no replicate is lost to a draw the model refuses).
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError

from popsim.errors import SpecError, SpecProblems
from popsim.modules import REGISTRY
from popsim.twin.named import (
    event_is_integer,
    event_problems,
    is_integer_parameter,
    resolved,
    scale_problems,
    scaled,
    section_params,
    split_event,
    split_scale,
    with_events,
)

#: A :class:`popsim.run.spec.RunSpec` (not imported: the spec loader imports this module).
RunSpec = Any

#: Distributions and their keys.
DISTS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
}
#: The spawn key of the parameter stream (beside the replicate number).
PARAMETER_STREAM = zlib.crc32(b"parameters")
#: The spawn key of the permutation of a draws table's rows.
DRAWS_STREAM = zlib.crc32(b"draws")
#: Columns of a draws table that are not parameters (a calibration's bookkeeping).
DRAW_INFO_COLUMNS = ("trial", "state", "log_likelihood")
#: Most rows of a draws table (an assumption: far more than a calibration accepts).
MAX_DRAW_ROWS = 100_000
#: Most problems of a draws table listed (the count of the rest is given).
MAX_DRAW_PROBLEMS = 50
#: Standard normal quantile of 0.9995: a distribution's central 99.9% is checked.
Z_999 = 3.2905
#: Most draws of one parameter tried before a replicate gives up (a draw beyond the
#: parameter's bounds is drawn again; the support check makes this rarer than 1 in 1000).
MAX_REDRAWS = 1000


class ParametersSpec(BaseModel):
    """The ``[parameters]`` section of a spec: where parameter values come from."""

    model_config = ConfigDict(extra="forbid")

    draws: str = Field(
        min_length=1,
        description="a Parquet or CSV table of joint parameter draws, one row per draw "
        "(relative to the spec file); each replicate takes one row",
    )


@dataclass(frozen=True)
class DrawTable:
    """A checked table of joint parameter draws: ``values[i, j]`` is parameter
    ``names[j]`` of draw ``i``; ``digest`` is the SHA-256 of the file (first 16 hex)."""

    path: str
    names: tuple[str, ...]
    values: np.ndarray
    digest: str

    def __len__(self) -> int:
        return len(self.values)

    def record(self) -> dict[str, Any]:
        """What the run's configuration records of the table."""
        return {"file": self.path, "digest": self.digest, "rows": len(self), "names": self.names}


class DistributionError(ValueError):
    """A bad distribution table: ``key`` names the parameter, ``problem`` what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}")


def is_distribution(value: Any) -> bool:
    return isinstance(value, dict) and "dist" in value


def check(value: dict[str, Any]) -> None:
    """ValueError naming what is wrong with a distribution's table."""
    kind = value.get("dist")
    if kind not in DISTS:
        raise ValueError(f"dist must be one of {', '.join(DISTS)}, got {kind!r}")
    keys = DISTS[kind]
    extra = set(value) - {"dist", *keys}
    if extra:
        raise ValueError(f"unknown key(s) {', '.join(sorted(extra))} for dist {kind!r}")
    for k in keys:
        v = value.get(k)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"dist {kind!r} needs a number {k}, got {v!r}")
    a, b = (float(value[k]) for k in keys)
    if kind == "uniform" and not a < b:
        raise ValueError(f"uniform needs low < high, got {a} and {b}")
    if kind in ("normal", "lognormal") and b < 0:
        raise ValueError(f"{kind} needs {keys[1]} >= 0, got {b}")
    if kind == "lognormal" and a <= 0:
        raise ValueError(f"lognormal needs median > 0, got {a}")


def central(value: dict[str, Any]) -> float:
    """The value validation sees: uniform midpoint, normal mean, lognormal median."""
    check(value)
    kind = value["dist"]
    if kind == "uniform":
        return (float(value["low"]) + float(value["high"])) / 2
    return float(value["mean"] if kind == "normal" else value["median"])


def draw(value: dict[str, Any], rng: np.random.Generator) -> float:
    check(value)
    kind = value["dist"]
    if kind == "uniform":
        return float(rng.uniform(value["low"], value["high"]))
    if kind == "normal":
        return float(rng.normal(value["mean"], value["sd"]))
    return float(math.exp(rng.normal(math.log(value["median"]), value["sigma"])))


def centralise(values: dict[str, Any]) -> dict[str, Any]:
    """A section's parameters with each distribution replaced by its central value
    (:class:`DistributionError` for a bad distribution)."""
    out = dict(values)
    for key, value in values.items():
        if is_distribution(value):
            try:
                out[key] = central(value)
            except ValueError as err:
                raise DistributionError(key, str(err)) from None
    return out


def support_problems(params: BaseModel, given: dict[str, Any]) -> list[tuple[str, str]]:
    """``(key, problem)`` for each distribution of ``given`` (a section's values as
    written) whose draws (:func:`support`) the parameter does not allow; ``params``: the
    section validated at the central values."""
    cls = type(params)
    values = {k: v for k, v in given.items() if not is_distribution(v) and k != "enabled"}
    found: list[tuple[str, str]] = []
    for key, value in given.items():
        if not is_distribution(value) or key not in cls.model_fields:
            continue
        lo, hi = support(value)
        integer = is_integer_parameter(params, key)
        central = {k: getattr(params, k) for k in given if is_distribution(given[k])}
        for end in (lo, hi):
            v = int(round(end)) if integer else end
            try:
                cls.model_validate({**values, **central, key: v})
            except ValidationError as err:
                kind = "range" if value["dist"] == "uniform" else "central 99.9%"
                found.append(
                    (
                        key,
                        f"draws outside the parameter's allowed values: its {kind} is "
                        f"[{lo:.4g}, {hi:.4g}], and at {v:.4g}: {err.errors()[0]['msg']}",
                    )
                )
                break
    return found


def distributions(spec: RunSpec, scenario: str) -> dict[str, dict[str, Any]]:
    """Dotted name -> distribution, of the parameters ``scenario`` runs with."""
    found: dict[str, dict[str, Any]] = {}
    override = spec.scenarios[scenario]
    for section in REGISTRY.names():  # every registered module's section
        merged = {**(getattr(spec, section) or {}), **(getattr(override, section) or {})}
        for key, value in merged.items():
            if is_distribution(value):
                found[f"{section}.{key}"] = value
    return dict(sorted(found.items()))


def replicate_values(spec: RunSpec, scenario: str, replicate: int) -> dict[str, float]:
    """The values replicate ``replicate`` takes from the spec's draws table and draws from
    its distributions (empty without either)."""
    values = _drawn_from_table(spec, scenario, replicate)
    dists = distributions(spec, scenario)
    if not dists:
        return values
    rng = np.random.default_rng(
        np.random.SeedSequence(spec.seed, spawn_key=(replicate, PARAMETER_STREAM))
    )
    for name, dist in dists.items():
        section, key = name.split(".", 1)
        params = spec.params(section, scenario)
        lo, hi = field_bounds(type(params), key)
        integer = is_integer_parameter(params, key)
        for _ in range(MAX_REDRAWS):  # truncated to the parameter's own bounds
            v = draw(dist, rng)
            v = int(round(v)) if integer else v
            if lo(v) and hi(v):
                break
        values[name] = v
    return values


def field_bounds(cls: type[BaseModel], key: str) -> tuple[Any, Any]:
    """Tests of a number against a field's own bounds (``gt``, ``ge``, ``lt``, ``le``):
    ``(above_low, below_high)``."""
    import annotated_types as at

    lo: list[Any] = []
    hi: list[Any] = []
    field = cls.model_fields.get(key)
    for m in field.metadata if field is not None else ():
        if isinstance(m, at.Gt):
            lo.append(lambda v, b=m.gt: v > b)
        elif isinstance(m, at.Ge):
            lo.append(lambda v, b=m.ge: v >= b)
        elif isinstance(m, at.Lt):
            hi.append(lambda v, b=m.lt: v < b)
        elif isinstance(m, at.Le):
            hi.append(lambda v, b=m.le: v <= b)
    return (lambda v: all(f(v) for f in lo)), (lambda v: all(f(v) for f in hi))


def support(value: dict[str, Any]) -> tuple[float, float]:
    """Where a distribution's draws fall: a uniform's range, else its central 99.9%."""
    check(value)
    kind = value["dist"]
    if kind == "uniform":
        return float(value["low"]), float(value["high"])
    if kind == "normal":
        m, sd = float(value["mean"]), float(value["sd"])
        return m - Z_999 * sd, m + Z_999 * sd
    med, sigma = float(value["median"]), float(value["sigma"])
    return med * math.exp(-Z_999 * sigma), med * math.exp(Z_999 * sigma)


def apply(spec: RunSpec, scenario: str, values: dict[str, float]) -> RunSpec:
    """A copy of ``spec`` with ``values`` (parameters or multipliers by name, see
    :func:`resolved`) in the base sections and in ``scenario``'s overrides where it
    overrides them (validated)."""
    if not values:
        return spec
    values = resolved(spec, scenario, values)
    events = {n: v for n, v in values.items() if split_event(n) is not None}
    if events:
        spec = with_events(spec, events)
        values = {n: v for n, v in values.items() if n not in events}
        if not values:
            return spec
    update: dict[str, Any] = {}
    sc = spec.scenarios[scenario]
    sc_update: dict[str, Any] = {}
    for name, value in values.items():
        section, key = name.split(".", 1)
        update.setdefault(section, dict(getattr(spec, section) or {}))[key] = value
        own = getattr(sc, section)
        if own and key in own:
            sc_update.setdefault(section, dict(own))[key] = value
    if sc_update:
        scenarios = dict(spec.scenarios)
        scenarios[scenario] = sc.model_copy(update=sc_update)
        update["scenarios"] = scenarios
    new = spec.model_copy(update=update)
    for section in {n.split(".", 1)[0] for n in values}:
        new.params(section, scenario)  # raises SpecError for a draw out of range
    return new


# ------------------------------------------------------------------ draws
def _read_table(path: Path, given: str, where: str, spec_path: str) -> Any:
    import pandas as pd

    if not path.is_file():
        raise SpecError(
            spec_path,
            where,
            f"no such file {given!r} (looked for {path}; a relative path starts in the "
            "spec's folder)",
        )
    suffix = path.suffix.lower()
    try:
        if suffix == ".parquet":
            return pd.read_parquet(path)
        if suffix == ".csv":
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError) as err:
        raise SpecError(path, None, f"cannot be read as a table: {err}") from None
    raise SpecError(spec_path, where, f"expected a .parquet or .csv file, got {path.name!r}")


def _column_problems(spec: RunSpec, name: str) -> str | None:
    """What is wrong with a draws column naming parameter ``name`` (None: nothing)."""
    if split_scale(name) is not None:
        return scale_problems(spec, name)
    if split_event(name) is not None:
        return event_problems(spec, name)
    section, _, key = name.partition(".")
    sections = REGISTRY.names()
    if section not in sections or not key or "." in key:
        return f"expected section.parameter with a section of {', '.join(sections)}"
    params = section_params(spec, section)
    if params is None:
        return f"section [{section}] is off in every scenario"
    if key == "enabled" or key not in type(params).model_fields:
        return f"no parameter {key!r} in [{section}]"
    value = getattr(params, key)
    if isinstance(value, bool) or not isinstance(value, int | float):
        return "not a numeric parameter"
    if f"{section}.{key}" in {n for sc in spec.scenarios for n in distributions(spec, sc)}:
        return f"{name} is also given as a distribution in the spec; give it in one place"
    return None


def _booleans(raw: Any) -> np.ndarray:
    """Which cells of a column are booleans (true/false is not a number)."""
    if raw.dtype == bool:
        return np.ones(len(raw), dtype=bool)
    if raw.dtype == object:
        return np.array([isinstance(v, bool | np.bool_) for v in raw], dtype=bool)
    return np.zeros(len(raw), dtype=bool)


def load_draws(spec: RunSpec, base_dir: Path | None) -> DrawTable:
    """Read and check the table named by the spec's ``[parameters] draws``
    (:class:`SpecProblems`, one line per problem, naming the file, row and column)."""
    import pandas as pd

    where = "parameters.draws"
    given = Path(spec.parameters.draws)
    path = given if given.is_absolute() or base_dir is None else Path(base_dir) / given
    frame = _read_table(path, spec.parameters.draws, where, spec.path)
    problems: list[SpecError] = []
    names = [str(c) for c in frame.columns if str(c) not in DRAW_INFO_COLUMNS]
    for name in names:
        problem = _column_problems(spec, name)
        if problem is not None:
            problems.append(
                SpecError(
                    path,
                    f"column {name}",
                    problem
                    + f" (or one of {', '.join(DRAW_INFO_COLUMNS)}, which are ignored)"
                    * ("." not in name),
                )
            )
    if not names:
        problems.append(SpecError(path, None, "no parameter columns (e.g. epidemic.r0)"))
    if not 1 <= len(frame) <= MAX_DRAW_ROWS:
        problems.append(
            SpecError(path, None, f"expected 1..{MAX_DRAW_ROWS:,} rows, got {len(frame):,}")
        )
    if problems:
        raise SpecProblems(problems)
    values = np.empty((len(frame), len(names)))
    for j, name in enumerate(names):
        raw = frame[name]
        col = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float, copy=True)
        col[_booleans(raw)] = np.nan  # true/false is not a number
        section, key = name.split(".", 1)
        if split_event(name) is not None:
            whole = event_is_integer(spec, name)
        else:
            whole = split_scale(name) is None and is_integer_parameter(
                section_params(spec, section), key
            )
        bad = ~np.isfinite(col) | (whole & np.isfinite(col) & (col != np.round(col)))
        for i in np.flatnonzero(bad)[: MAX_DRAW_PROBLEMS + 1]:
            expected = "a whole number" if whole and np.isfinite(col[i]) else "a finite number"
            got = raw.iloc[i].item() if isinstance(raw.iloc[i], np.generic) else raw.iloc[i]
            problems.append(
                SpecError(path, f"row {i + 2}: {name}", f"expected {expected}, got {got!r}")
            )
        values[:, j] = col
    if not problems:
        problems = _range_problems(spec, path, names, values)
    if problems:
        more = len(problems) - MAX_DRAW_PROBLEMS
        shown = problems[:MAX_DRAW_PROBLEMS]
        if more > 0:
            shown.append(SpecError(path, None, f"... and {more} more problems"))
        raise SpecProblems(shown)
    digest = hashlib.sha256(path.read_bytes()).hexdigest()[:16]
    return DrawTable(str(spec.parameters.draws), tuple(names), values, digest)


def _range_problems(
    spec: RunSpec, path: Path, names: list[str], values: np.ndarray
) -> list[SpecError]:
    """Rows whose values the parameters' own validation refuses (each section checked
    with the spec's base values and the row's; a multiplier times the section's values)."""
    problems = _event_range_problems(spec, path, names, values)
    for section in sorted({n.split(".", 1)[0] for n in names if split_event(n) is None}):
        cols = [(j, n) for j, n in enumerate(names) if n.startswith(section + ".")]
        params = section_params(spec, section)
        cls = type(params)
        base = centralise(
            {k: v for k, v in (getattr(spec, section) or {}).items() if k != "enabled"}
        )
        for i in range(len(values)):
            row: dict[str, Any] = {}
            for j, name in cols:
                multi = split_scale(name)
                if multi is not None:
                    for key in multi[1]:
                        row[key] = scaled(getattr(params, key), float(values[i, j]))
                    continue
                key = name.split(".", 1)[1]
                integer = is_integer_parameter(params, key)
                row[key] = int(values[i, j]) if integer else float(values[i, j])
            try:
                cls.model_validate({**base, **row})
            except ValidationError as err:
                for e in err.errors():
                    key = ".".join(str(p) for p in e["loc"]) or "?"
                    got = f", got {e['input']!r}" if e["type"] != "missing" else ""
                    got = got if len(got) <= 80 else got[:77] + "..."
                    problems.append(
                        SpecError(path, f"row {i + 2}: {section}.{key}", e["msg"] + got)
                    )
            if len(problems) > MAX_DRAW_PROBLEMS:
                return problems
    return problems


def _event_range_problems(
    spec: RunSpec, path: Path, names: list[str], values: np.ndarray
) -> list[SpecError]:
    """Rows whose event numbers leave the run (a day) or the event's own bounds."""
    problems: list[SpecError] = []
    for j, name in enumerate(names):
        found = split_event(name)
        if found is None:
            continue
        scenario, index, key = found
        event = spec.scenarios[scenario].events[index]
        for i in range(len(values)):
            v = values[i, j]
            if key == "day":
                if not 0 <= v < spec.days:
                    problems.append(
                        SpecError(path, f"row {i + 2}: {name}", f"day {v:g} is outside the run")
                    )
                continue
            data = {**event.model_dump(exclude_none=True), key: v}
            try:
                type(event).model_validate(data)
            except ValidationError as err:
                problems.append(SpecError(path, f"row {i + 2}: {name}", err.errors()[0]["msg"]))
            if len(problems) > MAX_DRAW_PROBLEMS:
                return problems
    return problems


def draw_row(spec: RunSpec, replicate: int) -> int | None:
    """The row of the spec's draws table replicate ``replicate`` takes (None: no table)."""
    table = getattr(spec, "_draws", None)
    if table is None:
        return None
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(DRAWS_STREAM,)))
    return int(rng.permutation(len(table))[replicate % len(table)])


def _drawn_from_table(spec: RunSpec, scenario: str, replicate: int) -> dict[str, float]:
    """The draws table's values of replicate ``replicate``, less those ``scenario`` sets
    itself."""
    row = draw_row(spec, replicate)
    if row is None:
        return {}
    table = spec._draws
    return table_values(spec, scenario, dict(zip(table.names, table.values[row], strict=True)))


def table_values(spec: RunSpec, scenario: str, row: Any) -> dict[str, Any]:
    """A row of a draws table (``name -> value``; a mapping or a pandas row, whose
    non-parameter columns are ignored) as the values ``scenario`` takes: those of a
    section that is off, or that the scenario sets itself, are left out (it keeps its
    own); whole numbers of integer parameters as ``int``. Multipliers (``section.a,b*``)
    are kept by name (:func:`apply` multiplies)."""
    override = spec.scenarios[scenario]
    out: dict[str, Any] = {}
    row = dict(row)  # a mapping or a pandas row
    for name in row:
        if name in DRAW_INFO_COLUMNS or "." not in str(name):
            continue
        if split_event(name) is not None:
            if event_problems(spec, name) is not None:
                raise SpecError(spec.path, f"draws column {name}", event_problems(spec, name))
            out[name] = float(row[name])
            continue
        multi = split_scale(name)
        section, keys = (
            multi if multi is not None else (name.split(".", 1)[0], (name.split(".", 1)[1],))
        )
        if section not in REGISTRY.names():
            raise SpecError(spec.path, f"draws column {name}", f"no section [{section}]")
        params = spec.params(section, scenario)
        own = getattr(override, section) or {}
        if params is None or any(k in own for k in keys):
            continue  # off in this scenario, or the scenario's own value
        v = float(row[name])
        if multi is None and is_integer_parameter(params, keys[0]):
            out[name] = int(round(v))
        else:
            out[name] = v
    return out
