"""``popsim regions import``: build a region folder from official files.

Inputs:

- a polygon layer in any format GDAL reads (the BC "Local Health Area Boundaries" layer
  unchanged, with ``LOCAL_HLTH_AREA_CODE``, ``LOCAL_HLTH_AREA_NAME``,
  ``HLTH_SERVICE_DLVR_AREA_NAME``; or any layer with a name column);
- a population CSV: one row per zone (``zone`` or ``zone_id`` or ``name``, ``population``),
  or per zone and age band (``age_band``, 10- or 5-year bands such as ``0-4``, ``90+``),
  optionally per sex (``sex``: F/M; total rows are skipped) or with ``female, male`` columns.
  Without bands or sexes the split falls back to the national shape, labelled as such;
- a facilities CSV with the columns of ``facilities.csv`` (``regions/README.md``);
  ``zone_id`` may be a zone name or left out (then found by point-in-polygon),
  ``facility_id`` defaults to a slug of the name, ``beds`` may stand in for ``ward_beds``
  (ward = beds - ICU), and ``has_ed``/``role``/``status``/``icu_beds`` have defaults.

Only zones named in the population table are kept, so a province-wide layer can be
cut down to one health authority by its population table. The folder written is
checked with :func:`popsim.region.load.load_region` before it replaces anything. Values are
checked by the same parsers and facility checks as region folders
(:mod:`popsim.region.parse`, :func:`popsim.region.files.parse_facility_rows`), and every
problem names the input file and its line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path

import numpy as np
import pandas as pd

from popsim.core.ages import AGE_BANDS, N_AGE_BANDS
from popsim.errors import RegionError
from popsim.region.files import FACILITY_COLUMNS, parse_facility_rows, place_facilities
from popsim.region.load import load_region
from popsim.region.parse import (
    INT16_MAX,
    INT32_MAX,
    POINT_TOLERANCE_M,
    Problems,
    largest_remainder,
    parse_int,
    parse_real,
    read_csv,
    read_layer,
)
from popsim.region.synth import CANADA_FEMALE_SHARES, national_age_split, write_region
from popsim.region.types import Region, TravelParams

ID_FIELDS = ("LOCAL_HLTH_AREA_CODE", "zone_id", "LHA_CODE", "code", "id")
NAME_FIELDS = ("LOCAL_HLTH_AREA_NAME", "name", "zone_name", "LHA_NAME", "NAME")
HSDA_FIELDS = ("HLTH_SERVICE_DLVR_AREA_NAME", "hsda", "HSDA_NAME", "hsda_name")
POP_KEYS = ("zone_id", "zone", "name", "zone_name", "lha", *ID_FIELDS, *NAME_FIELDS)
POP_COUNTS = ("population", "count", "total", "value")
_FEMALE = {"f", "female", "females", "women", "w"}
_MALE = {"m", "male", "males", "men"}
_TOTAL = {"t", "total", "both", "all", "both sexes", "persons"}


def slug(text: str) -> str:
    """Lower-case id from a name: ``"Maple Ridge/Pitt Meadows"`` -> ``maple-ridge-pitt-meadows``."""
    return re.sub(r"[^a-z0-9]+", "-", str(text).casefold()).strip("-") or "zone"


def _pick(columns: list[str], wanted: str | None, candidates: tuple[str, ...]) -> str | None:
    """The column named ``wanted`` or the first candidate present (case-insensitive)."""
    lower = {c.casefold(): c for c in columns}
    for name in (wanted,) if wanted else candidates:
        if name and name.casefold() in lower:
            return lower[name.casefold()]
    return None


def band_index(label: str) -> int | None:
    """10-year band index of ``"30-39"``, ``"35-39"``, ``"90+"``, ``"85+"``... or None."""
    text = str(label).strip().replace(" ", "").replace("to", "-")
    m = re.fullmatch(r"(\d+)(?:-(\d+)|\+)", text)
    if not m:
        return None
    lo = int(m.group(1))
    hi = int(m.group(2)) if m.group(2) else None
    band = min(lo // 10, N_AGE_BANDS - 1)
    if hi is not None and (hi < lo or min(hi // 10, N_AGE_BANDS - 1) != band):
        return None  # straddles two 10-year bands
    if hi is None and band < N_AGE_BANDS - 1:
        return None  # an open band such as 85+ cannot be split into 80-89 and 90+
    return band


def _read_table(path: Path) -> pd.DataFrame:
    problems = Problems()
    table = read_csv(path, problems)
    problems.raise_if_any()
    return table


def read_boundaries(
    path: Path,
    name_field: str | None,
    id_field: str | None,
    hsda_field: str | None,
    layer: str | None = None,
):
    """Zones as a GeoDataFrame (zone_id, name, hsda, geometry) in the layer's CRS.

    ``layer`` names the layer of a multi-layer file; by default the one named ``zones``,
    or the only one (:func:`popsim.region.parse.read_layer`).
    """
    import geopandas as gpd
    import shapely

    problems = Problems()
    raw = read_layer(path, problems, layer)
    problems.raise_if_any()
    if len(raw) == 0:
        raise RegionError(path, None, "no features; expected one polygon per zone")
    cols = [c for c in raw.columns if c != raw.geometry.name]
    name_col = _pick(cols, name_field, NAME_FIELDS)
    if name_col is None:
        raise RegionError(
            path,
            f"field {name_field}" if name_field else "fields",
            f"no zone name column; expected one of {NAME_FIELDS} or --name-field (has {cols})",
        )
    id_col = _pick(cols, id_field, ID_FIELDS)
    if id_field and id_col is None:
        raise RegionError(path, f"field {id_field}", f"no such column (has {cols})")
    hsda_col = _pick(cols, hsda_field, HSDA_FIELDS)
    if hsda_field and hsda_col is None:
        raise RegionError(path, f"field {hsda_field}", f"no such column (has {cols})")
    if raw.crs is None:
        raise RegionError(path, "crs", "layer has no CRS; expected a defined CRS")
    names = raw[name_col].astype(str).str.strip()
    ids = raw[id_col].astype(str).str.strip() if id_col else names.map(slug)
    ids = ids.str.replace(r"\.0$", "", regex=True)  # codes read as floats
    geoms = shapely.make_valid(raw.geometry.to_numpy())
    zones = gpd.GeoDataFrame(
        {
            "zone_id": ids,
            "name": names,
            "hsda": raw[hsda_col].astype(str).str.strip() if hsda_col else "",
        },
        geometry=geoms,
        crs=raw.crs,
    )
    # a zone split over several features becomes one (multi)polygon
    zones = zones.dissolve(by="zone_id", as_index=False, sort=False, aggfunc="first")
    zones["geometry"] = shapely.make_valid(zones.geometry.to_numpy())
    return zones[["zone_id", "name", "hsda", "geometry"]]


def read_population(path: Path, zones) -> tuple[np.ndarray, list[str]]:
    """``age (Z, 10, 2)`` over the rows of ``zones`` (zeros where the table has no rows) and
    a label per zone saying where its age/sex split came from."""
    table = _read_table(path)
    key = _pick(list(table.columns), None, POP_KEYS)
    if key is None:
        raise RegionError(path, "columns", f"no zone column; expected one of {POP_KEYS[:5]}")
    has_sexcols = all(c in table.columns for c in ("female", "male"))
    count_col = _pick(list(table.columns), None, POP_COUNTS)
    if count_col is None and not has_sexcols:
        raise RegionError(path, "columns", f"no count column; expected one of {POP_COUNTS}")
    band_col = _pick(list(table.columns), None, ("age_band", "age", "age_group"))
    sex_col = _pick(list(table.columns), None, ("sex", "gender"))
    lookup: dict[str, int] = {}
    for i, (zid, name) in enumerate(zip(zones["zone_id"], zones["name"], strict=True)):
        lookup.setdefault(str(zid).casefold(), i)
        lookup.setdefault(str(name).casefold(), i)
        lookup.setdefault(slug(name), i)
    z = len(zones)
    by_band = np.zeros((z, N_AGE_BANDS, 2), dtype=np.float64)
    totals = np.zeros(z, dtype=np.int64)
    problems = Problems()
    for i, row in enumerate(table.to_dict("records")):
        line = f"line {i + 2}"
        zi = lookup.get(str(row[key]).casefold(), lookup.get(slug(row[key])))
        if zi is None:
            problems.add(path, f"{line}, {key}", f"zone {row[key]!r} not in the boundaries")
            continue
        sex = None
        if sex_col:
            s = str(row[sex_col]).casefold()
            if s in _TOTAL:
                continue
            if s not in _FEMALE | _MALE:
                problems.add(path, f"{line}, {sex_col}", f"expected F or M, got {row[sex_col]!r}")
                continue
            sex = 0 if s in _FEMALE else 1
        cols = ("female", "male") if has_sexcols else (count_col,)
        counts = [
            parse_int(row[c], problems, path, f"{line}, {c}", 0, INT32_MAX, thousands=True)
            for c in cols
        ]
        if None in counts:
            continue
        if band_col is not None and str(row[band_col]).casefold() in _TOTAL | {""}:
            continue  # a total row next to band rows
        totals[zi] += sum(counts)
        if band_col is None:
            continue
        b = band_index(row[band_col])
        if b is None:
            problems.add(
                path,
                f"{line}, {band_col}",
                f"got {row[band_col]!r}; expected bands like {AGE_BANDS}",
            )
            continue
        if has_sexcols:
            by_band[zi, b] += counts
        elif sex is not None:
            by_band[zi, b, sex] += counts[0]
        else:  # both sexes: split by the national female share of the band
            by_band[zi, b] += counts[0] * np.array(
                [CANADA_FEMALE_SHARES[b], 1 - CANADA_FEMALE_SHARES[b]]
            )
    if int(totals.sum()) > INT32_MAX:
        problems.add(
            path, "population", f"{int(totals.sum())} residents; expected at most {INT32_MAX}"
        )
    problems.raise_if_any()
    age = np.zeros((z, N_AGE_BANDS, 2), dtype=np.int64)
    sources: list[str] = []
    for zi in range(z):
        if band_col is None:
            age[zi] = national_age_split(int(totals[zi]))
            sources.append(f"{path.name}: totals; age/sex split is a national-shape stand-in")
            continue
        age[zi] = largest_remainder(by_band[zi])
        how = "by band and sex" if (sex_col or has_sexcols) else "by band; sex split national"
        sources.append(f"{path.name}: {how}")
    return age, sources


#: Count columns of an imported facilities table (thousands separators allowed).
_FACILITY_COUNTS = ("ward_beds", "icu_beds", "beds", "ed_spaces")
#: Defaults of columns an imported facilities table may leave out or empty.
_FACILITY_DEFAULTS = {"has_ed": "true", "role": "community", "status": "open", "icu_beds": "0"}


def read_facilities(path: Path, zones) -> pd.DataFrame:
    """Facilities table in the format of ``facilities.csv`` with zone index and x, y.

    ``zones`` are in the region's projected CRS. First the import's own steps (defaults,
    ward beds from ``beds``, zone names and point-in-polygon for a missing ``zone_id``),
    then the checks every ``facilities.csv`` gets; problems name ``path`` and its lines.
    """
    import geopandas as gpd

    problems = Problems()
    table = read_csv(path, problems, ("name", "lon", "lat"))
    problems.raise_if_any()
    if "ward_beds" not in table.columns and "beds" not in table.columns:
        raise RegionError(path, "column ward_beds", "missing column (or beds)")
    n = len(table)
    if n == 0:
        raise RegionError(path, None, "no facilities")
    if n > INT16_MAX:
        raise RegionError(path, None, f"{n} facilities; expected at most {INT16_MAX}")
    filled = pd.DataFrame(
        {c: table[c] if c in table.columns else [""] * n for c in FACILITY_COLUMNS}
    )
    for c in ("ed_spaces", "source", "note"):
        filled[c] = table[c] if c in table.columns else ""
    filled.loc[filled["source"] == "", "source"] = path.name
    for c, default in _FACILITY_DEFAULTS.items():
        filled.loc[filled[c] == "", c] = default
    filled.loc[filled["facility_id"] == "", "facility_id"] = [
        slug(v) for v in filled.loc[filled["facility_id"] == "", "name"]
    ]
    # counts: thousands separators allowed here, stored as plain digits
    counts: dict[str, list[int | None]] = {}
    for c in _FACILITY_COUNTS:
        if c not in filled.columns and c not in table.columns:
            continue
        values = filled[c] if c in filled.columns else table[c]
        counts[c] = [
            None if v == "" else parse_int(v, problems, path, f"line {i + 2}, {c}", thousands=True)
            for i, v in enumerate(values)
        ]
        if c in filled.columns:
            filled[c] = ["" if v is None else str(v) for v in counts[c]]
    if "ward_beds" not in table.columns:  # ward = beds - ICU
        filled["ward_beds"] = [
            "" if b is None or c is None else str(max(b - c, 0))
            for b, c in zip(counts["beds"], counts["icu_beds"], strict=True)
        ]
    # zones: an id or a name of the boundaries, or found by point-in-polygon
    lookup: dict[str, str] = {}
    for zid, name in zip(zones["zone_id"], zones["name"], strict=True):
        lookup.setdefault(str(name).casefold(), str(zid))
        lookup[str(zid).casefold()] = str(zid)
    scratch = Problems()  # lon/lat problems are reported by the checks below
    for i, given in enumerate(filled["zone_id"]):
        if given:
            filled.loc[i, "zone_id"] = lookup.get(given.casefold(), given)
            continue
        lon = parse_real(filled["lon"].iloc[i], scratch, path, "lon", -180, 180)
        lat = parse_real(filled["lat"].iloc[i], scratch, path, "lat", -90, 90)
        # a row that cannot be placed gets the first zone as a stand-in: the placement
        # check below then reports "outside every zone" (or the lon/lat check the value)
        filled.loc[i, "zone_id"] = str(zones["zone_id"].iloc[0])
        if lon is None or lat is None:
            continue
        pt = gpd.GeoSeries(gpd.points_from_xy([lon], [lat]), crs="EPSG:4326").to_crs(zones.crs)
        inside = np.flatnonzero(zones.geometry.distance(pt.iloc[0]).to_numpy() <= POINT_TOLERANCE_M)
        if len(inside):
            filled.loc[i, "zone_id"] = str(zones["zone_id"].iloc[int(inside[0])])
    problems.raise_if_any()
    rows = parse_facility_rows(filled, path, problems, set(map(str, zones["zone_id"])))
    problems.raise_if_any()
    fac = place_facilities(rows, zones, path, problems)
    problems.raise_if_any()
    return fac


def import_region(
    boundaries: str | Path,
    population: str | Path,
    facilities: str | Path,
    out: str | Path,
    name_field: str | None = None,
    id_field: str | None = None,
    hsda_field: str | None = None,
    zone_format: str = "geojson",
    force: bool = False,
    layer: str | None = None,
) -> Path:
    """Write a region folder from a boundary layer, a population table and a facilities table.

    The folder is written as :func:`popsim.region.synth.write_region` does (atomically; an
    existing folder only with ``force`` and only if popsim wrote it) and loaded back
    before it replaces anything.
    """
    bpath, ppath, fpath = Path(boundaries), Path(population), Path(facilities)
    zones = read_boundaries(bpath, name_field, id_field, hsda_field, layer)
    age, age_sources = read_population(ppath, zones)
    keep = age.sum(axis=(1, 2)) > 0
    if not keep.any():
        raise RegionError(ppath, None, "no population for any zone of the boundaries")
    zones = zones[keep].reset_index(drop=True)
    if len(zones) > INT16_MAX:
        raise RegionError(ppath, None, f"{len(zones)} zones; expected at most {INT16_MAX}")
    age = age[keep]
    age_sources = [s for s, k in zip(age_sources, keep, strict=True) if k]
    crs = zones.crs if zones.crs.is_projected else zones.estimate_utm_crs()
    zones = zones.to_crs(crs)
    zones["population"] = age.sum(axis=(1, 2))
    pts = zones.geometry.representative_point()
    zones["x"] = pts.x.to_numpy()
    zones["y"] = pts.y.to_numpy()
    zones["source"] = f"boundaries: {bpath.name}; population: {ppath.name}"
    zones["note"] = "imported by popsim regions import"
    zones = zones[["zone_id", "name", "hsda", "population", "x", "y", "source", "note", "geometry"]]
    fac = read_facilities(fpath, zones)
    outp = Path(os.path.abspath(out))
    region = Region(
        name=outp.name,
        zones=zones,
        age=age,
        facilities=fac,
        zone_facility_minutes=np.zeros((len(zones), len(fac)), dtype=np.float32),
        zone_zone_minutes=np.zeros((len(zones), len(zones)), dtype=np.float32),
        travel=TravelParams(),
        description=f"imported from {bpath.name}, {ppath.name}, {fpath.name}",
    )
    return write_region(
        region,
        outp,
        zone_format=zone_format,
        age_source=age_sources,
        force=force,
        check=load_region,  # raises, naming the file, if anything does not hold
    )
