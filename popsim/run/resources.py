"""What a run needs against what the machine (or cluster) has: checked before starting.

- **Workers**: ``--workers N`` is 1..:func:`max_workers` (more processes than that only
  compete for the cores and multiply the memory).
- **Memory**: :func:`estimate_bytes` is the peak resident memory of one worker running
  one replicate: a fixed part (the Python process with numpy, pandas, pyarrow, mesa and
  dask loaded, the region and the care network) plus a part per resident (the
  population's columns, the epidemic's and demand's per-resident arrays, the
  per-day tables and the journey log). Measured with ``bench/fraser_year.py``'s
  ``peak_rss`` (and the same run writing its tables) on the Fraser region, 0.2 M and
  2 M residents, one year; the figures below round those up. A local run needs
  ``workers x`` that and is refused when it exceeds the memory available now; a run on
  an existing cluster is refused when one replicate exceeds the smallest worker's
  memory limit.
- **Sizes**: every command that runs replicates bounds them here: replicates per
  scenario (:data:`MAX_REPLICATES`), tasks in one command (:data:`MAX_TASKS`), days and
  residents (:data:`MAX_DAYS`, :data:`MAX_POPULATION`); :func:`check_sizes` names each
  size out of bounds, with its flag.
- **The driver**: the process that submits the tasks holds, per task, the task and its
  arguments (in the client and, with a local cluster, the scheduler in the same process)
  and, per finished replicate, its manifest: :func:`estimate_driver_bytes`. Measured
  on the Fraser spec: about 12 KB per task submitted (4,000 tasks submitted to a
  cluster without workers, resident memory before and after) and 27 KB per manifest
  held (1,000 manifests of a Fraser replicate parsed); rounded up to
  :data:`DRIVER_BYTES_PER_TASK`. :func:`estimate` gives the whole run's figure and
  :func:`check_local_memory` refuses a local run that does not fit.
- **Scheduler**: ``--scheduler`` must be a Dask address (``tcp://host:port``,
  ``tls://...``, or ``host:port``) and must answer within :data:`CONNECT_TIMEOUT_S`
  (connection, handshake and identity, :func:`probe_scheduler`).
"""

from __future__ import annotations

import os
import re
from typing import TYPE_CHECKING

from popsim.errors import ResourceError

if TYPE_CHECKING:
    from distributed import Client

#: Fixed peak memory of a worker running one replicate (measured ~250 MB on Fraser at
#: 0.2 M residents with every module on; rounded up).
BASE_BYTES = 300 * 2**20
#: Peak memory per resident of one replicate, one year (measured ~96 B: 418 MB at 2 M
#: vs 254 MB at 0.2 M residents; the population's own columns are ~24 B of it).
BYTES_PER_RESIDENT = 110
#: Extra peak memory per resident and simulated year beyond the first (the journey log
#: and the per-day tables grow with the horizon; an upper bound of the measured growth).
BYTES_PER_RESIDENT_YEAR = 16
#: Workers per core allowed with ``--workers`` (an assumption: beyond that, processes
#: only wait for a core while each holds a whole replicate in memory).
WORKERS_PER_CORE = 4
#: Share of the memory available now that a run may plan to use.
MEMORY_SHARE = 0.9
#: Seconds to wait for an existing Dask scheduler to answer.
CONNECT_TIMEOUT_S = 5
#: Most replicates per scenario: replicate numbers are int16 in the outputs and four
#: digits in the file names (``part-0000.parquet``).
MAX_REPLICATES = 10_000
#: Most tasks (scenarios x replicates, or particles, or trials) in one command (an
#: assumption: a Dask scheduler keeps every task's state; at :data:`DRIVER_BYTES_PER_TASK`
#: this is about 6 GB in the driver, more than a planner's machine spares).
MAX_TASKS = 100_000
#: Longest horizon: days are int16 in the outputs.
MAX_DAYS = 32_000
#: Most residents (an assumption: 25 times the default Fraser region).
MAX_POPULATION = 50_000_000
#: Driver memory per task: ~12 KB submitted + ~27 KB for its manifest, measured on the
#: Fraser spec; rounded up.
DRIVER_BYTES_PER_TASK = 64 * 2**10
_ADDRESS = re.compile(
    r"^(?:(tcp|tls|ucx|ws|wss)://)?(\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(\d{1,5})$"
)


def max_workers() -> int:
    """The largest ``--workers`` allowed on this machine."""
    return max(1, WORKERS_PER_CORE * (os.cpu_count() or 1))


def check_workers(workers: int | None) -> None:
    """``--workers`` in 1..:func:`max_workers` (None: one per core)."""
    if workers is None:
        return
    cap = max_workers()
    if not 1 <= workers <= cap:
        raise ResourceError(
            f"--workers: expected 1..{cap} ({WORKERS_PER_CORE} per core on this machine's "
            f"{os.cpu_count() or 1} cores), got {workers}"
        )


def check_sizes(
    *,
    replicates: int | None = None,
    n_tasks: int | None = None,
    days: int | None = None,
    residents: int | None = None,
    flags: dict[str, str] | None = None,
) -> None:
    """Bound the sizes of a command that runs replicates; one line per size out of bounds
    (:class:`ResourceError`), each naming its flag (``flags`` renames them, e.g.
    ``{"replicates": "--particles"}``)."""
    names = {"replicates": "--replicates", "days": "--days", "residents": "--population"}
    names.update(flags or {})
    problems = []
    for key, value, cap in (
        ("replicates", replicates, MAX_REPLICATES),
        ("days", days, MAX_DAYS),
        ("residents", residents, MAX_POPULATION),
    ):
        if value is not None and not 1 <= value <= cap:
            problems.append(f"{names[key]}: expected 1..{cap:,}, got {value:,}")
    if n_tasks is not None and n_tasks > MAX_TASKS:
        problems.append(
            f"{n_tasks:,} tasks in one command (scenarios x replicates); expected at most "
            f"{MAX_TASKS:,}: run fewer replicates or scenarios at a time"
        )
    if problems:
        raise ResourceError("\n".join(problems) if len(problems) > 1 else problems[0])


def estimate_driver_bytes(n_tasks: int) -> int:
    """Memory of the process that submits ``n_tasks`` tasks and keeps their manifests."""
    return int(n_tasks * DRIVER_BYTES_PER_TASK)


def estimate(residents: int, days: int, n_workers: int, n_tasks: int) -> dict[str, int]:
    """The memory a local run needs: ``per_worker`` (one replicate), ``workers`` (all
    running at once), ``driver`` and ``total``, in bytes."""
    per = estimate_bytes(residents, days)
    driver = estimate_driver_bytes(n_tasks)
    return {
        "per_worker": per,
        "workers": per * n_workers,
        "driver": driver,
        "total": per * n_workers + driver,
    }


def describe(need: dict[str, int], n_workers: int) -> str:
    """One phrase for ``--check``: the memory estimate of :func:`estimate`."""
    return (
        f"memory about {gb(need['total'])} ({n_workers} worker(s) x "
        f"{gb(need['per_worker'])} + {gb(need['driver'])} for the driver)"
    )


def estimate_bytes(residents: int, days: int) -> int:
    """Peak memory of one worker running one replicate of ``residents`` for ``days``."""
    years = max(days / 365.0, 1.0)
    per_resident = BYTES_PER_RESIDENT + BYTES_PER_RESIDENT_YEAR * (years - 1.0)
    return int(BASE_BYTES + residents * per_resident)


def gb(n: float) -> str:
    """Bytes as gigabytes with one decimal (``1.5 GB``)."""
    return f"{n / 2**30:.1f} GB"


def available_bytes() -> int:
    """Memory available now on this machine (psutil's ``available``)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_local_memory(residents: int, days: int, n_workers: int, n_tasks: int = 0) -> int:
    """Refuse a local run whose ``n_workers`` concurrent replicates and driver (holding
    ``n_tasks`` tasks) would not fit in the memory available now; returns the estimate
    in bytes."""
    per = estimate_bytes(residents, days)
    driver = estimate_driver_bytes(n_tasks)
    need = per * n_workers + driver
    limit = int(available_bytes() * MEMORY_SHARE)
    if driver > limit:
        raise ResourceError(
            f"not enough memory: {n_tasks:,} tasks need about {gb(driver)} in the driver "
            f"alone, {gb(limit)} available; run fewer replicates or scenarios at a time"
        )
    if need > limit:
        fit = max((limit - driver) // per, 0)
        hint = (
            f"use --workers {fit} or a smaller --population"
            if fit >= 1
            else "use a smaller --population or a machine with more memory"
        )
        raise ResourceError(
            f"not enough memory: {n_workers} worker(s) x {gb(per)} per replicate of "
            f"{residents:,} residents x {days} days"
            + (f" + {gb(driver)} for the driver" if driver >= 2**30 // 10 else "")
            + f" = {gb(need)} estimated, {gb(limit)} available; {hint}"
        )
    return need


def check_cluster_memory(client: Client, residents: int, days: int) -> None:
    """Refuse a run on an existing cluster if one replicate exceeds the smallest worker's
    memory limit (workers without a limit are not checked)."""
    per = estimate_bytes(residents, days)
    info = client.scheduler_info()
    limits = [w.get("memory_limit") or 0 for w in info.get("workers", {}).values()]
    limits = [lim for lim in limits if lim > 0]
    if limits and per > min(limits):
        raise ResourceError(
            f"not enough memory on the cluster's workers: one replicate of {residents:,} "
            f"residents x {days} days needs about {gb(per)}, the smallest worker has "
            f"{gb(min(limits))}; use a smaller --population or larger workers"
        )


def check_scheduler_address(address: str) -> str:
    """A Dask scheduler address, or :class:`ResourceError` naming what is wrong."""
    text = address.strip()
    if text.startswith("inproc://") and len(text) > len("inproc://"):  # same process
        return text
    m = _ADDRESS.match(text)
    if not m or not 0 < int(m.group(3)) < 65536:
        raise ResourceError(
            f"--scheduler: {address!r} is not a Dask scheduler address "
            "(expected tcp://host:port, tls://host:port or host:port)"
        )
    return text


def _no_answer(address: str, reason: str) -> ResourceError:
    return ResourceError(
        f"--scheduler {address}: no Dask scheduler answered within "
        f"{CONNECT_TIMEOUT_S} s ({reason[:120]})"
    )


async def _identity(address: str) -> object:
    """Open a comm to ``address``, ask for its identity and return the reply, each step
    bounded by :data:`CONNECT_TIMEOUT_S` (distributed's own handshake read has none: a
    silent port would hold the client forever)."""
    import asyncio

    from distributed.comm import connect as comm_connect

    comm = await asyncio.wait_for(comm_connect(address, timeout=CONNECT_TIMEOUT_S), None)
    try:
        await comm.write({"op": "identity", "reply": True})
        return await comm.read()
    finally:
        comm.abort()


def probe_scheduler(address: str) -> None:
    """Check that a Dask scheduler answers at ``address`` within :data:`CONNECT_TIMEOUT_S`
    seconds in all (connection, handshake, identity), in a thread of its own so that a
    silent peer can never hold the caller; one-line :class:`ResourceError` otherwise.
    Used before the output folder is locked, and by ``--check``."""
    import asyncio
    import logging
    import threading

    import distributed.comm  # noqa: F401  (imported here: its import is not the peer's time)

    address = check_scheduler_address(address)
    if address.startswith("inproc://"):
        return
    outcome: dict[str, object] = {}

    def probe() -> None:
        try:
            outcome["reply"] = asyncio.run(asyncio.wait_for(_identity(address), CONNECT_TIMEOUT_S))
        except (OSError, TimeoutError, ValueError, RuntimeError, MemoryError, TypeError) as err:
            outcome["error"] = err

    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.comm", "tornado")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL)
    try:
        thread = threading.Thread(target=probe, name="popsim-scheduler-probe", daemon=True)
        thread.start()
        thread.join(CONNECT_TIMEOUT_S + 1)
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
    if thread.is_alive():
        raise _no_answer(address, "no answer")
    err = outcome.get("error")
    if err is not None:
        text = "" if isinstance(err, MemoryError) else str(err)
        reason = text.splitlines()[0] if text else type(err).__name__
        raise _no_answer(address, reason if not isinstance(err, TimeoutError) else "no answer")
    reply = outcome.get("reply")
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        raise ResourceError(f"--scheduler {address}: something answered, but not a Dask scheduler")


def connect(address: str) -> Client:
    """A client of the scheduler at ``address``; one-line :class:`ResourceError` if it
    does not answer within :data:`CONNECT_TIMEOUT_S` seconds (checked first by
    :func:`probe_scheduler`: a silent port never holds the client)."""
    import logging

    from distributed import Client

    address = check_scheduler_address(address)
    probe_scheduler(address)
    quiet = [logging.getLogger(n) for n in ("distributed", "distributed.client", "tornado")]
    levels = [log.level for log in quiet]
    for log in quiet:
        log.setLevel(logging.CRITICAL)
    try:
        return Client(address, timeout=CONNECT_TIMEOUT_S)
    except (OSError, TimeoutError, ValueError, RuntimeError, MemoryError) as err:
        # MemoryError: something answered that is not a Dask scheduler (a garbled frame)
        text = str(err) if not isinstance(err, MemoryError) else "not a Dask scheduler"
        reason = text.splitlines()[0] if text else type(err).__name__
        raise ResourceError(
            f"--scheduler {address}: no Dask scheduler answered within "
            f"{CONNECT_TIMEOUT_S} s ({reason[:120]})"
        ) from None
    finally:
        for log, level in zip(quiet, levels, strict=True):
            log.setLevel(level)
