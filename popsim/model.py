"""RegionModel: one step is one day of a region's residents and care network.

The model is assembled from the registered modules (:mod:`popsim.modules`, the contract
in :mod:`popsim.core`): each module whose spec section is on is built with its parameters,
its per-resident columns are added, and the day runs, in :meth:`RegionModel.step`:

1. scenario events due today, each applied by the module that owns it;
2. the residents' modules in registration order (epidemic: infections, progression, new
   severe and critical cases become needs; demand: everyday ED visits and admissions;
   demography: deaths, births, ageing);
3. the care phase: the care network routes and admits today's needs, steps its patients
   and writes the day's ``facility_day`` row;
4. record: the day's ``zone_day`` rows (the schema's counts, then module columns).

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
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import TYPE_CHECKING, Any

import mesa
import numpy as np
import pandas as pd

from popsim.core import schema
from popsim.core.ages import AGE_BANDS, N_AGE_BANDS
from popsim.core.config import ModelConfig
from popsim.core.module import CARE, RESIDENTS, Module
from popsim.core.registry import RegistryError
from popsim.core.requests import NeedBatch
from popsim.core.seeds import replicate_seed, stream_seed
from popsim.modules import REGISTRY
from popsim.population import Population

if TYPE_CHECKING:
    from pathlib import Path

    from popsim.core.events import Event
    from popsim.region.load import Region
    from popsim.run.spec import RunSpec

#: Columns of ``facility_day`` every care network reports (from the core schema).
FACILITY_METRICS: tuple[str, ...] = schema.FACILITY_METRICS
#: The schema's columns of ``zone_day`` (per day, zone and age band), in array order;
#: registered modules add theirs after these.
ZONE_METRICS: tuple[str, ...] = schema.ZONE_METRICS


@dataclass
class RunResult:
    """What one replicate produced, as numpy arrays (turned into Parquet by the recorder)."""

    start: date
    zone_ids: list[str]
    facility_ids: list[str]
    facility_metrics: tuple[str, ...]
    facility_day: np.ndarray  # (days, n_facilities, n_metrics) int32
    zone_day: np.ndarray  # (days, n_zones, N_AGE_BANDS, len(zone_metrics)) int32
    journeys: dict[str, np.ndarray]  # resident_id, day, event, facility, unit (codes)
    journey_codes: dict[str, tuple[str, ...]]  # names of the codes in event, unit
    seconds: dict[str, float] = field(default_factory=dict)
    n_residents: int = 0
    zone_metrics: tuple[str, ...] = ZONE_METRICS
    staff_day: dict[str, Any] | None = None  # staffing's rows (popsim.staffing.module), if on
    ltc_day: np.ndarray | None = None  # (days, n_zones, len(schema.LTC_METRICS)), if LTC is on
    #: living residents at each snapshot (the first day, then each 1 January): ``day``
    #: (snapshot days) and ``counts`` (snapshots, zones, age bands, sexes)
    population: dict[str, np.ndarray] | None = None

    def zone_counts(self, name: str) -> np.ndarray:
        """One ``zone_day`` count by name: a (day, zone, age band) array."""
        return self.zone_day[..., self.zone_metrics.index(name)]

    # labelled views (pandas), the same rows and names as the Parquet tables
    def facility_frame(self) -> pd.DataFrame:
        """``facility_day`` as a DataFrame: one row per day and facility (``day``, ``date``,
        ``facility`` id, then one column per metric)."""
        days, n_fac, _ = self.facility_day.shape
        keys = self._keys(days, {"facility": self.facility_ids})
        values = self.facility_day.reshape(days * n_fac, -1)
        return keys.join(pd.DataFrame(values, columns=list(self.facility_metrics)))

    def zone_frame(self) -> pd.DataFrame:
        """``zone_day`` as a DataFrame: one row per day, zone and age band (``day``,
        ``date``, ``zone`` id, ``age_band``, then one column per count)."""
        days, n_zones, n_bands, n = self.zone_day.shape
        keys = self._keys(days, {"zone": self.zone_ids, "age_band": list(AGE_BANDS)})
        values = self.zone_day.reshape(days * n_zones * n_bands, n)
        return keys.join(pd.DataFrame(values, columns=list(self.zone_metrics)))

    def journey_frame(self) -> pd.DataFrame:
        """``journeys`` as a DataFrame: one row per patient event (``resident_id``, ``day``,
        ``event``, ``facility``, ``unit``; names as categoricals)."""
        j, codes = self.journeys, self.journey_codes
        names = {"event": codes.get("event", ()), "unit": codes.get("unit", ())}
        names["facility"] = self.facility_ids
        frame = {"resident_id": np.asarray(j.get("resident_id", ()), dtype=np.int32)}
        frame["day"] = np.asarray(j.get("day", ()), dtype=np.int16)
        for col in ("event", "facility", "unit"):
            codes_col = np.asarray(j.get(col, ()), dtype=np.int64)
            frame[col] = pd.Categorical.from_codes(codes_col, categories=list(names[col]))
        return pd.DataFrame(frame)

    def _keys(self, days: int, levels: dict[str, list[str]]) -> pd.DataFrame:
        """Key columns in array order: day, date, then each level (categoricals)."""
        sizes = [len(v) for v in levels.values()]
        per_day = int(np.prod(sizes))
        day = np.repeat(np.arange(days, dtype=np.int16), per_day)
        out: dict[str, Any] = {"day": day}
        out["date"] = pd.Timestamp(self.start) + pd.to_timedelta(day, unit="D")
        for i, (name, values) in enumerate(levels.items()):
            inner = int(np.prod(sizes[i + 1 :]))  # rows per value of this level
            outer = days * int(np.prod(sizes[:i]))  # repeats of the whole level
            codes = np.tile(np.repeat(np.arange(len(values)), inner), outer)
            out[name] = pd.Categorical.from_codes(codes, categories=list(values))
        return pd.DataFrame(out)


class RegionModel(mesa.Model):
    """A region's residents (columns) and its care network (Mesa agents), day by day.

    Args:
        region: the loaded region.
        config: the resolved run configuration.
        seed: the replicate's seed sequence (or an int for convenience).
        population: reuse an existing population (tests); synthesised otherwise.

    Attributes: ``modules`` (the modules switched on, in day order) and each of them by
    name (``model.epidemic``: the module, ``None`` when off; ``model.care``: the care
    network).
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
        self._residents = [m for m in self.modules if m.phase == RESIDENTS]
        self._care = [m for m in self.modules if m.phase == CARE]
        for module in self.modules:
            for column in module.columns:
                self.pop.add_column(column)
        for cls in REGISTRY.modules():  # every section is an attribute: None when off
            if cls.name in self.__dict__ or hasattr(type(self), cls.name):
                raise RegistryError(f"module name {cls.name!r} clashes with a model attribute")
            setattr(self, cls.name, None)
        self._owner: dict[type, Module | None] = {}
        for cls in REGISTRY.modules():
            for event_type in cls.events:
                self._owner[event_type] = None
        for module in self.modules:
            for event_type in module.events:
                self._owner[event_type] = module

        days, nz = config.days, region.n_zones
        self.zone_metrics: tuple[str, ...] = REGISTRY.zone_columns()
        self.zone_day = np.zeros((days, nz, N_AGE_BANDS, len(self.zone_metrics)), dtype=np.int32)
        # the modules that write zone_day columns (their own, or the schema's they are
        # the source of, as the epidemic's states): those overriding record_zones
        self._zone_writers = [
            m for m in self.modules if type(m).record_zones is not Module.record_zones
        ]
        self._alive_col, self._admissions_col, self._deaths_col = (
            self.zone_metrics.index(c) for c in ("susceptible", "new_admissions", "deaths")
        )
        self.new_admissions = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.new_deaths = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self._snapshots: list[tuple[int, np.ndarray]] = []  # (day, zone x band x sex)
        self._needs: list[NeedBatch] = []
        self._ed_visits: list[np.ndarray] = []
        self._exposures: list[tuple[np.ndarray, float]] = []
        self._alc_reports: list[tuple[np.ndarray, np.ndarray, np.ndarray]] = []
        self._alc_exits: list[tuple[np.ndarray, np.ndarray]] = []
        self._events: dict[int, list[Event]] = defaultdict(list)
        for event in config.events:
            self._events[event.day].append(event)

        self.facility_metrics: tuple[str, ...] = REGISTRY.facility_columns()
        self.facility_day = np.zeros(
            (days, region.n_facilities, len(self.facility_metrics)), dtype=np.int32
        )
        t0 = time.perf_counter()
        for module in self._care + self._residents:  # the care network exists first
            module.init(self)
            setattr(self, module.name, module.exposed())
        self._alc_taker = any(m.takes_alc for m in self.modules)
        self.seconds["init_modules"] += time.perf_counter() - t0

    @classmethod
    def from_spec(
        cls,
        spec: str | Path | RunSpec,
        scenario: str | None = None,
        replicate: int = 0,
        days: int | None = None,
        population: int | None = None,
    ) -> RegionModel:
        """The model of one replicate of one scenario of a run spec, ready to step.

        ``spec`` is a path to a TOML spec or a :class:`popsim.run.spec.RunSpec`;
        ``scenario`` defaults to the spec's first; ``replicate`` picks the seed exactly as
        an ensemble run does (so ``run()`` reproduces that replicate's outputs); ``days``
        and ``population`` override the spec as on the command line.
        """
        from popsim.run.spec import RunSpec, load_spec

        if not isinstance(spec, RunSpec):
            spec = load_spec(spec)
        spec = spec.with_overrides(days=days, population=population)
        region = spec.load_region()
        name = next(iter(spec.scenarios)) if scenario is None else scenario
        config = spec.model_config_for(name, region)
        return cls(region, config, replicate_seed(spec.seed, replicate))

    # ------------------------------------------------------------------ setup
    def stream(self, name: str) -> np.random.Generator:
        """The named random stream of a module: independent of every other name."""
        return np.random.default_rng(stream_seed(self.seed_sequence, name))

    def _build_modules(self) -> list[Module]:
        """The registered modules that are on, in registration order."""
        modules: list[Module] = []
        for cls in REGISTRY.modules():
            params = self.config.params.get(cls.name)
            if params is None and cls.always_on:
                params = cls.params_class() if cls.params_class is not None else None
            elif params is None:
                continue
            modules.append(cls(params))
        return modules

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

    def take_requests(self) -> tuple[NeedBatch, np.ndarray | None]:
        """Today's needs and ED visits per zone (``None``: none), emptying the queues
        (the care phase calls this)."""
        needs = NeedBatch.concat(self._needs)
        ed = np.sum(self._ed_visits, axis=0) if self._ed_visits else None
        self._needs.clear()
        self._ed_visits.clear()
        return needs, ed

    def request_exposure(self, ids: np.ndarray, rel: float) -> None:
        """Residents ``ids`` (distinct) whose community infection hazard is ``rel`` (>= 1)
        times their cell's at the epidemic's next draw (tomorrow's, when asked after the
        epidemic ran today). Ask only when a module takes them (the epidemic is on)."""
        if rel < 1.0:
            raise ValueError(f"a relative infection hazard must be >= 1, got {rel}")
        if len(ids) and rel > 1.0:
            self._exposures.append((np.asarray(ids, dtype=np.int64), float(rel)))

    def take_exposures(self) -> list[tuple[np.ndarray, float]]:
        """The exposures requested since the last call, emptying the queue (the epidemic
        calls this once a day)."""
        out = list(self._exposures)
        self._exposures.clear()
        return out

    def alc_taken(self) -> bool:
        """Whether a module takes the ALC patients (their ALC stay lasts until it ends it;
        decided when the modules are initialised)."""
        return any(m.takes_alc for m in self.modules)

    def report_alc(self, started: np.ndarray, ended: np.ndarray, reasons: np.ndarray) -> None:
        """The care network: today's ALC starts, and ALC ends with their reasons (kept only
        when a module takes the ALC patients)."""
        if self._alc_taker and (len(started) or len(ended)):
            self._alc_reports.append(
                (
                    np.asarray(started, dtype=np.int64),
                    np.asarray(ended, dtype=np.int64),
                    np.asarray(reasons, dtype=np.int8),
                )
            )

    def take_alc_reports(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """ALC starts, ends and reasons reported since the last call, emptying the queue."""
        reports = self._alc_reports
        if not reports:
            empty = np.zeros(0, dtype=np.int64)
            return empty, empty, np.zeros(0, dtype=np.int8)
        out = tuple(np.concatenate([r[i] for r in reports]) for i in range(3))
        reports.clear()
        return out  # type: ignore[return-value]

    def request_alc_exits(self, ids: np.ndarray, reasons: np.ndarray) -> None:
        """ALC patients who leave hospital today, applied in the care phase."""
        if len(ids):
            self._alc_exits.append(
                (np.asarray(ids, dtype=np.int64), np.asarray(reasons, dtype=np.int8))
            )

    def take_alc_exits(self) -> tuple[np.ndarray, np.ndarray]:
        """The ALC exits requested since the last call, emptying the queue."""
        exits = self._alc_exits
        if not exits:
            return np.zeros(0, dtype=np.int64), np.zeros(0, dtype=np.int8)
        ids = np.concatenate([e[0] for e in exits])
        reasons = np.concatenate([e[1] for e in exits])
        exits.clear()
        return ids, reasons

    def kill(self, ids: np.ndarray) -> np.ndarray:
        """Residents die today; returns those who were alive. Modules are told."""
        dead = self.pop.kill(ids)
        if len(dead):
            np.add.at(self.new_deaths, (self.pop.zone[dead], self.pop.band[dead]), 1)
            for module in self.modules:
                module.on_deaths(self, dead)
        return dead

    def reindexed(self) -> None:
        """Called by demography after ageing (or migration) changed cells."""
        self.pop.reindex()
        for module in self.modules:
            module.on_reindex(self)

    def joined(self) -> None:
        """Called by demography after rows were appended (births) and no cell changed
        otherwise: the indexes take the new rows, and every module is told which."""
        ids = self.pop.index_appended()
        if len(ids):
            for module in self.modules:
                module.on_join(self, ids)

    # -------------------------------------------------------------------- day
    def step(self) -> None:
        """One day: events, the residents' modules, the care phase, record."""
        if self.day >= self.config.days:
            raise RuntimeError(f"the run has {self.config.days} days and all have been run")
        clock = time.perf_counter
        t = clock()
        today = self.config.start + timedelta(days=self.day)
        if self.day == 0 or (today.month == 1 and today.day == 1):
            self._snapshot_population()
        for event in self._events.get(self.day, ()):
            self._apply(event)
        now = clock()
        self.seconds["events"] += now - t
        t = now
        for module in self._residents:
            module.step(self)
            now = clock()
            self.seconds[module.name] += now - t
            t = now
        for module in self._care:
            module.step(self)
            now = clock()
            self.seconds[module.name] += now - t
            t = now
        self._record_zones()
        self.seconds["record"] += clock() - t
        self.day += 1

    def run(self, days: int | None = None) -> RunResult:
        """Run ``days`` (default: the configured number) and return the results."""
        # Garbage collector: Patient agents come and go every day (their registry
        # entries are weak references: tracked objects) and set off collections that
        # rescan every object that survived earlier ones: the modules, the region, the
        # model, and every patient in hospital (tens of thousands at 10 M residents,
        # beds full); the collections find next to nothing (patients hold no cycles, they
        # are freed on release). Freezing what exists at the end of each day (a constant
        # time move of the collector's lists) leaves it to scan only what the day made:
        # the cost follows the day's work, not the census (at 10 M residents the
        # collections took about a quarter of the run). Unfrozen afterwards, so a
        # dropped model, or a cycle made during the run, can still be collected.
        gc.freeze()
        try:
            for _ in range(self.config.days if days is None else days):
                self.step()
                gc.freeze()
        finally:
            gc.unfreeze()
        return self.results()

    def _apply(self, event: Event) -> None:
        try:
            module = self._owner[type(event)]
        except KeyError:
            raise TypeError(f"unknown event {event!r} (no registered module owns it)") from None
        if module is not None:  # its module is off: nothing to apply it to
            module.apply(self, event)

    def _record_zones(self) -> None:
        """Today's ``zone_day`` row: the living residents (all susceptible until a module
        says otherwise), the day's admissions and deaths, then each module's columns."""
        row = self.zone_day[self.day]
        row[..., self._alive_col] = self.pop.alive_counts
        row[..., self._admissions_col] = self.new_admissions
        row[..., self._deaths_col] = self.new_deaths
        self.new_admissions[:] = 0
        self.new_deaths[:] = 0
        if self._zone_writers:
            out = {name: row[..., i] for i, name in enumerate(self.zone_metrics)}
            for module in self._zone_writers:
                module.record_zones(self, out)

    def _snapshot_population(self) -> None:
        """Living residents by zone, age band and sex at the start of today."""
        pop = self.pop
        nz = len(self.region.zone_ids)
        # (zone * bands + band) * 2 + sex, for every row, then the living counted
        key = pop.zone.astype(np.int32)
        key *= N_AGE_BANDS * 2
        key += pop.band * np.uint8(2)  # (at most 18: no overflow of uint8)
        key += pop.sex
        counts = np.bincount(key[pop.alive], minlength=nz * N_AGE_BANDS * 2)
        self._snapshots.append((self.day, counts.reshape(nz, N_AGE_BANDS, 2)))

    def results(self) -> RunResult:
        """Arrays of the days run so far."""
        days = self.day
        journeys, codes = self.care.journeys()
        return RunResult(
            start=self.config.start,
            zone_ids=self.region.zone_ids,
            facility_ids=self.region.facility_ids,
            facility_metrics=self.facility_metrics,
            facility_day=self.facility_day[:days],
            zone_day=self.zone_day[:days],
            journeys=journeys,
            journey_codes=codes,
            seconds=dict(self.seconds),
            n_residents=self.pop.n,
            zone_metrics=self.zone_metrics,
            staff_day=None if self.staffing is None else self.staffing.results(),
            ltc_day=self._ltc_rows(days),
            population={
                "day": np.array([d for d, _ in self._snapshots], dtype=np.int16),
                "counts": np.stack([c for _, c in self._snapshots]).astype(np.int32)
                if self._snapshots
                else np.zeros((0, len(self.region.zone_ids), N_AGE_BANDS, 2), np.int32),
            },
        )

    def _ltc_rows(self, days: int) -> np.ndarray | None:
        """``ltc_day`` of the days run so far, from the module that writes it (None: off)."""
        for module in self.modules:
            rows = getattr(module, "ltc_day", None)
            if isinstance(rows, np.ndarray):
                return rows[:days]
        return None

    def facility_frame(self) -> pd.DataFrame:
        """``facility_day`` of the days run so far, labelled (see :class:`RunResult`)."""
        return self.results().facility_frame()

    def zone_frame(self) -> pd.DataFrame:
        """``zone_day`` of the days run so far, labelled (see :class:`RunResult`)."""
        return self.results().zone_frame()

    def journey_frame(self) -> pd.DataFrame:
        """The journeys so far, labelled (see :class:`RunResult`)."""
        return self.results().journey_frame()

    def release(self) -> None:
        """Drop this model from mesa's class-level id registry (mesa 3.3 keeps every model
        alive there); call after a run on a long-lived worker."""
        mesa.Agent._ids.pop(self, None)
