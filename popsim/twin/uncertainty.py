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
"""

from __future__ import annotations

import hashlib
import math
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from popsim.errors import SpecError, SpecProblems
from popsim.modules import REGISTRY

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
        v = draw(dist, rng)
        section, key = name.split(".", 1)
        current = getattr(spec.params(section, scenario), key)
        values[name] = (
            int(round(v)) if isinstance(current, int) and not isinstance(current, bool) else v
        )
    return values


def apply(spec: RunSpec, scenario: str, values: dict[str, float]) -> RunSpec:
    """A copy of ``spec`` with ``values`` in the base sections and in ``scenario``'s
    overrides where it overrides them (validated)."""
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


def _section_params(spec: RunSpec, section: str) -> Any:
    """The section's parameters in the first scenario that has it on (None: off in all)."""
    for scenario in spec.scenarios:
        params = spec.params(section, scenario)
        if params is not None:
            return params
    return None


def _column_problems(spec: RunSpec, name: str) -> str | None:
    """What is wrong with a draws column naming parameter ``name`` (None: nothing)."""
    section, _, key = name.partition(".")
    sections = REGISTRY.names()
    if section not in sections or not key or "." in key:
        return f"expected section.parameter with a section of {', '.join(sections)}"
    params = _section_params(spec, section)
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
        col = pd.to_numeric(raw, errors="coerce").to_numpy(dtype=float)
        section, key = name.split(".", 1)
        whole = isinstance(getattr(_section_params(spec, section), key), int)
        bad = ~np.isfinite(col) | (whole & np.isfinite(col) & (col != np.round(col)))
        for i in np.flatnonzero(bad)[: MAX_DRAW_PROBLEMS + 1]:
            expected = "a whole number" if whole and np.isfinite(col[i]) else "a finite number"
            problems.append(
                SpecError(path, f"row {i + 2}: {name}", f"expected {expected}, got {raw.iloc[i]!r}")
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
    with the spec's base values and the row's)."""
    from pydantic import ValidationError

    problems: list[SpecError] = []
    for section in sorted({n.split(".", 1)[0] for n in names}):
        cols = [(j, n.split(".", 1)[1]) for j, n in enumerate(names) if n.startswith(section + ".")]
        params = _section_params(spec, section)
        cls = type(params)
        base = centralise(
            {k: v for k, v in (getattr(spec, section) or {}).items() if k != "enabled"}
        )
        ints = {k for _, k in cols if isinstance(getattr(params, k), int)}
        for i in range(len(values)):
            row = {k: (int(values[i, j]) if k in ints else float(values[i, j])) for j, k in cols}
            try:
                cls.model_validate({**base, **row})
            except ValidationError as err:
                for e in err.errors():
                    key = ".".join(str(p) for p in e["loc"]) or "?"
                    got = f", got {e['input']!r}" if e["type"] != "missing" else ""
                    problems.append(
                        SpecError(path, f"row {i + 2}: {section}.{key}", e["msg"] + got)
                    )
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
    override = spec.scenarios[scenario]
    out: dict[str, float] = {}
    for j, name in enumerate(table.names):
        section, key = name.split(".", 1)
        params = spec.params(section, scenario)
        if params is None or key in (getattr(override, section) or {}):
            continue  # off in this scenario, or the scenario's own value
        current = getattr(params, key)
        v = float(table.values[row, j])
        out[name] = (
            int(round(v)) if isinstance(current, int) and not isinstance(current, bool) else v
        )
    return out
