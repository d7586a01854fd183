"""The module contract: what a part of the model declares and the hooks the model calls.

A module is one class (a subclass of :class:`Module`) registered once
(:data:`popsim.core.registry.REGISTRY`, see ``popsim/modules.py``). From that
registration the rest follows:

- its spec section ``[<name>]`` and the parameter class validating it (``params_class``),
  whether it is on when the spec does not mention it (``default_on``);
- the per-resident columns the model adds to the population before :meth:`Module.init`
  (``columns``);
- the scenario event types it owns and applies (``events``);
- the ``zone_day`` columns it adds to the outputs (``zone_columns``) and writes each day
  in :meth:`Module.record_zones` (a module may also refine the schema's counts there,
  as the epidemic writes the epidemic states); the care module also names the
  ``facility_day`` columns it writes (``facility_columns``);
- the checks of its section against the run's region and horizon
  (:meth:`Module.resolve_params`: zone and site names to indices, days inside the run);
- where in the day it runs (``phase``): resident modules in registration order, then
  the care phase, then the day's records.

Modules never change shared state behind the model's back: they *request* care, ED
visits and deaths through the model (:class:`ModelAPI`, :mod:`popsim.core.requests`).
Randomness: each module draws from its own named stream, ``model.stream(self.name)``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, ClassVar, Protocol

import numpy as np

if TYPE_CHECKING:
    from datetime import date
    from pathlib import Path

    from pydantic import BaseModel

    from popsim.core.events import Event
    from popsim.core.requests import NeedBatch

#: Day phases a module can run in: the residents' modules, then the care network.
RESIDENTS = "residents"
CARE = "care"
PHASES: tuple[str, ...] = (RESIDENTS, CARE)


@dataclass(frozen=True)
class Column:
    """A per-resident column a module needs: name, numpy dtype and default value."""

    name: str
    dtype: str
    default: float | int | bool = 0


class ModelAPI(Protocol):
    """The model as a module sees it (implemented by :class:`popsim.model.RegionModel`).

    Attributes: ``day`` (today, 0-based), ``date``, ``pop`` (the residents' columns),
    ``region``, ``config`` (the resolved run configuration) and ``facility_day`` (the
    care module's output array).
    """

    day: int
    pop: Any
    region: Any
    config: Any

    def stream(self, name: str) -> np.random.Generator:
        """The named random stream (independent of every other name)."""

    def request_care(self, needs: NeedBatch) -> None:
        """Residents who need a hospital bed today (handled in the care phase)."""

    def request_ed_visits(self, zone_visits: np.ndarray) -> None:
        """ED visits that end in the ED today, per zone of residence."""

    def take_requests(self) -> tuple[NeedBatch, np.ndarray | None]:
        """Today's needs and ED visits per zone, emptying the queues (the care phase)."""

    def request_exposure(self, ids: np.ndarray, rel: float) -> None:
        """Residents ``ids`` (distinct) whose community infection hazard is ``rel`` (>= 1)
        times their cell's at the epidemic's next draw (staffing: nurses at work)."""

    def take_exposures(self) -> list[tuple[np.ndarray, float]]:
        """The exposures requested since the last call, emptying the queue (the epidemic)."""

    def kill(self, ids: np.ndarray) -> np.ndarray:
        """Residents die today; returns those who were alive. Every module is told."""

    def report_alc(self, started: np.ndarray, ended: np.ndarray, reasons: np.ndarray) -> None:
        """The care network: residents whose ALC stay started today, and those whose ALC
        stay ended today with the reason (:data:`popsim.core.requests.ALC_END_NAMES`)."""

    def take_alc_reports(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """The ALC starts and ends reported since the last call (the module taking ALC
        patients), emptying the queue."""

    def request_alc_exits(self, ids: np.ndarray, reasons: np.ndarray) -> None:
        """ALC patients who leave hospital today (placed, home, dead), applied by the care
        network in the care phase."""

    def take_alc_exits(self) -> tuple[np.ndarray, np.ndarray]:
        """The ALC exits requested since the last call, emptying the queue (the care phase)."""

    def alc_taken(self) -> bool:
        """Whether a module takes the ALC patients (their ALC stay then lasts until it ends
        it); otherwise an ALC stay is the need's drawn length."""

    def reindexed(self) -> None:
        """Ages, zones or rows changed (ageing, migration): every module rebuilds its counts."""

    def joined(self) -> None:
        """Rows were appended (births) and nothing else changed a cell: the indexes take
        them and every module is told (``on_join``)."""


class SectionResolver(Protocol):
    """What a module gets to check its section against the region and the run's days;
    ``key`` is relative to the section (``seed_zones[0]``) and errors name the spec file
    and the full key (``scenarios.<name>.epidemic.seed_zones[0]`` when the scenario set it).
    ``region`` is the region the spec runs on.
    """

    region: Any

    def zone(self, name: str | int, key: str) -> int:
        """The index of a zone by id, name or index."""

    def facility(self, name: str, key: str) -> int:
        """The index of a facility by id or name."""

    def day(self, day: int, key: str) -> int:
        """``day`` itself, checked to be a day of the run (0-based)."""

    def path(self, value: str, key: str) -> Path:
        """A file named in the section: relative to the spec's folder unless absolute."""

    def dates(self) -> tuple[date, int]:
        """The run's start date and number of days."""

    def error(self, key: str, problem: str) -> Exception:
        """An exception naming the spec file, the key and the problem; the caller raises it."""


class Module:
    """A part of the model (epidemic, demand, demography, care, ...).

    Subclasses set the class attributes below and override the hooks they need; the
    constructor takes the validated parameter object (an instance of ``params_class``).

    Attributes:
        name: the module's spec section, its random stream and its timing key.
        params_class: the pydantic class of its parameters (``None``: no parameters).
        default_on: on when the spec does not name its section.
        always_on: built (with default parameters) even when a spec switches it off.
        phase: :data:`RESIDENTS` or :data:`CARE`.
        columns: per-resident columns it needs.
        events: the event types it owns (see :mod:`popsim.core.events`).
        zone_columns: ``zone_day`` columns it adds (int32 per day, zone and age band).
        facility_columns: ``facility_day`` columns it writes (the care module only).
        takes_alc: (instance) the module takes the ALC patients: it hears of every ALC
            stay's start and end (:meth:`ModelAPI.take_alc_reports`) and ends it
            (:meth:`ModelAPI.request_alc_exits`).
    """

    name: ClassVar[str] = "module"
    params_class: ClassVar[type[BaseModel] | None] = None
    default_on: ClassVar[bool] = False
    always_on: ClassVar[bool] = False
    phase: ClassVar[str] = RESIDENTS
    columns: ClassVar[tuple[Column, ...]] = ()
    events: ClassVar[tuple[type[Event], ...]] = ()
    zone_columns: ClassVar[tuple[str, ...]] = ()
    facility_columns: ClassVar[tuple[str, ...]] = ()
    #: takes the ALC patients after :meth:`init` (their ALC stay lasts until it ends it)
    takes_alc: bool = False

    def __init__(self, params: Any = None) -> None:
        self.params = params

    @classmethod
    def resolve_params(cls, params: Any, resolve: SectionResolver) -> Any:
        """Check the validated parameters of one scenario against its region and days
        (names of zones or sites, days inside the run); returns them, possibly with names
        replaced by indices. Raise ``resolve.error(key, problem)`` for a bad value."""
        return params

    def init(self, model: ModelAPI) -> None:
        """Called once, after the population exists and the columns are added."""

    def step(self, model: ModelAPI) -> None:
        """One day's work for this module."""

    def apply(self, model: ModelAPI, event: Event) -> None:
        """Apply a scenario event this module owns (at the start of its day)."""

    def on_deaths(self, model: ModelAPI, ids: np.ndarray) -> None:
        """Residents ``ids`` (alive until now) have just died."""

    def on_reindex(self, model: ModelAPI) -> None:
        """Ages, zones or rows changed (ageing, migration): rebuild per-cell counts."""

    def on_join(self, model: ModelAPI, ids: np.ndarray) -> None:
        """Rows ``ids`` were appended (newborns, living, their columns at the defaults) and
        indexed; no other resident changed cell. By default the per-cell counts are
        rebuilt (``on_reindex``); a module with counts of its own may add the new rows
        only, for the same counts at the cost of the births."""
        self.on_reindex(model)

    def record_zones(self, model: ModelAPI, out: Mapping[str, np.ndarray]) -> None:
        """Write today's ``zone_day`` values of this module, by column name: ``out[name]``
        is today's (zone, age band) int32 array of every ``zone_day`` count column. The
        model has filled the schema's counts (``susceptible``: every living resident,
        ``new_admissions``, ``deaths``; the rest zero); a module writes its own
        ``zone_columns`` (zero-filled) and may refine the schema's counts it is the
        source of. Called after the care phase, in registration order."""

    def exposed(self) -> Any:
        """What the model shows as ``model.<name>`` (this module, unless it says otherwise)."""
        return self
