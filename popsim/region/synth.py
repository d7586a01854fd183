"""Small synthetic regions for tests and examples (``popsim regions synth``).

Zones are squares on a grid in BC Albers (EPSG:3005); ages follow the approximate
Canadian 2021 shape; facilities sit in the most populous zones.
"""

from __future__ import annotations

import os
import shutil
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path

import numpy as np

from popsim.core.ages import AGE_BANDS, N_AGE_BANDS
from popsim.errors import ParameterError, RegionError
from popsim.region.files import FACILITY_COLUMNS, FACILITY_OPTIONAL, REGION_FILES
from popsim.region.parse import INT32_MAX, largest_remainder
from popsim.region.types import Region, TravelParams, travel_minutes

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
    return largest_remainder(p * int(total), int(total))


def split_age_sex(total: int, rng: np.random.Generator) -> np.ndarray:
    """Split a zone total into ``(N_AGE_BANDS, 2)`` counts that sum exactly to it."""
    shares = CANADA_AGE_SHARES / CANADA_AGE_SHARES.sum()
    female_share = np.linspace(0.49, 0.62, N_AGE_BANDS)  # more women among the old
    p = np.stack([shares * female_share, shares * (1 - female_share)], axis=1).ravel()
    return rng.multinomial(total, p / p.sum()).reshape(N_AGE_BANDS, 2).astype(np.int64)


#: Allowed range of each argument of :func:`synthetic_region` (and ``popsim regions synth``).
#: Zones: travel matrices grow as zones squared (1,000 zones: 4 MB); an assumption, as
#: synthetic regions are small test and teaching regions. Population: region files hold
#: at most 2**31 - 1 residents. Seeds: what numpy's SeedSequence takes, capped at 2**63 - 1.
SYNTH_LIMITS: dict[str, tuple[int, int]] = {
    "n_zones": (1, 1000),
    "population": (1, INT32_MAX),
    "n_facilities": (1, 1000),
    "seed": (0, 2**63 - 1),
}


def check_synth_args(names: dict[str, str] | None = None, **values: object) -> None:
    """Raise :class:`ParameterError` (one line) for the first argument out of range.

    ``values`` are :data:`SYNTH_LIMITS` names; ``names`` maps them to what the user typed
    (such as ``--zones``). Text is accepted if it is a whole number.
    """
    names = names or {}
    numbers: dict[str, int] = {}
    for key, value in values.items():
        lo, hi = SYNTH_LIMITS[key]
        label = names.get(key, key)
        number = None
        if isinstance(value, int | np.integer) and not isinstance(value, bool):
            number = int(value)
        elif isinstance(value, str) and value.strip().lstrip("+-").isdigit():
            number = int(value.strip()) if len(value.strip()) <= 40 else None
        if number is None or not lo <= number <= hi:
            shown = repr(value) if len(repr(value)) <= 40 else repr(value)[:37] + "..."
            raise ParameterError(f"{label}: expected a whole number from {lo} to {hi}, got {shown}")
        numbers[key] = number
    zones, pop, fac = (numbers.get(k) for k in ("n_zones", "population", "n_facilities"))
    if zones is not None and pop is not None and pop < zones:
        raise ParameterError(
            f"{names.get('population', 'population')}: expected at least one resident per "
            f"zone ({zones}), got {pop}"
        )
    if zones is not None and fac is not None and fac > zones:
        raise ParameterError(  # (either may be the default: both are named)
            f"{names.get('n_facilities', 'n_facilities')}: expected at most one facility per "
            f"zone ({names.get('n_zones', 'n_zones')} {zones}), got {fac}"
        )


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

    check_synth_args(n_zones=n_zones, population=population, n_facilities=n_facilities, seed=seed)
    if not (0.1 <= zone_km <= 500 and 0 <= ward_beds_per_1000 <= 100):
        raise ParameterError(
            "expected zone_km from 0.1 to 500 and ward_beds_per_1000 from 0 to 100, "
            f"got {zone_km} and {ward_beds_per_1000}"
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


#: Marker file left in every region folder that :func:`write_region` writes: a folder
#: holding it may be replaced with ``force``; a folder without it never is.
MARKER = ".popsim-region"


def write_region(
    region: Region,
    out: str | Path,
    zone_format: str = "geojson",
    description: str | None = None,
    age_source: str | Sequence[str] = "",
    force: bool = False,
    check: Callable[[Path], object] | None = None,
) -> Path:
    """Write ``region`` as a region folder (format: ``regions/README.md``), atomically.

    The folder is built in a hidden sibling (``.<name>.<random>.tmp-region``), checked
    with ``check(folder)`` if given, flushed to disk and renamed to ``out``: ``out`` is
    never half-written, and a failure leaves it as it was. An existing ``out`` is refused
    unless ``force``; with ``force`` it is replaced only if this function wrote it (it
    holds the :data:`MARKER` file), and files in it that popsim does not write (a README,
    notes) are kept. Raises :class:`RegionError` naming ``out`` when it cannot be written.
    """
    if zone_format not in ("geojson", "gpkg"):
        raise ValueError("zone_format must be 'geojson' or 'gpkg'")
    out = Path(os.path.abspath(out))
    keep = _replaceable(out, force)
    tmp = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.tmp-region"
    try:
        out.parent.mkdir(parents=True, exist_ok=True)
        tmp.mkdir()
        write_region_files(region, tmp, zone_format, description, age_source)
        (tmp / MARKER).write_text(
            "written by popsim (regions synth or regions import); "
            "`--force` may replace this folder\n",
            encoding="utf-8",
        )
        for entry in keep:
            os.link(entry, tmp / entry.name)
        if check is not None:
            check(tmp)
        _fsync_folder(tmp, files=True)
        _swap_in(tmp, out, replace=bool(keep) or out.is_dir())
        _fsync_folder(out.parent)
    except OSError as err:
        raise RegionError(out, None, f"cannot write the region folder ({_reason(err)})") from None
    finally:
        if tmp.is_dir():
            shutil.rmtree(tmp, ignore_errors=True)
    return out


def _reason(err: OSError) -> str:
    return err.strerror or type(err).__name__


def _replaceable(out: Path, force: bool) -> list[Path]:
    """Check that ``out`` may be written; the files to keep from an old folder."""
    if out.name in ("", ".", ".."):
        raise RegionError(out, None, "expected a folder name to write the region to")
    if not (out.exists() or out.is_symlink()):
        return []
    if out.is_symlink() or not out.is_dir():
        raise RegionError(out, None, "exists and is not a folder; expected a new folder name")
    if not force:
        raise RegionError(
            out, None, "already exists; give --force to replace a region folder popsim wrote"
        )
    if not (out / MARKER).is_file():
        raise RegionError(
            out,
            None,
            f"exists and popsim did not write it (no {MARKER} file); not replaced, even with "
            "--force: choose a new folder",
        )
    keep = []
    for entry in sorted(out.iterdir()):
        if entry.name in (*REGION_FILES, MARKER):
            continue
        if entry.is_symlink() or not entry.is_file():
            raise RegionError(
                entry, None, "not a plain file; the folder holds more than a region, not replaced"
            )
        keep.append(entry)
    return keep


def _swap_in(tmp: Path, out: Path, replace: bool) -> None:
    """Rename the finished folder ``tmp`` to ``out`` (replacing the old ``out``)."""
    if not replace:
        os.rename(tmp, out)  # fails if a non-empty ``out`` appeared meanwhile
        return
    old = out.parent / f".{out.name}.{uuid.uuid4().hex[:12]}.old-region"
    os.rename(out, old)
    try:
        os.rename(tmp, out)
    except OSError:
        os.rename(old, out)  # put the old folder back
        raise
    shutil.rmtree(old, ignore_errors=True)


def _fsync_folder(folder: Path, files: bool = False) -> None:
    """Flush a folder's entries (and its files' contents) to disk before a rename."""
    if files:
        for entry in folder.iterdir():
            if entry.is_file():
                with entry.open("rb") as f:
                    os.fsync(f.fileno())
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def write_region_files(
    region: Region,
    folder: Path,
    zone_format: str = "geojson",
    description: str | None = None,
    age_source: str | Sequence[str] = "",
) -> Path:
    """Write the four region files into an existing ``folder``, replacing them in place.

    Not atomic (see :func:`write_region`): for regenerating a region kept under version
    control, such as ``regions/fraser`` by its ``make_fraser.py``. Zones go to
    ``zones.geojson`` (or ``zones.gpkg``) in WGS84 lon/lat; ``age.csv`` has one row per
    zone and band; ``facilities.csv`` one row per site. ``age_source`` labels the age
    rows (one label for all, or one per zone).
    """
    import geopandas as gpd
    import pandas as pd

    if zone_format not in ("geojson", "gpkg"):
        raise ValueError("zone_format must be 'geojson' or 'gpkg'")
    folder = Path(folder)
    t = region.travel
    desc = region.description if description is None else description
    (folder / "region.toml").write_text(
        "\n".join(
            [
                f"name = {_toml_str(region.name)}",
                f"description = {_toml_str(desc)}",
                f"crs = {_toml_str(region.zones.crs.to_string())}",
                f"base_year = {int(region.base_year)}",
                *([f"single_ages = {_toml_str(region.single_ages)}"] if region.single_ages else []),
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
    if "household_size" in zones.columns:  # mean household size (optional)
        cols["household_size"] = zones["household_size"].astype(np.float64)
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
    for col in ("p_refer", "surge_share"):  # a site's own share (empty: the default)
        if col in fac.columns:
            table[col] = ["" if pd.isna(v) else f"{float(v):g}" for v in fac[col]]
    table.to_csv(folder / "facilities.csv", index=False)
    return folder
