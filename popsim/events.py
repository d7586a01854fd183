"""Scenario events resolved to model indices, applied in phase 1 of the day.

:mod:`popsim.scenario` reads events from a run spec (names, dates) and turns them into
these plain objects (indices, day numbers); the model hands each to the part that owns
it: facilities to the care network, contacts and vaccination to the epidemic,
electives to demand, rosters, ratios, strikes and sickness waves to staffing.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class OpenFacility:
    day: int
    facility: int


@dataclass(frozen=True)
class CloseFacility:
    day: int
    facility: int


@dataclass(frozen=True)
class ChangeBeds:
    """Add (or, negative, remove) funded ward and ICU beds at a facility."""

    day: int
    facility: int
    ward_beds: int = 0
    icu_beds: int = 0


@dataclass(frozen=True)
class ContactReduction:
    """Scale contacts down by ``reduction`` (0..1) in ``zones`` (empty: all) and ``setting``."""

    day: int
    reduction: float
    zones: tuple[int, ...] = ()
    setting: str = "all"  # "household", "community" or "all"


@dataclass(frozen=True)
class Vaccinate:
    """Vaccinate ``coverage`` of living residents aged ``min_age..max_age`` with ``efficacy``."""

    day: int
    coverage: float
    efficacy: float
    min_age: int = 0
    max_age: int = 120
    zones: tuple[int, ...] = ()


@dataclass(frozen=True)
class Electives:
    """Pause (``paused=True``) or resume elective surgery."""

    day: int
    paused: bool


@dataclass(frozen=True)
class ChangeRoster:
    """Add (or, negative, remove) ``nurses`` per shift on the roster of a site's ``unit``
    (``ward``, ``icu`` or ``ed``); the site's pool of nurses grows or shrinks with it."""

    day: int
    facility: int
    unit: str
    nurses: int


@dataclass(frozen=True)
class ChangeRatio:
    """A new minimum ratio (``patients_per_nurse``) for ``unit`` at a site (-1: all sites)."""

    day: int
    unit: str
    patients_per_nurse: float
    facility: int = -1


@dataclass(frozen=True)
class Strike:
    """A ``share`` (0..1) of the nurses of a site (-1: all sites) withdraw for ``duration_days``."""

    day: int
    share: float
    duration_days: int
    facility: int = -1


@dataclass(frozen=True)
class SicknessWave:
    """Everyday sickness absence raised by ``p_absent`` (an extra share of nurses away on
    any day) for ``duration_days``."""

    day: int
    p_absent: float
    duration_days: int


Event = (
    OpenFacility
    | CloseFacility
    | ChangeBeds
    | ContactReduction
    | Vaccinate
    | Electives
    | ChangeRoster
    | ChangeRatio
    | Strike
    | SicknessWave
)
FACILITY_EVENTS = (OpenFacility, CloseFacility, ChangeBeds)
EPIDEMIC_EVENTS = (ContactReduction, Vaccinate)
DEMAND_EVENTS = (Electives,)
STAFFING_EVENTS = (ChangeRoster, ChangeRatio, Strike, SicknessWave)
