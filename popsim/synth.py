"""Small synthetic regions for tests and examples (``popsim regions synth``).

Zones are squares on a grid in BC Albers (EPSG:3005); ages follow the approximate
Canadian 2021 shape; facilities sit in the most populous zones.
"""

from __future__ import annotations

import numpy as np

from popsim.region import N_AGE_BANDS, Region, TravelParams, travel_minutes

#: Approximate Canadian 2021 shares by 10-year band (stand-in, not LHA data).
CANADA_AGE_SHARES = np.array([0.105, 0.109, 0.128, 0.136, 0.126, 0.135, 0.129, 0.082, 0.038, 0.010])

SYNTH_CRS = "EPSG:3005"
_ORIGIN = (1_200_000.0, 450_000.0)  # metres, roughly the Fraser valley in BC Albers


def split_age_sex(total: int, rng: np.random.Generator) -> np.ndarray:
    """Split a zone total into ``(N_AGE_BANDS, 2)`` counts that sum exactly to it."""
    shares = CANADA_AGE_SHARES / CANADA_AGE_SHARES.sum()
    female_share = np.linspace(0.49, 0.62, N_AGE_BANDS)  # more women among the old
    p = np.stack([shares * female_share, shares * (1 - female_share)], axis=1).ravel()
    return rng.multinomial(total, p / p.sum()).reshape(N_AGE_BANDS, 2).astype(np.int64)


def synthetic_region(
    n_zones: int = 4,
    population: int = 20_000,
    n_facilities: int = 3,
    seed: int = 0,
    zone_km: float = 15.0,
    ward_beds_per_1000: float = 1.4,
    name: str = "synthetic",
) -> Region:
    """Build a synthetic :class:`Region` in memory.

    Zone populations are uneven (a Dirichlet draw) so that routing has a busy centre.
    Facility 0 is tertiary and every facility has an ED; ICU beds are about 6% of ward beds.
    """
    import geopandas as gpd
    import pandas as pd
    from shapely.geometry import box

    if n_zones < 1 or population < n_zones or n_facilities < 1 or n_facilities > n_zones:
        raise ValueError(
            "need n_zones >= 1, population >= n_zones and 1 <= n_facilities <= n_zones"
        )
    rng = np.random.default_rng(seed)
    cols = int(np.ceil(np.sqrt(n_zones)))
    size = zone_km * 1000.0
    geoms, xs, ys = [], [], []
    for i in range(n_zones):
        r, c = divmod(i, cols)
        x0, y0 = _ORIGIN[0] + c * size, _ORIGIN[1] + r * size
        geoms.append(box(x0, y0, x0 + size, y0 + size))
        xs.append(x0 + size / 2)
        ys.append(y0 + size / 2)
    weights = rng.dirichlet(np.full(n_zones, 2.0))
    pops = np.maximum(1, np.floor(weights * population).astype(np.int64))
    pops[np.argmax(pops)] += population - pops.sum()
    age = np.stack([split_age_sex(int(p), rng) for p in pops])
    zone_ids = [f"Z{i + 1:02d}" for i in range(n_zones)]
    zones = gpd.GeoDataFrame(
        {
            "zone_id": zone_ids,
            "name": [f"Zone {i + 1}" for i in range(n_zones)],
            "hsda": ["H1" if i % 2 == 0 else "H2" for i in range(n_zones)],
            "population": pops,
            "x": xs,
            "y": ys,
        },
        geometry=geoms,
        crs=SYNTH_CRS,
    )
    host = np.argsort(-pops, kind="stable")[:n_facilities]
    total_beds = max(n_facilities * 10, round(population / 1000 * ward_beds_per_1000))
    share = pops[host] / pops[host].sum()
    ward = np.maximum(10, np.round(share * total_beds)).astype(np.int64)
    icu = np.maximum(2, np.round(ward * 0.06)).astype(np.int64)
    fx = np.asarray(xs)[host] + 1000.0
    fy = np.asarray(ys)[host] - 1000.0
    lonlat = gpd.GeoSeries(gpd.points_from_xy(fx, fy), crs=SYNTH_CRS).to_crs("EPSG:4326")
    facilities = pd.DataFrame(
        {
            "facility_id": [f"F{j + 1}" for j in range(n_facilities)],
            "name": [f"Hospital {j + 1}" for j in range(n_facilities)],
            "zone_id": [zone_ids[h] for h in host],
            "zone": host.astype(np.int64),
            "x": fx,
            "y": fy,
            "lon": lonlat.x.to_numpy(),
            "lat": lonlat.y.to_numpy(),
            "ward_beds": ward,
            "icu_beds": icu,
            "has_ed": True,
            "role": ["tertiary"] + ["community"] * (n_facilities - 1),
            "status": "open",
            "open_date": "",
            "close_date": "",
        }
    )
    travel = TravelParams()
    zxy = np.column_stack([xs, ys])
    return Region(
        name=name,
        zones=zones,
        age=age,
        facilities=facilities,
        zone_facility_minutes=travel_minutes(zxy, np.column_stack([fx, fy]), travel),
        zone_zone_minutes=travel_minutes(zxy, zxy, travel),
        travel=travel,
    )
