"""Parameters by name, beyond a section's numbers: multipliers and events' numbers.

A calibration, a table of draws or a forecast's particle sets values by name:

- ``section.key`` (``epidemic.r0``): a number of a module section; an integer
  parameter takes a whole float as an ``int``;
- ``section.a,b*`` (``epidemic.p_severe*``, ``epidemic.p_severe,p_critical,p_death*``): a
  multiplier of every real-valued number of those parameters (age tables, a stay's mean
  and sd), of the values the scenario runs with;
- ``scenarios.<scenario>.events[<i>].<key>`` (``scenarios.baseline.events[0].day``): a
  number of a scenario's event (its ``day``, written back as a date where the event
  gives a date; its ``contact_reduction``), validated by the event's type.

:func:`resolved` turns such values into the parameters' own values, and
:func:`popsim.twin.uncertainty.apply` sets them in a copy of a spec.
"""

from __future__ import annotations

import datetime as dt
import math
import re
from typing import Any

from pydantic import BaseModel, ValidationError

from popsim.errors import SpecError
from popsim.modules import REGISTRY

#: A :class:`popsim.run.spec.RunSpec` (not imported: the spec loader imports this package).
RunSpec = Any

#: The mark of a multiplier's name (``epidemic.p_severe*``).
SCALE_MARK = "*"
#: The name of a number of a scenario's event: ``scenarios.<scenario>.events[<i>].<key>``
#: (``day``: its day, written as a date where the event gives a date).
EVENT_NAME = re.compile(r"^scenarios\.(?P<scenario>.+)\.events\[(?P<index>\d+)\]\.(?P<key>\w+)$")


def section_params(spec: RunSpec, section: str) -> Any:
    """The section's parameters in the first scenario that has it on (None: off in all)."""
    for scenario in spec.scenarios:
        params = spec.params(section, scenario)
        if params is not None:
            return params
    return None


def scale_problems(spec: RunSpec, name: str) -> str | None:
    """What is wrong with a multiplier's name ``section.a,b*`` (None: nothing)."""
    section, keys = split_scale(name) or ("", ())
    sections = REGISTRY.names()
    if section not in sections or not all(keys) or any("." in k for k in keys):
        return (
            "expected section.parameter* (or section.a,b,c*) with a section of "
            f"{', '.join(sections)} (e.g. 'epidemic.p_severe*')"
        )
    params = section_params(spec, section)
    if params is None:
        return f"section [{section}] is off in every scenario"
    for key in keys:
        if key == "enabled" or key not in type(params).model_fields:
            return f"no parameter {key!r} in [{section}]"
        if n_scaled(getattr(params, key)) == 0:
            return f"{section}.{key} has no real-valued numbers to multiply"
    return None


def split_scale(name: str) -> tuple[str, tuple[str, ...]] | None:
    """``"epidemic.p_severe,p_critical*"`` -> ``("epidemic", ("p_severe", "p_critical"))``;
    None for a name that is not a multiplier's."""
    if not name.endswith(SCALE_MARK):
        return None
    section, _, keys = name[: -len(SCALE_MARK)].partition(".")
    return section, tuple(k.strip() for k in keys.split(","))


def scaled(value: Any, factor: float) -> Any:
    """``value`` with each real number multiplied by ``factor`` (in lists and nested
    tables; integers, booleans and strings as they are)."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, float):
        return value * factor
    if isinstance(value, list):
        return [scaled(v, factor) for v in value]
    if isinstance(value, dict):
        return {k: scaled(v, factor) for k, v in value.items()}
    return value


def n_scaled(value: Any) -> int:
    """How many numbers of ``value`` a multiplier multiplies."""
    if isinstance(value, BaseModel):
        value = value.model_dump()
    if isinstance(value, float):
        return 1
    if isinstance(value, list):
        return sum(n_scaled(v) for v in value)
    if isinstance(value, dict):
        return sum(n_scaled(v) for v in value.values())
    return 0


def split_event(name: str) -> tuple[str, int, str] | None:
    """``"scenarios.a.events[0].day"`` -> ``("a", 0, "day")``; None for another name."""
    m = EVENT_NAME.match(name)
    return None if m is None else (m["scenario"], int(m["index"]), m["key"])


def event_problems(spec: RunSpec, name: str) -> str | None:
    """What is wrong with an event number's name (None: nothing)."""
    scenario, index, key = split_event(name) or ("", -1, "")
    if scenario not in spec.scenarios:
        return f"no scenario {scenario!r}"
    events = spec.scenarios[scenario].events
    if not 0 <= index < len(events):
        return f"scenario {scenario!r} has {len(events)} events (index 0..{len(events) - 1})"
    event = events[index]
    if key == "date":
        return "fit the event's day: ...].day (written back as a date)"
    if key == "day":
        return None
    value = getattr(event, key, None)
    if key not in type(event).model_fields or value is None:
        given = sorted(k for k, v in event.model_dump().items() if v is not None)
        return f"the event has no {key!r} (it gives {', '.join(given)})"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return f"the event's {key} is not a number"
    return None


def event_is_integer(spec: RunSpec, name: str) -> bool:
    scenario, index, key = split_event(name)  # type: ignore[misc]
    value = getattr(spec.scenarios[scenario].events[index], key, None)
    return key == "day" or (isinstance(value, int) and not isinstance(value, bool))


def with_events(spec: RunSpec, values: dict[str, Any]) -> RunSpec:
    """A copy of ``spec`` with event numbers set, each event validated by its type
    (resolving the scenario against its region checks the rest: its day in the run)."""
    scenarios = dict(spec.scenarios)
    for name, value in values.items():
        scenario, index, key = split_event(name)  # type: ignore[misc]
        sc = scenarios[scenario]
        events = list(sc.events)
        event = events[index]
        if key == "day":
            day = int(round(value))
            update: dict[str, Any] = (
                {"date": spec.start + dt.timedelta(days=day)}
                if event.date is not None
                else {"day": day}
            )
        else:
            current = getattr(event, key)
            integer = isinstance(current, int) and not isinstance(current, bool)
            update = {key: int(round(value)) if integer else float(value)}
        try:  # the event type's own bounds (a share in [0, 1], ...)
            events[index] = type(event).model_validate(
                {**event.model_dump(exclude_none=True), **update}
            )
        except ValidationError as err:
            raise SpecError(spec.path, name, err.errors()[0]["msg"]) from None
        scenarios[scenario] = sc.model_copy(update={"events": events})
    return spec.model_copy(update={"scenarios": scenarios})


def is_integer_parameter(params: Any, key: str) -> bool:
    value = getattr(params, key)
    return isinstance(value, int) and not isinstance(value, bool)


def resolved(spec: RunSpec, scenario: str, values: dict[str, Any]) -> dict[str, Any]:
    """Named values as the parameters' own values: a multiplier (``section.a,b*``)
    becomes each of its parameters' scenario values multiplied; a whole number for an
    integer parameter becomes an ``int`` (a draws table or an optimiser hands floats);
    anything else as given. A name of a section that is off in ``scenario`` is left out."""
    out: dict[str, Any] = {}
    for name, value in values.items():
        if split_event(name) is not None:
            out[name] = value
            continue
        multi = split_scale(name)
        if multi is not None:
            section, keys = multi
            params = spec.params(section, scenario)
            if params is None:
                continue
            for key in keys:
                out[f"{section}.{key}"] = scaled(getattr(params, key), float(value))
            continue
        section, key = name.split(".", 1)
        params = spec.params(section, scenario)
        if params is None:
            continue
        whole = isinstance(value, float) and math.isfinite(value) and value == round(value)
        out[name] = int(round(value)) if whole and is_integer_parameter(params, key) else value
    return out
