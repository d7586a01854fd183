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
- **Scheduler**: ``--scheduler`` must be a Dask address (``tcp://host:port``,
  ``tls://...``, or ``host:port``) and must answer within :data:`CONNECT_TIMEOUT_S`.
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


def estimate_bytes(residents: int, days: int) -> int:
    """Peak memory of one worker running one replicate of ``residents`` for ``days``."""
    years = max(days / 365.0, 1.0)
    per_resident = BYTES_PER_RESIDENT + BYTES_PER_RESIDENT_YEAR * (years - 1.0)
    return int(BASE_BYTES + residents * per_resident)


def _gb(n: float) -> str:
    return f"{n / 2**30:.1f} GB"


def available_bytes() -> int:
    """Memory available now on this machine (psutil's ``available``)."""
    import psutil

    return int(psutil.virtual_memory().available)


def check_local_memory(residents: int, days: int, n_workers: int) -> int:
    """Refuse a local run whose ``n_workers`` concurrent replicates would not fit in the
    memory available now; returns the estimate in bytes."""
    per = estimate_bytes(residents, days)
    need = per * n_workers
    limit = int(available_bytes() * MEMORY_SHARE)
    if need > limit:
        fit = max(limit // per, 0)
        hint = (
            f"use --workers {fit} or a smaller --population"
            if fit >= 1
            else "use a smaller --population or a machine with more memory"
        )
        raise ResourceError(
            f"not enough memory: {n_workers} worker(s) x {_gb(per)} per replicate of "
            f"{residents:,} residents x {days} days = {_gb(need)} estimated, "
            f"{_gb(limit)} available; {hint}"
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
            f"residents x {days} days needs about {_gb(per)}, the smallest worker has "
            f"{_gb(min(limits))}; use a smaller --population or larger workers"
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


def connect(address: str) -> Client:
    """A client of the scheduler at ``address``; one-line :class:`ResourceError` if it
    does not answer within :data:`CONNECT_TIMEOUT_S` seconds."""
    import logging

    from distributed import Client

    address = check_scheduler_address(address)
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
