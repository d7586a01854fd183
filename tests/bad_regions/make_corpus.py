"""Rebuild the corpus of broken region folders (run from the repo root).

    .venv/bin/python tests/bad_regions/make_corpus.py

Each case is a tiny valid region (two zones, two facilities) with one kind of problem,
except ``many_problems`` which has several at once. ``tests/test_region.py`` lists what
``popsim regions check`` must report for each.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import sqlite3
from collections.abc import Callable
from pathlib import Path

HERE = Path(__file__).resolve().parent

TOML = 'name = "tiny"\ndescription = "broken-region corpus"\ncrs = "EPSG:3005"\nbase_year = 2021\n'
BANDS = ["0-9", "10-19", "20-29", "30-39", "40-49", "50-59", "60-69", "70-79", "80-89", "90+"]
FAC_HEADER = (
    "facility_id,name,zone_id,lon,lat,ward_beds,icu_beds,has_ed,role,status,open_date,close_date"
)


def square(x0: float, y0: float, x1: float, y1: float) -> list:
    return [[[x0, y0], [x1, y0], [x1, y1], [x0, y1], [x0, y0]]]


def base() -> dict:
    zones = [
        {"zone_id": "A", "name": "Alpha", "hsda": "H1", "population": 100},
        {"zone_id": "B", "name": "Beta", "hsda": "H1", "population": 60},
    ]
    rings = [square(-122.9, 49.1, -122.8, 49.2), square(-122.8, 49.1, -122.7, 49.2)]
    age = [("A", b, 5, 5) for b in BANDS] + [("B", b, 3, 3) for b in BANDS]
    fac = [
        ["f1", "One", "A", "-122.85", "49.15", "20", "2", "true", "regional", "open", "", ""],
        [
            "f2",
            "Two",
            "B",
            "-122.75",
            "49.15",
            "10",
            "0",
            "true",
            "community",
            "planned",
            "2030-01-01",
            "",
        ],
    ]
    return {"toml": TOML, "zones": zones, "rings": rings, "age": age, "fac": fac}


def write(folder: Path, d: dict) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if d["toml"] is not None:
        (folder / "region.toml").write_text(d["toml"])
    if d["zones"] is not None:
        feats = [
            {"type": "Feature", "properties": p, "geometry": {"type": "Polygon", "coordinates": r}}
            for p, r in zip(d["zones"], d["rings"], strict=True)
        ]
        (folder / "zones.geojson").write_text(
            json.dumps({"type": "FeatureCollection", "features": feats})
        )
    if d["age"] is not None:
        lines = ["zone_id,age_band,female,male"] + [",".join(map(str, r)) for r in d["age"]]
        (folder / "age.csv").write_text("\n".join(lines) + "\n")
    if d["fac"] is not None:
        header = d.get("fac_header", FAC_HEADER)
        lines = [header] + [",".join(r) for r in d["fac"]]
        (folder / "facilities.csv").write_text("\n".join(lines) + "\n")
    for name, text in d.get("raw", {}).items():
        (folder / name).write_text(text)


def _set(rows: list, i: int, col: int, value: str) -> None:
    rows[i][col] = value


def missing_file(d: dict) -> None:
    d["age"] = None


def missing_column(d: dict) -> None:
    d["fac_header"] = FAC_HEADER.replace(",icu_beds", "")
    for r in d["fac"]:
        del r[6]


def wrong_type(d: dict) -> None:
    d["zones"][1]["population"] = "sixty"
    _set(d["fac"], 0, 3, "west")


def duplicate_id(d: dict) -> None:
    _set(d["fac"], 1, 0, "f1")


def negative_beds(d: dict) -> None:
    _set(d["fac"], 0, 5, "-5")


def non_integer_beds(d: dict) -> None:
    _set(d["fac"], 0, 6, "2.5")


def zero_population(d: dict) -> None:
    d["zones"][1]["population"] = 0
    d["age"] = [r if r[0] == "A" else (r[0], r[1], 0, 0) for r in d["age"]]


def facility_outside(d: dict) -> None:
    _set(d["fac"], 1, 3, "-120.00")


def invalid_polygon(d: dict) -> None:
    # a bow tie: the ring crosses itself
    d["rings"][0] = [
        [[-122.9, 49.1], [-122.8, 49.2], [-122.8, 49.1], [-122.9, 49.2], [-122.9, 49.1]]
    ]


def age_sum(d: dict) -> None:
    d["age"][0] = ("A", "0-9", 5, 7)


def unknown_zone(d: dict) -> None:
    _set(d["fac"], 1, 2, "Z")


def bad_role_status(d: dict) -> None:
    _set(d["fac"], 0, 8, "huge")
    _set(d["fac"], 1, 9, "maybe")


def bad_dates(d: dict) -> None:
    _set(d["fac"], 1, 10, "2030/01/01")
    _set(d["fac"], 0, 10, "2020-01-01")
    _set(d["fac"], 0, 11, "2019-01-01")


def bad_age_band(d: dict) -> None:
    d["age"][19] = ("B", "90-99", 3, 3)


def bad_toml(d: dict) -> None:
    d["toml"] = 'name = "tiny"\ncrs = "EPSG:4326"\nbeds = 3\n'


def duplicate_zone_id(d: dict) -> None:
    d["zones"][1]["zone_id"] = "A"


def projected_geojson(d: dict) -> None:
    # metres (BC Albers) written where GeoJSON means lon/lat degrees
    d["rings"][1] = square(1_230_000, 460_000, 1_240_000, 470_000)


def toml_syntax(d: dict) -> None:
    d["toml"] = 'name = "tiny\ncrs = EPSG:3005\n'


def bad_has_ed(d: dict) -> None:
    _set(d["fac"], 0, 7, "sometimes")


def planned_without_date(d: dict) -> None:
    _set(d["fac"], 1, 10, "")


def wrong_zone(d: dict) -> None:
    _set(d["fac"], 0, 2, "B")  # the point lies in zone A


def missing_age_band(d: dict) -> None:
    d["age"] = [r for r in d["age"] if not (r[0] == "B" and r[1] == "40-49")]


def unreadable_files(d: dict) -> None:
    d["raw"] = {"zones.geojson": "not json {", "age.csv": '"A,0-9,1\n', "facilities.csv": ""}


def huge_population(d: dict) -> None:
    d["zones"][0]["population"] = 10**23  # beyond int64: one line, not an OverflowError


def huge_beds(d: dict) -> None:
    _set(d["fac"], 0, 5, "99999999999999999999")


def huge_age_count(d: dict) -> None:
    d["age"][0] = ("A", "0-9", 10**20, 5)


def too_many_residents(d: dict) -> None:
    # each zone fits in 32 bits, the region does not (resident ids are 32-bit)
    d["zones"][0]["population"] = 2_000_000_000
    d["zones"][1]["population"] = 1_000_000_000
    d["age"] = [("A", b, 100_000_000, 100_000_000) for b in BANDS] + [
        ("B", b, 50_000_000, 50_000_000) for b in BANDS
    ]


def unclosed_ring(d: dict) -> None:
    # found by the fuzz test: GEOS refused the ring with a traceback
    d["rings"][0] = [[[-122.9, 49.1], [-122.8, 49.1]]]


def bad_routing(d: dict) -> None:
    # the referral network names a site that does not exist, a site refers to itself, a
    # referral share above 1, a surge share that is not a number, a household size of 0
    d["fac_header"] = FAC_HEADER + ",refers_to,p_refer,surge_share"
    d["fac"][0] += ["f9", "1.5", ""]
    d["fac"][1] += ["f2;f1", "", "lots"]
    d["zones"][0]["household_size"] = 0


def many_problems(d: dict) -> None:
    negative_beds(d)
    duplicate_id(d)
    age_sum(d)
    bad_role_status(d)


CASES: dict[str, Callable[[dict], None]] = {
    f.__name__: f
    for f in (
        missing_file,
        missing_column,
        wrong_type,
        duplicate_id,
        negative_beds,
        non_integer_beds,
        zero_population,
        facility_outside,
        invalid_polygon,
        age_sum,
        unknown_zone,
        bad_role_status,
        bad_dates,
        bad_age_band,
        bad_toml,
        duplicate_zone_id,
        projected_geojson,
        toml_syntax,
        bad_has_ed,
        planned_without_date,
        wrong_zone,
        missing_age_band,
        unreadable_files,
        huge_population,
        huge_beds,
        huge_age_count,
        too_many_residents,
        unclosed_ring,
        bad_routing,
        many_problems,
    )
}


def main() -> None:
    for name, mutate in CASES.items():
        d = base()
        mutate(d)
        shutil.rmtree(HERE / name, ignore_errors=True)
        write(HERE / name, d)
    # no_crs needs a GeoPackage layer without a CRS (GeoJSON always means WGS84)
    import geopandas as gpd
    from shapely.geometry import Polygon

    d = base()
    d["zones"] = None
    shutil.rmtree(HERE / "no_crs", ignore_errors=True)
    write(HERE / "no_crs", d)
    rows = base()
    # crs=None on purpose (GDAL warns about it)
    gdf = gpd.GeoDataFrame(rows["zones"], geometry=[Polygon(r[0]) for r in rows["rings"]], crs=None)
    gdf.to_file(HERE / "no_crs" / "zones.gpkg", driver="GPKG", layer="zones")
    with contextlib.closing(sqlite3.connect(HERE / "no_crs" / "zones.gpkg")) as db:
        db.execute("PRAGMA page_size=512")  # a GeoPackage is SQLite: small pages, small file
        db.execute("VACUUM")
    # gpkg_layers: a GeoPackage with two layers, neither named zones
    d = base()
    d["zones"] = None
    shutil.rmtree(HERE / "gpkg_layers", ignore_errors=True)
    write(HERE / "gpkg_layers", d)
    gdf = gpd.GeoDataFrame(
        rows["zones"], geometry=[Polygon(r[0]) for r in rows["rings"]], crs="EPSG:4326"
    )
    for layer in ("lha", "other"):
        gdf.to_file(HERE / "gpkg_layers" / "zones.gpkg", driver="GPKG", layer=layer)
    with contextlib.closing(sqlite3.connect(HERE / "gpkg_layers" / "zones.gpkg")) as db:
        db.execute("PRAGMA page_size=512")
        db.execute("VACUUM")
    shutil.rmtree(HERE / "valid", ignore_errors=True)
    write(HERE / "valid", base())
    print(f"wrote {len(CASES) + 3} folders under {HERE.name}/")


if __name__ == "__main__":
    main()
