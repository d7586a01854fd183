"""The care network as a module: the contract's hooks around :class:`CareNetwork`.

It runs in the care phase (after the residents' modules), owns the facility events
(open, close, bed changes) and writes ``facility_day``. The model shows the network
itself as ``model.care``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, ClassVar

from popsim.care.network import METRICS, CareNetwork, CareParams
from popsim.core.event_types import ChangeBeds, CloseFacility, OpenFacility
from popsim.core.module import CARE, Module

if TYPE_CHECKING:
    from popsim.core.events import Event
    from popsim.core.module import ModelAPI


class Care(Module):
    """Routes and admits the day's needs, steps the patients, writes ``facility_day``."""

    name: ClassVar[str] = "care"
    params_class = CareParams
    default_on = True
    always_on = True  # every run has a care network (defaults when a spec says enabled = false)
    phase = CARE
    events = (OpenFacility, CloseFacility, ChangeBeds)
    facility_columns = METRICS

    def init(self, model: ModelAPI) -> None:
        self.network = CareNetwork(model, self.params)

    def step(self, model: ModelAPI) -> None:
        needs, ed_visits = model.take_requests()
        self.network.step(needs, ed_visits)

    def apply(self, model: ModelAPI, event: Event) -> None:
        self.network.apply(event)

    def exposed(self) -> CareNetwork:
        return self.network
