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
checked with :func:`popsim.region.load_region` before returning.
"""

from __future__ import annotations

import re
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

from popsim.errors import RegionError
from popsim.region import AGE_BANDS, N_AGE_BANDS, Region, TravelParams, load_region
from popsim.synth import CANADA_FEMALE_SHARES, national_age_split, write_region

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
    if not path.is_file():
        raise RegionError(path, None, "missing file")
    try:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        raise RegionError(path, None, f"not a readable CSV table ({err})") from None
    table.columns = [str(c).strip() for c in table.columns]
    return table.apply(lambda s: s.str.strip())


def _count(text: str, path: Path, where: str) -> int:
    t = str(text).replace(",", "").strip()
    if re.fullmatch(r"\d+(\.0+)?", t):
        return int(float(t))
    raise RegionError(path, where, f"expected a whole number >= 0, got {text!r}")


def read_boundaries(
    path: Path, name_field: str | None, id_field: str | None, hsda_field: str | None
):
    """Zones as a GeoDataFrame (zone_id, name, hsda, geometry) in the layer's CRS."""
    import geopandas as gpd
    import shapely

    if not path.exists():
        raise RegionError(path, None, "missing file")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)
            raw = gpd.read_file(path)
    except (RuntimeError, OSError, ValueError) as err:
        raise RegionError(path, None, f"not a readable vector layer ({err})") from None
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
    for i, row in enumerate(table.to_dict("records")):
        line = f"line {i + 2}"
        zi = lookup.get(str(row[key]).casefold(), lookup.get(slug(row[key])))
        if zi is None:
            raise RegionError(path, f"{line}, {key}", f"zone {row[key]!r} not in the boundaries")
        sex = None
        if sex_col:
            s = str(row[sex_col]).casefold()
            if s in _TOTAL:
                continue
            if s not in _FEMALE | _MALE:
                raise RegionError(
                    path, f"{line}, {sex_col}", f"expected F or M, got {row[sex_col]!r}"
                )
            sex = 0 if s in _FEMALE else 1
        if has_sexcols:
            counts = [_count(row[c], path, f"{line}, {c}") for c in ("female", "male")]
        else:
            counts = [_count(row[count_col], path, f"{line}, {count_col}")]
        totals[zi] += sum(counts)
        if band_col is None:
            continue
        if str(row[band_col]).casefold() in _TOTAL | {""}:
            totals[zi] -= sum(counts)  # a total row next to band rows
            continue
        b = band_index(row[band_col])
        if b is None:
            raise RegionError(
                path,
                f"{line}, {band_col}",
                f"got {row[band_col]!r}; expected bands like {AGE_BANDS}",
            )
        if has_sexcols:
            by_band[zi, b] += counts
        elif sex is not None:
            by_band[zi, b, sex] += counts[0]
        else:  # both sexes: split by the national female share of the band
            by_band[zi, b] += counts[0] * np.array(
                [CANADA_FEMALE_SHARES[b], 1 - CANADA_FEMALE_SHARES[b]]
            )
    age = np.zeros((z, N_AGE_BANDS, 2), dtype=np.int64)
    sources: list[str] = []
    for zi in range(z):
        if band_col is None:
            age[zi] = national_age_split(int(totals[zi]))
            sources.append(f"{path.name}: totals; age/sex split is a national-shape stand-in")
            continue
        exact = by_band[zi].ravel()
        counts = np.floor(exact + 1e-9).astype(np.int64)
        short = int(round(exact.sum())) - int(counts.sum())
        counts[np.argsort(-(exact - counts), kind="stable")[: max(short, 0)]] += 1
        age[zi] = counts.reshape(N_AGE_BANDS, 2)
        how = "by band and sex" if (sex_col or has_sexcols) else "by band; sex split national"
        sources.append(f"{path.name}: {how}")
    return age, sources


def read_facilities(path: Path, zones, crs) -> pd.DataFrame:
    """Facilities table in the format of ``facilities.csv`` with zone index and x, y."""
    import geopandas as gpd

    table = _read_table(path)
    for col in ("name", "lon", "lat"):
        if col not in table.columns:
            raise RegionError(path, f"column {col}", "missing column")
    if "ward_beds" not in table.columns and "beds" not in table.columns:
        raise RegionError(path, "column ward_beds", "missing column (or beds)")
    n = len(table)
    if n == 0:
        raise RegionError(path, None, "no facilities")

    def col(name: str, default: str) -> pd.Series:
        return table[name] if name in table.columns else pd.Series([default] * n)

    try:
        lon = table["lon"].astype(float).to_numpy()
        lat = table["lat"].astype(float).to_numpy()
    except ValueError:
        raise RegionError(path, "lon/lat", "expected numbers in degrees") from None
    pts = gpd.GeoSeries(gpd.points_from_xy(lon, lat), crs="EPSG:4326").to_crs(crs)
    lookup = {}
    for i, (zid, name) in enumerate(zip(zones["zone_id"], zones["name"], strict=True)):
        lookup[str(zid).casefold()] = i
        lookup[str(name).casefold()] = i
    zone_of = []
    for i, (given, pt) in enumerate(zip(col("zone_id", ""), pts, strict=True)):
        if given:
            zi = lookup.get(given.casefold())
            if zi is None:
                raise RegionError(path, f"line {i + 2}, zone_id", f"unknown zone {given!r}")
        else:
            inside = np.flatnonzero(zones.geometry.distance(pt).to_numpy() <= 1.0)
            if len(inside) == 0:
                raise RegionError(
                    path, f"line {i + 2}, lon/lat", "facility lies outside every zone"
                )
            zi = int(inside[0])
        zone_of.append(zi)
    icu = [
        _count(v or "0", path, f"line {i + 2}, icu_beds")
        for i, v in enumerate(col("icu_beds", "0"))
    ]
    if "ward_beds" in table.columns:
        ward = [
            _count(v, path, f"line {i + 2}, ward_beds") for i, v in enumerate(table["ward_beds"])
        ]
    else:
        beds = [_count(v, path, f"line {i + 2}, beds") for i, v in enumerate(table["beds"])]
        ward = [max(b - c, 0) for b, c in zip(beds, icu, strict=True)]
    ed = col("ed_spaces", "")
    return pd.DataFrame(
        {
            "facility_id": [
                f or slug(nm) for f, nm in zip(col("facility_id", ""), table["name"], strict=True)
            ],
            "name": table["name"],
            "zone_id": [zones["zone_id"].iloc[z] for z in zone_of],
            "zone": np.asarray(zone_of, dtype=np.int64),
            "x": pts.x.to_numpy(),
            "y": pts.y.to_numpy(),
            "lon": lon,
            "lat": lat,
            "ward_beds": np.asarray(ward, dtype=np.int64),
            "icu_beds": np.asarray(icu, dtype=np.int64),
            "has_ed": [
                v.casefold() not in {"false", "no", "0", "n", "f"} for v in col("has_ed", "true")
            ],
            "role": col("role", "community").replace("", "community"),
            "status": col("status", "open").replace("", "open"),
            "open_date": col("open_date", ""),
            "close_date": col("close_date", ""),
            "ed_spaces": pd.array([int(v) if v.isdigit() else None for v in ed], dtype="Int64"),
            "source": col("source", f"{path.name}"),
            "note": col("note", ""),
        }
    )


def import_region(
    boundaries: str | Path,
    population: str | Path,
    facilities: str | Path,
    out: str | Path,
    name_field: str | None = None,
    id_field: str | None = None,
    hsda_field: str | None = None,
    zone_format: str = "geojson",
) -> Path:
    """Write a region folder from a boundary layer, a population table and a facilities table."""
    bpath, ppath, fpath = Path(boundaries), Path(population), Path(facilities)
    zones = read_boundaries(bpath, name_field, id_field, hsda_field)
    age, age_sources = read_population(ppath, zones)
    keep = age.sum(axis=(1, 2)) > 0
    if not keep.any():
        raise RegionError(ppath, None, "no population for any zone of the boundaries")
    zones = zones[keep].reset_index(drop=True)
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
    fac = read_facilities(fpath, zones, crs)
    outp = Path(out)
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
    folder = write_region(region, outp, zone_format=zone_format, age_source=age_sources)
    load_region(folder)  # raises, naming the written file, if anything does not hold
    return folder
