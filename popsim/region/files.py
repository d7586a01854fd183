"""Reading and validating a region folder's four files (see ``regions/README.md``).

Region files are untrusted input: TOML, GeoJSON/GeoPackage (via GDAL) and CSV read as
text, then checked value by value. Every problem is collected (:class:`Problems`) with
the file, the row or field and what was expected, so ``popsim regions check`` can list
them all; :func:`popsim.region.load.load_region` raises them.
"""

from __future__ import annotations

import tomllib
from collections.abc import Collection
from importlib import resources
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from popsim import tomlread
from popsim.core.ages import AGE_BANDS, N_AGE_BANDS, SEXES
from popsim.ltc.files import read_ltc
from popsim.region.parse import (
    INT16_MAX,
    INT32_MAX,
    POINT_TOLERANCE_M,
    Problems,
    hidden_characters,
    parse_bool,
    parse_date,
    parse_int,
    parse_real,
    read_csv,
    read_layer,
    text,
)
from popsim.region.types import ROLES, STATUSES, Region, TravelParams, travel_minutes
from popsim.staffing.files import read_staffing

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd


ZONE_FILES: tuple[str, ...] = ("zones.geojson", "zones.gpkg")
ZONE_COLUMNS: tuple[str, ...] = ("zone_id", "name", "hsda", "population")
AGE_COLUMNS: tuple[str, ...] = ("zone_id", "age_band", "female", "male")
FACILITY_COLUMNS: tuple[str, ...] = (
    "facility_id", "name", "zone_id", "lon", "lat", "ward_beds", "icu_beds", "has_ed", "role",
    "status", "open_date", "close_date",
)  # fmt: skip
FACILITY_OPTIONAL: tuple[str, ...] = (
    "ed_spaces", "refers_to", "p_refer", "surge_share", "source", "note",
)  # fmt: skip
#: Separator of the facility ids in a ``refers_to`` cell.
REFERS_SEPARATOR = ";"
#: Every file of a region folder that popsim reads and writes.
REGION_FILES: tuple[str, ...] = ("region.toml", *ZONE_FILES, "age.csv", "facilities.csv")


class TravelConfig(BaseModel):
    """``[travel]`` table of ``region.toml``."""

    model_config = ConfigDict(extra="forbid")
    detour_factor: float = Field(1.3, ge=1.0, le=5.0)
    speed_kmh: float = Field(50.0, gt=0.0, le=200.0)
    base_minutes: float = Field(5.0, ge=0.0, le=240.0)


class RegionMeta(BaseModel):
    """``region.toml``: what the region is and how to measure travel in it."""

    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1)
    description: str = ""
    crs: str = Field(min_length=1)
    base_year: int = Field(2021, ge=1900, le=2200)
    single_ages: str | None = None
    travel: TravelConfig = Field(default_factory=TravelConfig)

    @field_validator("single_ages")
    @classmethod
    def _age_table(cls, value: str | None) -> str | None:
        shipped = sorted(
            p.name.removesuffix(".csv")
            for p in resources.files("popsim").joinpath("data/ages").iterdir()
            if p.name.endswith(".csv")
        )
        if value is not None and value not in shipped:
            raise ValueError(f"unknown age table {value!r}; expected one of {shipped}")
        return value

    @field_validator("crs")
    @classmethod
    def _projected(cls, value: str) -> str:
        from pyproj import CRS
        from pyproj.exceptions import CRSError

        try:
            crs = CRS.from_user_input(value)
        except CRSError:
            raise ValueError("unknown CRS; expected e.g. 'EPSG:3005'") from None
        if not crs.is_projected:
            raise ValueError("not a projected CRS; expected one in metres, e.g. 'EPSG:3005'")
        return value


# -- the four files --------------------------------------------------------------


def _read_meta(folder: Path, problems: Problems) -> RegionMeta | None:
    path = folder / "region.toml"
    if not path.is_file():
        problems.add(path, None, "missing file")
        return None
    try:
        raw = tomlread.loads(path.read_text(encoding="utf-8"))
    except tomlread.TooDeep as err:
        problems.add(path, None, str(err))
        return None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError, OSError) as err:
        problems.add(path, None, f"not valid TOML ({str(err).strip()[:200]})")
        return None
    try:
        meta = RegionMeta.model_validate(raw)
    except ValidationError as err:
        for e in err.errors():
            loc = ".".join(str(p) for p in e["loc"]) or None
            msg = e["msg"].removeprefix("Value error, ")
            problems.add(path, f"field {loc}", f"{msg} (got {e['input']!r})"[:300])
        return None
    return meta


def _read_zones(
    folder: Path, crs: str | None, problems: Problems
) -> tuple[gpd.GeoDataFrame | None, dict[str, int | None]]:
    """Zones in ``crs`` (None if unusable) and ``{zone_id: population or None}`` seen."""
    import geopandas as gpd
    import shapely

    found = [folder / f for f in ZONE_FILES if (folder / f).is_file()]
    if not found:
        problems.add(folder / ZONE_FILES[0], None, "missing file (or zones.gpkg)")
        return None, {}
    if len(found) > 1:
        problems.add(folder, None, "both zones.geojson and zones.gpkg; keep only one")
    path = found[0]
    raw = read_layer(path, problems)
    if raw is None:
        return None, {}
    missing = [c for c in ZONE_COLUMNS if c not in raw.columns]
    for col in missing:
        problems.add(path, f"property {col}", "missing; expected " + ", ".join(ZONE_COLUMNS))
    if len(raw) == 0:
        problems.add(path, None, "no zones; expected one polygon per zone")
    if len(raw) > INT16_MAX:
        problems.add(path, None, f"{len(raw)} zones; expected at most {INT16_MAX}")
    if missing or len(raw) == 0 or len(raw) > INT16_MAX:
        return None, {}
    ok = True
    if raw.crs is None:
        problems.add(path, "crs", "no CRS; expected WGS84 lon/lat (EPSG:4326)")
        ok = False
    elif raw.crs.is_geographic:
        minx, miny, maxx, maxy = raw.total_bounds
        if not (-180 <= minx <= maxx <= 180 and -90 <= miny <= maxy <= 90):
            problems.add(path, "geometry", "coordinates outside lon/lat range; expected WGS84")
            ok = False
    seen: dict[str, int] = {}
    known: dict[str, int | None] = {}
    pops: list[int] = []
    sizes: list[float] = []  # mean household size (optional; NaN: not given)
    for i, row in enumerate(raw.itertuples(index=False)):
        zid = text(row.zone_id)
        where = f"feature {i + 1} (zone_id {zid!r})"
        if zid == "":
            problems.add(path, f"feature {i + 1}, zone_id", "empty; expected a unique id")
            ok = False
        elif zid in seen:
            problems.add(path, f"{where}, zone_id", f"duplicate id (also feature {seen[zid]})")
            ok = False
        else:
            seen[zid] = i + 1
        if not text(row.name):
            problems.add(path, f"{where}, name", "empty; expected a zone name")
        for key, value in (("zone_id", zid), ("name", text(row.name)), ("hsda", text(row.hsda))):
            hidden = hidden_characters(value)
            if hidden:
                problems.add(path, f"feature {i + 1}, {key}", hidden)
                ok = ok and key != "zone_id"
        pop = parse_int(row.population, problems, path, f"{where}, population", 1)
        ok = ok and pop is not None
        pops.append(pop or 0)
        if zid:
            known.setdefault(zid, pop)
        size = getattr(row, "household_size", None)
        if text(size) != "":
            got = parse_real(size, problems, path, f"{where}, household_size", 1.0, 10.0)
            ok = ok and got is not None
            sizes.append(float("nan") if got is None else got)
        else:
            sizes.append(float("nan"))
        geom = row.geometry
        if geom is None or geom.is_empty:
            problems.add(path, f"{where}, geometry", "missing; expected a polygon")
            ok = False
        elif geom.geom_type not in ("Polygon", "MultiPolygon"):
            problems.add(path, f"{where}, geometry", f"{geom.geom_type}; expected a polygon")
            ok = False
        elif not geom.is_valid:
            reason = shapely.is_valid_reason(geom)
            problems.add(path, f"{where}, geometry", f"invalid polygon ({reason})")
            ok = False
    if sum(pops) > INT32_MAX:
        problems.add(
            path,
            "population",
            f"{sum(pops)} residents over all zones; expected at most {INT32_MAX}",
        )
        ok = False
    if not ok or crs is None:
        return None, known
    zones = gpd.GeoDataFrame(
        {
            "zone_id": [text(z) for z in raw["zone_id"]],
            "name": [text(n) for n in raw["name"]],
            "hsda": [text(h) for h in raw["hsda"]],
            "population": np.asarray(pops, dtype=np.int64),
        },
        geometry=raw.geometry.to_crs(crs).to_numpy(),
        crs=crs,
    )
    if "household_size" in raw.columns:
        zones["household_size"] = np.asarray(sizes, dtype=np.float64)
    for extra in ("source", "note"):
        zones[extra] = [text(v) for v in raw[extra]] if extra in raw.columns else ""
    points = zones.geometry.representative_point()
    zones.insert(4, "x", points.x.to_numpy())
    zones.insert(5, "y", points.y.to_numpy())
    return zones, known


def _read_age(
    folder: Path,
    zones: gpd.GeoDataFrame | None,
    known: dict[str, int | None],
    problems: Problems,
) -> np.ndarray | None:
    path = folder / "age.csv"
    table = read_csv(path, problems, AGE_COLUMNS)
    if table is None:
        return None
    index = {z: i for i, z in enumerate(known)}
    bands = {b: j for j, b in enumerate(AGE_BANDS)}
    age = np.zeros((len(index), N_AGE_BANDS, 2), dtype=np.int64)
    filled = np.zeros((len(index), N_AGE_BANDS), dtype=bool)
    unknown: dict[str, list[int]] = {}  # one message per unknown zone, not per row
    ok = True
    for i, row in enumerate(table[list(AGE_COLUMNS)].itertuples(index=False, name=None)):
        zone_id, age_band, *sexes = row
        line = f"line {i + 2}"
        zi, bj = index.get(zone_id), bands.get(age_band)
        if zi is None and known:
            unknown.setdefault(zone_id, []).append(i + 2)
        if bj is None:
            problems.add(
                path, f"{line}, age_band", f"got {age_band!r}; expected one of {AGE_BANDS}"
            )
        counts = [
            parse_int(v, problems, path, f"{line}, {s}", 0)
            for v, s in zip(sexes, SEXES, strict=True)
        ]
        if zi is None or bj is None or None in counts:
            ok = False
            continue
        if filled[zi, bj]:
            problems.add(path, f"{line}, age_band", f"duplicate band {age_band} for {zone_id}")
            ok = False
        filled[zi, bj] = True
        age[zi, bj] = counts
    for zid, lines in unknown.items():
        where = f"line {lines[0]}" if len(lines) == 1 else f"lines {lines[0]}-{lines[-1]}"
        problems.add(path, f"{where}, zone_id", f"unknown zone_id {zid!r} ({len(lines)} rows)")
    if not ok:
        return None
    for zi, (zid, expected) in enumerate(known.items()):
        lacking = [AGE_BANDS[j] for j in np.flatnonzero(~filled[zi])]
        if lacking:
            problems.add(path, f"zone_id {zid!r}", f"missing age bands {', '.join(lacking)}")
            ok = False
            continue
        total = int(age[zi].sum())
        if expected is not None and total != expected:
            problems.add(
                path,
                f"zone_id {zid!r}",
                f"female + male over all bands is {total}; expected the zone population {expected}",
            )
            ok = False
    return age if ok and zones is not None else None


def parse_facility_rows(
    table: pd.DataFrame, path: Path, problems: Problems, zone_ids: Collection[str]
) -> list[dict[str, object]] | None:
    """Check every row of a facilities table (all of ``FACILITY_COLUMNS`` present, as text).

    Returns one dict per row (parsed values, the row's ``_line``), or None if any row has
    a problem (each recorded with its line and field). ``zone_ids`` empty: zone ids are
    not checked (the zones themselves were unusable). Used by region reading and import.
    """
    rows: list[dict[str, object]] = []
    seen: dict[str, int] = {}
    networks: list[tuple[int, list[str]]] = []  # (line, refers_to ids), checked at the end
    ok = True
    if len(table) > INT16_MAX:
        problems.add(path, None, f"{len(table)} facilities; expected at most {INT16_MAX}")
        return None
    for i, rec in enumerate(table.to_dict("records")):
        line = f"line {i + 2}"
        n_before = len(problems)
        fid = rec["facility_id"]
        if fid == "":
            problems.add(path, f"{line}, facility_id", "empty; expected a unique id")
        elif fid in seen:
            problems.add(
                path, f"{line}, facility_id", f"duplicate id {fid!r} (also line {seen[fid]})"
            )
        else:
            seen[fid] = i + 2
        if rec["name"] == "":
            problems.add(path, f"{line}, name", "empty; expected the facility name")
        for key in ("facility_id", "name", "zone_id"):
            hidden = hidden_characters(str(rec[key]))
            if hidden:
                problems.add(path, f"{line}, {key}", hidden)
        if zone_ids and rec["zone_id"] not in zone_ids:
            problems.add(path, f"{line}, zone_id", f"unknown zone_id {rec['zone_id']!r}")
        lon = parse_real(rec["lon"], problems, path, f"{line}, lon", -180, 180)
        lat = parse_real(rec["lat"], problems, path, f"{line}, lat", -90, 90)
        ward = parse_int(rec["ward_beds"], problems, path, f"{line}, ward_beds", 0)
        icu = parse_int(rec["icu_beds"], problems, path, f"{line}, icu_beds", 0)
        has_ed = parse_bool(rec["has_ed"], problems, path, f"{line}, has_ed")
        if rec["role"] not in ROLES:
            problems.add(path, f"{line}, role", f"got {rec['role']!r}; expected one of {ROLES}")
        if rec["status"] not in STATUSES:
            problems.add(
                path, f"{line}, status", f"got {rec['status']!r}; expected one of {STATUSES}"
            )
        opened = parse_date(rec["open_date"], problems, path, f"{line}, open_date")
        closed = parse_date(rec["close_date"], problems, path, f"{line}, close_date")
        if rec["status"] == "planned" and rec["open_date"] == "":
            problems.add(path, f"{line}, open_date", "a planned facility needs an opening date")
        if opened and closed and closed <= opened:
            problems.add(path, f"{line}, close_date", "expected a date after open_date")
        ed_text = rec.get("ed_spaces", "")
        ed_spaces = None
        if ed_text not in ("", None):
            ed_spaces = parse_int(ed_text, problems, path, f"{line}, ed_spaces", 0)
        share_text = rec.get("p_refer", "")
        p_refer = float("nan")
        if share_text not in ("", None):
            p_refer = parse_real(share_text, problems, path, f"{line}, p_refer", 0.0, 1.0)
        surge_text = rec.get("surge_share", "")
        surge_share = float("nan")
        if surge_text not in ("", None):
            surge_share = parse_real(surge_text, problems, path, f"{line}, surge_share", 0.0, 2.0)
        refers = [t.strip() for t in str(rec.get("refers_to", "") or "").split(REFERS_SEPARATOR)]
        refers = [t for t in refers if t]
        if fid and fid in refers:
            problems.add(path, f"{line}, refers_to", f"{fid!r} refers to itself")
        networks.append((i + 2, refers))
        if len(problems) > n_before:
            ok = False
            continue
        rows.append(
            {
                **{c: rec.get(c, "") for c in FACILITY_COLUMNS + FACILITY_OPTIONAL},
                **{"lon": lon, "lat": lat, "ward_beds": ward, "icu_beds": icu, "_line": i + 2},
                "has_ed": has_ed,
                "ed_spaces": ed_spaces,
                "refers_to": REFERS_SEPARATOR.join(refers),
                "p_refer": p_refer,
                "surge_share": surge_share,
            }
        )
    for line_no, refers in networks:  # every site named in a referral list is one of ours
        for target in refers:
            if target not in seen:
                problems.add(
                    path,
                    f"line {line_no}, refers_to",
                    f"unknown facility_id {target!r}; expected ids of this file separated by "
                    f"{REFERS_SEPARATOR!r}",
                )
                ok = False
    return rows if ok else None


def place_facilities(
    rows: list[dict[str, object]], zones: gpd.GeoDataFrame, path: Path, problems: Problems
) -> pd.DataFrame | None:
    """The facilities table of a :class:`Region` from checked rows: zone index and x, y in
    the zones' CRS, each site checked to lie in (or within a metre of) the zone it names."""
    import geopandas as gpd
    import pandas as pd

    index = {z: i for i, z in enumerate(zones["zone_id"])}
    fac = pd.DataFrame(rows)
    pts = gpd.GeoSeries(gpd.points_from_xy(fac["lon"], fac["lat"]), crs="EPSG:4326").to_crs(
        zones.crs
    )
    fac.insert(3, "zone", np.array([index[z] for z in fac["zone_id"]], dtype=np.int64))
    fac.insert(4, "x", pts.x.to_numpy())
    fac.insert(5, "y", pts.y.to_numpy())
    ok = True
    for f, pt in enumerate(pts):
        holder = zones.geometry.iloc[int(fac["zone"].iloc[f])]
        if holder.distance(pt) <= POINT_TOLERANCE_M:
            continue
        inside = np.flatnonzero(zones.geometry.distance(pt).to_numpy() <= POINT_TOLERANCE_M)
        line = f"line {fac['_line'].iloc[f]}, lon/lat"
        if len(inside) == 0:
            problems.add(path, line, "facility lies outside every zone; expected inside its zone")
        else:
            other = zones["zone_id"].iloc[inside[0]]
            problems.add(
                path, line, f"lies in zone {other!r}, not in its zone_id {fac['zone_id'].iloc[f]!r}"
            )
        ok = False
    if not ok:
        return None
    for col in ("ward_beds", "icu_beds"):
        fac[col] = fac[col].astype(np.int64)
    fac["ed_spaces"] = pd.array(fac["ed_spaces"].tolist(), dtype="Int64")  # unknown: <NA>
    return fac.drop(columns="_line")


def _read_facilities(
    folder: Path,
    zones: gpd.GeoDataFrame | None,
    known: dict[str, int | None],
    problems: Problems,
) -> pd.DataFrame | None:
    path = folder / "facilities.csv"
    table = read_csv(path, problems, FACILITY_COLUMNS)
    if table is None:
        return None
    if len(table) == 0:
        problems.add(path, None, "no facilities; expected one row per acute-care site")
        return None
    rows = parse_facility_rows(table, path, problems, known)
    if rows is None or zones is None:
        return None
    return place_facilities(rows, zones, path, problems)


def read_region(folder: Path, problems: Problems) -> Region | None:
    meta = _read_meta(folder, problems)
    zones, known = _read_zones(folder, meta.crs if meta else None, problems)
    age = _read_age(folder, zones, known, problems)
    facilities = _read_facilities(folder, zones, known, problems)
    staffing = read_staffing(folder, facilities, problems)
    zone_ids = [str(z) for z in zones["zone_id"]] if zones is not None else None
    ltc, home_support = read_ltc(folder, zone_ids, problems)
    if problems.items or meta is None or zones is None or age is None or facilities is None:
        return None
    travel = TravelParams(**meta.travel.model_dump())
    zxy = zones[["x", "y"]].to_numpy()
    fxy = facilities[["x", "y"]].to_numpy()
    return Region(
        name=meta.name,
        zones=zones,
        age=age,
        facilities=facilities,
        zone_facility_minutes=travel_minutes(zxy, fxy, travel),
        zone_zone_minutes=travel_minutes(zxy, zxy, travel),
        travel=travel,
        path=folder,
        base_year=meta.base_year,
        single_ages=meta.single_ages,
        description=meta.description,
        staffing=staffing,
        ltc=ltc,
        home_support=home_support,
    )
