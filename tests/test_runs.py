"""Every spec shipped in runs/ loads, resolves against its region and runs (small and short)."""

from __future__ import annotations

from pathlib import Path

import pytest

from popsim.run import record
from popsim.run.ensemble import run_spec
from popsim.run.spec import load_spec

pytestmark = pytest.mark.cluster

RUNS = Path(__file__).resolve().parents[1] / "runs"
SPECS = sorted(RUNS.glob("*.toml"))


@pytest.fixture(scope="module")
def scheduler(dask_cluster):
    return dask_cluster[0].scheduler_address


def test_the_default_and_named_specs_exist():
    names = {p.stem for p in SPECS}
    assert {"fraser", "fraser-flu", "new-surrey", "fraser-10y"} <= names


@pytest.mark.parametrize("path", SPECS, ids=[p.stem for p in SPECS])
def test_spec_smoke(path, scheduler, tmp_path):
    spec = load_spec(path, check_region=True)
    assert spec.name == path.stem  # the output folder runs/<stem>/ is what `make run` reports
    run = run_spec(
        path,
        scheduler=scheduler,
        days=12,
        population=5000,
        replicates=1,
        out=tmp_path / path.stem,
        progress=False,
    )
    assert run.n_run == len(spec.scenarios)
    fd = record.read_table(run.out, "facility_day")
    region = spec.load_region()
    assert fd.num_rows == len(spec.scenarios) * 12 * region.n_facilities
    zd = record.read_table(run.out, "zone_day", columns=["susceptible", "exposed", "recovered"])
    assert zd.num_rows == len(spec.scenarios) * 12 * region.n_zones * 10
    first = sum(m["n_residents"] for m in run.manifests) / len(run.manifests)
    assert abs(first - 5000) <= 600  # scaled to the override (births/migrants may add a few)
