"""Epidemic: a respiratory wave over the residents (SEIR with age-stratified severity).

States (``epi_state`` column, uint8): susceptible, exposed (latent), infectious
asymptomatic, infectious symptomatic, recovered, vaccine-immune, dead.

Transmission, each day:

- **household**: when a resident becomes infectious, each susceptible member of the
  household is infected with a secondary attack probability, on a day drawn uniformly
  within the infector's infectious period (scheduled, then applied only if still
  susceptible);
- **community**: the hazard of a susceptible of zone ``z``, age band ``a`` is
  ``beta * rel[z] * sum_b C[a, b] * sum_z' W[z, z'] * I[z', b] / N[z', b]`` where ``C`` is
  an age contact matrix (contacts a day with band ``b``) and ``W`` the share of contacts
  made in each zone (gravity: grows with the other zone's population, falls with travel
  minutes). The number of new infections per cell (zone x band) is binomial on the
  cell's susceptibles; who they are is drawn by rejection from the cell index.

Progression uses calendars (:class:`popsim.transmission.Calendar`: onsets, recoveries and
household exposures in one, hospital needs in another): only residents whose transition
is due today are touched, never all rows. ``r0`` is the basic reproduction
number of a fully susceptible population: ``beta`` is calibrated to the community share
by the spectral radius of the next-generation matrix, the household attack probability
to the household share (mean number of other household members, size-biased).

Severity (absolute probabilities per infection by age band) defaults to the Covasim
table (Imperial College Report 9, O'Driscoll et al.), as are the durations. Severe and
critical residents are handed to the care network (:class:`popsim.needs.NeedBatch`) on
the day they need a bed, with their planned path; epidemic deaths happen in ICU, carried
out by the care network.

Default contact matrix: a *synthetic* POLYMOD-like matrix (stated assumption, not the
measured one): strong same-age mixing highest for school ages, a parent-child ridge
three bands apart and a uniform background; see :func:`polymod_like_matrix`.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from typing import TYPE_CHECKING, ClassVar, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from popsim.events import ContactReduction, Event, Vaccinate
from popsim.model import Module
from popsim.needs import EPI_CRITICAL, EPI_SEVERE, NeedBatch
from popsim.population import Column, unique_sorted
from popsim.region import N_AGE_BANDS
from popsim.transmission import Calendar, HazardCache, calibrate

if TYPE_CHECKING:
    from popsim.model import RegionModel

S, E, IA, IS, R, V, D = range(7)
N_STATES = 7
# what a resident's row in the progression calendar is due for
ONSET, RECOVERY, EXPOSURE = range(3)
MAX_STAY_DAYS = 365

# Covasim age table (per infection, absolute), bands 0-9 .. 90+.
P_SYMPTOMATIC = (0.50, 0.55, 0.60, 0.65, 0.70, 0.75, 0.80, 0.85, 0.90, 0.90)
P_SEVERE = (0.0005, 0.00165, 0.0072, 0.0208, 0.0343, 0.0765, 0.1328, 0.2066, 0.2457, 0.2457)
P_CRITICAL = (3e-5, 8e-5, 3.6e-4, 1.04e-3, 2.16e-3, 9.33e-3, 0.03639, 0.08923, 0.1742, 0.1742)
P_DEATH = (0.00002, 0.00002, 0.0001, 0.00032, 0.00098, 0.00265, 0.00766, 0.02439, 0.08292, 0.1619)


def polymod_like_matrix() -> np.ndarray:
    """Synthetic 10x10 daily contacts of band ``a`` (row) with band ``b`` (column).

    Shaped after POLYMOD (Mossong et al. 2008): same-band contacts dominate and peak in
    the school years, a parent-child ridge 30 years apart, and a background of 0.5
    contacts a day with every band: 12-16 contacts a day under 60, 8-11 over 60.
    """
    a = np.arange(N_AGE_BANDS, dtype=np.float64)
    diff = a[:, None] - a[None, :]
    same = np.array([5.0, 8.0, 5.0, 4.0, 4.0, 3.5, 2.5, 2.0, 1.5, 1.2])
    assortative = np.sqrt(same[:, None] * same[None, :]) * np.exp(-(diff**2) / 0.5)
    parent_child = 1.2 * np.exp(-((np.abs(diff) - 3.0) ** 2) / 0.5)
    return assortative + parent_child + 0.5


class LogNormalDays(BaseModel):
    """A duration in days: lognormal with this mean and standard deviation (sd 0: fixed)."""

    model_config = ConfigDict(extra="forbid")
    mean: float = Field(gt=0, le=365, description="mean days, in (0, 365]")
    sd: float = Field(ge=0, le=365, description="standard deviation in days, in [0, 365]")

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` durations rounded to whole days, at least 1."""
        if n == 0:  # (drawing none takes nothing from ``rng``)
            return np.zeros(0, dtype=np.int64)
        if self.sd == 0:
            return _whole_days(np.full(n, self.mean))
        return _whole_days(rng.lognormal(*_lognormal_args(self.mean, self.sd), n))

    def sampler(self) -> Callable[[np.random.Generator, int], np.ndarray]:
        """:meth:`sample` with the lognormal's parameters worked out once (the same
        draws; for the daily step, which samples several durations a day)."""
        if self.sd == 0:
            return self.sample
        mu, sigma = _lognormal_args(self.mean, self.sd)

        def sample(rng: np.random.Generator, n: int) -> np.ndarray:
            if n == 0:
                return np.zeros(0, dtype=np.int64)
            return _whole_days(rng.lognormal(mu, sigma, n))

        return sample

    def expected_days(self) -> float:
        """Mean of :meth:`sample` (rounding and the 1-day floor included)."""
        if self.sd == 0:
            return float(min(max(round(self.mean), 1), MAX_STAY_DAYS))
        mu, sigma = _lognormal_args(self.mean, self.sd)

        def cdf(x: float) -> float:
            return 0.5 * (1 + math.erf((math.log(x) - mu) / (sigma * math.sqrt(2))))

        total, prev = 0.0, 0.0
        for k in range(1, MAX_STAY_DAYS + 1):
            c = 1.0 if k == MAX_STAY_DAYS else cdf(k + 0.5)
            total += k * (c - prev)
            prev = c
        return total


def _lognormal_args(mean: float, sd: float) -> tuple[float, float]:
    """``mu`` and ``sigma`` of the lognormal with this mean and standard deviation."""
    sigma2 = math.log1p((sd / mean) ** 2)
    return math.log(mean) - sigma2 / 2, math.sqrt(sigma2)


def _whole_days(x: np.ndarray) -> np.ndarray:
    """Round to whole days and clip to [1, MAX_STAY_DAYS], in place (ufuncs: cheap on
    small arrays)."""
    np.rint(x, out=x)
    np.maximum(x, 1, out=x)
    return np.minimum(x, MAX_STAY_DAYS, out=x).astype(np.int64)


def _ln(mean: float, sd: float) -> LogNormalDays:
    return LogNormalDays(mean=mean, sd=sd)


class Importation(BaseModel):
    """``count`` infections arriving in ``zone`` (id, name or index; None: by population) on ``day``."""

    model_config = ConfigDict(extra="forbid")
    day: int = Field(ge=0, description="day index, >= 0")
    count: int = Field(ge=0, description="infections, >= 0")
    zone: str | int | None = None


class EpidemicParams(BaseModel):
    """Parameters of the epidemic module. Probability tables have one entry per age band."""

    model_config = ConfigDict(extra="forbid")

    r0: float = Field(2.5, gt=0, le=30, description="basic reproduction number, in (0, 30]")
    seed_infections: int = Field(
        20, ge=0, description="infections seeded on start_day in each seed zone, >= 0"
    )
    seed_zones: list[str | int] = Field(
        default_factory=list, description="zones (id, name or index) of the seeds; empty: all"
    )
    start_day: int = Field(0, ge=0, description="day of the seeding, >= 0")
    importations: list[Importation] = Field(default_factory=list)

    dur_latent: LogNormalDays = Field(default_factory=lambda: _ln(4.5, 1.5))
    dur_infectious: LogNormalDays = Field(default_factory=lambda: _ln(8.0, 2.0))
    dur_onset: LogNormalDays = Field(default_factory=lambda: _ln(1.1, 0.9))
    dur_symptoms_to_severe: LogNormalDays = Field(default_factory=lambda: _ln(6.6, 4.9))
    dur_severe_stay: LogNormalDays = Field(default_factory=lambda: _ln(18.1, 6.3))
    dur_critical_stay: LogNormalDays = Field(default_factory=lambda: _ln(18.1, 6.3))
    dur_critical_to_death: LogNormalDays = Field(default_factory=lambda: _ln(10.7, 4.8))
    dur_ward_after_icu: LogNormalDays = Field(default_factory=lambda: _ln(4.0, 2.0))

    p_symptomatic: list[float] = Field(default_factory=lambda: list(P_SYMPTOMATIC))
    p_severe: list[float] = Field(default_factory=lambda: list(P_SEVERE))
    p_critical: list[float] = Field(default_factory=lambda: list(P_CRITICAL))
    p_death: list[float] = Field(default_factory=lambda: list(P_DEATH))
    rel_trans_asymptomatic: float = Field(
        1.0, ge=0, le=1, description="infectiousness of asymptomatic cases, in [0, 1]"
    )

    household_share: float = Field(
        0.3, ge=0, lt=1, description="share of R0 from household contacts, in [0, 1)"
    )
    mixing: Literal["polymod_like", "uniform"] = "polymod_like"
    contact_matrix: list[list[float]] | None = None
    coupling: float = Field(
        0.05, ge=0, le=10, description="weight of contacts in other zones, in [0, 10]"
    )
    coupling_minutes: float = Field(
        30.0, gt=0, description="travel-time scale of between-zone contacts, minutes > 0"
    )
    coupling_pop_exponent: float = Field(
        1.0, ge=0, le=3, description="gravity exponent of the other zone's population, [0, 3]"
    )

    @field_validator("p_symptomatic", "p_severe", "p_critical", "p_death")
    @classmethod
    def _age_table(cls, v: list[float], info: ValidationInfo) -> list[float]:
        if len(v) != N_AGE_BANDS:
            raise ValueError(
                f"{info.field_name} needs {N_AGE_BANDS} entries (one per age band), got {len(v)}"
            )
        if any(not (0.0 <= p <= 1.0) for p in v):
            raise ValueError(f"{info.field_name}: every probability must be in [0, 1], got {v}")
        return v

    @field_validator("contact_matrix")
    @classmethod
    def _matrix(cls, v: list[list[float]] | None) -> list[list[float]] | None:
        if v is None:
            return v
        if len(v) != N_AGE_BANDS or any(len(row) != N_AGE_BANDS for row in v):
            raise ValueError(f"contact_matrix must be {N_AGE_BANDS}x{N_AGE_BANDS}")
        if any(x < 0 for row in v for x in row) or not any(x > 0 for row in v for x in row):
            raise ValueError("contact_matrix entries must be >= 0, and not all 0")
        return v

    @model_validator(mode="after")
    def _nested(self) -> EpidemicParams:
        pairs = (
            ("p_severe", "p_symptomatic"),
            ("p_critical", "p_severe"),
            ("p_death", "p_critical"),
        )
        for inner, outer in pairs:
            a, b = getattr(self, inner), getattr(self, outer)
            if any(x > y + 1e-12 for x, y in zip(a, b, strict=True)):
                raise ValueError(
                    f"{inner} must be <= {outer} in every age band (range [0, {outer}])"
                )
        return self

    def contacts(self, n_band: np.ndarray) -> np.ndarray:
        """Daily contacts of band ``a`` (row) with band ``b``. ``uniform`` is proportionate
        (well-mixed) mixing: contacts with a band in proportion to its size ``n_band``."""
        if self.contact_matrix is not None:
            return np.asarray(self.contact_matrix, dtype=np.float64)
        if self.mixing == "uniform":
            share = np.asarray(n_band, dtype=np.float64) / max(float(np.sum(n_band)), 1.0)
            return np.tile(share, (N_AGE_BANDS, 1))
        return polymod_like_matrix()


def conditional(a: list[float], b: list[float]) -> np.ndarray:
    """``a / b`` by band (0 where ``b`` is 0): absolute table -> conditional probability."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


class Epidemic(Module):
    """The epidemic module (see the module docstring)."""

    name: ClassVar[str] = "epidemic"
    columns: ClassVar[tuple[Column, ...]] = (Column("epi_state", "uint8", S),)

    def __init__(self, params: EpidemicParams):
        self.params = params
        p = params
        self.p_sym = np.asarray(p.p_symptomatic, dtype=np.float64)
        self.p_sev_sym = conditional(p.p_severe, p.p_symptomatic)
        self.p_crit_sev = conditional(p.p_critical, p.p_severe)
        self.p_death_crit = conditional(p.p_death, p.p_critical)
        durations = (
            name for name, f in type(p).model_fields.items() if f.annotation is LogNormalDays
        )
        self.days = {name: getattr(p, name).sampler() for name in durations}
        self.n_infections_total = 0
        self.daily_infections: list[int] = []

    # ------------------------------------------------------------------ setup
    def init(self, model: RegionModel) -> None:
        pop, p = model.pop, self.params
        self.rng = model.stream(self.name)
        nz = pop.n_zones
        self.n_cells = nz * N_AGE_BANDS
        self.state = pop.epi_state
        self.counts = np.zeros((N_STATES, self.n_cells), dtype=np.int64)
        self.new_infections = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.n_severe = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.n_critical = np.zeros((nz, N_AGE_BANDS), dtype=np.int64)
        self.rel_community = np.ones(nz)
        self.rel_household = np.ones(nz)
        self.household_reduced = False  # any rel_household below 1
        self.n_vaccinated = 0
        # (ids, what is due: ONSET of infectiousness, RECOVERY, household EXPOSURE); the
        # day's new rows are filed in one add at the end of the day (exposures due today
        # are kept aside for today)
        self.progression = Calendar()
        self._due: list[tuple[np.ndarray, np.ndarray, int]] = []  # (due day, ids, what)
        self._exposed_today: list[np.ndarray] = []
        self.n_new_today = 0
        self.hospital = Calendar()
        self.on_reindex(model)

        self.tr = calibrate(p, pop, model.region.zone_zone_minutes)
        self.p_household = self.tr.p_household
        self.hazard = HazardCache(self.tr, self.rel_community)
        self.importations = [(p.start_day, p.seed_infections, z) for z in self._seed_zones(model)]
        for imp in p.importations:
            zone = None if imp.zone is None else self._zone(model, imp.zone)
            self.importations.append((imp.day, imp.count, zone))

    def _zone(self, model: RegionModel, key: str | int) -> int:
        if isinstance(key, int) and not isinstance(key, bool):
            if not 0 <= key < model.pop.n_zones:
                raise ValueError(f"zone index {key} out of range [0, {model.pop.n_zones - 1}]")
            return key
        return model.region.zone_index(str(key))

    def _seed_zones(self, model: RegionModel) -> list[int | None]:
        """Zones receiving the seed infections: split evenly, or None for by population."""
        zones: list[int | None] = [self._zone(model, z) for z in self.params.seed_zones]
        return zones or [None]

    def on_reindex(self, model: RegionModel) -> None:
        pop = model.pop
        self.state = pop.epi_state
        self.state[~pop.alive] = D  # the dead and those who moved away
        cell = pop.cell
        self.cell_of = cell.astype(np.int32)  # each resident's cell, as of this reindex
        key = self.state.astype(np.int64) * self.n_cells + cell
        counts = np.bincount(key, minlength=N_STATES * self.n_cells)
        self.counts = counts.reshape(N_STATES, self.n_cells).astype(np.int64)
        self.counts[S] = pop.alive_counts.ravel() - self.counts[[E, IA, IS, R, V]].sum(axis=0)
        self.counts[D] = 0

    # ---------------------------------------------------------------- queries
    def state_counts(self) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Exposed, infectious and recovered (vaccine-immune included) living residents."""
        c = self.counts
        shape = (-1, N_AGE_BANDS)
        return (
            c[E].reshape(shape).copy(),
            (c[IA] + c[IS]).reshape(shape),
            (c[R] + c[V]).reshape(shape),
        )

    # ------------------------------------------------------------- transitions
    def _cells(self, model: RegionModel, ids: np.ndarray) -> np.ndarray:
        """Cells of ``ids`` as of the last reindex, like the per-cell counts (looked up
        again if rows were added since)."""
        if len(self.cell_of) != model.pop.n:
            self.cell_of = model.pop.cell.astype(np.int32)
        return self.cell_of[ids]

    def _move(
        self, model: RegionModel, ids: np.ndarray, new: int, old: int | None = None
    ) -> np.ndarray:
        """Move ``ids`` to state ``new``, keeping the per-cell counts; returns their cells.
        ``old``: the state all of ``ids`` are in, when the caller knows it (fewer calls)."""
        cells = self._cells(model, ids)
        if old is None:
            key = self.state[ids].astype(np.int64) * self.n_cells + cells
            m = N_STATES * self.n_cells
            self.counts -= np.bincount(key, minlength=m).reshape(N_STATES, self.n_cells)
            self.counts[new] += np.bincount(cells, minlength=self.n_cells)
        else:
            n_cell = np.bincount(cells, minlength=self.n_cells)
            self.counts[old] -= n_cell
            self.counts[new] += n_cell
        self.state[ids] = new
        return cells

    def _infect(self, model: RegionModel, ids: np.ndarray) -> None:
        """Susceptible ``ids`` (distinct) are infected today."""
        if len(ids) == 0:
            return
        cells = self._cells(model, ids)
        n_cell = np.bincount(cells, minlength=self.n_cells)
        self.counts[S] -= n_cell
        self.counts[E] += n_cell
        self.state[ids] = E
        self.new_infections += n_cell.reshape(-1, N_AGE_BANDS)
        self.n_infections_total += len(ids)
        self.n_new_today += len(ids)
        due = model.day + self.days["dur_latent"](self.rng, len(ids))
        self._due.append((due, ids, ONSET))

    def _become_infectious(self, model: RegionModel, ids: np.ndarray) -> None:
        ids = ids[self.state[ids] == E]
        if len(ids) == 0:
            return
        p, rng, day, pop = self.params, self.rng, model.day, model.pop
        n = len(ids)
        band = pop.band[ids]
        sym = rng.random(n) < self.p_sym[band]
        # E -> IS or IA, counts by cell in three bincounts
        cells = self._cells(model, ids)
        n_cell = np.bincount(cells, minlength=self.n_cells)
        n_sym = np.bincount(cells[sym], minlength=self.n_cells)
        self.counts[E] -= n_cell
        self.counts[IS] += n_sym
        self.counts[IA] += n_cell - n_sym
        self.state[ids] = np.where(sym, IS, IA)
        dur = self.days["dur_infectious"](rng, n)
        self._due.append((day + dur, ids, RECOVERY))
        # household: each susceptible member, per infector, with p_household
        if self.p_household > 0:
            infector, members = pop.household_members(pop.household[ids], owners=True)
            prob: float | np.ndarray = self.p_household
            if p.rel_trans_asymptomatic != 1.0 or self.household_reduced:
                # (when both are 1 the product below is p_household itself)
                rel = np.where(sym, 1.0, p.rel_trans_asymptomatic)[infector]
                prob = self.p_household * rel * self.rel_household[pop.zone[ids]][infector]
            hit = (self.state[members] == S) & (rng.random(len(members)) < prob)
            if hit.any():
                delay = (rng.random(int(hit.sum())) * dur[infector[hit]]).astype(np.int64)
                exposed = members[hit]
                today = delay == 0
                if today.any():
                    self._exposed_today.append(exposed[today])
                    delay, exposed = delay[~today], exposed[~today]
                self._due.append((day + delay, exposed, EXPOSURE))
        # severity: symptomatic -> severe -> critical -> death (conditional probabilities)
        sev_ids = ids[sym]
        sb = band[sym]
        severe = rng.random(len(sev_ids)) < self.p_sev_sym[sb]
        sev_ids, sb = sev_ids[severe], sb[severe]
        if len(sev_ids):
            k = len(sev_ids)
            critical = rng.random(k) < self.p_crit_sev[sb]
            dies = critical & (rng.random(k) < self.p_death_crit[sb])
            icu = np.zeros(k, dtype=np.int64)
            ward = self.days["dur_severe_stay"](rng, k)
            n_critical = int(critical.sum())
            if n_critical:
                icu[critical] = self.days["dur_critical_stay"](rng, n_critical)
                icu[dies] = self.days["dur_critical_to_death"](rng, int(dies.sum()))
                ward[critical] = self.days["dur_ward_after_icu"](rng, n_critical)
                ward[dies] = 0
            days = self.days
            wait = days["dur_onset"](rng, k) + days["dur_symptoms_to_severe"](rng, k)
            self.hospital.add(day + wait, sev_ids, critical, icu, ward, dies)

    def _recover(self, model: RegionModel, ids: np.ndarray) -> None:
        if len(ids) == 0:
            return
        st = self.state[ids]
        infectious = (st == IA) | (st == IS)
        if infectious.all():  # (the usual case: nobody due today died in between)
            self._move(model, ids, R)
        else:
            self._move(model, ids[infectious], R)

    def _hospitalise(self, model: RegionModel, due: tuple[np.ndarray, ...]) -> None:
        ids, critical, icu, ward, dies = due
        pop = model.pop
        ok = pop.alive[ids] & ~pop.in_hospital[ids]
        ids, critical, icu, ward, dies = ids[ok], critical[ok], icu[ok], ward[ok], dies[ok]
        if len(ids) == 0:
            return
        cells = self._cells(model, ids)
        shape = self.n_critical.shape
        self.n_critical += np.bincount(cells[critical], minlength=self.n_cells).reshape(shape)
        self.n_severe += np.bincount(cells[~critical], minlength=self.n_cells).reshape(shape)
        # the batch's columns built directly (NeedBatch.build broadcasts every column)
        k = len(ids)
        batch = NeedBatch(
            resident=ids.astype(np.int32),
            kind=np.where(critical, EPI_CRITICAL, EPI_SEVERE).astype(np.uint8),
            icu_days=icu.astype(np.int16),
            ward_days=ward.astype(np.int16),
            alc_days=np.zeros(k, dtype=np.int16),
            dies=dies.astype(bool),
            tertiary=np.zeros(k, dtype=bool),
            elective=np.zeros(k, dtype=bool),
        )
        model.request_care(batch)

    # ------------------------------------------------------------- infections
    def _import(self, model: RegionModel, count: int, zone: int | None) -> np.ndarray:
        """Pick ``count`` susceptibles of ``zone`` (None: anywhere, by population)."""
        sus = self.counts[S].astype(np.float64)
        if zone is not None:
            mask = np.zeros(self.n_cells, dtype=bool)
            mask[zone * N_AGE_BANDS : (zone + 1) * N_AGE_BANDS] = True
            sus = np.where(mask, sus, 0.0)
        total = sus.sum()
        if total <= 0 or count <= 0:
            return np.empty(0, dtype=np.int64)
        k = self.rng.multinomial(min(count, int(total)), sus / total)
        k = np.minimum(k, self.counts[S])
        return self._pick(model, k)

    def _pick(self, model: RegionModel, k: np.ndarray) -> np.ndarray:
        """``k[c]`` distinct susceptibles of each cell ``c`` (rejection from the cell index)."""
        pop = model.pop
        share = self.counts[S] / np.maximum(pop.cell_size, 1)
        return pop.sample_cells(
            k, self.rng, accept=lambda ids: self.state[ids] == S, accept_share=share
        )

    def _community(self, model: RegionModel) -> np.ndarray:
        nz = model.pop.n_zones
        c = self.counts
        pressure = (c[IS] + self.params.rel_trans_asymptomatic * c[IA]).reshape(nz, N_AGE_BANDS)
        if not pressure.any():
            return np.empty(0, dtype=np.int64)
        alive = np.maximum(model.pop.alive_counts, 1).astype(np.float64)
        hazard = self.hazard(pressure, alive)
        p_inf = -np.expm1(-hazard.ravel())
        k = self.rng.binomial(c[S], p_inf)
        return self._pick(model, k)

    # -------------------------------------------------------------------- day
    def step(self, model: RegionModel) -> None:
        day = model.day
        self.new_infections[:] = 0
        self.n_new_today = 0
        for when, count, zone in self.importations:
            if when == day:
                self._infect(model, self._import(model, count, zone))
        due = self.progression.pop(day)
        if due is not None:
            ids, what = due
            self._become_infectious(model, ids[what == ONSET])
            self._recover(model, ids[what == RECOVERY])
            self._exposed_today.append(ids[what == EXPOSURE])
        if self._exposed_today:  # the order does not matter: sorted here
            ids = unique_sorted(np.concatenate(self._exposed_today))
            self._exposed_today.clear()
            self._infect(model, ids[self.state[ids] == S])
        due = self.hospital.pop(day)
        if due is not None:
            self._hospitalise(model, due)
        self._infect(model, self._community(model))
        if self._due:
            days, ids, what = zip(*self._due, strict=True)
            what = np.repeat(np.array(what, dtype=np.uint8), [len(d) for d in days])
            self.progression.add(np.concatenate(days), np.concatenate(ids), what)
            self._due.clear()
        self.daily_infections.append(self.n_new_today)

    # ----------------------------------------------------------------- events
    def apply(self, model: RegionModel, event: Event) -> None:
        if isinstance(event, ContactReduction):
            zones = list(event.zones) or list(range(model.pop.n_zones))
            if not 0.0 <= event.reduction <= 1.0:
                raise ValueError(f"reduction must be in [0, 1], got {event.reduction}")
            if event.setting not in ("community", "household", "all"):
                raise ValueError(
                    f"setting must be community, household or all, got {event.setting!r}"
                )
            # from this day on, replacing any earlier reduction in these zones
            if event.setting in ("community", "all"):
                self.rel_community[zones] = 1.0 - event.reduction
                self.hazard.set_rel(self.rel_community)
            if event.setting in ("household", "all"):
                self.rel_household[zones] = 1.0 - event.reduction
                self.household_reduced = bool((self.rel_household != 1.0).any())
        elif isinstance(event, Vaccinate):
            for name in ("coverage", "efficacy"):
                if not 0.0 <= getattr(event, name) <= 1.0:
                    raise ValueError(f"{name} must be in [0, 1], got {getattr(event, name)}")
            self._vaccinate(model, event)
        else:
            raise TypeError(f"the epidemic does not handle {event!r}")

    def _vaccinate(self, model: RegionModel, event: Vaccinate) -> None:
        """All-or-nothing vaccine: ``coverage`` of the eligible living residents are
        vaccinated; a share ``efficacy`` of the susceptible among them become immune."""
        pop, rng = model.pop, self.rng
        zones = list(event.zones) or list(range(pop.n_zones))
        lo_band = min(event.min_age // 10, N_AGE_BANDS - 1)
        hi_band = min(event.max_age // 10, N_AGE_BANDS - 1)
        cells = [z * N_AGE_BANDS + b for z in zones for b in range(lo_band, hi_band + 1)]
        if not cells:
            return
        ids = np.concatenate([pop.cell_members(c) for c in cells])
        age = pop.age[ids]
        ids = ids[pop.alive[ids] & (age >= event.min_age) & (age <= event.max_age)]
        chosen = ids[rng.random(len(ids)) < event.coverage]
        self.n_vaccinated += len(chosen)
        immune = chosen[(self.state[chosen] == S) & (rng.random(len(chosen)) < event.efficacy)]
        self._move(model, immune, V)

    def on_deaths(self, model: RegionModel, ids: np.ndarray) -> None:
        self._move(model, np.asarray(ids, dtype=np.int64), D)
        self.counts[D] = 0
