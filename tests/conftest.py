"""Shared fixtures and helpers of the test suite.

Fixtures (used by name): ``synthetic`` (the shipped synthetic region), ``small_region`` (a
4-zone, 3-site synthetic region of 20,000 residents), ``dask_cluster`` (a real Dask
LocalCluster of two workers on loopback and a client). Helpers (``from conftest import
...``): :data:`NO_REFER`, :func:`facility_metric`, :func:`journey_of`,
:func:`residents_in_zone`.

Markers: ``slow`` (over about 10 s) and ``cluster`` (starts a Dask cluster); ``make
test-fast`` leaves both out, ``make test`` runs everything.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pytest

from popsim.region import load_region
from popsim.synth import synthetic_region

#: Referral shares of nobody referred: for tests of routing to the nearest site itself.
NO_REFER: dict[str, float] = {
    "stabilisation": 0.0,
    "community": 0.0,
    "regional": 0.0,
    "tertiary": 0.0,
}


def facility_metric(source: Any, name: str) -> np.ndarray:
    """One ``facility_day`` column as a (day, facility) array, from a ``RegionModel`` (all
    days allocated) or a ``RunResult`` (the days run)."""
    if hasattr(source, "facility_metrics"):  # a RunResult
        return source.facility_day[..., list(source.facility_metrics).index(name)]
    return source.facility_day[..., list(source.care.metrics).index(name)]


def journey_of(model: Any, resident: int) -> dict[str, list]:
    """A resident's journey rows, in order: event and unit names, days and sites."""
    j, codes = model.care.journeys()
    mine = j["resident_id"] == resident
    return {
        "event": [codes["event"][e] for e in j["event"][mine]],
        "unit": [codes["unit"][u] for u in j["unit"][mine]],
        "day": j["day"][mine].tolist(),
        "facility": j["facility"][mine].tolist(),
    }


def residents_in_zone(model: Any, zone: int, k: int = 1) -> np.ndarray:
    """The first ``k`` living residents of ``zone``."""
    return np.flatnonzero((model.pop.zone == zone) & model.pop.alive)[:k]


@pytest.fixture(scope="session")
def synthetic():
    """The shipped synthetic region (``regions/synthetic``)."""
    return load_region("synthetic")


@pytest.fixture(scope="session")
def small_region():
    """A synthetic region of 4 zones, 3 sites and 20,000 residents."""
    return synthetic_region(n_zones=4, population=20_000, n_facilities=3, seed=3)


@pytest.fixture(scope="module")
def dask_cluster():
    """A real LocalCluster of two worker processes on loopback, and a client on it."""
    from distributed import Client

    from popsim.ensemble import local_cluster

    cluster = local_cluster(2)
    client = Client(cluster)
    yield cluster, client
    client.close()
    cluster.close()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """A test that uses the Dask cluster fixture is a ``cluster`` test, marked or not."""
    for item in items:
        if "dask_cluster" in getattr(item, "fixturenames", ()):
            item.add_marker(pytest.mark.cluster)
