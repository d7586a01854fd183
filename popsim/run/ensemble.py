from __future__ import annotations

import json
import logging
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from popsim.core import MODEL_VERSION, RegistryError, __version__, schema
from popsim.core.seeds import replicate_seed
from popsim.errors import OutputError, PopsimError, one_line
from popsim.files import write_text
from popsim.modules import REGISTRY
from popsim.run import folder as runfolder
from popsim.run import record, resources
from popsim.run.provenance import config_hash, resolved_config, versions
from popsim.run.spec import RunSpec, load_spec
from popsim.run.summary import format_summary, summarize

if TYPE_CHECKING:
    from distributed import Client, LocalCluster


_log = logging.getLogger(__name__)


class EnsembleError(RuntimeError):
    """Some replicates failed (a model error, not bad input); the others were written."""


#: How often Dask retries a task that raised (a dead worker is handled by the scheduler).
RETRIES = 2


__all__ = [
    "config_hash",
    "replicate_seed",
    "run_spec",
    "run_replicate",
    "OutputConflict",
    "EnsembleError",
]


# ------------------------------------------------------------------- tasks
def run_replicate(
    spec: RunSpec, scenario: str, replicate: int, out: str, digest: str, token: str | None = None
) -> dict[str, Any]:
    """Run one replicate on this process and write its outputs; returns its manifest.

    ``token`` is the run's lock token: each file is renamed into place only while the
    output folder's lock still carries it (a task that outlives its run writes nothing).

    ``digest`` is the driver's :func:`config_hash` of the scenario; the worker works out
    its own from what it actually resolved (its model version, its region files) and
    refuses to write if they differ, so a worker with another popsim never adds its
    outputs to the folder.
    """
    from popsim.model import RegionModel
    from popsim.twin import uncertainty

    t0 = time.perf_counter()
    region = spec.load_region()
    central = spec.model_config_for(scenario, region)  # distributions at their centre
    mine = config_hash(spec, scenario, resolved=resolved_config(spec, scenario, region, central))
    if mine != digest:
        raise OutputError(
            f"{scenario}/{replicate}: this worker resolves the configuration to {mine}, the "
            f"run to {digest} (another popsim version or other region files on the worker)"
        )
    drawn = uncertainty.replicate_values(spec, scenario, replicate)  # {}: no distributions
    config = (
        uncertainty.apply(spec, scenario, drawn).model_config_for(scenario, region)
        if drawn
        else central
    )
    resolved = resolved_config(spec, scenario, region, config)  # what this replicate used
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
    config_json = json.dumps(resolved, sort_keys=True, separators=(",", ":"))
    metadata = {
        "spec": spec.to_json(),
        "config": config_json,
        "model_version": str(MODEL_VERSION),
        "versions": json.dumps(versions(), sort_keys=True),
        "seed": str(spec.seed),
        "seed_entropy": str(seed.entropy),
        "spawn_key": json.dumps(list(seed.spawn_key)),
        "region": region.name,
        "config_hash": digest,
    }
    manifest = {
        "spec": json.loads(spec.to_json()),
        "config": resolved,
        "model_version": MODEL_VERSION,
        "versions": versions(),
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
    return record.write_replicate(
        out, result, scenario, replicate, metadata, manifest, t0, token=token
    )


# ----------------------------------------------------------------- clients
def _growth_rate(spec: RunSpec) -> float:
    """The yearly growth the population check projects the region's counts with: the
    spec's ``[demography] growth_rate`` (its first scenario's), else demography's default."""
    from popsim.demography import DemographyParams

    default = float(DemographyParams.model_fields["growth_rate"].default)
    try:
        params = spec.params("demography", next(iter(spec.scenarios)))
    except (KeyError, StopIteration, PopsimError):
        return default
    value = getattr(params, "growth_rate", None)
    return float(value) if isinstance(value, (int, float)) else default


def local_cluster(n_workers: int | None = None) -> LocalCluster:
    """A LocalCluster of single-threaded worker processes on 127.0.0.1 (no dashboard);
    ``n_workers`` of them (None: one per CPU; 0: none until it is scaled up)."""
    import logging

    from distributed import LocalCluster

    with warnings.catch_warnings():  # "port 8787 in use": another cluster's status page
        warnings.filterwarnings("ignore", message="Port .* is already in use")
        return LocalCluster(
            n_workers=(os.cpu_count() or 1) if n_workers is None else n_workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # a task that raises is reported by the run, one line each (EnsembleError):
            # the workers' own "Compute Failed" traceback blocks are not repeated
            silence_logs=logging.CRITICAL,
        )


@contextmanager
def _client(
    workers: int | None, scheduler: str | None, n_tasks: int, residents: int, days: int
) -> Iterator[Client]:
    from distributed import Client

    if scheduler:
        client = resources.connect(scheduler)
        try:
            resources.check_cluster_memory(client, residents, days)
            yield client
        finally:
            client.close()
        return
    cluster = local_cluster(_n_local_workers(workers, n_tasks))
    client = Client(cluster)
    try:
        yield client
    finally:
        client.close()
        cluster.close()


@contextmanager
def interrupt_noted() -> Iterator[threading.Event]:
    """Ctrl-C that cannot be lost: while inside, SIGINT both raises KeyboardInterrupt (as
    Python's own handler does) and sets the event yielded, for the caller to check.

    Python runs a signal handler between any two bytecodes of the main thread; when that
    happens inside a ``__del__`` method or a weakref callback (a released Dask future, a
    closed progress bar), the KeyboardInterrupt is printed as "Exception ignored" and
    dropped, and the ensemble would run to its end. Only Python's default handler is
    replaced (an application's own handler is left alone), only in the main thread, and
    it is restored on leaving.
    """
    event = threading.Event()
    if (
        threading.current_thread() is not threading.main_thread()
        or signal.getsignal(signal.SIGINT) is not signal.default_int_handler
    ):
        yield event
        return

    def on_sigint(signum: int, frame: object) -> None:
        event.set()
        raise KeyboardInterrupt

    signal.signal(signal.SIGINT, on_sigint)
    try:
        yield event
    finally:
        signal.signal(signal.SIGINT, signal.default_int_handler)


def _n_local_workers(workers: int | None, n_tasks: int) -> int:
    return max(1, min(workers or os.cpu_count() or 1, n_tasks))


def _stale(out: Path, spec: RunSpec, hashes: dict[str, str]) -> list[tuple[str, int | None]]:
    """Outputs in ``out`` from a different configuration or model version: replicates
    whose manifest has another config hash, and scenarios the spec no longer has
    (replicate None)."""
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
    gone = sorted(runfolder.scenarios_present(out) - set(spec.scenarios))
    return found + [(name, None) for name in gone]


def _remove(out: Path, stale: list[tuple[str, int | None]]) -> None:
    for scenario, replicate in stale:
        if replicate is None:
            runfolder.remove_scenario(out, scenario)
        else:
            runfolder.remove_replicate(out, scenario, replicate)


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
    spec_path: str | Path | RunSpec,
    replicates: int | None = None,
    workers: int | None = None,
    scheduler: str | None = None,
    days: int | None = None,
    population: int | None = None,
    out: str | Path | None = None,
    force: bool = False,
    progress: bool = False,
    check_only: bool = False,
    report: Callable[[str], None] | None = None,
) -> EnsembleRun:
    """Run every scenario x replicate of a spec; write the dataset; report a summary.

    ``spec_path`` is a TOML spec or a :class:`popsim.run.spec.RunSpec` (the outputs go
    beside its file unless ``out`` is given; a spec without a file needs ``out``).
    ``check_only``: do every check below (and the output folder's lock and conflicts),
    report one line and run nothing.

    Before anything runs: that every registered module can be imported by the workers
    (:meth:`popsim.core.registry.Registry.ensure`), the workers and scheduler address, the
    spec against its region
    (:class:`popsim.errors.SpecError` listing every problem), the output folder (exists
    or can be made, is a folder, is writable) and the memory the run needs are checked;
    then the output folder is locked until the run ends (:class:`popsim.errors.OutputError`
    if another run holds it).

    Nothing is printed: ``progress`` shows a progress bar on stderr, and the closing
    summary goes to ``report`` (e.g. ``print``; by default to the ``popsim.run.ensemble``
    logger at INFO level).
    """
    t0 = time.perf_counter()
    say = report if report is not None else _log.info
    resources.check_workers(workers)
    try:  # the workers register the modules registered here by their import paths
        REGISTRY.check_portable()
    except RegistryError as err:
        raise PopsimError(str(err)) from None
    if scheduler is not None:
        resources.check_scheduler_address(scheduler)
    if isinstance(spec_path, RunSpec):
        spec = spec_path.with_overrides(days, population, replicates)
        if out is None and not Path(spec.path).is_file():
            raise ValueError("run_spec: a spec without a file needs out=DIR")
        spec_path = spec.path
    else:
        spec = load_spec(spec_path).with_overrides(days, population, replicates)
    region = spec.load_region()
    configs = spec.check(region)
    if region.staffing is None and any(spec.params("staffing", s) for s in spec.scenarios):
        say(f"staffing: region {region.name} has no staffing.csv; no staffing limits")
    residents = spec.population or region.total_population
    year, growth = spec.start.year, _growth_rate(spec)
    if not region.at_own_scale(residents, year, growth):
        own = region.projected_population(year, growth)
        say(
            f"population: {residents:,} residents against the region's {own:,} projected "
            f"for {year} (its {region.base_year} counts, {region.total_population:,}, grown "
            f"{100 * growth:.1f}% a year); its beds and staff are not scaled, so rates per "
            "resident hold but occupancy, boarding and diversions are not the region's"
        )
    n_tasks = len(spec.scenarios) * spec.replicates
    resources.check_sizes(n_tasks=n_tasks)
    n_local = _n_local_workers(workers, n_tasks)
    need = resources.estimate(residents, spec.days, n_local, n_tasks)
    if not scheduler:
        resources.check_local_memory(residents, spec.days, n_local, n_tasks)
    elif check_only:  # --check verifies the scheduler answers and its workers' memory
        with _client(None, scheduler, n_tasks, residents, spec.days):
            pass
    else:  # a silent port is refused before the output folder is locked
        resources.probe_scheduler(scheduler)
    out_dir = runfolder.output_folder(out if out is not None else default_out(spec_path))
    resolved = {s: resolved_config(spec, s, region, configs[s]) for s in spec.scenarios}
    hashes = {s: config_hash(spec, s, resolved=resolved[s]) for s in spec.scenarios}
    if check_only:
        with runfolder.lock(out_dir):
            runfolder.check_layout(out_dir)
            stale = _stale(out_dir, spec, hashes)
        if stale and not force:
            raise OutputConflict(
                f"{out_dir}: holds outputs of a different configuration; use --force to "
                "replace them or --out DIR to keep both"
            )
        memory = (
            resources.describe(need, n_local)
            if not scheduler
            else f"memory about {resources.gb(need['per_worker'])} per worker"
        )
        say(
            f"{spec.name}: ok ({len(spec.scenarios)} scenario(s) x {spec.replicates} "
            f"replicate(s), {residents:,} residents, {spec.days} days; {memory}) -> {out_dir}"
        )
        return EnsembleRun(out=out_dir, spec=spec)
    with runfolder.lock(out_dir) as held:
        runfolder.check_layout(out_dir)
        found, n_run, n_skipped, failed = _run_locked(
            spec,
            out_dir,
            hashes,
            resolved,
            force,
            workers,
            scheduler,
            residents,
            progress,
            held.token,
        )
    seconds = time.perf_counter() - t0
    say(
        f"{spec.name}: ran {n_run - len(failed)} replicates"
        f" ({n_skipped} already complete) in {seconds:.0f} s"
    )
    say(format_summary(spec, found, out_dir))
    if failed:
        lines = [
            f"{s}/{r}: {type(e).__name__}: {one_line(str(e))[:300]}"
            for (s, r), e in sorted(failed, key=lambda f: f[0])[:5]
        ]
        raise EnsembleError(
            f"{len(failed)} of {n_run} replicates failed (the rest are saved; run the "
            "same command again to retry only the missing ones):\n  " + "\n  ".join(lines)
        ) from failed[0][1]
    return EnsembleRun(
        out=out_dir,
        spec=spec,
        n_run=n_run,
        n_skipped=n_skipped,
        seconds=seconds,
        manifests=found,
    )


def _run_locked(
    spec: RunSpec,
    out_dir: Path,
    hashes: dict[str, str],
    resolved: dict[str, dict[str, Any]],
    force: bool,
    workers: int | None,
    scheduler: str | None,
    residents: int,
    progress: bool,
    token: str,
) -> tuple[list[dict[str, Any]], int, int, list[tuple[tuple[str, int], BaseException]]]:
    """The run proper, while holding the output folder's lock (``token``: the lock's)."""
    from tqdm import tqdm

    runfolder.remove_own_temp_files(out_dir)
    stale = _stale(out_dir, spec, hashes)
    if stale and not force:
        shown = ", ".join(f"{sc}/{r}" if r is not None else sc for sc, r in stale[:6])
        more = f" and {len(stale) - 6} more" if len(stale) > 6 else ""
        raise OutputConflict(
            f"{out_dir}: holds outputs of a different configuration ({shown}{more}: other days,"
            " population, seed, parameters, events, region data or model version, or"
            " scenarios no longer in the spec); use --force to replace them or --out DIR"
            " to keep both"
        )
    _remove(out_dir, stale)
    runfolder.remove_orphans(out_dir)

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
        with _client(workers, scheduler, len(todo), residents, spec.days) as client:
            futures = [
                client.submit(
                    run_replicate,
                    spec,
                    scenario,
                    r,
                    target,
                    hashes[scenario],
                    token=token,
                    key=f"popsim-{spec.name}-{scenario}-{r:04d}-{token[:8]}",
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
            with interrupt_noted() as interrupted:
                for future in bar:
                    if interrupted.is_set():
                        raise KeyboardInterrupt
                    try:
                        m = future.result()
                    except Exception as err:  # failed after its retries: report, keep others
                        failed.append((keys[future.key], err))
                        continue
                    done[(m["scenario"], m["replicate"])] = m
                if interrupted.is_set():
                    raise KeyboardInterrupt
    runfolder.remove_own_temp_files(out_dir)
    runfolder.remove_orphans(out_dir)
    _write_run_info(out_dir, spec, hashes, resolved)
    order = list(spec.scenarios)
    found = [done[k] for k in sorted(done, key=lambda k: (order.index(k[0]), k[1]))]
    return found, len(todo), n_skipped, failed


def _write_run_info(
    out: Path, spec: RunSpec, hashes: dict[str, str], resolved: dict[str, dict[str, Any]]
) -> None:
    """``run.json``: the effective spec, the resolved configuration of each scenario, the
    replicates, the model version and package versions of the run folder, and the
    registered modules' import paths."""
    info = {
        "spec": json.loads(spec.to_json()),
        "scenarios": list(spec.scenarios),
        "replicates": spec.replicates,
        "config_hash": hashes,
        "config": resolved,
        "model_version": MODEL_VERSION,
        "version": __version__,
        "versions": versions(),
        "modules": list(REGISTRY.import_paths()),  # what the workers registered
    }
    text = json.dumps(info, indent=1)
    write_text(out / schema.RUN_INFO_FILE, text, root=out)
