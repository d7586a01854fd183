"""A toy module: its own class plus one registration (``REGISTRY.added(Tag)``) gives it a
spec section, a per-resident column, a daily rule, an event kind, an output column and a
check of its section against the region."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from popsim.core import Column, Event, Module


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
        zone = resolve.zone(params.first_zone, "first_zone")
        return params.model_copy(update={"first_zone": zone})

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
