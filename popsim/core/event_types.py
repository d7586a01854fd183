"""popsim's scenario event types, each with its spec keys and how it is resolved.

Each type is owned by one module (listed in that module's ``events``): the facility
events by the care module, contact reduction and vaccination by the epidemic, electives
by demand, rosters, ratios, strikes and sickness waves by staffing. The spec keys and their resolution are declared here, on each type
(:class:`popsim.core.events.Event`); :mod:`popsim.run.spec` reads them from the registry.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from pydantic import Field

from popsim.core.events import Event, Resolver

_SHARE = Field(None, ge=0.0, le=1.0)


def _zones(values: dict[str, Any], resolve: Resolver) -> tuple[int, ...]:
    return tuple(resolve.zone(z, f"zones[{i}]") for i, z in enumerate(values.get("zones") or ()))


@dataclass(frozen=True)
class OpenFacility(Event):
    """Open a site from today: ``{ open = "site" }``."""

    facility: int

    kind: ClassVar[str] = "open"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {"open": (str | None, None)}

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        return cls(day, resolve.facility(values["open"], "open"))


@dataclass(frozen=True)
class CloseFacility(Event):
    """Close a site from today (its patients are transferred): ``{ close = "site" }``."""

    facility: int

    kind: ClassVar[str] = "close"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {"close": (str | None, None)}

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        return cls(day, resolve.facility(values["close"], "close"))


@dataclass(frozen=True)
class ChangeBeds(Event):
    """Add (or, negative, remove) funded ward and ICU beds at a facility:
    ``{ facility = "site", ward_beds = -20, icu_beds = 2 }``."""

    facility: int
    ward_beds: int = 0
    icu_beds: int = 0

    kind: ClassVar[str] = "facility"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "facility": (str | None, None),
        "ward_beds": (int | None, None),
        "icu_beds": (int | None, None),
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        ward, icu = values.get("ward_beds"), values.get("icu_beds")
        if ward is None and icu is None:
            raise resolve.error(None, "a facility event needs ward_beds or icu_beds")
        return cls(day, resolve.facility(values["facility"], "facility"), ward or 0, icu or 0)


@dataclass(frozen=True)
class ContactReduction(Event):
    """Scale contacts down by ``reduction`` (0..1) in ``zones`` (empty: all) and ``setting``:
    ``{ contact_reduction = 0.3, zones = ["Surrey"], setting = "community" }``;
    ``setting = "school"`` with ``contact_reduction = 1.0`` closes the schools."""

    reduction: float
    zones: tuple[int, ...] = ()
    setting: str = "all"  # "household", "community" (school included), "school" or "all"

    kind: ClassVar[str] = "contact_reduction"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "contact_reduction": (float | None, _SHARE),
        "zones": (list[str] | None, None),
        "setting": (Literal["household", "community", "school", "all"] | None, None),
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        zones = _zones(values, resolve)
        return cls(day, values["contact_reduction"], zones, values.get("setting") or "all")


@dataclass(frozen=True)
class Vaccinate(Event):
    """Vaccinate ``coverage`` of living residents aged ``min_age..max_age`` with ``efficacy``:
    ``{ vaccinate = 0.6, efficacy = 0.7, ages = [65, 120], zones = [] }``."""

    coverage: float
    efficacy: float
    min_age: int = 0
    max_age: int = 120
    zones: tuple[int, ...] = ()

    kind: ClassVar[str] = "vaccinate"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "vaccinate": (float | None, _SHARE),
        "efficacy": (float | None, _SHARE),
        "ages": (list[int] | None, Field(None, min_length=2, max_length=2)),
        "zones": (list[str] | None, None),
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        zones = _zones(values, resolve)
        lo, hi = values.get("ages") or (0, 120)
        if not 0 <= lo <= hi <= 120:
            raise resolve.error(
                "ages", f"expected [min, max] with 0 <= min <= max <= 120, got [{lo}, {hi}]"
            )
        if values.get("efficacy") is None:
            raise resolve.error("efficacy", "a vaccinate event needs efficacy (0..1)")
        return cls(day, values["vaccinate"], values["efficacy"], lo, hi, zones)


@dataclass(frozen=True)
class Electives(Event):
    """Pause (``paused=True``) or resume elective surgery: ``{ electives = "pause" }``."""

    paused: bool

    kind: ClassVar[str] = "electives"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "electives": (Literal["pause", "resume"] | None, None),
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        return cls(day, paused=values["electives"] == "pause")


_UNIT: tuple[Any, Any] = (Literal["ward", "icu", "ed"] | None, None)
_SITE: tuple[Any, Any] = (str | None, None)
_DURATION: tuple[Any, Any] = (int | None, Field(None, ge=1))


def _site(values: dict[str, Any], resolve: Resolver) -> int:
    """The site named by ``facility`` (-1: none named, every site)."""
    name = values.get("facility")
    return -1 if name is None else resolve.facility(name, "facility")


def _unit(values: dict[str, Any], resolve: Resolver) -> str:
    if values.get("unit") is None:
        raise resolve.error("unit", "expected ward, icu or ed")
    return values["unit"]


def _duration(values: dict[str, Any], resolve: Resolver) -> int:
    if values.get("duration_days") is None:
        raise resolve.error("duration_days", "expected a number of days >= 1")
    return values["duration_days"]


@dataclass(frozen=True)
class ChangeRoster(Event):
    """Add (or, negative, remove) ``nurses`` per shift on the roster of a site's ``unit``
    (``ward``, ``icu`` or ``ed``); the site's pool of nurses grows or shrinks with it:
    ``{ facility = "site", unit = "ward", nurses = -20 }``."""

    facility: int
    unit: str
    nurses: int

    kind: ClassVar[str] = "nurses"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "nurses": (int | None, None),
        "facility": _SITE,
        "unit": _UNIT,
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        site = _site(values, resolve)
        unit = _unit(values, resolve)
        if site < 0:
            raise resolve.error("facility", "a nurses event names a site")
        return cls(day, site, unit, values["nurses"])


@dataclass(frozen=True)
class ChangeRatio(Event):
    """A new minimum ratio (``patients_per_nurse``) for ``unit`` at a site (-1: all sites):
    ``{ ratio = 5, unit = "ward", facility = "site" }``."""

    unit: str
    patients_per_nurse: float
    facility: int = -1

    kind: ClassVar[str] = "ratio"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "ratio": (float | None, Field(None, ge=0.25, le=20.0)),
        "unit": _UNIT,
        "facility": _SITE,
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        site = _site(values, resolve)
        return cls(day, _unit(values, resolve), values["ratio"], facility=site)


@dataclass(frozen=True)
class Strike(Event):
    """A ``share`` (0..1) of the nurses of a site (-1: all sites) withdraw for
    ``duration_days``: ``{ strike = 0.5, duration_days = 3, facility = "site" }``."""

    share: float
    duration_days: int
    facility: int = -1

    kind: ClassVar[str] = "strike"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "strike": (float | None, Field(None, ge=0.0, le=1.0)),
        "duration_days": _DURATION,
        "facility": _SITE,
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        site = _site(values, resolve)
        return cls(day, values["strike"], _duration(values, resolve), facility=site)


@dataclass(frozen=True)
class SicknessWave(Event):
    """Everyday sickness absence raised by ``p_absent`` (an extra share of nurses away on
    any day) for ``duration_days``: ``{ sickness_wave = 0.1, duration_days = 14 }``."""

    p_absent: float
    duration_days: int

    kind: ClassVar[str] = "sickness_wave"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "sickness_wave": (float | None, Field(None, ge=0.0, le=0.9)),
        "duration_days": _DURATION,
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        return cls(day, values["sickness_wave"], _duration(values, resolve))


__all__ = [
    "ChangeBeds",
    "ChangeRatio",
    "ChangeRoster",
    "CloseFacility",
    "ContactReduction",
    "Electives",
    "Event",
    "OpenFacility",
    "SicknessWave",
    "Strike",
    "Vaccinate",
]
