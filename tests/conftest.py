"""Shared fixtures and helpers of the test suite.

Fixtures (used by name): ``synthetic`` (the shipped synthetic region), ``small_region`` (a
4-zone, 3-site synthetic region of 20,000 residents), ``twin_truth`` (the twin tests' "true"
system: a run with hidden parameters, reported with noise), ``dask_cluster`` (a real Dask
LocalCluster of two workers on loopback and a client). Helpers (``from conftest import
...``): :data:`NO_REFER`, :func:`facility_metric`, :func:`journey_of`,
:func:`residents_in_zone`.

Hypothesis: with ``CI`` set (as ``.ci/run`` is run) the ``ci`` profile derandomises the
examples, so a submission's result does not depend on the draw; a developer's runs keep
exploring new examples (``HYPOTHESIS_PROFILE=ci`` to reproduce CI locally).

Markers: ``slow`` (over about 10 s) and ``cluster`` (starts a Dask cluster); ``make
test-fast`` leaves both out, ``make test`` runs everything.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pytest
from hypothesis import settings

from popsim.region.load import load_region
from popsim.region.synth import synthetic_region

# no deadline: a slow example on a loaded machine is not a failure (no timed assertions)
settings.register_profile("ci", derandomize=True, print_blob=True, deadline=None)
settings.register_profile("dev", deadline=None)
settings.load_profile(
    os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev")
)

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

    from popsim.run.ensemble import local_cluster

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


# ------------------------------------------------------------------ the twin
#: The twin tests' "true" system: the synthetic region with these hidden parameters.
TWIN_HIDDEN = {"demand.rel_admissions": 1.3, "epidemic.r0": 1.6}
TWIN_SPEC = """
name = "{name}"
region = "synthetic"
start = 2026-09-01
days = {days}
seed = {seed}
record_journeys = false

[epidemic]
r0 = {r0}
seed_infections = 200
start_day = 30

[demand]
rel_admissions = {rel}

[care]
uncapped = true
"""
TWIN_METRICS = [
    "admissions",
    "ward_census",
    "icu_census",
    "alc_census",
    "ed_boarding",
    "epidemic_census",
    "epidemic_admissions",
]


@dataclass
class TwinTruth:
    """A "true" system: its spec, its clean series and the reported (noisy) CSV."""

    folder: Path
    spec: Path
    observed: Path
    clean: pd.DataFrame
    hidden: dict[str, float]
    days: int

    def spec_text(self, name: str, seed: int, r0: float, rel: float) -> str:
        return TWIN_SPEC.format(name=name, days=self.days, seed=seed, r0=r0, rel=rel)


def make_twin_truth(
    folder: Path,
    days: int = 120,
    seed: int = 99,
    noise_k: float = 50.0,
    exact_census: bool = False,
):
    """One replicate with the hidden parameters plus negative-binomial reporting noise
    (on the flows only with ``exact_census``: hospitals count their patients)."""
    from popsim.run.spec import load_spec
    from popsim.twin.observed import with_noise
    from popsim.twin.sim import observed_table

    path = folder / "truth.toml"
    path.write_text(
        TWIN_SPEC.format(
            name="truth",
            days=days,
            seed=seed,
            r0=TWIN_HIDDEN["epidemic.r0"],
            rel=TWIN_HIDDEN["demand.rel_admissions"],
        ),
        encoding="utf-8",
    )
    clean = observed_table(load_spec(path), "baseline", 0, TWIN_METRICS)
    noisy_metrics = [
        m
        for m in TWIN_METRICS
        if not (exact_census and (m.endswith("census") or m == "ed_boarding"))
    ]
    noisy = with_noise(clean, np.random.default_rng(seed), noise_k, noisy_metrics)
    out = folder / "observed.csv"
    noisy.to_csv(out, index=False, float_format="%.0f")
    return TwinTruth(folder, path, out, clean, dict(TWIN_HIDDEN), days)


@pytest.fixture(scope="session")
def twin_truth(tmp_path_factory) -> TwinTruth:
    """The twin tests' true system (120 days of the synthetic region, reported with noise)."""
    return make_twin_truth(tmp_path_factory.mktemp("twin_truth"))


def with_infection_log(model) -> np.ndarray:
    """Each resident's day of infection (-1: not infected), filled in as ``model`` runs:
    wraps the epidemic's ``_infect`` (tests of who infects whom and when)."""
    epi = model.epidemic
    log = np.full(model.pop.n, -1, dtype=np.int64)
    original = epi._infect

    def spy(m, ids):
        log[ids] = m.day
        original(m, ids)

    epi._infect = spy
    return log
