"""Small synthetic regions for tests and examples (``popsim regions synth``).

Zones are squares on a grid in BC Albers (EPSG:3005); ages follow the approximate
Canadian 2021 shape; facilities sit in the most populous zones.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np

from popsim.region import (
    AGE_BANDS,
    N_AGE_BANDS,
    Region,
    TravelParams,
    travel_minutes,
)
from popsim.region_files import FACILITY_COLUMNS, FACILITY_OPTIONAL

#: Approximate Canadian 2021 shares by 10-year band (stand-in, not LHA data).
CANADA_AGE_SHARES = np.array([0.105, 0.109, 0.128, 0.136, 0.126, 0.135, 0.129, 0.082, 0.038, 0.010])

SYNTH_CRS = "EPSG:3005"
_ORIGIN = (1_200_000.0, 450_000.0)  # metres, roughly the Fraser valley in BC Albers


#: Approximate female share of each band (Canada 2021 shape: women outlive men). Stand-in.
CANADA_FEMALE_SHARES = np.array([0.487, 0.487, 0.49, 0.503, 0.503, 0.5, 0.51, 0.53, 0.575, 0.69])


def national_age_split(total: int) -> np.ndarray:
    """Deterministic ``(N_AGE_BANDS, 2)`` split of a zone total by the national shape.

    Largest-remainder rounding, so the counts sum exactly to ``total``. A labelled
    stand-in for zones without an age table (approximate Canada 2021 shares).
    """
    shares = CANADA_AGE_SHARES / CANADA_AGE_SHARES.sum()
    p = np.stack([shares * CANADA_FEMALE_SHARES, shares * (1 - CANADA_FEMALE_SHARES)], axis=1)
    exact = p.ravel() * int(total)
    counts = np.floor(exact).astype(np.int64)
    short = int(total) - int(counts.sum())
    counts[np.argsort(-(exact - counts), kind="stable")[:short]] += 1
    return counts.reshape(N_AGE_BANDS, 2)


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
            "source": "synthetic (Dirichlet draw)",
            "note": "synthetic square zone",
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
            "ed_spaces": pd.array([None] * n_facilities, dtype="Int64"),
            "source": "synthetic",
            "note": "",
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
        description=(
            f"synthetic region: {n_zones} square zones of {zone_km:g} km, "
            f"{population} residents, {n_facilities} facilities, seed {seed}"
        ),
    )


def _toml_str(text: str) -> str:
    return '"' + str(text).replace("\\", "\\\\").replace('"', '\\"').replace("\n", " ") + '"'


def write_region(
    region: Region,
    out: str | Path,
    zone_format: str = "geojson",
    description: str | None = None,
    age_source: str | Sequence[str] = "",
) -> Path:
    """Write ``region`` as a region folder (format: ``regions/README.md``) and return it.

    Zones go to ``zones.geojson`` (or ``zones.gpkg``) in WGS84 lon/lat; ``age.csv`` has one
    row per zone and band; ``facilities.csv`` one row per site. Existing files are replaced.
    ``age_source`` labels the age rows (one label for all, or one per zone).
    """
    import geopandas as gpd
    import pandas as pd

    if zone_format not in ("geojson", "gpkg"):
        raise ValueError("zone_format must be 'geojson' or 'gpkg'")
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    t = region.travel
    desc = region.description if description is None else description
    (folder / "region.toml").write_text(
        "\n".join(
            [
                f"name = {_toml_str(region.name)}",
                f"description = {_toml_str(desc)}",
                f"crs = {_toml_str(region.zones.crs.to_string())}",
                f"base_year = {int(region.base_year)}",
                "",
                "[travel]",
                f"detour_factor = {float(t.detour_factor)!r}",
                f"speed_kmh = {float(t.speed_kmh)!r}",
                f"base_minutes = {float(t.base_minutes)!r}",
                "",
            ]
        ),
        encoding="utf-8",
    )
    zones = region.zones
    cols = {
        "zone_id": zones["zone_id"].astype(str),
        "name": zones["name"].astype(str),
        "hsda": zones["hsda"].astype(str),
        "population": zones["population"].astype(np.int64),
    }
    for extra in ("source", "note"):
        cols[extra] = zones[extra].astype(str) if extra in zones.columns else ""
    wgs = gpd.GeoDataFrame(
        cols, geometry=zones.geometry.to_crs("EPSG:4326").to_numpy(), crs="EPSG:4326"
    )
    for stale in ("zones.geojson", "zones.gpkg"):
        (folder / stale).unlink(missing_ok=True)
    if zone_format == "geojson":
        wgs.to_file(folder / "zones.geojson", driver="GeoJSON", COORDINATE_PRECISION=5)
    else:
        wgs.to_file(folder / "zones.gpkg", driver="GPKG", layer="zones")
    labels = [age_source] * region.n_zones if isinstance(age_source, str) else list(age_source)
    rows = [
        (zid, band, int(region.age[i, j, 0]), int(region.age[i, j, 1]), labels[i])
        for i, zid in enumerate(region.zone_ids)
        for j, band in enumerate(AGE_BANDS)
    ]
    pd.DataFrame(rows, columns=["zone_id", "age_band", "female", "male", "source"]).to_csv(
        folder / "age.csv", index=False
    )
    fac = region.facilities
    out_cols = [*FACILITY_COLUMNS, *FACILITY_OPTIONAL]
    table = pd.DataFrame({c: fac[c] if c in fac.columns else "" for c in out_cols})
    table["has_ed"] = ["true" if bool(v) else "false" for v in fac["has_ed"]]
    table["lon"] = [f"{v:.5f}" for v in fac["lon"]]
    table["lat"] = [f"{v:.5f}" for v in fac["lat"]]
    if "ed_spaces" in fac.columns:
        table["ed_spaces"] = ["" if pd.isna(v) else str(int(v)) for v in fac["ed_spaces"]]
    table.to_csv(folder / "facilities.csv", index=False)
    return folder
