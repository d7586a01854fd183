"""ModelConfig: one replicate's resolved configuration, its sections from the registry."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import date
from typing import TYPE_CHECKING, Any

from popsim.core.registry import REGISTRY

if TYPE_CHECKING:
    from popsim.core.events import Event

_FIELDS: tuple[str, ...] = ("days", "start", "population", "events", "record_journeys")


@dataclass(frozen=True, init=False)
class ModelConfig:
    """Everything one replicate of one scenario needs, already validated and resolved.

    ``params`` holds each module's parameter object by section name (``None`` or absent:
    off); sections can also be given as keywords (``ModelConfig(epidemic=...)``, any
    registered module's name) and read as attributes (``config.epidemic``: ``None`` when
    off). ``population`` scales the region to that many residents. ``events`` are
    resolved scenario events (:mod:`popsim.core.events`). Frozen: :meth:`replace` (or
    :func:`dataclasses.replace`) makes a changed copy.
    """

    days: int
    start: date
    population: int | None
    events: tuple[Event, ...]
    record_journeys: bool
    params: Mapping[str, Any] = field(default_factory=dict)

    def __init__(
        self,
        days: int = 365,
        start: date = date(2026, 1, 1),
        population: int | None = None,
        events: tuple[Event, ...] = (),
        record_journeys: bool = True,
        params: Mapping[str, Any] | None = None,
        **sections: Any,
    ) -> None:
        merged = dict(params or {})
        for name, value in sections.items():
            if name not in REGISTRY:
                known = ", ".join(REGISTRY.names())
                raise TypeError(f"ModelConfig: no module {name!r} (registered: {known})")
            merged[name] = value
        values = {
            "days": days,
            "start": start,
            "population": population,
            "events": tuple(events),
            "record_journeys": record_journeys,
            "params": merged,
        }
        for key, value in values.items():
            object.__setattr__(self, key, value)

    def __getattr__(self, name: str) -> Any:
        # a module's parameters by section name (None when off); only registered names
        if not name.startswith("_") and name in REGISTRY:
            return self.__dict__.get("params", {}).get(name)
        raise AttributeError(name)

    def replace(self, **changes: Any) -> ModelConfig:
        """A copy with some fields or module sections changed."""
        fields = {k: getattr(self, k) for k in _FIELDS}
        params = dict(self.params)
        params.update(changes.pop("params", {}))
        for key in [k for k in changes if k not in _FIELDS]:
            params[key] = changes.pop(key)
        return ModelConfig(**{**fields, **changes}, params=params)

    def __repr__(self) -> str:
        on = [k for k, v in self.params.items() if v is not None]
        return (
            f"ModelConfig(days={self.days}, start={self.start}, population={self.population},"
            f" modules={on}, events={len(self.events)})"
        )
