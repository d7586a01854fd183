"""The mesa-geo space of a region (the optional ``geo`` extra; ``make test`` installs it)."""

from __future__ import annotations

import subprocess
import sys

import mesa
import pytest

from popsim.region.load import load_region

pytest.importorskip("mesa_geo", reason="the optional geo extra (pip install 'popsim[geo]')")

from popsim.region.geo import FacilityAgent, ZoneAgent, build_geospace  # noqa: E402


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


def test_without_mesa_geo_the_error_names_the_extra():
    """With mesa-geo hidden (as when the extra is not installed): one ImportError saying so."""
    code = "import sys; sys.modules['mesa_geo'] = None; import popsim.region.geo"
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 1
    last = proc.stderr.strip().splitlines()[-1]
    assert last.startswith("ImportError") and "popsim[geo]" in last


def test_only_popsim_geo_needs_mesa_geo():
    """Every other module imports, and a region loads, with mesa-geo hidden."""
    code = (
        "import sys, importlib, pkgutil; sys.modules['mesa_geo'] = None\n"
        "import popsim\n"
        "names = [m.name for m in pkgutil.walk_packages(popsim.__path__, 'popsim.')]\n"
        "for name in names:\n"
        "    if name != 'popsim.region.geo': importlib.import_module(name)\n"
        "from popsim.region.load import load_region\n"
        "print(len(names), load_region('synthetic').n_zones)\n"
    )
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    n_modules, n_zones = map(int, proc.stdout.split())
    assert n_modules > 20 and n_zones == 4
