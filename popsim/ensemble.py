"""Ensembles: a spec's scenarios x replicates as tasks on a Dask cluster.

- By default a :class:`distributed.LocalCluster` of worker processes (one thread each,
  as many as cores, bound to 127.0.0.1); ``scheduler="tcp://host:port"`` uses an
  existing cluster (dask-jobqueue, Kubernetes, ``dask scheduler`` + ``dask worker``).
- Seeds: replicate ``r`` of every scenario runs from ``SeedSequence(seed,
  spawn_key=(r,))``: common random numbers, so a difference between scenarios is the
  intervention's, not noise.
- Each task loads the region, runs one replicate, writes its Parquet files and then
  its manifest from the worker (:mod:`popsim.record`), and returns a small summary.
- Retries: a task whose worker dies is rescheduled by Dask; a task that raises is
  retried twice. Files are written atomically, so a crash never leaves a half file.
- Resume: a replicate whose manifest exists, matches the spec and whose files are
  complete is skipped; ``force=True`` reruns everything. Outputs of a different
  configuration in the output folder are never silently replaced: that is an
  :class:`OutputConflict` unless ``force=True``.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import sys
import time
import uuid
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim import __version__, record
from popsim.core import capacity
from popsim.errors import PopsimError
from popsim.files import remove_temp_files, write_text
from popsim.scenario import RunSpec, load_spec

if TYPE_CHECKING:
    from distributed import Client, LocalCluster

    from popsim.model import RunResult


class EnsembleError(RuntimeError):
    """Some replicates failed (a model error, not bad input); the others were written."""


#: How often Dask retries a task that raised (a dead worker is handled by the scheduler).
RETRIES = 2


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate``: the same for every scenario (common random numbers)."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def config_hash(spec: RunSpec, scenario: str) -> str:
    """A digest of everything that determines one scenario's replicates (not their count)."""
    data = spec.model_dump(
        mode="json",
        exclude={"name", "description", "replicates", "scenarios", "analysis", "calibration"},
    )
    data["scenario"] = spec.scenarios[scenario].model_dump(mode="json")
    data["region_files"] = _region_digest(spec)
    data["version"] = __version__  # a new model version redoes the replicates
    text = json.dumps(data, sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


def _region_digest(spec: RunSpec) -> str:
    """A digest of the region folder's data files (changing them redoes the replicates)."""
    from popsim.region import resolve_region

    folder = resolve_region(spec.region_ref())
    digest = hashlib.sha256()
    for path in sorted(folder.iterdir()):
        if path.is_file() and path.suffix in (".toml", ".csv", ".geojson", ".gpkg", ".json"):
            digest.update(path.name.encode("utf-8"))
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


# ------------------------------------------------------------------ summary
def summarize(result: RunResult) -> dict[str, Any]:
    """Small per-replicate figures for the end-of-run summary: peak region census
    (ward + ICU + ALC over all sites) and, per site, days over capacity and bed-days over.

    Over capacity is :mod:`popsim.core.capacity`'s definition, the one the analysis
    tables use: a unit's bed demand above its funded beds (a closed site has none). Bed
    demand is ``ward_demand``/``icu_demand`` when the care network records them, else
    ward census + ALC + ED boarding and ICU census.
    """
    metrics = list(result.facility_metrics)
    fd = result.facility_day

    def col(name: str) -> np.ndarray:
        return fd[:, :, metrics.index(name)].astype(np.int64)

    ward, icu, alc = col("ward_census"), col("icu_census"), col("alc_census")
    census = (ward + icu + alc).sum(axis=1)
    is_open = (col("open") > 0) if "open" in metrics else np.ones_like(ward, dtype=bool)
    ward_beds, icu_beds = col("ward_beds") * is_open, col("icu_beds") * is_open
    if "ward_demand" in metrics and "icu_demand" in metrics:
        ward_demand, icu_demand = col("ward_demand"), col("icu_demand")
    else:
        ward_demand, icu_demand = ward + alc + col("ed_boarding"), icu
    over = capacity.site_is_over(ward_demand, ward_beds, icu_demand, icu_beds)
    days_over = over.sum(axis=0)
    bed_days = capacity.site_excess(ward_demand, ward_beds, icu_demand, icu_beds).sum(axis=0)
    peak_day = int(np.argmax(census)) if len(census) else 0
    return {
        "peak_census": int(census[peak_day]) if len(census) else 0,
        "peak_day": peak_day,
        "funded_beds": int((ward_beds + icu_beds)[peak_day].sum()) if len(census) else 0,
        "days_over": {
            fid: int(n) for fid, n in zip(result.facility_ids, days_over, strict=True) if n
        },
        "bed_days_over": {
            fid: int(n) for fid, n in zip(result.facility_ids, bed_days, strict=True) if n
        },
        "ed_boarding_peak": int(col("ed_boarding").sum(axis=1).max()) if len(census) else 0,
    }


def format_summary(spec: RunSpec, found: list[dict[str, Any]], out: Path) -> str:
    """One screen: per scenario, peak census over replicates and the sites over capacity
    (bed demand above funded beds, :mod:`popsim.core.capacity`)."""
    import textwrap

    lines = [f"outputs: {out}  ({len(found)} replicates)"]
    for scenario in spec.scenarios:
        ms = [m for m in found if m.get("scenario") == scenario and "summary" in m]
        if not ms:
            lines.append(f"  {scenario}: no complete replicates")
            continue
        peaks = np.array([m["summary"]["peak_census"] for m in ms])
        board = np.array([m["summary"]["ed_boarding_peak"] for m in ms])
        beds = ms[0]["summary"]["funded_beds"]
        lines.append(f"  {scenario} ({len(ms)} replicates)")
        lines.append(
            f"    peak region census {peaks.mean():,.0f} (range {peaks.min():,}-{peaks.max():,})"
            f" vs {beds:,} funded beds; peak ED boarding {board.mean():,.0f}"
        )
        days: dict[str, list[int]] = {}
        for m in ms:
            for fid, n in m["summary"]["days_over"].items():
                days.setdefault(fid, []).append(n)
        if not days:
            lines.append("    no site over capacity (bed demand above funded beds)")
            continue
        ranked = sorted(days.items(), key=lambda kv: -sum(kv[1]))
        shown = ", ".join(
            f"{fid} {sum(v) / len(ms):.0f}"
            + (f" ({len(v)}/{len(ms)} replicates)" if len(v) < len(ms) else "")
            for fid, v in ranked[:10]
        )
        more = f" and {len(ranked) - 10} more" if len(ranked) > 10 else ""
        text = (
            "sites over capacity (bed demand above funded beds; mean days of "
            f"{spec.days}): {shown}{more}"
        )
        lines.extend(
            textwrap.wrap(text, width=100, initial_indent="    ", subsequent_indent="      ")
        )
    return "\n".join(lines)


# ------------------------------------------------------------------- tasks
def run_replicate(
    spec: RunSpec, scenario: str, replicate: int, out: str, digest: str
) -> dict[str, Any]:
    """Run one replicate on this process and write its outputs; returns its manifest."""
    from popsim.model import RegionModel
    from popsim.twin import uncertainty

    t0 = time.perf_counter()
    region = spec.load_region()
    drawn = uncertainty.replicate_values(spec, scenario, replicate)  # {}: no distributions
    config = uncertainty.apply(spec, scenario, drawn).model_config_for(scenario, region)
    seed = replicate_seed(spec.seed, replicate)
    t_region = time.perf_counter() - t0
    model = RegionModel(region, config, seed)
    try:
        result = model.run()
    finally:
        model.release()
    t_model = time.perf_counter() - t0 - t_region
    seconds = {"load_region": t_region, "model": t_model}
    seconds.update({f"model.{k}": v for k, v in result.seconds.items()})
    metadata = {
        "spec": spec.to_json(),
        "seed": str(spec.seed),
        "seed_entropy": str(seed.entropy),
        "spawn_key": json.dumps(list(seed.spawn_key)),
        "region": region.name,
        "config_hash": digest,
    }
    manifest = {
        "spec": json.loads(spec.to_json()),
        "seed_entropy": str(seed.entropy),
        "spawn_key": list(seed.spawn_key),
        "config_hash": digest,
        "region": region.name,
        "n_residents": int(result.n_residents),
        "summary": summarize(result),
        "parameters": drawn,
        "seconds": seconds,
        "host": os.uname().nodename if hasattr(os, "uname") else "",
        "pid": os.getpid(),
    }
    return record.write_replicate(out, result, scenario, replicate, metadata, manifest, t0)


# ----------------------------------------------------------------- clients
def local_cluster(n_workers: int | None = None) -> LocalCluster:
    """A LocalCluster of single-threaded worker processes on 127.0.0.1 (no dashboard)."""
    import logging

    from distributed import LocalCluster

    with warnings.catch_warnings():  # "port 8787 in use": another cluster's status page
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        return LocalCluster(
            n_workers=n_workers or os.cpu_count() or 1,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=logging.ERROR,
        )


@contextmanager
def _client(workers: int | None, scheduler: str | None, n_tasks: int) -> Iterator[Client]:
    from distributed import Client

    if scheduler:
        client = Client(scheduler)
        try:
            yield client
        finally:
            client.close()
        return
    cluster = local_cluster(max(1, min(workers or os.cpu_count() or 1, n_tasks)))
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


def _remove_replicate(out: Path, scenario: str, replicate: int) -> None:
    record.manifest_path(out, scenario, replicate).unlink(missing_ok=True)  # manifest first
    for table in (*record.TABLES, *record.OPTIONAL_TABLES):
        record.part_path(out, table, scenario, replicate).unlink(missing_ok=True)


def _stale(out: Path, spec: RunSpec, hashes: dict[str, str]) -> list[tuple[str, int | None]]:
    """Outputs in ``out`` from a different configuration: replicates whose manifest has
    another config hash, and scenarios the spec no longer has (replicate None)."""
    found: list[tuple[str, int | None]] = []
    for m in record.manifests(out):
        scenario, replicate = m.get("scenario"), m.get("replicate")
        if (
            isinstance(scenario, str)
            and isinstance(replicate, int)
            and scenario in spec.scenarios
            and hashes[scenario] != m.get("config_hash")
        ):
            found.append((scenario, replicate))
    gone = {
        folder.name.split("=", 1)[1]
        for table in (*record.TABLES, *record.OPTIONAL_TABLES, "manifest")
        for folder in (out / table).glob("scenario=*")
        if folder.is_dir() and folder.name.split("=", 1)[1] not in spec.scenarios
    }
    return found + [(name, None) for name in sorted(gone)]


def _remove(out: Path, stale: list[tuple[str, int | None]]) -> None:
    for scenario, replicate in stale:
        if replicate is not None:
            _remove_replicate(out, scenario, replicate)
            continue
        for table in (*record.TABLES, *record.OPTIONAL_TABLES, "manifest"):
            folder = out / table / f"scenario={scenario}"
            if folder.is_dir():
                shutil.rmtree(folder)


def _remove_orphans(out: Path) -> int:
    """Delete part files of replicates that have no manifest (never completed)."""
    n = 0
    for table in (*record.TABLES, *record.OPTIONAL_TABLES):
        for part in (out / table).glob("scenario=*/part-*.parquet"):
            scenario = part.parent.name.split("=", 1)[1]
            replicate = int(part.stem.split("-", 1)[1])
            if not record.manifest_path(out, scenario, replicate).exists():
                part.unlink()
                n += 1
    return n


class OutputConflict(PopsimError):
    """The output folder holds outputs of a different configuration (use --force or --out)."""


# -------------------------------------------------------------------- runs
@dataclass
class EnsembleRun:
    """What :func:`run_spec` did: where, how many replicates ran and were skipped."""

    out: Path
    spec: RunSpec
    n_run: int = 0
    n_skipped: int = 0
    seconds: float = 0.0
    manifests: list[dict[str, Any]] = field(default_factory=list)


def default_out(spec_path: str | Path) -> Path:
    """``runs/fraser.toml`` -> ``runs/fraser`` (beside the spec)."""
    return Path(spec_path).with_suffix("")


def run_spec(
    spec_path: str | Path,
    replicates: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    days: int | None = None,
    population: int | None = None,
    out: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> EnsembleRun:
    """Run every scenario x replicate of a spec; write the dataset; print a summary.

    The spec is fully checked against its region before anything runs
    (:class:`popsim.errors.SpecError` on any problem).
    """
    from tqdm import tqdm

    t0 = time.perf_counter()
    spec = load_spec(spec_path).with_overrides(days, population, replicates)
    region = spec.load_region()
    spec.check(region)
    if region.staffing is None and any(spec.params("staffing", s) for s in spec.scenarios):
        print(f"staffing: region {region.name} has no staffing.csv; no staffing limits")
    out_dir = Path(out) if out is not None else default_out(spec_path)
    out_dir.mkdir(parents=True, exist_ok=True)
    remove_temp_files(out_dir)
    hashes = {s: config_hash(spec, s) for s in spec.scenarios}
    stale = _stale(out_dir, spec, hashes)
    if stale and not force:
        shown = ", ".join(f"{sc}/{r}" if r is not None else sc for sc, r in stale[:6])
        more = f" and {len(stale) - 6} more" if len(stale) > 6 else ""
        raise OutputConflict(
            f"{out_dir}: holds outputs of a different configuration ({shown}{more}: other days,"
            " population, seed, parameters, events or popsim version, or scenarios no longer"
            " in the spec); use --force to replace them or --out DIR to keep both"
        )
    _remove(out_dir, stale)

    todo: list[tuple[str, int]] = []
    done: dict[tuple[str, int], dict[str, Any]] = {}
    for scenario in spec.scenarios:
        for r in range(spec.replicates):
            m = None if force else record.replicate_complete(out_dir, scenario, r, hashes[scenario])
            if m is None:
                todo.append((scenario, r))
            else:
                done[(scenario, r)] = m
    n_skipped = len(done)
    failed: list[tuple[tuple[str, int], BaseException]] = []
    if todo:
        from distributed import as_completed

        target = str(out_dir.resolve())
        token = uuid.uuid4().hex[:8]
        with _client(workers, scheduler, len(todo)) as client:
            futures = [
                client.submit(
                    run_replicate,
                    spec,
                    scenario,
                    r,
                    target,
                    hashes[scenario],
                    key=f"popsim-{spec.name}-{scenario}-{r:04d}-{token}",
                    pure=False,
                    retries=RETRIES,
                )
                for scenario, r in todo
            ]
            keys = {f.key: task for f, task in zip(futures, todo, strict=True)}
            bar = tqdm(
                as_completed(futures),
                total=len(futures),
                desc=f"{spec.name}",
                unit="replicate",
                disable=not progress,
                file=sys.stderr,
            )
            for future in bar:
                try:
                    m = future.result()
                except Exception as err:  # failed after its retries: report, keep the others
                    failed.append((keys[future.key], err))
                    continue
                done[(m["scenario"], m["replicate"])] = m
    remove_temp_files(out_dir)
    _remove_orphans(out_dir)
    _write_run_info(out_dir, spec, hashes)
    found = [done[k] for k in sorted(done, key=lambda k: (list(spec.scenarios).index(k[0]), k[1]))]
    seconds = time.perf_counter() - t0
    print(
        f"{spec.name}: ran {len(todo) - len(failed)} replicates"
        f" ({n_skipped} already complete) in {seconds:.0f} s"
    )
    print(format_summary(spec, found, out_dir))
    if failed:
        lines = [f"{s}/{r}: {type(e).__name__}: {e}" for (s, r), e in sorted(failed)[:5]]
        raise EnsembleError(
            f"{len(failed)} of {len(todo)} replicates failed (the rest are saved; run the "
            "same command again to retry only the missing ones):\n  " + "\n  ".join(lines)
        ) from failed[0][1]
    return EnsembleRun(
        out=out_dir,
        spec=spec,
        n_run=len(todo),
        n_skipped=n_skipped,
        seconds=seconds,
        manifests=found,
    )


def _write_run_info(out: Path, spec: RunSpec, hashes: dict[str, str]) -> None:
    """``run.json``: the effective spec, scenarios and replicates of the run folder."""
    info = {
        "spec": json.loads(spec.to_json()),
        "scenarios": list(spec.scenarios),
        "replicates": spec.replicates,
        "config_hash": hashes,
        "version": __version__,
    }
    text = json.dumps(info, indent=1)
    write_text(out / "run.json", text)
