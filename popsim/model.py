"""RegionModel: one step is one day of a region's residents and care network.

The whole day is written in :meth:`RegionModel.step`, in this order:

1. scenario events due today (facilities, contacts, vaccination, electives);
2. epidemic: infections, progression; new severe and critical cases become needs;
3. demand: today's everyday ED visits and admissions become needs;
4. demography: deaths, births, ageing (runs over several years);
5. care: route and admit today's needs, step the patients, measure capacity;
6. record: the day's zone aggregates.

Modules never change shared state behind the model's back: they *request* care
(:meth:`RegionModel.request_care`, :meth:`RegionModel.request_ed_visits`) and deaths
(:meth:`RegionModel.kill`), and the model applies them in its phase.

Randomness: one :class:`numpy.random.SeedSequence` per replicate; every module draws
from its own named stream (:meth:`RegionModel.stream`), so switching a module on or off
leaves the other modules' draws unchanged.
"""

from __future__ import annotations

import gc
import time
import zlib
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

import mesa
import numpy as np

from popsim.events import (
    DEMAND_EVENTS,
    EPIDEMIC_EVENTS,
    FACILITY_EVENTS,
    STAFFING_EVENTS,
    Event,
)
from popsim.needs import NeedBatch
from popsim.population import Column, Population
from popsim.region import N_AGE_BANDS

if TYPE_CHECKING:
    from popsim.care.network import CareParams
    from popsim.demand import DemandParams
    from popsim.demography import DemographyParams
    from popsim.epidemic import EpidemicParams
    from popsim.region import Region
    from popsim.staffing import StaffingParams

#: Columns of ``facility_day`` every care network reports, in this order (it may add more).
FACILITY_METRICS: tuple[str, ...] = (
    "ward_census",
    "ward_beds",
    "icu_census",
    "icu_beds",
    "alc_census",
    "admissions",
    "discharges",
    "deaths",
    "transfers_in",
    "transfers_out",
    "diversions",
    "ed_visits",
    "ed_boarding",
)

#: Columns of ``zone_day`` (per day, zone and age band), in array order.
ZONE_METRICS: tuple[str, ...] = (
    "susceptible",
    "exposed",
    "infectious",
    "recovered",
    "new_infections",
    "new_admissions",
    "deaths",
)


@dataclass(frozen=True)
class ModelConfig:
    """Everything one replicate of one scenario needs, already validated and resolved.

    ``None`` for a module switches it off. ``population`` scales the region to that
    many residents. ``events`` are resolved scenario events (see :mod:`popsim.events`).
    """

    days: int = 365
    start: date = date(2026, 1, 1)
    population: int | None = None
    epidemic: EpidemicParams | None = None
    demand: DemandParams | None = None
    demography: DemographyParams | None = None
    care: CareParams | None = None
    staffing: StaffingParams | None = None
    events: tuple[Event, ...] = ()
    record_journeys: bool = True


class Module:
    """A part of the resident side of the model (epidemic, demand, demography).

    Subclasses set ``name`` (also the name of their random stream) and declare the
    per-resident ``columns`` they need; the model adds them before :meth:`init`.
    """

    name: ClassVar[str] = "module"
    columns: ClassVar[tuple[Column, ...]] = ()

    def init(self, model: RegionModel) -> None:
        """Called once, after the population exists and columns are added."""

    def step(self, model: RegionModel) -> None:
        """One day's work for this module."""

    def apply(self, model: RegionModel, event: Event) -> None:
        """Apply a scenario event this module owns."""

    def on_deaths(self, model: RegionModel, ids: np.ndarray) -> None:
        """Residents ``ids`` (alive until now) have just died."""

    def on_reindex(self, model: RegionModel) -> None:
        """Ages, zones or rows changed (ageing, births): rebuild per-cell counts."""


@dataclass
class RunResult:
    """What one replicate produced, as numpy arrays (turned into Parquet by the recorder)."""

    start: date
    zone_ids: list[str]
    facility_ids: list[str]
    facility_metrics: tuple[str, ...]
    facility_day: np.ndarray  # (days, n_facilities, n_metrics) int32
    zone_day: np.ndarray  # (days, n_zones, N_AGE_BANDS, len(ZONE_METRICS)) int32
    journeys: dict[str, np.ndarray]  # resident_id, day, event, facility, unit (codes)
    journey_codes: dict[str, tuple[str, ...]]  # names of the codes in event, unit
    seconds: dict[str, float] = field(default_factory=dict)
    n_residents: int = 0
    staff_day: dict[str, Any] | None = None  # staffing's rows (popsim.staffing), if on


def _stream_key(name: str) -> int:
    return zlib.crc32(name.encode("utf-8"))


class RegionModel(mesa.Model):
    """A region's residents (columns) and its care network (Mesa agents), day by day.

    Args:
        region: the loaded region.
        config: the resolved run configuration.
        seed: the replicate's seed sequence (or an int for convenience).
        population: reuse an existing population (tests); synthesised otherwise.
    """

    def __init__(
        self,
        region: Region,
        config: ModelConfig,
        seed: np.random.SeedSequence | int = 0,
        population: Population | None = None,
    ) -> None:
        if not isinstance(seed, np.random.SeedSequence):
            seed = np.random.SeedSequence(seed)
        self.seed_sequence = seed
        super().__init__(seed=int(self.stream("mesa").integers(2**31 - 1)))
        self.region = region
        self.config = config
        self.day = 0
        self.seconds: dict[str, float] = defaultdict(float)
        t0 = time.perf_counter()
        if population is None:
            population = Population.synthesize(
                region, self.stream("population"), total=config.population
            )
        self.pop = population
        self.seconds["build_population"] += time.perf_counter() - t0

        self.modules: list[Module] = self._build_modules()
        for module in self.modules:
            for column in module.columns:
                self.pop.add_column(column)
        self.epidemic = self._module("epidemic")
        self.demand = self._module("demand")
        self.demography = self._module("demography")
        self.staffing = self._module("staffing")

        days, nz = config.days, region.n_zones
        self.zone_day = np.zeros((days, nz, N_AGE_BANDS, len(ZONE_METRICS)), dtype=np.int32)
        self.new_admissions = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.new_deaths = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self._needs: list[NeedBatch] = []
        self._ed_visits: list[np.ndarray] = []
        self._events: dict[int, list[Event]] = defaultdict(list)
        for event in config.events:
            self._events[event.day].append(event)

        from popsim.care.network import CareNetwork, CareParams

        self.care = CareNetwork(self, config.care or CareParams())
        self.facility_day = np.zeros(
            (days, region.n_facilities, len(self.care.metrics)), dtype=np.int32
        )
        t0 = time.perf_counter()
        for module in self.modules:
            module.init(self)
        self.seconds["init_modules"] += time.perf_counter() - t0

    # ------------------------------------------------------------------ setup
    def stream(self, name: str) -> np.random.Generator:
        """The named random stream of a module: independent of every other name."""
        ss = self.seed_sequence
        child = np.random.SeedSequence(ss.entropy, spawn_key=(*ss.spawn_key, _stream_key(name)))
        return np.random.default_rng(child)

    def _build_modules(self) -> list[Module]:
        cfg = self.config
        modules: list[Module] = []
        if cfg.epidemic is not None:
            from popsim.epidemic import Epidemic

            modules.append(Epidemic(cfg.epidemic))
        if cfg.demand is not None:
            from popsim.demand import Demand

            modules.append(Demand(cfg.demand))
        if cfg.demography is not None:
            from popsim.demography import Demography

            modules.append(Demography(cfg.demography))
        if cfg.staffing is not None:  # last: it reads the day's census just before care
            from popsim.staffing import Staffing

            modules.append(Staffing(cfg.staffing))
        return modules

    def _module(self, name: str) -> Any:
        return next((m for m in self.modules if m.name == name), None)

    @property
    def date(self) -> date:
        return self.config.start + timedelta(days=self.day)

    # --------------------------------------------------------------- requests
    def request_care(self, needs: NeedBatch) -> None:
        """Residents who need a hospital bed today (handled in the care phase)."""
        if len(needs):
            self._needs.append(needs)

    def request_ed_visits(self, zone_visits: np.ndarray) -> None:
        """ED visits that end in the ED today, counted per zone of residence."""
        self._ed_visits.append(np.asarray(zone_visits, dtype=np.int64))

    def kill(self, ids: np.ndarray) -> np.ndarray:
        """Residents die today; returns those who were alive. Modules are told."""
        dead = self.pop.kill(ids)
        if len(dead):
            np.add.at(self.new_deaths, (self.pop.zone[dead], self.pop.band[dead]), 1)
            for module in self.modules:
                module.on_deaths(self, dead)
        return dead

    def reindexed(self) -> None:
        """Called by demography after ageing or births changed cells."""
        self.pop.reindex()
        for module in self.modules:
            module.on_reindex(self)

    # -------------------------------------------------------------------- day
    def step(self) -> None:
        """One day: events, epidemic, demand, demography, care, record."""
        clock = time.perf_counter
        t = clock()
        for event in self._events.get(self.day, ()):
            self._apply(event)
        now = clock()
        self.seconds["events"] += now - t
        t = now
        for module in self.modules:
            module.step(self)
            now = clock()
            self.seconds[module.name] += now - t
            t = now
        needs = NeedBatch.concat(self._needs)
        ed = np.sum(self._ed_visits, axis=0) if self._ed_visits else None
        self._needs.clear()
        self._ed_visits.clear()
        self.care.step(needs, ed)
        now = clock()
        self.seconds["care"] += now - t
        self._record_zones()
        self.seconds["record"] += clock() - now
        self.day += 1

    def run(self, days: int | None = None) -> RunResult:
        """Run ``days`` (default: the configured number) and return the results."""
        # Garbage collector (care's change): Patient agents come and go every day and set
        # off full collections that rescan every long-lived object (modules, the region,
        # the model); freezing what exists now leaves those out (about 0.3 s of CPU in a
        # Fraser year). Unfrozen afterwards, so a dropped model can still be collected.
        gc.freeze()
        try:
            for _ in range(self.config.days if days is None else days):
                self.step()
        finally:
            gc.unfreeze()
        return self.results()

    def _apply(self, event: Event) -> None:
        if isinstance(event, FACILITY_EVENTS):
            self.care.apply(event)
        elif isinstance(event, EPIDEMIC_EVENTS):
            if self.epidemic is not None:
                self.epidemic.apply(self, event)
        elif isinstance(event, DEMAND_EVENTS):
            if self.demand is not None:
                self.demand.apply(self, event)
        elif isinstance(event, STAFFING_EVENTS):
            if self.staffing is not None:
                self.staffing.apply(self, event)
        else:
            raise TypeError(f"unknown event {event!r}")

    def _record_zones(self) -> None:
        row = self.zone_day[self.day]
        alive = self.pop.alive_counts
        if self.epidemic is not None:
            e, i, r = self.epidemic.state_counts()  # each (n_zones, N_AGE_BANDS)
            row[..., 1], row[..., 2], row[..., 3] = e, i, r
            row[..., 0] = alive - e - i - r
            row[..., 4] = self.epidemic.new_infections
        else:
            row[..., 0] = alive
        row[..., 5] = self.new_admissions
        row[..., 6] = self.new_deaths
        self.new_admissions[:] = 0
        self.new_deaths[:] = 0

    def results(self) -> RunResult:
        """Arrays of the days run so far."""
        days = self.day
        journeys, codes = self.care.journeys()
        return RunResult(
            start=self.config.start,
            zone_ids=self.region.zone_ids,
            facility_ids=self.region.facility_ids,
            facility_metrics=tuple(self.care.metrics),
            facility_day=self.facility_day[:days],
            zone_day=self.zone_day[:days],
            journeys=journeys,
            journey_codes=codes,
            seconds=dict(self.seconds),
            n_residents=self.pop.n,
            staff_day=None if self.staffing is None else self.staffing.results(),
        )

    def release(self) -> None:
        """Drop this model from mesa's class-level id registry (mesa 3.3 keeps every model
        alive there); call after a run on a long-lived worker."""
        mesa.Agent._ids.pop(self, None)
