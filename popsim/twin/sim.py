"""Running the model for the twin: parameters by dotted name, in-memory replicates, clients.

A calibration or forecast runs thousands of short replicates whose files nobody reads;
they run here in memory (:func:`simulate`) on Dask workers and return only the
``facility_day`` array. Seeds are the ensemble's (:func:`popsim.run.ensemble.replicate_seed`),
so replicate ``r`` of a trial sees the same random numbers as replicate ``r`` of every
other trial (common random numbers: a likelihood surface without the jitter of fresh
noise per trial).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import functools
import os
import warnings
from collections.abc import Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from popsim.errors import SpecError
from popsim.modules import REGISTRY
from popsim.run.spec import RunSpec

if TYPE_CHECKING:
    from distributed import Client

    from popsim.region.load import Region


def split_name(spec: RunSpec, name: str, where: str) -> tuple[str, str]:
    """``"epidemic.r0"`` -> ``("epidemic", "r0")``, checked against the spec's sections."""
    section, _, key = name.partition(".")
    if section not in REGISTRY or not key or "." in key:
        raise SpecError(
            spec.path,
            where,
            f"{name!r}: expected section.parameter with a section of "
            f"{', '.join(REGISTRY.names())} (e.g. 'epidemic.r0')",
        )
    return section, key


def with_parameters(spec: RunSpec, values: dict[str, Any], where: str = "calibration") -> RunSpec:
    """A copy of ``spec`` with parameters set by dotted name (in the base sections, so in
    every scenario that does not override them), validated as the spec's own are."""
    update: dict[str, dict[str, Any]] = {}
    for name, value in values.items():
        section, key = split_name(spec, name, where)
        block = update.setdefault(section, dict(getattr(spec, section) or {}))
        block[key] = value
    new = spec.model_copy(update=update)  # keeps the spec's path and folder
    for section in update:
        for scenario in new.scenarios:
            new.params(section, scenario)  # raises SpecError naming the parameter
    return new


@functools.lru_cache(maxsize=4)
def _region(ref: str) -> Region:
    from popsim.region.load import load_region

    return load_region(ref)


def region_of(spec: RunSpec) -> Region:
    """The spec's region, loaded once per process (a region is read, never changed)."""
    from popsim.region.load import resolve_region

    return _region(str(resolve_region(spec.region_ref())))


def simulate(
    spec: RunSpec, scenario: str, replicate: int, days: int | None = None
) -> tuple[np.ndarray, list[str]]:
    """Run one replicate in memory: ``(facility_day (days, n_facilities, n_metrics), metric
    names)``."""
    from popsim.model import RegionModel
    from popsim.run.ensemble import replicate_seed

    if days is not None:
        spec = spec.with_overrides(days=days)
    region = region_of(spec)
    config = spec.model_config_for(scenario, region)
    config = dataclasses.replace(config, record_journeys=False)
    model = RegionModel(region, config, replicate_seed(spec.seed, replicate))
    try:
        result = model.run()
    finally:
        model.release()
    return result.facility_day, list(result.facility_metrics)


@contextmanager
def client(workers: int | None = None, scheduler: str | None = None) -> Iterator[Client]:
    """A Dask client: to ``scheduler`` if given, else to a new LocalCluster on 127.0.0.1."""
    from distributed import Client

    from popsim.run.ensemble import local_cluster

    if scheduler:
        c = Client(scheduler)
        try:
            yield c
        finally:
            c.close()
        return
    with warnings.catch_warnings():
        warnings.filterwarnings("ignore", message=".*[Pp]ort.*")
        cluster = local_cluster(max(1, workers or os.cpu_count() or 1))
    c = Client(cluster)
    try:
        yield c
    finally:
        c.close()
        cluster.close()


def n_workers(c: Client) -> int:
    """Workers of a client's cluster (at least 1)."""
    return max(1, len(c.scheduler_info().get("workers", {})))


def observed_table(
    spec: RunSpec, scenario: str, replicate: int, metrics: list[str], days: int | None = None
) -> pd.DataFrame:
    """One replicate as an observed facility table (``date, facility, <metrics>``): the
    "true" system of a twin experiment (add reporting noise with
    :func:`popsim.twin.observed.with_noise`)."""
    fd, names = simulate(spec, scenario, replicate, days)
    ids = list(region_of(spec).facility_ids)
    n_days, n_fac, _ = fd.shape
    frame = pd.DataFrame(
        {
            "date": np.repeat([spec.start + dt.timedelta(days=d) for d in range(n_days)], n_fac),
            "facility": np.tile(ids, n_days),
        }
    )
    for m in metrics:
        frame[m] = fd[:, :, names.index(m)].reshape(-1).astype(float)
    return frame
