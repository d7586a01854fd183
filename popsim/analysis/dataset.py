"""Locate, validate and open a run's Parquet dataset.

A run directory holds a Parquet part per table (``facility_day``, ``zone_day`` and
``journeys``), scenario and replicate, and a manifest per complete replicate, laid out as
:mod:`popsim.core.schema` says (the names and patterns used here are its). This module
lists the files (so every query reads only the partitions it needs), checks that the
ensemble is complete enough to analyse and undamaged (each part readable, with the
schema of its table and the row count its manifest records), that it comes from one
configuration and one model version per scenario (a run folder mixing them is refused,
naming the files, or with ``allow_mixed`` analysed with a warning), that no run is
writing to it, and opens DuckDB views over the files.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import duckdb
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq

from popsim.core.schema import (
    ALL_TABLES,
    FACILITY_DAY,
    JOURNEYS,
    MANIFEST_DIR,
    MANIFEST_GLOB,
    PART_FILE,
    PART_GLOB,
    PARTITION_GLOB,
    POPULATION,
    ZONE_DAY,
    partition_dir,
    partition_scenario,
)
from popsim.core.schema import MANIFEST_PATTERN as _MANIFEST
from popsim.core.schema import PART_PATTERN as _PART
from popsim.errors import PopsimError, RunDirError
from popsim.files import run_folder_problems

_SPEC_KEYS = (b"popsim.spec", b"popsim_spec", b"spec", b"popsim.config", b"config")
#: Columns each table's parts must have for the analysis (the recorder writes more).
REQUIRED_COLUMNS: dict[str, tuple[str, ...]] = {
    FACILITY_DAY: ("replicate", "day", "facility", "ward_census", "ward_beds", "icu_census"),
    ZONE_DAY: ("replicate", "day", "zone"),
    JOURNEYS: ("replicate", "day", "event"),
}


@dataclass
class RunDataset:
    """The files of one run directory, by table and scenario.

    Attributes:
        run_dir: the run directory.
        files: ``{table: {scenario: {replicate: path}}}`` for the Parquet parts found.
        scenarios: scenario names in spec order (else sorted), baseline first.
        baseline: the scenario the others are compared with.
        spec: the run spec as a dict (from the manifest or the Parquet metadata), or ``{}``.
        expected_replicates: replicates the spec asks for, if it says.
        warnings: problems that do not stop the analysis (partial ensemble).
    """

    run_dir: Path
    files: dict[str, dict[str, dict[int, Path]]]
    scenarios: list[str]
    baseline: str
    spec: dict[str, Any] = field(default_factory=dict)
    expected_replicates: int | None = None
    warnings: list[str] = field(default_factory=list)

    def replicates(self, scenario: str, table: str = FACILITY_DAY) -> list[int]:
        """Replicate numbers present for ``scenario`` in ``table``."""
        return sorted(self.files.get(table, {}).get(scenario, {}))

    def paths(self, table: str, scenarios: list[str] | None = None) -> list[str]:
        """Parquet files of ``table`` for the given scenarios (all by default)."""
        by_scenario = self.files.get(table, {})
        wanted = self.scenarios if scenarios is None else scenarios
        return [
            str(by_scenario[s][r])
            for s in wanted
            if s in by_scenario
            for r in sorted(by_scenario[s])
        ]

    def read(self, table: str, columns: list[str] | None = None) -> pd.DataFrame | None:
        """``table`` read from the parts found and checked (complete replicates of the
        kept scenarios: never a stray or damaged file), with ``scenario`` and the text
        keys as strings; None when the run has none of it."""
        import pyarrow.dataset as pds

        paths = self.paths(table)
        if not paths:
            return None
        data = pds.dataset(
            paths,
            format="parquet",
            partitioning=pds.HivePartitioning.discover(infer_dictionary=True),
            partition_base_dir=str(self.run_dir / table),
        )
        cols = None if columns is None else ["scenario", *columns]
        frame = data.to_table(columns=cols).to_pandas()
        for col in ("scenario", "facility", "unit", "shift", "zone", "age_band", "sex"):
            if col in frame:
                frame[col] = frame[col].astype(str)
        return frame

    def has(self, table: str) -> bool:
        return bool(self.paths(table))

    @property
    def region_name(self) -> str | None:
        """The region the spec names (a folder name or a path), if any."""
        for key in ("region", "region_name"):
            value = self.spec.get(key)
            if isinstance(value, str) and value:
                return value
            if isinstance(value, dict):
                for sub in ("name", "path"):
                    if isinstance(value.get(sub), str):
                        return value[sub]
        return None

    def load_region(self) -> tuple[Any, str | None]:
        """The run's region, or ``(None, reason)`` when it cannot be loaded."""
        name = self.region_name
        if not name:
            return None, "the run's spec names no region"
        try:
            from popsim.region.load import load_region

            return load_region(name), None
        except (PopsimError, OSError, ValueError, KeyError, ImportError, RuntimeError) as err:
            return None, f"region {name!r} could not be loaded ({err})"

    def connect(self, memory_limit: str = "1GB", threads: int = 2) -> duckdb.DuckDBPyConnection:
        """A DuckDB connection with one view per table over exactly the files found."""
        con = duckdb.connect()
        con.execute(f"SET memory_limit='{memory_limit}'")
        con.execute(f"SET threads={int(threads)}")
        con.execute("SET enable_progress_bar=false")
        # (the raw population snapshots are read through the analysis table of that name)
        for table in (t for t in ALL_TABLES if t != POPULATION):
            paths = self.paths(table)
            if paths:
                con.execute(
                    f"CREATE VIEW {table} AS SELECT * FROM read_parquet({_sql_list(paths)}, "
                    "hive_partitioning=true, hive_types_autocast=false, union_by_name=true)"
                )
        return con


def _sql_list(paths: list[str]) -> str:
    return "[" + ", ".join("'" + p.replace("'", "''") + "'" for p in paths) + "]"


def _scan_table(root: Path) -> dict[str, dict[int, Path]]:
    found: dict[str, dict[int, Path]] = {}
    if not root.is_dir():
        return found
    for sdir in sorted(root.glob(PARTITION_GLOB)):
        name = partition_scenario(sdir.name)
        if not sdir.is_dir() or not name:
            continue
        parts: dict[int, Path] = {}
        for f in sorted(sdir.glob(PART_GLOB)):
            m = _PART.fullmatch(f.name)
            if m:
                parts[int(m.group(1))] = f
        if parts:
            found[name] = parts
    return found


def _scan_manifest(root: Path) -> dict[str, dict[int, dict[str, Any]]]:
    out: dict[str, dict[int, dict[str, Any]]] = {}
    if not root.is_dir():
        return out
    for sdir in sorted(root.glob(PARTITION_GLOB)):
        name = partition_scenario(sdir.name)
        if not sdir.is_dir() or not name:
            continue
        for f in sorted(sdir.glob(MANIFEST_GLOB)):
            m = _MANIFEST.fullmatch(f.name)
            if not m:
                continue
            try:
                doc = json.loads(f.read_text(encoding="utf-8"))
            except (OSError, ValueError) as err:
                raise RunDirError(f"{f}: unreadable manifest ({err})") from None
            if not isinstance(doc, dict):
                raise RunDirError(
                    f"{f}: not a manifest (a JSON object was expected, found "
                    f"{type(doc).__name__}); delete it and rerun `popsim run` to redo "
                    "that replicate"
                )
            doc["_path"] = str(f)
            out.setdefault(name, {})[int(m.group(1))] = doc
    return out


def _as_dict(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return value
    if isinstance(value, (str, bytes)):
        try:
            parsed = json.loads(value)
        except ValueError:
            return {}
        return parsed if isinstance(parsed, dict) else {}
    return {}


def _spec_from_parquet(path: Path) -> dict[str, Any]:
    try:
        meta = pq.read_schema(path).metadata or {}
    except (OSError, ValueError):
        return {}
    for key in _SPEC_KEYS:
        if key in meta:
            spec = _as_dict(meta[key])
            if spec:
                return spec.get("spec", spec) if isinstance(spec.get("spec"), dict) else spec
    for key, value in meta.items():
        if b"spec" in key.lower():
            spec = _as_dict(value)
            if spec:
                return spec
    return {}


def scenario_names(spec: dict[str, Any]) -> list[str]:
    """Scenario names in the order the spec lists them (tolerant of list or table form)."""
    raw = spec.get("scenarios", spec.get("scenario"))
    names: list[str] = []
    if isinstance(raw, dict):
        names = [str(k) for k in raw]
    elif isinstance(raw, list):
        for item in raw:
            if isinstance(item, str):
                names.append(item)
            elif isinstance(item, dict) and "name" in item:
                names.append(str(item["name"]))
    return names


def _expected_replicates(spec: dict[str, Any]) -> int | None:
    for holder in (spec, spec.get("ensemble"), spec.get("run")):
        if isinstance(holder, dict):
            for key in ("replicates", "n_replicates"):
                value = holder.get(key)
                if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                    return value
    return None


def open_run(run_dir: str | Path, warn: bool = True, allow_mixed: bool = False) -> RunDataset:
    """Find and check a run's dataset; raise :class:`RunDirError` when it cannot be analysed.

    Errors: the folder does not exist; it holds no ``facility_day`` Parquet; a scenario the
    spec names (or that has a manifest) has no replicates; a replicate recorded complete in
    the manifest, or present in ``facility_day``, lacks its ``zone_day`` part (or the
    reverse). A partial ensemble (fewer replicates than the spec asks for, or different
    counts per scenario) is analysed with a warning on stderr stating the counts.
    A damaged part (unreadable, another schema, not the rows its manifest records) is an
    error naming it; so are manifests of several configurations or model versions for a
    scenario (a warning instead with ``allow_mixed``), and a run still writing the folder.
    """
    root = Path(run_dir)
    if not root.exists():
        raise RunDirError(f"{root}: run directory does not exist (run `popsim run SPEC` first)")
    if not root.is_dir():
        raise RunDirError(f"{root}: not a directory")
    _check_not_running(root)
    layout = run_folder_problems(root)
    if layout:  # a link leads elsewhere, a FIFO would block the read
        raise RunDirError("\n".join(layout))
    files = {t: _scan_table(root / t) for t in ALL_TABLES}
    manifest = _scan_manifest(root / MANIFEST_DIR)
    if not files[FACILITY_DAY]:
        raise RunDirError(
            f"{root}: no {FACILITY_DAY} data (expected "
            f"{FACILITY_DAY}/{partition_dir('<name>')}/{PART_GLOB}); is the run finished?"
        )
    spec: dict[str, Any] = {}
    for docs in manifest.values():
        for doc in docs.values():
            spec = _as_dict(doc.get("spec"))
            if spec:
                break
        if spec:
            break
    if not spec:
        first = next(iter(next(iter(files[FACILITY_DAY].values())).values()))
        spec = _spec_from_parquet(first)

    problems: list[str] = []
    complete = {
        s: {r for r, doc in docs.items() if doc.get("status", "complete") == "complete"}
        for s, docs in manifest.items()
    }
    for s, done in complete.items():
        lost = sorted(done - set(files[FACILITY_DAY].get(s, {})))
        if lost:
            problems.append(
                f"scenario {s}: manifest lists replicate(s) {_fmt(lost)} complete but "
                f"{FACILITY_DAY}/{partition_dir(s)}/{PART_FILE.format(replicate=lost[0])}"
                + (" and others are" if len(lost) > 1 else " is")
                + " missing"
            )
    notes: list[str] = []
    if manifest:  # the manifest is written last: a part without one is unfinished
        unfinished = {
            s: sorted(set(parts) - complete.get(s, set()))
            for s, parts in files[FACILITY_DAY].items()
        }
        unfinished = {s: rs for s, rs in unfinished.items() if rs}
        if unfinished:
            notes.append(
                "ignored replicate(s) without a complete manifest (unfinished or failed): "
                + "; ".join(f"{s} {_fmt(rs)}" for s, rs in unfinished.items())
            )
        for t in ALL_TABLES:
            files[t] = {
                s: {r: p for r, p in parts.items() if r in complete.get(s, set())}
                for s, parts in files[t].items()
            }
            files[t] = {s: parts for s, parts in files[t].items() if parts}

    found = list(files[FACILITY_DAY])
    order = scenario_names(spec)
    named = order + sorted(set(manifest) - set(order))
    missing = [s for s in named if s not in files[FACILITY_DAY]]
    if missing or not found:
        have = ", ".join(f"{s} ({len(files['facility_day'][s])})" for s in found) or "none"
        raise RunDirError(
            f"{root}: no complete replicates for scenario(s) {', '.join(missing)} "
            f"(complete replicates found: {have}); rerun `popsim run` to complete the ensemble"
        )
    scenarios = [s for s in order if s in files[FACILITY_DAY]]
    scenarios += [s for s in sorted(found) if s not in scenarios]
    baseline = "baseline" if "baseline" in scenarios else scenarios[0]
    scenarios = [baseline] + [s for s in scenarios if s != baseline]

    for s in scenarios:
        fac = set(files[FACILITY_DAY][s])
        if files[ZONE_DAY]:
            zone = set(files[ZONE_DAY].get(s, {}))
            for what, rs in ((ZONE_DAY, fac - zone), (FACILITY_DAY, zone - fac)):
                if rs:
                    problems.append(
                        f"scenario {s}: {what} is missing replicate(s) {_fmt(sorted(rs))}"
                    )
    if problems:
        raise RunDirError(f"{root}: " + "; ".join(problems))
    damaged = _damaged_parts(root, files, manifest)
    if damaged:
        raise RunDirError(
            f"{root}: damaged outputs (rerun `popsim run` on it to redo those replicates): "
            + "; ".join(damaged[:5])
            + (f" and {len(damaged) - 5} more" if len(damaged) > 5 else "")
        )
    mixed = _mixed(manifest, {s: set(files[FACILITY_DAY][s]) for s in scenarios})
    if mixed and not allow_mixed:
        raise RunDirError(
            f"{root}: mixes outputs of different configurations or model versions ("
            + "; ".join(mixed)
            + "); rerun `popsim run --force`, or analyze with --allow-mixed to pool them anyway"
        )
    notes += [f"pooled outputs of different configurations: {m}" for m in mixed]

    ds = RunDataset(
        run_dir=root,
        files=files,
        scenarios=scenarios,
        baseline=baseline,
        spec=spec,
        expected_replicates=_expected_replicates(spec),
        warnings=notes,
    )
    counts = {s: len(files[FACILITY_DAY][s]) for s in scenarios}
    expected = ds.expected_replicates
    short = expected is not None and any(n < expected for n in counts.values())
    if short or len(set(counts.values())) > 1:
        of = f"/{expected}" if expected is not None else ""
        listing = ", ".join(f"{s} {n}{of}" for s, n in counts.items())
        common = set.intersection(*(set(files[FACILITY_DAY][s]) for s in scenarios))
        ds.warnings.append(
            f"partial ensemble in {root}: replicates per scenario: {listing}; "
            f"comparisons with {baseline} use the {len(common)} replicate(s) common to all"
        )
    if warn:
        for w in ds.warnings:
            print(f"popsim: warning: {w}", file=sys.stderr)
    return ds


def _check_not_running(root: Path) -> None:
    """Refuse a folder a live ``popsim run`` holds the lock of (it is being written)."""
    from popsim.files import FolderLock

    lock = FolderLock(root)
    holder = lock.holder()
    if holder is not None and not lock._stale(holder):
        pid, host, since = holder
        raise RunDirError(
            f"{root}: a run is writing to it (process {pid} on {host} since {since}; "
            f"lock file {lock.path}); analyze it when the run has finished"
        )


def _damaged_parts(
    root: Path,
    files: dict[str, dict[str, dict[int, Path]]],
    manifest: dict[str, dict[int, dict[str, Any]]],
) -> list[str]:
    """Parts that cannot be read, lack their table's columns, have another schema than the
    table's other parts, or another row count or configuration than their manifest."""
    problems: list[str] = []
    for scenario, docs in manifest.items():
        for r, doc in docs.items():
            said = (doc.get("scenario", scenario), doc.get("replicate", r))
            if said != (scenario, r):
                problems.append(
                    f"{_rel(root, doc)}: the manifest of scenario {said[0]} replicate "
                    f"{said[1]} (a copy of another replicate's manifest)"
                )
    for table, by_scenario in files.items():
        schemas: dict[Path, pa.Schema] = {}
        for scenario, parts in by_scenario.items():
            for r, path in parts.items():
                try:
                    meta = pq.read_metadata(path)
                    schema = meta.schema.to_arrow_schema()
                except (OSError, pa.ArrowException) as err:
                    reason = str(err).splitlines()[0][:80] if str(err) else type(err).__name__
                    problems.append(
                        f"{path.relative_to(root)}: not a readable Parquet file ({reason})"
                    )
                    continue
                missing = [c for c in REQUIRED_COLUMNS.get(table, ()) if c not in schema.names]
                if missing:
                    problems.append(
                        f"{path.relative_to(root)}: not a {table} part (no column "
                        f"{', '.join(missing)})"
                    )
                    continue
                schemas[path] = schema.remove_metadata()
                doc = manifest.get(scenario, {}).get(r)
                if doc is None:
                    continue
                rows = doc.get("rows", {}).get(table) if isinstance(doc.get("rows"), dict) else None
                if isinstance(rows, int) and meta.num_rows != rows:
                    problems.append(
                        f"{path.relative_to(root)}: {meta.num_rows} rows, its manifest "
                        f"{_rel(root, doc)} records {rows}"
                    )
                owner = _owner(schema.metadata or {})
                if owner is not None and owner != (scenario, r):
                    problems.append(
                        f"{path.relative_to(root)}: written for scenario {owner[0]} replicate "
                        f"{owner[1]} (a copy of another replicate's part)"
                    )
                own = (schema.metadata or {}).get(b"popsim.config_hash")
                if own is not None and doc.get("config_hash") not in (None, own.decode()):
                    problems.append(
                        f"{path.relative_to(root)}: written by configuration {own.decode()}, "
                        f"its manifest {_rel(root, doc)} says {doc.get('config_hash')}"
                    )
        if schemas:
            shapes: dict[str, list[Path]] = {}
            for path, schema in schemas.items():
                shapes.setdefault(schema.to_string(), []).append(path)
            if len(shapes) > 1:
                common = max(shapes.values(), key=len)
                odd = sorted(p for ps in shapes.values() if ps is not common for p in ps)
                problems.append(
                    f"{table}: {len(odd)} part(s) with another schema than the other "
                    f"{len(common)}: " + ", ".join(str(p.relative_to(root)) for p in odd[:5])
                )
    return problems


def _owner(meta: dict[bytes, bytes]) -> tuple[str, int] | None:
    """The scenario and replicate a part's metadata says it was written for (None: it
    does not say, as in parts not written by popsim)."""
    scenario, replicate = meta.get(b"popsim.run.spec"), meta.get(b"popsim.replicate")
    if scenario is None or replicate is None:
        return None
    try:
        return (scenario.decode("utf-8", "replace"), int(replicate))
    except ValueError:
        return (scenario.decode("utf-8", "replace"), -1)


def _rel(root: Path, doc: dict[str, Any]) -> str:
    path = doc.get("_path")
    return str(Path(path).relative_to(root)) if path else MANIFEST_DIR


def _mixed(manifest: dict[str, dict[int, dict[str, Any]]], kept: dict[str, set[int]]) -> list[str]:
    """Per scenario, the configurations and model versions found when more than one."""
    found: list[str] = []
    versions: dict[str, list[str]] = {}
    for scenario, docs in manifest.items():
        hashes: dict[str, list[str]] = {}
        for r, doc in sorted(docs.items()):
            if r not in kept.get(scenario, set()):
                continue
            key = str(doc.get("config_hash", "unknown"))
            hashes.setdefault(key, []).append(Path(str(doc.get("_path", r))).name)
            if "model_version" in doc:
                versions.setdefault(str(doc["model_version"]), []).append(
                    f"{scenario}/{Path(str(doc.get('_path', r))).name}"
                )
        if len(hashes) > 1:
            found.append(
                f"scenario {scenario}: "
                + ", ".join(f"configuration {h} in {_names(ns)}" for h, ns in hashes.items())
            )
    if len(versions) > 1:
        found.append(
            ", ".join(f"model version {v} in {_names(ns)}" for v, ns in sorted(versions.items()))
        )
    return found


def _names(names: list[str], limit: int = 3) -> str:
    more = f" and {len(names) - limit} more" if len(names) > limit else ""
    return ", ".join(names[:limit]) + more


def _fmt(values: list[int], limit: int = 10) -> str:
    text = ", ".join(str(v) for v in values[:limit])
    return text + (f" and {len(values) - limit} more" if len(values) > limit else "")
