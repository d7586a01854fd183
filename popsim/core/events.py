"""Scenario events: the base class every event type derives from, and how a spec entry
becomes one.

An event is a plain frozen object resolved to model indices (a day number, facility and
zone indices). It is owned by exactly one module (the module lists it in its ``events``)
and applied by that module at the start of its day (phase 1 of the model's day).

In a run spec an event is a table such as ``{ day = 3, close = "surrey-memorial" }``:
the key :attr:`Event.kind` names the type, :attr:`Event.spec_fields` declares its keys
(with their pydantic types) and :meth:`Event.from_spec` resolves the given values
(names to indices) through a :class:`Resolver`. Nothing else in popsim lists event kinds:
the spec's accepted keys and their resolution come from the registered modules' events.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Protocol


class Resolver(Protocol):
    """What an event gets to turn names into indices; every method names the spec key
    (relative to the event) in its errors."""

    def facility(self, name: str, key: str) -> int:
        """The index of a facility by id or name."""

    def zone(self, name: str | int, key: str) -> int:
        """The index of a zone by id, name or index."""

    def error(self, key: str | None, problem: str) -> Exception:
        """An exception naming the spec file, the event's key (None: the event) and the
        problem; the caller raises it."""


@dataclass(frozen=True)
class Event:
    """A scenario event on day ``day`` (0 = the run's first day).

    Class attributes of a subclass:
        kind: the spec key that names this type (its value is the event's main value).
        spec_fields: every spec key of this type, ``kind`` included, as
            ``{key: (type, default or pydantic Field)}``; give defaults of ``None`` (a key
            not given is ``None``).
    """

    day: int

    kind: ClassVar[str] = ""
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {}

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        """The event from the spec keys given (``values``, without ``day``/``date``)."""
        raise NotImplementedError(f"{cls.__name__} cannot be read from a spec")
