"""The core contract: a module defined outside popsim (``toy_modules/tag.py``: its own
class plus one registration) gets a spec section, a per-resident column, a daily rule, an
event kind, an output column and a check of its section, with nothing else in popsim
edited, also on Dask workers in other processes; the registry refuses clashes."""

from __future__ import annotations

import os
from typing import ClassVar

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from toy_modules.tag import Tag, TagParams, TagZone

from popsim.core import REGISTRY, Module, RegistryError
from popsim.core.seeds import CounterDraws, pair, replicate_seed
from popsim.errors import SpecError
from popsim.model import RegionModel
from popsim.run.spec import RunSpec, load_spec

SPEC = """
name = "tagged"
region = "synthetic"
start = 2026-03-01
days = 8
population = 3000
replicates = 1
seed = 5

[tag]
p_tag_daily = 0.02

[scenarios.baseline]
[scenarios.all-z01]
events = [{ day = 3, tag_zone = "Z01" }]
[scenarios.off]
tag = { enabled = false }
"""


@pytest.fixture
def tag_module():
    with REGISTRY.added(Tag):
        yield Tag


@pytest.fixture
def spec_path(tmp_path, tag_module):
    path = tmp_path / "tagged.toml"
    path.write_text(SPEC, encoding="utf-8")
    return path


def _zone_column(model: RegionModel, name: str) -> np.ndarray:
    return model.zone_day[: model.day, ..., model.zone_metrics.index(name)]


def test_a_registered_module_has_a_spec_section_events_and_an_output_column(spec_path, synthetic):
    spec = load_spec(spec_path)
    assert spec.params("tag", "baseline") == TagParams(p_tag_daily=0.02)
    assert spec.params("tag", "off") is None
    config = spec.model_config_for("all-z01", synthetic)
    assert config.tag == TagParams(p_tag_daily=0.02)
    assert [type(e) for e in config.events] == [TagZone]

    model = RegionModel(synthetic, config, seed=replicate_seed(spec.seed, 0))
    model.run()
    assert model.zone_metrics[-1] == "tagged_alive"
    tagged = _zone_column(model, "tagged_alive")  # (day, zone, band)
    alive = model.pop.alive_counts
    # from day 3 every living resident of Z01 is tagged; the tag is kept for life
    z01 = synthetic.zone_index("Z01")
    assert np.array_equal(tagged[-1, z01], alive[z01])
    assert tagged[2, z01].sum() < alive[z01].sum()
    assert (tagged.sum(axis=(1, 2))[1:] >= tagged.sum(axis=(1, 2))[:-1]).all()
    assert (tagged[-1] <= alive).all()
    assert tagged[-1].sum() == (model.pop.tagged & model.pop.alive).sum()

    # switched off: no column of its own, zeros in the output
    off = RegionModel(synthetic, spec.model_config_for("off", synthetic), seed=1)
    off.run()
    assert off.tag is None and not hasattr(off.pop, "tagged")
    assert _zone_column(off, "tagged_alive").sum() == 0


def test_the_toy_module_leaves_the_other_modules_draws_alone(spec_path, synthetic):
    spec = load_spec(spec_path)
    runs = []
    for scenario in ("baseline", "off"):
        model = RegionModel(synthetic, spec.model_config_for(scenario, synthetic), seed=9)
        runs.append(model.run())
    on, off = runs
    assert np.array_equal(on.facility_day, off.facility_day)
    n = off.zone_metrics.index("tagged_alive")  # the schema's columns come first
    assert np.array_equal(on.zone_day[..., :n], off.zone_day[..., :n])


def test_the_toy_modules_spec_errors_name_its_keys(tmp_path, tag_module):
    bad = {
        "tag.p_tag_daily": "[tag]\np_tag_daily = 2.0\n",
        "tag.p_daily": "[tag]\np_daily = 0.1\n",
        "scenarios.x.events[0].tag_zone": "[scenarios.x]\nevents = [{ day = 0, tag_zone = 3.5 }]\n",
    }
    for i, (key, text) in enumerate(bad.items()):
        path = tmp_path / f"bad{i}.toml"
        path.write_text('region = "synthetic"\n' + text, encoding="utf-8")
        with pytest.raises(SpecError) as info:
            load_spec(path)
        assert str(info.value).startswith(f"{path}: {key}"), str(info.value)


def test_the_toy_module_checks_its_section_against_the_region(tmp_path, tag_module, synthetic):
    path = tmp_path / "spec.toml"
    text = 'region = "synthetic"\ndays = 4\n[tag]\nfirst_zone = "Z02"\n'
    path.write_text(text + '[scenarios.a]\n[scenarios.b.tag]\nfirst_zone = "Z99"\n', "utf-8")
    spec = load_spec(path)
    assert spec.model_config_for("a", synthetic).tag.first_zone == synthetic.zone_index("Z02")
    with pytest.raises(SpecError) as info:
        spec.model_config_for("b", synthetic)
    assert str(info.value).startswith(f"{path}: scenarios.b.tag.first_zone"), str(info.value)


def test_without_the_registration_the_section_is_an_unknown_key(tmp_path):
    path = tmp_path / "spec.toml"
    path.write_text('region = "synthetic"\n[tag]\np_tag_daily = 0.1\n', encoding="utf-8")
    with pytest.raises(SpecError, match=r"tag: unknown key"):
        load_spec(path)


@pytest.mark.cluster
def test_the_toy_modules_column_reaches_the_parquet_outputs(spec_path, tmp_path, synthetic):
    """On worker processes, which import popsim afresh and know only popsim's own modules:
    the spec sent to them names the toy module's import path, and they register it."""
    import json

    from popsim.run import record
    from popsim.run.ensemble import local_cluster, run_spec

    with local_cluster(1) as cluster:  # worker processes on loopback
        run = run_spec(spec_path, scheduler=cluster.scheduler_address, out=tmp_path / "out")
    assert {m["pid"] for m in run.manifests}.isdisjoint({os.getpid()})  # ran elsewhere
    zd = record.read_table(run.out, "zone_day").to_pandas()
    assert "tagged_alive" in zd.columns
    spec = load_spec(spec_path)
    model = RegionModel(
        synthetic, spec.model_config_for("all-z01", synthetic), seed=replicate_seed(spec.seed, 0)
    )
    model.run()
    written = zd[zd.scenario == "all-z01"].groupby("day")["tagged_alive"].sum().to_numpy()
    assert np.array_equal(written, _zone_column(model, "tagged_alive").sum(axis=(1, 2)))
    info = json.loads((run.out / "run.json").read_text(encoding="utf-8"))
    assert info["modules"][-1] == "toy_modules.tag:Tag"


def test_a_worker_registers_modules_by_import_path():
    paths = (*REGISTRY.import_paths(), "toy_modules.tag:Tag")
    assert "tag" not in REGISTRY
    REGISTRY.ensure(paths)
    try:
        assert REGISTRY["tag"] is Tag and REGISTRY.names()[-1] == "tag"
        REGISTRY.ensure(paths)  # registered already: nothing changes
        assert REGISTRY.import_paths() == paths
    finally:
        REGISTRY.unregister("tag")


def test_a_run_with_a_module_workers_cannot_import_is_refused_before_it_starts(tmp_path):
    from popsim.errors import PopsimError
    from popsim.run.ensemble import run_spec

    class Local(Module):
        name: ClassVar[str] = "local"

    spec = tmp_path / "local.toml"
    spec.write_text('region = "synthetic"\ndays = 2\n', encoding="utf-8")
    with REGISTRY.added(Local), pytest.raises(PopsimError, match="not importable in another"):
        run_spec(spec, workers=1, out=tmp_path / "out")
    assert not (tmp_path / "out").exists()


def test_a_module_other_processes_cannot_import_is_named():
    class Local(Module):
        name: ClassVar[str] = "local"

    bad = {
        f"{__name__}:{Local.__qualname__}": "not importable in another process",
        "__main__:Script": "not importable in another process",
        "toy_modules.nowhere:Tag": "cannot be imported here",
        "toy_modules.tag:Nothing": "cannot be imported here",
        "toy_modules.tag:TagParams": "not a module class",
    }
    for path, problem in bad.items():
        with pytest.raises(RegistryError) as info:
            REGISTRY.ensure([path])
        assert str(info.value).startswith(f"module {path}: {problem}"), str(info.value)
        assert "\n" not in str(info.value)
    assert "local" not in REGISTRY and "tag" not in REGISTRY


# ------------------------------------------------------------------- registry
def test_the_registry_refuses_clashes():
    class Twin(Module):
        name: ClassVar[str] = "epidemic"

    class SameEvent(Module):
        name: ClassVar[str] = "same_event"
        events = (REGISTRY["care"].events[0],)

    class SameColumn(Module):
        name: ClassVar[str] = "same_column"
        zone_columns = ("deaths",)

    class SameResidentColumn(Module):
        name: ClassVar[str] = "same_resident_column"
        columns = REGISTRY["epidemic"].columns

    for cls in (Twin, SameEvent, SameColumn, SameResidentColumn):
        with pytest.raises(RegistryError):
            REGISTRY.register(cls)
        assert cls not in REGISTRY.modules()
    assert REGISTRY.names() == ("epidemic", "ltc", "demand", "demography", "staffing", "care")


def test_a_spec_crosses_to_another_process_as_data():
    import pickle

    spec = RunSpec.from_dict({"region": "synthetic", "demography": {}}, path="x.toml")
    spec = spec.with_overrides(days=12)
    back = pickle.loads(pickle.dumps(spec))
    assert back.to_json() == spec.to_json() and back.path == "x.toml" and back.days == 12


@settings(max_examples=50, deadline=None)
@given(st.lists(st.integers(0, 2**31 - 1), min_size=1, max_size=50), st.integers(0, 3650))
def test_counter_draws_depend_on_their_counters_alone(ids, day):
    # a draw is the same whatever else is drawn with it, and in whatever order
    cd = CounterDraws(np.random.default_rng(5))
    ids = np.array(ids, dtype=np.int64)
    together = cd.uniform(7, day, ids)
    alone = np.array([cd.uniform(7, day, ids[i : i + 1])[0] for i in range(len(ids))])
    assert np.array_equal(together, alone)
    rev = cd.uniform(7, day, ids[::-1])[::-1]
    assert np.array_equal(together, rev)
    assert ((together > 0) & (together < 1)).all()


def test_counter_draws_are_uniform_and_independent_across_counters():
    # 200,000 draws on consecutive residents: each of 20 bins holds 10,000 expected, sd
    # 98; 5 sd allowed. Neighbouring keys (resident i and i + 1, purpose 1 and 2, the two
    # halves of a pair) are uncorrelated: correlation sd 1 / sqrt(n) = 0.0022, 5 sd allowed.
    cd = CounterDraws(np.random.default_rng(11))
    n = 200_000
    ids = np.arange(n)
    u = cd.uniform(1, ids)
    counts = np.bincount((u * 20).astype(int), minlength=20)
    assert np.abs(counts - n / 20).max() < 5 * np.sqrt(n / 20 * 0.95)
    tol = 5 / np.sqrt(n)
    assert abs(np.corrcoef(u[:-1], u[1:])[0, 1]) < tol
    assert abs(np.corrcoef(u, cd.uniform(2, ids))[0, 1]) < tol
    assert abs(np.corrcoef(cd.uniform(3, pair(ids, 1)), cd.uniform(3, pair(1, ids)))[0, 1]) < tol
    other = CounterDraws(np.random.default_rng(12))
    assert abs(np.corrcoef(u, other.uniform(1, ids))[0, 1]) < tol
