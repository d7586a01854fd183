"""The region as a mesa-geo ``GeoSpace``: one zone agent per zone, one facility agent per site.

Optional: for notebooks and maps that want the zones and facilities as mesa-geo agents
(neighbourhood queries, exports). The model itself does not use it: routing uses the
travel-minute matrices of :class:`popsim.region.load.Region` and the daily step does no
geometry. mesa-geo and its stack (folium, ipyleaflet, libpysal, rasterio, rtree) are
the ``geo`` extra: ``pip install 'popsim[geo]'``; without it, importing this module
raises one :class:`ImportError` saying so.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from shapely.geometry import Point

try:
    from mesa_geo import GeoAgent, GeoSpace
except ImportError as err:  # the optional extra is not installed
    raise ImportError(
        f"popsim.region.geo needs mesa-geo, an optional extra: pip install 'popsim[geo]' ({err})"
    ) from err

if TYPE_CHECKING:
    import mesa
    from shapely.geometry.base import BaseGeometry

    from popsim.region.types import Region


class ZoneAgent(GeoAgent):
    """A zone (Local Health Area): its polygon and population, in the region's CRS."""

    def __init__(
        self, model: mesa.Model, geometry: BaseGeometry, crs: str, zone: int, region: Region
    ) -> None:
        super().__init__(model, geometry, crs)
        row = region.zones.iloc[zone]
        self.zone = zone
        self.zone_id = str(row["zone_id"])
        self.name = str(row["name"])
        self.hsda = str(row["hsda"])
        self.population = int(region.age[zone].sum())


class FacilityAgent(GeoAgent):
    """An acute-care site at its location; its beds as loaded (the care network owns state)."""

    def __init__(
        self, model: mesa.Model, geometry: BaseGeometry, crs: str, facility: int, region: Region
    ) -> None:
        super().__init__(model, geometry, crs)
        row = region.facilities.iloc[facility]
        self.facility = facility
        self.facility_id = str(row["facility_id"])
        self.name = str(row["name"])
        self.zone = int(row["zone"])
        self.role = str(row["role"])
        self.status = str(row["status"])
        self.has_ed = bool(row["has_ed"])
        self.ward_beds = int(row["ward_beds"])
        self.icu_beds = int(row["icu_beds"])


FacilityFactory = Callable[["mesa.Model", "BaseGeometry", str, int, "Region"], GeoAgent]


def build_geospace(
    model: mesa.Model,
    region: Region,
    facility_factory: FacilityFactory = FacilityAgent,
) -> tuple[GeoSpace, list[ZoneAgent], list[GeoAgent]]:
    """Build a ``GeoSpace`` in the region's CRS with a zone agent per zone (in zone order)
    and a facility agent per facility (in facility order).

    ``facility_factory(model, point, crs, facility_index, region)`` makes each facility
    agent; pass a ``GeoAgent`` subclass to give facilities behaviour.
    """
    crs = region.zones.crs.to_string()
    space = GeoSpace(crs=crs, warn_crs_conversion=False)
    zones = [ZoneAgent(model, geom, crs, i, region) for i, geom in enumerate(region.zones.geometry)]
    facilities = [
        facility_factory(model, Point(float(x), float(y)), crs, i, region)
        for i, (x, y) in enumerate(zip(region.facilities["x"], region.facilities["y"], strict=True))
    ]
    space.add_agents(zones)
    space.add_agents(facilities)
    return space, zones, facilities
