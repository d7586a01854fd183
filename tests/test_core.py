"""The core contract: a module defined here (its own class plus one registration) gets a
spec section, a per-resident column, a daily rule, an event kind and an output column,
with nothing else in popsim edited; the registry refuses clashes."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pytest
from pydantic import BaseModel, ConfigDict, Field

from popsim.core import REGISTRY, Column, Event, Module, RegistryError
from popsim.core.seeds import replicate_seed
from popsim.errors import SpecError
from popsim.model import RegionModel
from popsim.scenario import RunSpec, load_spec


# --------------------------------------------------------------- the toy module
class TagParams(BaseModel):
    """Parameters of the toy module: the daily chance a living resident is tagged."""

    model_config = ConfigDict(extra="forbid")

    p_tag_daily: float = Field(0.05, ge=0.0, le=1.0)
    first_zone: str | int | None = None  # a zone tagged whole on day 0


@dataclass(frozen=True)
class TagZone(Event):
    """Tag every living resident of a zone: ``{ tag_zone = "Z01" }``."""

    zone: int

    kind: ClassVar[str] = "tag_zone"
    spec_fields: ClassVar[dict[str, tuple[Any, Any]]] = {"tag_zone": (str | None, None)}

    @classmethod
    def from_spec(cls, day: int, values: dict[str, Any], resolve: Any) -> Event:
        return cls(day, resolve.zone(values["tag_zone"], "tag_zone"))


class Tag(Module):
    """Tags residents at random each day (a tag is kept for life); counts tagged residents."""

    name: ClassVar[str] = "tag"
    params_class = TagParams
    columns = (Column("tagged", "bool", False),)
    events = (TagZone,)
    zone_columns = ("tagged_alive",)

    @classmethod
    def resolve_params(cls, params: TagParams, resolve: Any) -> TagParams:
        if params.first_zone is None:
            return params
        return params.model_copy(
            update={"first_zone": resolve.zone(params.first_zone, "first_zone")}
        )

    def init(self, model: Any) -> None:
        self.rng = model.stream(self.name)
        if self.params.first_zone is not None:
            pop = model.pop
            pop.tagged[(pop.zone == self.params.first_zone) & pop.alive] = True

    def step(self, model: Any) -> None:
        pop = model.pop
        pop.tagged[(self.rng.random(pop.n) < self.params.p_tag_daily) & pop.alive] = True

    def apply(self, model: Any, event: Event) -> None:
        pop = model.pop
        pop.tagged[(pop.zone == event.zone) & pop.alive] = True

    def record_zones(self, model: Any, out: Any) -> None:
        pop = model.pop
        who = pop.tagged & pop.alive
        np.add.at(out["tagged_alive"], (pop.zone[who], pop.band[who]), 1)


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
    from distributed import LocalCluster

    from popsim import record
    from popsim.ensemble import run_spec

    # worker threads in this process: they see the module registered here
    with LocalCluster(
        n_workers=1,
        threads_per_worker=1,
        processes=False,
        dashboard_address=None,
    ) as cluster:
        run = run_spec(spec_path, scheduler=cluster.scheduler_address, out=tmp_path / "out")
    zd = record.read_table(run.out, "zone_day").to_pandas()
    assert "tagged_alive" in zd.columns
    spec = load_spec(spec_path)
    model = RegionModel(
        synthetic, spec.model_config_for("all-z01", synthetic), seed=replicate_seed(spec.seed, 0)
    )
    model.run()
    written = zd[zd.scenario == "all-z01"].groupby("day")["tagged_alive"].sum().to_numpy()
    assert np.array_equal(written, _zone_column(model, "tagged_alive").sum(axis=(1, 2)))


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
    assert REGISTRY.names() == ("epidemic", "demand", "demography", "staffing", "care")


def test_a_spec_crosses_to_another_process_as_data():
    import pickle

    spec = RunSpec.from_dict({"region": "synthetic", "demography": {}}, path="x.toml")
    spec = spec.with_overrides(days=12)
    back = pickle.loads(pickle.dumps(spec))
    assert back.to_json() == spec.to_json() and back.path == "x.toml" and back.days == 12
