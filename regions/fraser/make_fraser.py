"""Rebuild ``regions/fraser/`` from the figures in its README (run from the repo root).

    .venv/bin/python regions/fraser/make_fraser.py

Zone polygons are APPROXIMATE: Voronoi cells around a few hand-placed community centres
per Local Health Area, merged per LHA and clipped to a hand-drawn outline of the Fraser
Health area (US border in the south). They are good enough for travel distances and a
map, not for counting people in a place. Replace them with the official BC LHA layer via
``popsim regions import`` when you have it.
"""

from __future__ import annotations

import sys
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely
from shapely.geometry import MultiPoint, Polygon

from popsim.region.load import Region, TravelParams, travel_minutes
from popsim.region.parse import largest_remainder
from popsim.region.synth import CANADA_AGE_SHARES, CANADA_FEMALE_SHARES, write_region_files

CRS = "EPSG:3005"  # BC Albers, metres
POLY_NOTE = (
    "approximate polygon: Voronoi cells around community centres, clipped to a hand-drawn outline"
)
AGE_SOURCE = (
    "est.: Canada 2021 shape by band and sex, tilted to the LHA's shares aged 0-14 and 65+ "
    "(approx. Census 2021 profile figures of its municipalities, rounded) and raked to the "
    "region's band totals of the Canada shape; see README"
)
HOUSEHOLD_SOURCE = "approx. Census 2021 average household size of the LHA's municipalities"

#: Per LHA: share aged 0-14 (%), share aged 65 and over (%), mean household size. Approximate
#: Statistics Canada 2021 Census Profile figures of the LHA's municipalities, weighted by
#: population and rounded (South Surrey's share of the City of Surrey estimated); not checked
#: against the published tables here: replace them with BC Stats' LHA estimates (popApp).
LHA_PROFILE: dict[str, tuple[float, float, float]] = {
    "abbotsford": (18.0, 16.5, 2.8),
    "mission": (17.5, 17.0, 2.7),
    "chilliwack": (17.5, 19.0, 2.5),
    "agassiz-harrison": (15.0, 26.0, 2.4),
    "hope": (13.0, 30.0, 2.1),
    "burnaby": (13.0, 17.5, 2.5),
    "maple-ridge-pitt-meadows": (17.0, 16.5, 2.7),
    "new-westminster": (13.0, 16.0, 2.1),
    "tri-cities": (15.5, 16.0, 2.6),
    "surrey": (18.5, 12.5, 3.0),
    "south-surrey-white-rock": (13.7, 24.3, 2.5),
    "langley": (17.3, 17.5, 2.6),
    "delta": (15.5, 20.5, 2.9),
}
#: Share of each 10-year band aged 0-14 and aged 65+ (half of 10-19 and of 60-69).
_YOUNG = np.array([1.0, 0.5, 0, 0, 0, 0, 0, 0, 0, 0])
_OLD = np.array([0, 0, 0, 0, 0, 0, 0.5, 1.0, 1.0, 1.0])


def lha_age_split(total: int, young_pct: float, old_pct: float) -> np.ndarray:
    """``(10, 2)`` counts of an LHA: the Canada 2021 band shares with the bands holding
    ages 0-14 and 65+ scaled until those shares are the LHA's (female share per band as
    Canada's); largest-remainder rounding to ``total``."""
    base = CANADA_AGE_SHARES / CANADA_AGE_SHARES.sum()
    a = b = 1.0
    for _ in range(200):
        w = base * (1 + (b - 1) * _YOUNG + (a - 1) * _OLD)
        w = w / w.sum()
        b *= young_pct / 100 / (w * _YOUNG).sum()
        a *= old_pct / 100 / (w * _OLD).sum()
    w = base * (1 + (b - 1) * _YOUNG + (a - 1) * _OLD)
    w = w / w.sum()
    p = np.stack([w * CANADA_FEMALE_SHARES, w * (1 - CANADA_FEMALE_SHARES)], axis=1)
    return largest_remainder(p * int(total), int(total))


# zone_id, name, HSDA, 2021 population, source, [(lat, lon) community centres]
ZONES = [
    (
        "abbotsford",
        "Abbotsford",
        "Fraser East",
        153_524,
        "StatCan 2021 Census: Abbotsford 153,524",
        [(49.050, -122.310), (49.040, -122.200), (49.050, -122.400)],
    ),
    (
        "mission",
        "Mission",
        "Fraser East",
        41_519,
        "StatCan 2021 Census: Mission 41,519",
        [(49.140, -122.310), (49.160, -122.220), (49.300, -122.250)],
    ),
    (
        "chilliwack",
        "Chilliwack",
        "Fraser East",
        97_000,
        "est.: StatCan 2021 Chilliwack 93,203 plus rural areas (~97,000, estimate)",
        [
            (49.160, -121.950),
            (49.120, -121.960),
            (49.060, -121.980),
            (49.180, -121.800),
            (49.080, -121.650),
        ],
    ),
    (
        "agassiz-harrison",
        "Agassiz/Harrison",
        "Fraser East",
        9_000,
        "est.: Kent ~6,300 + Harrison Hot Springs ~1,900 + rural areas (~9,000, estimate)",
        [(49.238, -121.770), (49.300, -121.785), (49.500, -121.950), (49.250, -121.930)],
    ),
    (
        "hope",
        "Hope",
        "Fraser East",
        10_000,
        "est.: Hope ~6,700 plus Fraser Canyon areas (~10,000, estimate)",
        [
            (49.380, -121.440),
            (49.560, -121.430),
            (49.870, -121.440),
            (49.280, -121.230),
            (49.600, -121.150),
        ],
    ),
    (
        "burnaby",
        "Burnaby",
        "Fraser North",
        249_125,
        "StatCan 2021 Census: Burnaby 249,125",
        [(49.226, -123.000), (49.267, -123.000), (49.215, -122.965)],
    ),
    (
        "maple-ridge-pitt-meadows",
        "Maple Ridge/Pitt Meadows",
        "Fraser North",
        110_000,
        "approx.: StatCan 2021 Maple Ridge ~91,000 + Pitt Meadows ~19,000",
        [(49.220, -122.690), (49.220, -122.600), (49.205, -122.530), (49.360, -122.550)],
    ),
    (
        "new-westminster",
        "New Westminster",
        "Fraser North",
        79_000,
        "approx.: StatCan 2021 New Westminster ~79,000",
        [(49.205, -122.915)],
    ),
    (
        "tri-cities",
        "Tri-Cities",
        "Fraser North",
        246_701,
        "StatCan 2021 Census: Coquitlam 148,625 + Port Coquitlam 61,498 + Port Moody 33,535 "
        "+ Anmore 2,356 + Belcarra 687",
        [(49.285, -122.790), (49.262, -122.780), (49.283, -122.855), (49.360, -122.780)],
    ),
    (
        "surrey",
        "Surrey",
        "Fraser South",
        488_322,
        "est.: StatCan 2021 City of Surrey 568,322 less South Surrey (~80,000, estimate)",
        [(49.190, -122.850), (49.125, -122.850), (49.155, -122.780), (49.105, -122.730)],
    ),
    (
        "south-surrey-white-rock",
        "South Surrey/White Rock",
        "Fraser South",
        101_939,
        "est.: StatCan 2021 White Rock 21,939 + South Surrey (~80,000, estimate)",
        [(49.025, -122.800), (49.050, -122.740)],
    ),
    (
        "langley",
        "Langley",
        "Fraser South",
        161_566,
        "StatCan 2021 Census: Langley Township 132,603 + Langley City 28,963",
        [
            (49.104, -122.660),
            (49.170, -122.640),
            (49.060, -122.470),
            (49.070, -122.620),
            (49.170, -122.580),
        ],
    ),
    (
        "delta",
        "Delta",
        "Fraser South",
        108_000,
        "approx.: StatCan 2021 Delta ~108,000 (2015 BC Stats estimate 100,652)",
        [(49.090, -123.080), (49.015, -123.080), (49.155, -122.910)],
    ),
]

# Hand-drawn outline of the Fraser Health area (lon, lat); approximate.
OUTLINE = [
    (-123.023, 49.200),
    (-123.023, 49.295),
    (-122.930, 49.290),
    (-122.880, 49.310),
    (-122.850, 49.340),
    (-122.800, 49.420),
    (-122.600, 49.480),
    (-122.350, 49.500),
    (-122.150, 49.550),
    (-121.950, 49.700),
    (-121.700, 49.800),
    (-121.550, 50.000),
    (-121.300, 50.000),
    (-121.250, 49.700),
    (-121.050, 49.450),
    (-121.050, 49.100),
    (-121.300, 49.000),
    (-123.100, 49.000),
    (-123.150, 49.030),
    (-123.200, 49.100),
    (-123.100, 49.125),
    (-123.000, 49.140),
    (-122.960, 49.170),
    (-122.970, 49.190),
]

ICU_NOTE = "ICU beds: estimate (about 80 region-wide, March 2020; split by site not public)"
# facility_id, name, zone_id, lat, lon, inpatient beds, icu beds, role, status, open, ed_spaces,
# source, note
FACILITIES = [
    (
        "royal-columbian",
        "Royal Columbian Hospital",
        "new-westminster",
        49.2268,
        -122.8920,
        450,
        24,
        "tertiary",
        "open",
        "",
        "",
        "public figure: ~450 beds today (675 after redevelopment)",
        "tertiary: Level 1 trauma, cardiac, neurosurgery, high-risk obstetrics, NICU; beds approx.",
    ),
    (
        "surrey-memorial",
        "Surrey Memorial Hospital",
        "surrey",
        49.1757,
        -122.8430,
        650,
        20,
        "regional",
        "open",
        "",
        "",
        "public figure: 650 beds",
        "regional referral; 48-bed NICU; >158,000 ED visits a year",
    ),
    (
        "burnaby",
        "Burnaby Hospital",
        "burnaby",
        49.2495,
        -123.0150,
        314,
        8,
        "regional",
        "open",
        "",
        "",
        "public figure: 314 beds",
        "community/regional with critical care",
    ),
    (
        "abbotsford-regional",
        "Abbotsford Regional Hospital",
        "abbotsford",
        49.0370,
        -122.3140,
        300,
        10,
        "regional",
        "open",
        "",
        "",
        "public figure: 300 beds",
        "regional hospital and cancer centre",
    ),
    (
        "langley-memorial",
        "Langley Memorial Hospital",
        "langley",
        49.0960,
        -122.6110,
        200,
        4,
        "community",
        "open",
        "",
        "49",
        "est.: ~200 beds (estimate); ED 49 bays",
        "inpatient beds estimated; >44,000 ED visits a year",
    ),
    (
        "eagle-ridge",
        "Eagle Ridge Hospital",
        "tri-cities",
        49.2850,
        -122.8280,
        180,
        4,
        "community",
        "open",
        "",
        "",
        "est.: ~180 beds (estimate)",
        "community hospital",
    ),
    (
        "chilliwack-general",
        "Chilliwack General Hospital",
        "chilliwack",
        49.1590,
        -121.9480,
        160,
        4,
        "community",
        "open",
        "",
        "",
        "est.: ~160 beds (estimate)",
        "reported 123% occupancy",
    ),
    (
        "ridge-meadows",
        "Ridge Meadows Hospital",
        "maple-ridge-pitt-meadows",
        49.2170,
        -122.5970,
        125,
        3,
        "community",
        "open",
        "",
        "",
        "public figure: 148 beds = 125 acute + hospice",
        "acute beds only (hospice excluded)",
    ),
    (
        "peace-arch",
        "Peace Arch Hospital",
        "south-surrey-white-rock",
        49.0300,
        -122.7936,
        146,
        3,
        "community",
        "open",
        "",
        "",
        "public figure: 146 beds",
        "Level IV trauma",
    ),
    (
        "delta",
        "Delta Hospital",
        "delta",
        49.0860,
        -123.0650,
        60,
        0,
        "community",
        "open",
        "",
        "",
        "est.: ~60 beds (estimate)",
        "no ICU assumed; ~150 emergency-surgery transfers out a year",
    ),
    (
        "mission-memorial",
        "Mission Memorial Hospital",
        "mission",
        49.1370,
        -122.3100,
        30,
        0,
        "community",
        "open",
        "",
        "",
        "est.: ~30 beds (estimate)",
        "small community",
    ),
    (
        "fraser-canyon",
        "Fraser Canyon Hospital",
        "hope",
        49.3774,
        -121.4238,
        10,
        0,
        "stabilisation",
        "open",
        "",
        "",
        "public figure: 10 beds",
        "stabilisation and triage only",
    ),
    (
        "new-surrey-hospital",
        "New Surrey Hospital and BC Cancer Centre",
        "surrey",
        49.1050,
        -122.7200,
        168,
        8,
        "community",
        "planned",
        "2030-01-01",
        "55",
        "public figure (BC Government announcement): 168 inpatient beds, 55 ED spaces, due about 2030",
        "planned; location approx. (Cloverdale); opening date and ICU beds are estimates",
    ),
]

#: The referral network (``refers_to``: where a site sends the admissions it refers on, and
#: its full wards' patients, in order) and the sites' own referral and surge shares.
#: Network: community -> regional -> tertiary within each HSDA, as Fraser Health's sites'
#: roles run (Royal Columbian the tertiary centre of the region; Surrey Memorial the
#: regional referral hospital of Fraser South; Abbotsford Regional of Fraser East): an
#: assumption from the roles, not a published transfer protocol. Shares: set by hand
#: (Delta, Eagle Ridge, Abbotsford's referral share) or fitted to the calibration targets
#: of ``targets.csv`` by ``fit_sites.py``, whose result ``routing_fit.csv`` overrides the
#: values here (empty: the model's default for the role, ``CareParams``). See README,
#: "Routing and its calibration".
ROUTING: dict[str, tuple[str, str, str]] = {
    # facility_id: (refers_to, p_refer, surge_share)
    "royal-columbian": ("", "", ""),
    "surrey-memorial": ("royal-columbian", "", ""),
    "burnaby": ("royal-columbian", "", ""),
    "abbotsford-regional": ("royal-columbian", "0", "0.25"),
    "langley-memorial": ("surrey-memorial;royal-columbian", "", ""),
    "eagle-ridge": ("royal-columbian", "0.35", ""),
    "chilliwack-general": ("abbotsford-regional;royal-columbian", "0.1", "0.3"),
    "ridge-meadows": ("royal-columbian", "", ""),
    "peace-arch": ("surrey-memorial;royal-columbian", "", ""),
    "delta": ("surrey-memorial;royal-columbian", "0.65", ""),
    "mission-memorial": ("abbotsford-regional", "0.8", ""),
    "fraser-canyon": ("chilliwack-general;abbotsford-regional", "", ""),
    "new-surrey-hospital": ("surrey-memorial;royal-columbian", "", ""),
}


def fitted_routing(folder: Path) -> dict[str, tuple[str, str, str]]:
    """:data:`ROUTING` with the shares of ``routing_fit.csv`` (written by ``fit_sites.py``)
    in place of the hand-set ones, when the file exists."""
    routing = dict(ROUTING)
    path = folder / "routing_fit.csv"
    if not path.is_file():
        return routing
    fit = pd.read_csv(path, dtype=str, keep_default_na=False)
    for fid, col, value in zip(fit["facility_id"], fit["parameter"], fit["value"], strict=True):
        refers, p_refer, surge = routing[fid]
        routing[fid] = (
            refers,
            value if col == "p_refer" else p_refer,
            value if col == "surge_share" else surge,
        )
    return routing


def rake_ages(population: np.ndarray, shapes: list[np.ndarray]) -> np.ndarray:
    """``(zones, 10, 2)`` counts: each LHA's shape (:func:`lha_age_split`) raked
    (iterative proportional fitting) to the LHA totals and to the region's band totals of
    the Canada 2021 shape, so that LHAs differ as their Census profiles do while the
    region's age totals stay those the everyday-demand rates were calibrated on."""
    pop = np.asarray(population, dtype=np.float64)
    base = CANADA_AGE_SHARES / CANADA_AGE_SHARES.sum()
    m = np.stack([s.sum(axis=1) for s in shapes]).astype(np.float64)
    band_total = base * pop.sum()
    for _ in range(500):
        m *= (pop / m.sum(axis=1))[:, None]
        m *= (band_total / m.sum(axis=0))[None, :]
    out = []
    for z, row in enumerate(m):
        exact = row / row.sum() * pop[z]
        p = np.stack([exact * CANADA_FEMALE_SHARES, exact * (1 - CANADA_FEMALE_SHARES)], axis=1)
        out.append(largest_remainder(p, int(pop[z])))
    return np.stack(out)


def build_zones() -> gpd.GeoDataFrame:
    outline = gpd.GeoSeries([Polygon(OUTLINE)], crs="EPSG:4326").to_crs(CRS).iloc[0]
    owner, lons, lats = [], [], []
    for zi, zone in enumerate(ZONES):
        for lat, lon in zone[5]:
            owner.append(zi)
            lons.append(lon)
            lats.append(lat)
    pts = gpd.GeoSeries(gpd.points_from_xy(lons, lats), crs="EPSG:4326").to_crs(CRS)
    cells = shapely.voronoi_polygons(MultiPoint(list(pts)), extend_to=outline.buffer(50_000))
    pieces: list[list] = [[] for _ in ZONES]
    for cell in cells.geoms:
        seed = int(np.flatnonzero(pts.intersects(cell).to_numpy())[0])
        pieces[owner[seed]].append(cell.intersection(outline))
    geoms = [shapely.union_all(p).simplify(150.0) for p in pieces]
    return gpd.GeoDataFrame(
        {
            "zone_id": [z[0] for z in ZONES],
            "name": [z[1] for z in ZONES],
            "hsda": [z[2] for z in ZONES],
            "population": np.array([z[3] for z in ZONES], dtype=np.int64),
            "source": [z[4] for z in ZONES],
            "note": POLY_NOTE,
        },
        geometry=geoms,
        crs=CRS,
    )


def build_region() -> Region:
    routing = fitted_routing(Path(__file__).resolve().parent)
    zones = build_zones()
    pts = zones.geometry.representative_point()
    zones.insert(4, "x", pts.x.to_numpy())
    zones.insert(5, "y", pts.y.to_numpy())
    profile = [LHA_PROFILE[z] for z in zones["zone_id"]]
    age = rake_ages(
        zones["population"].to_numpy(),
        [
            lha_age_split(int(n), y, o)
            for n, (y, o, _) in zip(zones["population"], profile, strict=True)
        ],
    )
    zones["household_size"] = [h for _, _, h in profile]
    zones["source"] = [f"{s}; household size: {HOUSEHOLD_SOURCE}" for s in zones["source"]]
    index = {z: i for i, z in enumerate(zones["zone_id"])}
    f = FACILITIES
    fxy = gpd.GeoSeries(
        gpd.points_from_xy([r[4] for r in f], [r[3] for r in f]), crs="EPSG:4326"
    ).to_crs(CRS)
    facilities = pd.DataFrame(
        {
            "facility_id": [r[0] for r in f],
            "name": [r[1] for r in f],
            "zone_id": [r[2] for r in f],
            "zone": [index[r[2]] for r in f],
            "x": fxy.x.to_numpy(),
            "y": fxy.y.to_numpy(),
            "lon": [r[4] for r in f],
            "lat": [r[3] for r in f],
            "ward_beds": [r[5] - r[6] for r in f],
            "icu_beds": [r[6] for r in f],
            "has_ed": True,
            "role": [r[7] for r in f],
            "status": [r[8] for r in f],
            "open_date": [r[9] for r in f],
            "close_date": "",
            "ed_spaces": pd.array([int(r[10]) if r[10] else None for r in f], dtype="Int64"),
            "refers_to": [routing[r[0]][0] for r in f],
            "p_refer": [float(routing[r[0]][1] or "nan") for r in f],
            "surge_share": [float(routing[r[0]][2] or "nan") for r in f],
            "source": [r[11] for r in f],
            "note": [f"{r[12]}; ward beds = inpatient beds - ICU beds; {ICU_NOTE}" for r in f],
        }
    )
    travel = TravelParams(detour_factor=1.3, speed_kmh=50.0, base_minutes=5.0)
    zxy = zones[["x", "y"]].to_numpy()
    return Region(
        name="fraser",
        zones=zones,
        age=age,
        facilities=facilities,
        zone_facility_minutes=travel_minutes(zxy, facilities[["x", "y"]].to_numpy(), travel),
        zone_zone_minutes=travel_minutes(zxy, zxy, travel),
        travel=travel,
        base_year=2021,
        single_ages="canada_2026",
        description=(
            "Fraser Health (BC): 13 Local Health Areas, 2021 Census populations, "
            "approximate polygons, 12 acute sites + the planned new Surrey hospital"
        ),
    )


def main() -> int:
    out = Path(sys.argv[1]) if len(sys.argv) > 1 else Path(__file__).resolve().parent
    out.mkdir(parents=True, exist_ok=True)
    path = write_region_files(build_region(), out, age_source=AGE_SOURCE)
    print(f"wrote {path}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
