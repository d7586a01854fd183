"""A replicate's results -> Arrow tables -> a hive-partitioned Parquet dataset.

The layout of a run folder (``runs/<spec>/``), the tables and their columns are
:mod:`popsim.core.schema`'s. ``scenario`` is the hive partition key (it is not stored inside the files; every
reader that understands hive partitioning, pyarrow, DuckDB, polars, dask, adds it
back); ``replicate`` is a column. Each file's schema metadata carries the effective
spec (JSON), the scenario, the replicate and its seed entropy. Timings are kept out
of the Parquet files (so the same spec and seed give the same bytes of data) and go
into the manifest.

Every file is written to a hidden temporary name in its final folder and renamed
with :func:`os.replace`; the manifest is written last, so "the manifest exists"
means "this replicate is complete".
"""

from __future__ import annotations

import json
import time
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa
import pyarrow.dataset as ds
import pyarrow.parquet as pq

from popsim.core import __version__, schema
from popsim.core.ages import AGE_BANDS, SEXES
from popsim.core.schema import (
    FACILITY_DAY,
    JOURNEYS,
    LTC_DAY,
    LTC_METRICS,
    MANIFEST_DIR,
    MANIFEST_GLOB,
    OPTIONAL_TABLES,
    PARTITION_GLOB,
    POPULATION,
    STAFF_DAY,
    TABLES,
    ZONE_DAY,
    manifest_path,
    part_path,
)
from popsim.files import atomic_write, fence, is_regular_file, write_text

if TYPE_CHECKING:
    from popsim.model import RunResult

#: Columns every ``facility_day`` file has, in this order (the care network may add more).
FACILITY_COLUMNS: tuple[str, ...] = (*schema.FACILITY_KEYS, *schema.FACILITY_METRICS)
#: Columns every ``zone_day`` file has, in this order (modules add theirs after these).
ZONE_COLUMNS: tuple[str, ...] = (*schema.ZONE_KEYS, *schema.ZONE_METRICS)
JOURNEY_COLUMNS: tuple[str, ...] = schema.JOURNEY_COLUMNS
__all__ = ["OPTIONAL_TABLES", "TABLES", "manifest_path", "part_path", "tables", "write_replicate"]
#: Compression of every file (zstd: small and fast to read and write).
COMPRESSION = "zstd"

_EPOCH = date(1970, 1, 1)


# ------------------------------------------------------------------ tables
def _dict_array(
    codes: np.ndarray, names: list[str] | tuple[str, ...], index: pa.DataType
) -> pa.Array:
    codes = np.asarray(codes)
    valid = codes >= 0
    indices = pa.array(
        codes.astype(index.to_pandas_dtype()), type=index, mask=None if valid.all() else ~valid
    )
    return pa.DictionaryArray.from_arrays(indices, pa.array(list(names), type=pa.string()))


def _dates(start: date, days: np.ndarray) -> pa.Array:
    offset = (start - _EPOCH).days
    return pa.array(days.astype(np.int32) + offset, type=pa.int32()).cast(pa.date32())


def facility_table(result: RunResult, replicate: int) -> pa.Table:
    """One row per day and facility: census, beds and flows (int32 counts)."""
    days, n_fac, _ = result.facility_day.shape
    day = np.repeat(np.arange(days, dtype=np.int16), n_fac)
    fac = np.tile(np.arange(n_fac, dtype=np.int16), days)
    columns: dict[str, pa.Array] = {
        "replicate": pa.array(np.full(days * n_fac, replicate, dtype=np.int16)),
        "day": pa.array(day),
        "date": _dates(result.start, day),
        "facility": _dict_array(fac, result.facility_ids, pa.int16()),
    }
    flat = result.facility_day.reshape(days * n_fac, -1)
    metrics = list(result.facility_metrics)
    missing = [c for c in FACILITY_COLUMNS[4:] if c not in metrics]
    if missing:
        raise ValueError(f"the care network does not report facility metrics {missing}")
    ordered = [*FACILITY_COLUMNS[4:], *(m for m in metrics if m not in FACILITY_COLUMNS)]
    for name in ordered:
        columns[name] = pa.array(flat[:, metrics.index(name)].astype(np.int32, copy=False))
    return pa.table(columns)


def zone_table(result: RunResult, replicate: int) -> pa.Table:
    """One row per day, zone and age band: SEIR states and the day's flows."""
    days, n_zones, n_bands, _ = result.zone_day.shape
    per_day = n_zones * n_bands
    day = np.repeat(np.arange(days, dtype=np.int16), per_day)
    zone = np.tile(np.repeat(np.arange(n_zones, dtype=np.int16), n_bands), days)
    band = np.tile(np.arange(n_bands, dtype=np.int8), days * n_zones)
    metrics = tuple(result.zone_metrics)
    flat = result.zone_day.reshape(days * per_day, len(metrics))
    columns: dict[str, pa.Array] = {
        "replicate": pa.array(np.full(days * per_day, replicate, dtype=np.int16)),
        "day": pa.array(day),
        "date": _dates(result.start, day),
        "zone": _dict_array(zone, result.zone_ids, pa.int16()),
        "age_band": _dict_array(band, AGE_BANDS, pa.int8()),
    }
    for i, name in enumerate(metrics):
        columns[name] = pa.array(flat[:, i].astype(np.int32, copy=False))
    return pa.table(columns)


def journey_table(result: RunResult, replicate: int) -> pa.Table:
    """One row per patient event (arrive, admit, move, transfer, discharge, death...)."""
    j = result.journeys
    n = len(j.get("resident_id", ()))
    codes = result.journey_codes

    def col(name: str, dtype: Any) -> np.ndarray:
        return np.asarray(j[name], dtype=dtype) if n else np.zeros(0, dtype=dtype)

    return pa.table(
        {
            "replicate": pa.array(np.full(n, replicate, dtype=np.int16)),
            "resident_id": pa.array(col("resident_id", np.int32)),
            "day": pa.array(col("day", np.int16)),
            "event": _dict_array(col("event", np.int8), codes.get("event", ()), pa.int8()),
            "facility": _dict_array(col("facility", np.int16), result.facility_ids, pa.int16()),
            "unit": _dict_array(col("unit", np.int8), codes.get("unit", ()), pa.int8()),
        }
    )


def staff_table(result: RunResult, replicate: int) -> pa.Table:
    """One row per day, site, unit and shift: nurses rostered, absent, required, staffed."""
    from popsim.staffing.module import STAFF_METRICS

    s = result.staff_day or {}
    n = len(s["day"])
    columns: dict[str, pa.Array] = {
        "replicate": pa.array(np.full(n, replicate, dtype=np.int16)),
        "day": pa.array(np.asarray(s["day"], dtype=np.int16)),
        "date": _dates(result.start, np.asarray(s["day"])),
        "facility": _dict_array(s["facility"], result.facility_ids, pa.int16()),
        "unit": _dict_array(s["unit"], s["unit_names"], pa.int8()),
        "shift": _dict_array(s["shift"], s["shift_names"], pa.int8()),
    }
    for i, name in enumerate(STAFF_METRICS):
        columns[name] = pa.array(s["metrics"][:, i].astype(np.int32, copy=False))
    columns["labour_cost"] = pa.array(np.asarray(s["labour_cost"], dtype=np.float64))
    return pa.table(columns)


def ltc_table(result: RunResult, replicate: int) -> pa.Table:
    """One row per day and zone: long-term care, its wait list and the ALC patients."""
    rows = np.asarray(result.ltc_day)
    days, n_zones, _ = rows.shape
    day = np.repeat(np.arange(days, dtype=np.int16), n_zones)
    zone = np.tile(np.arange(n_zones, dtype=np.int16), days)
    columns: dict[str, pa.Array] = {
        "replicate": pa.array(np.full(days * n_zones, replicate, dtype=np.int16)),
        "day": pa.array(day),
        "date": _dates(result.start, day),
        "zone": _dict_array(zone, result.zone_ids, pa.int16()),
    }
    flat = rows.reshape(days * n_zones, len(LTC_METRICS))
    for i, name in enumerate(LTC_METRICS):
        columns[name] = pa.array(flat[:, i].astype(np.int32, copy=False))
    return pa.table(columns)


def population_table(result: RunResult, replicate: int) -> pa.Table:
    """One row per snapshot (the first day, then each 1 January), zone, age band and sex:
    the living residents."""
    snap = result.population or {}
    counts = np.asarray(snap.get("counts", np.zeros((0, len(result.zone_ids), 10, 2))))
    n_snap, n_zones, n_bands, n_sexes = counts.shape
    per = n_zones * n_bands * n_sexes
    days = np.repeat(np.asarray(snap.get("day", []), dtype=np.int64), per)
    dates = [result.start.toordinal() + int(d) for d in days]
    years = np.array([date.fromordinal(o).year for o in dates], dtype=np.int16)
    zone = np.tile(np.repeat(np.arange(n_zones), n_bands * n_sexes), n_snap)
    band = np.tile(np.repeat(np.arange(n_bands), n_sexes), n_snap * n_zones)
    sex = np.tile(np.arange(n_sexes), n_snap * n_zones * n_bands)
    n = len(days)
    return pa.table(
        {
            "replicate": pa.array(np.full(n, replicate, dtype=np.int16)),
            "year": pa.array(years),
            "date": _dates(result.start, days),
            "zone": _dict_array(zone, result.zone_ids, pa.int16()),
            "age_band": _dict_array(band, AGE_BANDS, pa.int8()),
            "sex": _dict_array(sex, SEXES, pa.int8()),
            "residents": pa.array(counts.reshape(-1).astype(np.int32)),
        }
    )


def tables(result: RunResult, replicate: int) -> dict[str, pa.Table]:
    """The output tables of one replicate (``staff_day`` only with staffing on, ``ltc_day``
    only with long-term care on)."""
    out = {
        FACILITY_DAY: facility_table(result, replicate),
        ZONE_DAY: zone_table(result, replicate),
        JOURNEYS: journey_table(result, replicate),
    }
    if result.staff_day is not None:
        out[STAFF_DAY] = staff_table(result, replicate)
    if result.ltc_day is not None:
        out[LTC_DAY] = ltc_table(result, replicate)
    if result.population is not None:
        out[POPULATION] = population_table(result, replicate)
    return out


# ----------------------------------------------------------------- writing
def write_replicate(
    out: str | Path,
    result: RunResult,
    scenario: str,
    replicate: int,
    metadata: dict[str, str],
    manifest: dict[str, Any],
    started: float | None = None,
    token: str | None = None,
) -> dict[str, Any]:
    """Write the three tables of a replicate, then its manifest (last). Returns the manifest.

    Every path is resolved inside ``out`` by :func:`popsim.files.output_path` (no link
    followed, no special file replaced). With ``token`` (the run's lock token), each
    rename first checks that the folder's lock still carries it, so a task orphaned by a
    killed client writes nothing once another run holds the folder.

    ``metadata`` goes into every file's schema metadata (keys prefixed ``popsim.``);
    ``manifest`` is extended with status, row counts, file paths and write time (and the
    replicate's total seconds if ``started``, a :func:`time.perf_counter` value, is given).
    """
    t0 = time.perf_counter()
    check = fence(out, token) if token is not None else None
    meta = {f"popsim.{k}": str(v) for k, v in metadata.items()}
    meta["popsim.run.spec"] = scenario
    meta["popsim.replicate"] = str(replicate)
    meta["popsim.version"] = __version__
    rows: dict[str, int] = {}
    files: dict[str, str] = {}
    for name, table in tables(result, replicate).items():
        table = table.replace_schema_metadata({**meta, "popsim.table": name})
        path = part_path(out, name, scenario, replicate)
        atomic_write(
            path,
            lambda tmp, t=table: pq.write_table(t, tmp, compression=COMPRESSION),
            root=out,
            fence=check,
        )
        rows[name] = table.num_rows
        files[name] = path.relative_to(out).as_posix()
    seconds = dict(manifest.get("seconds", {}))
    seconds["write"] = time.perf_counter() - t0
    if started is not None:
        seconds["total"] = time.perf_counter() - started
    full = {
        **manifest,
        "scenario": scenario,
        "replicate": replicate,
        "version": __version__,
        "status": "complete",
        "rows": rows,
        "files": files,
        "seconds": seconds,
    }
    text = json.dumps(full, indent=1, default=str)
    write_text(manifest_path(out, scenario, replicate), text, root=out, fence=check)
    return full


# ----------------------------------------------------------------- reading
def read_manifest(out: str | Path, scenario: str, replicate: int) -> dict[str, Any] | None:
    """The manifest of a replicate, or None if absent, unreadable, not a regular file (a
    FIFO would block the read) or another replicate's (a copy: it names its own
    scenario and replicate)."""
    path = manifest_path(out, scenario, replicate)
    if not is_regular_file(path):
        return None
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, json.JSONDecodeError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    if doc.get("scenario") != scenario or doc.get("replicate") != replicate:
        return None
    return doc


def part_owner(path: str | Path) -> tuple[str | None, int | None]:
    """The scenario and replicate a part's own metadata says it belongs to (None where it
    does not say)."""
    meta = pq.read_schema(path).metadata or {}
    scenario = meta.get(b"popsim.run.spec")
    replicate = meta.get(b"popsim.replicate")
    try:
        number = int(replicate) if replicate is not None else None
    except ValueError:
        number = None
    return (scenario.decode("utf-8", "replace") if scenario is not None else None, number)


def replicate_complete(
    out: str | Path, scenario: str, replicate: int, config_hash: str | None = None
) -> dict[str, Any] | None:
    """The manifest if the replicate's outputs are complete (and match ``config_hash``):
    the manifest names this scenario and replicate, and each part is a regular file at
    its own place, written for this scenario and replicate, with the rows recorded."""
    manifest = read_manifest(out, scenario, replicate)
    if manifest is None or manifest.get("status") != "complete":
        return None
    if config_hash is not None and manifest.get("config_hash") != config_hash:
        return None
    files = manifest.get("files", {})
    if not isinstance(files, dict):
        return None
    written = [t for t in OPTIONAL_TABLES if t in files]
    for name in (*TABLES, *written):
        path = part_path(out, name, scenario, replicate)
        if files.get(name) != path.relative_to(out).as_posix() or not is_regular_file(path):
            return None
        try:
            if pq.read_metadata(path).num_rows != manifest["rows"][name]:
                return None
            if part_owner(path) != (scenario, replicate):
                return None
        except (OSError, KeyError, TypeError, pa.ArrowInvalid):
            return None
    return manifest


def manifests(out: str | Path) -> list[dict[str, Any]]:
    """Every manifest in a run folder, sorted by scenario and replicate (regular files
    only: a FIFO would block the read)."""
    found = []
    for path in sorted((Path(out) / MANIFEST_DIR).glob(f"{PARTITION_GLOB}/{MANIFEST_GLOB}")):
        if not is_regular_file(path):
            continue
        try:
            doc = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError, UnicodeDecodeError):
            continue
        if isinstance(doc, dict):  # anything else is not a manifest popsim wrote
            found.append(doc)
    return found


def dataset(out: str | Path, table: str) -> ds.Dataset:
    """A pyarrow dataset over one table of a run folder (``scenario`` as a dictionary column)."""
    part = ds.HivePartitioning.discover(infer_dictionary=True)
    return ds.dataset(Path(out) / table, format="parquet", partitioning=part)


def read_table(out: str | Path, table: str, **kwargs: Any) -> pa.Table:
    """One whole table of a run folder (all scenarios and replicates)."""
    return dataset(out, table).to_table(**kwargs)
