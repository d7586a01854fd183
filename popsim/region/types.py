"""The region's data: zones, facilities and travel times (what loading a region folder gives).

:class:`Region` and the constants shared by the model (age bands, sexes, facility roles
and statuses). Reading and validating region folders is :mod:`popsim.region.files`;
:mod:`popsim.region.load` is the entry point (``load_region``, ``check_region``) and
re-exports everything here. It imports only :mod:`popsim.core` (the age bands and sexes, re-exported here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


#: Facility roles, from most to least specialised.
ROLES: tuple[str, ...] = ("tertiary", "regional", "community", "stabilisation")
STATUSES: tuple[str, ...] = ("open", "planned", "closed")


@dataclass(frozen=True)
class TravelParams:
    """Straight-line travel time: ``base_minutes + detour_factor * km / speed_kmh * 60``."""

    detour_factor: float = 1.3
    speed_kmh: float = 50.0
    base_minutes: float = 5.0


def travel_minutes(
    xy_from: np.ndarray, xy_to: np.ndarray, params: TravelParams = TravelParams()
) -> np.ndarray:
    """Matrix of travel minutes between points in a projected CRS (metres)."""
    a = np.asarray(xy_from, dtype=np.float64)[:, None, :]
    b = np.asarray(xy_to, dtype=np.float64)[None, :, :]
    km = np.sqrt(((a - b) ** 2).sum(axis=-1)) / 1000.0
    minutes = params.base_minutes + params.detour_factor * km / params.speed_kmh * 60.0
    return minutes.astype(np.float32)


@dataclass(frozen=True, eq=False)
class Region:
    """A loaded, validated region.

    Attributes:
        name: short name (the folder name for shipped regions).
        zones: GeoDataFrame in a projected CRS, one row per zone in model order (row i is
            zone index i), columns ``zone_id, name, hsda, population, x, y, geometry``
            where ``x, y`` is a representative point in metres.
        age: int64 array ``(n_zones, N_AGE_BANDS, 2)``: residents by zone, band, sex
            (0 female, 1 male); sums to ``zones.population`` per zone.
        facilities: DataFrame, row i is facility index i, columns ``facility_id, name,
            zone_id, zone, x, y, lon, lat, ward_beds, icu_beds, has_ed, role, status,
            open_date, close_date`` (dates ISO strings or empty).
        zone_facility_minutes: float32 ``(n_zones, n_facilities)``.
        zone_zone_minutes: float32 ``(n_zones, n_zones)``.
        path: folder it was loaded from, if any.
        staffing: the optional ``staffing.csv`` (:mod:`popsim.staffing.files`), None when
            the region has none (the model then runs without staffing limits).
        ltc: the optional ``ltc.csv`` (:mod:`popsim.ltc.files`): long-term care homes and
            their beds; None when the region has none (ALC stays are then drawn lengths).
        home_support: the optional ``home_support.csv``: home-support client-hours a
            week by zone (None: no home support).
        single_ages: the shipped age table (``popsim.population.AGE_TABLES``) that shapes
            single years of age within a band; None: the life table's survivors.
    """

    name: str
    zones: gpd.GeoDataFrame
    age: np.ndarray
    facilities: pd.DataFrame
    zone_facility_minutes: np.ndarray
    zone_zone_minutes: np.ndarray
    travel: TravelParams = field(default_factory=TravelParams)
    path: Path | None = None
    base_year: int = 2021
    description: str = ""
    staffing: pd.DataFrame | None = None
    ltc: pd.DataFrame | None = None
    home_support: pd.DataFrame | None = None
    single_ages: str | None = None

    @property
    def n_zones(self) -> int:
        return len(self.zones)

    @property
    def n_facilities(self) -> int:
        return len(self.facilities)

    @property
    def total_population(self) -> int:
        return int(self.age.sum())

    def projected_population(self, year: int | None = None, growth_rate: float = 0.0) -> int:
        """The region's population in ``year``: its counts (of ``base_year``) grown by
        ``growth_rate`` a year (demography's growth); the counts themselves without a year."""
        if year is None:
            return self.total_population
        return round(self.total_population * (1.0 + growth_rate) ** (year - self.base_year))

    def at_own_scale(
        self, residents: int, year: int | None = None, growth_rate: float = 0.0
    ) -> bool:
        """Whether ``residents`` is within 90-110% of the region's population (projected to
        ``year`` at ``growth_rate``, see :meth:`projected_population`): beds and staff are
        never scaled, so occupancy, boarding and diversions are the region's only at about
        its own population."""
        own = self.projected_population(year, growth_rate)
        return 0.9 <= residents / max(own, 1) <= 1.1

    @property
    def zone_ids(self) -> list[str]:
        return [str(z) for z in self.zones["zone_id"]]

    @property
    def facility_ids(self) -> list[str]:
        return [str(f) for f in self.facilities["facility_id"]]

    def zone_index(self, key: str) -> int:
        """Index of a zone given its ``zone_id`` or its name (case-insensitive)."""
        return _row_index(self.zones, "zone", "zones", key)

    def facility_index(self, key: str) -> int:
        """Index of a facility given its ``facility_id`` or name (case-insensitive)."""
        return _row_index(self.facilities, "facility", "facilities", key)


def _row_index(table: pd.DataFrame, what: str, plural: str, key: str) -> int:
    """Row of ``table`` whose ``<what>_id`` or ``name`` is ``key`` (case-insensitive)."""
    ids = [str(i) for i in table[f"{what}_id"]]
    k = str(key).casefold()
    for i, (rid, name) in enumerate(zip(ids, table["name"], strict=True)):
        if rid.casefold() == k or str(name).casefold() == k:
            return i
    raise KeyError(f"unknown {what} {key!r}; known {plural}: {', '.join(ids)}")
