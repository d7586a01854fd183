"""Scenario events of long-term care, owned by :class:`popsim.ltc.module.LongTermCare`.

- ``{ day = 0, ltc_beds = 300, zones = ["abbotsford", "chilliwack"] }``: open (positive)
  or close (negative) LTC beds in the zones, split between them in proportion to their
  beds (evenly if they have none): new beds open as a new home in each zone; closed beds come off the zone's homes, the largest first (a home
  with no beds left is closed; its residents stay until they leave, and it admits nobody
  while over its beds).
- ``{ day = 0, home_support = 0.2, zones = ["surrey"] }``: change the home-support
  client-hours of the zones (empty: every zone) by this share (0.2: +20%; -1 stops it).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

from pydantic import Field

from popsim.core.events import Event, Resolver


def _zones(values: dict[str, Any], resolve: Resolver) -> tuple[int, ...]:
    return tuple(resolve.zone(z, f"zones[{i}]") for i, z in enumerate(values.get("zones") or ()))


@dataclass(frozen=True)
class ChangeLtcBeds(Event):
    """Open or close LTC beds in zones (see the module docstring)."""

    beds: int
    zones: tuple[int, ...] = ()

    kind: ClassVar[str] = "ltc_beds"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "ltc_beds": (int | None, Field(None, ge=-100000, le=100000)),
        "zones": (list[str | int] | None, None),
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        zones = _zones(values, resolve)
        if not zones:
            raise resolve.error("zones", "an ltc_beds event needs the zones it opens beds in")
        return cls(day, int(values["ltc_beds"]), zones)


@dataclass(frozen=True)
class ChangeHomeSupport(Event):
    """Change home-support client-hours by a share in zones (see the module docstring)."""

    change: float
    zones: tuple[int, ...] = ()

    kind: ClassVar[str] = "home_support"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {
        "home_support": (float | None, Field(None, ge=-1.0, le=10.0)),
        "zones": (list[str | int] | None, None),
    }

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Resolver) -> Event:
        return cls(day, float(values["home_support"]), _zones(values, resolve))
