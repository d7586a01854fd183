"""The mesa-geo space of a region."""

from __future__ import annotations

import mesa
import pytest

from popsim.geo import FacilityAgent, ZoneAgent, build_geospace
from popsim.region import load_region


@pytest.mark.parametrize("name", ["synthetic", "fraser"])
def test_geospace_has_every_zone_and_facility(name):
    region = load_region(name)
    model = mesa.Model(seed=1)
    space, zones, facilities = build_geospace(model, region)
    assert len(zones) == region.n_zones and len(facilities) == region.n_facilities
    assert len(space.agents) == region.n_zones + region.n_facilities
    assert space.crs.to_epsg() == region.zones.crs.to_epsg() == 3005
    assert [z.zone_id for z in zones] == region.zone_ids
    assert [f.facility_id for f in facilities] == region.facility_ids
    assert sum(z.population for z in zones) == region.total_population
    for fac in facilities:
        assert isinstance(fac, FacilityAgent)
        assert zones[fac.zone].geometry.intersects(fac.geometry)
        # the space answers the same question: the zone agents under the facility
        under = [a for a in space.get_intersecting_agents(fac) if isinstance(a, ZoneAgent)]
        assert zones[fac.zone] in under


def test_custom_facility_agents():
    class Site(FacilityAgent):
        pass

    region = load_region("synthetic")
    model = mesa.Model(seed=1)
    _, _, facilities = build_geospace(model, region, facility_factory=Site)
    assert all(type(f) is Site for f in facilities)
    assert [f.ward_beds for f in facilities] == region.facilities["ward_beds"].tolist()
