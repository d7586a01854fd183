"""Errors of a run spec, one line each: pydantic's complaints and out-of-range numbers
become :class:`popsim.errors.SpecError` lines naming the file, the key as a dotted path
(``scenarios.new-surrey.events[0].open``) and what was expected.

Imports nothing of the spec loader (:mod:`popsim.run.spec` imports this); the loader
passes the function that names a model's allowed keys for "unknown key" messages.
"""

from __future__ import annotations

import datetime as dt
import math
from collections.abc import Callable
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError

from popsim.errors import SpecError, SpecProblems
from popsim.region.parse import INT32_MAX

#: Integers in a spec are 32-bit, as in a region's files (``seed``: 64-bit, non-negative).
SEED_MAX = 2**63 - 1

#: The field names allowed where an unknown key was found (None: not known).
AllowedKeys = Callable[[type[BaseModel], tuple[Any, ...]], "list[str] | None"]


def dotted(loc: tuple[Any, ...]) -> str:
    """``("scenarios", "a", "events", 0, "day")`` -> ``scenarios.a.events[0].day``."""
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += ("." if out else "") + str(part)
    return out


#: Strict-mode complaints that are not errors in a spec: a date written as a string
#: (a spec read back from JSON), a pair written as a list.
LAX_OK = frozenset({"date_type", "datetime_type", "tuple_type"})


def validate(
    model: type[BaseModel],
    data: dict[str, Any],
    path: str | Path,
    allowed_keys: AllowedKeys,
    prefix: str = "",
) -> Any:
    """Validate with strict types (no bool for a number, no string for a bool, no float
    for an integer); every problem becomes a :class:`SpecError` line."""
    try:
        return model.model_validate(data, strict=True)
    except ValidationError as err:
        strict = [e for e in err.errors() if e["type"] not in LAX_OK]
    try:
        value = model.model_validate(data)
    except ValidationError as err:
        raise one_error(
            spec_errors(path, strict or err.errors(), model, allowed_keys, prefix)
        ) from None
    if strict:
        raise one_error(spec_errors(path, strict, model, allowed_keys, prefix))
    return value


def spec_errors(
    path: str | Path,
    errors: list[Any],
    model: type[BaseModel],
    allowed_keys: AllowedKeys,
    prefix: str = "",
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
            allowed = allowed_keys(model, loc)
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


def number_problems(path: str | Path, data: Any, loc: tuple[Any, ...] = ()) -> list[SpecError]:
    """Integers beyond 32 bits (``seed``: 64 bits) and non-finite floats, anywhere."""
    found: list[SpecError] = []
    if isinstance(data, dict):
        for key, value in data.items():
            found += number_problems(path, value, (*loc, key))
    elif isinstance(data, list):
        for i, value in enumerate(data):
            found += number_problems(path, value, (*loc, i))
    elif isinstance(data, int) and not isinstance(data, bool):
        hi = SEED_MAX if loc == ("seed",) else INT32_MAX
        if not -hi - 1 <= data <= hi:
            found.append(
                SpecError(path, dotted(loc), f"integer out of range (-{hi + 1}..{hi}), got {data}")
            )
    elif isinstance(data, float) and not math.isfinite(data):
        found.append(SpecError(path, dotted(loc), f"expected a finite number, got {data}"))
    return found


def one_error(found: list[SpecError]) -> SpecError:
    """One error for one problem, :class:`SpecProblems` (one line each) for several."""
    unique: list[SpecError] = []
    for p in found:
        if not any(str(p) == str(u) or (p.where and p.where == u.where) for u in unique):
            unique.append(p)
    return unique[0] if len(unique) == 1 else SpecProblems(unique)
