"""Everyday demand: ED visits and acute admissions that have nothing to do with the epidemic.

Rates are per 1,000 residents a year by 10-year age band (and sex for childbirth and a
male excess in older medical and surgical stays). The totals are calibrated to the
Canadian figures of the shared Fraser Health reference; the age and type shapes are our
planning assumptions (labelled so), to be replaced by CIHI Discharge Abstract Database
rates by age where a planner has them. On the Fraser age structure they give:

- about 69 stays per 1,000 a year (CIHI: 70 per 1,000, 2023-24), 44% of them of
  residents 65+ (19% of residents): the rate rises from about 20 per 1,000 at 10-19 to
  about 250 at 80-89 (assumption);
- by type: medical 53%, surgical 29% (55% of them elective), childbirth 11% (the
  births of demography's fertility table, total fertility 1.255: about 8 births per
  1,000 residents, BC about 7.5-8), mental health 7% (assumption);
- about 380 ED visits per 1,000 a year (Ontario: 413), the very young and the old most
  often (assumption by age); the emergency admissions are part of them, so the ED-only
  visits are the ED rate less the emergency-admission rate;
- acute stays (ICU and ward days): lognormal by type and age (medical about 11 days at
  80+, surgical 7, childbirth 2.1 as in CIHI 2021-22, mental health 17); mean acute
  stay about 7.0 days (CIHI Discharge Abstract Database: average acute length of stay
  7.3 days in 2023-24, typically 7-8); ``rel_stay`` scales the acute days. With ALC
  days the mean whole stay is about 8.1 days: 70 stays per 1,000 x 8.1 days is about
  1.55 beds per 1,000, above the 1.4 that Fraser funds (BC runs above 100% of funded
  beds, 103% in 2018-19; Fraser residents also use Vancouver's tertiary sites, which the
  region does not include);
- ICU: about 5% of stays, 3.3 days on average (assumption, sized so that Fraser's ~80
  ICU beds run near the reported 90%); by age, adults' ICU admissions per resident follow
  Ontario's (Tillmann et al., PLoS ONE 2021; see ``P_ICU_MEDICAL``);
- ALC: about 5.7% of stays (CIHI: 5.8% in 2021-22, 6.2% in 2022-23), nearly all of
  them aged 65+. With long-term care on (a region with ``ltc.csv``, :mod:`popsim.ltc`)
  an ALC stay has no drawn length: it lasts until that module ends it (an LTC place,
  home support, death) and the ALC share of bed-days emerges. Without it: lognormal
  mean 20 days (assumption: CADTH 2024 reports 25 ALC days per
  ALC stay among 65+ waiting for residential care, shorter waits for other ALC
  reasons), so ALC days are about 14% of acute bed-days (CIHI, Alternate level of care
  in Canada: about 1 in 7 acute beds, 13-15%);
- in-hospital death: about 3% of stays, mostly the old (assumption). These deaths are
  part of all-cause mortality: demography takes them off its out-of-hospital hazard
  (:meth:`Demand.hospital_burden`), so they are not counted twice.
- end-of-life (terminal and palliative) admissions, with demography on: some residents
  whom demography's life table picks to die out of hospital are admitted instead to a
  ward stay that ends in death, so that ``p_death_in_hospital`` of the deaths outside
  care homes happen in hospital; the medical admissions make room for them
  (:mod:`popsim.endoflife`: the figures, their sources, the rates).

Elective surgery paused by a scenario is drawn and then dropped (counted in
``n_cancelled``), so every other draw is the same as in the run without the pause. The
cancelled operations wait in a backlog and are done after the pause, oldest first, on top
of the usual electives at ``backlog_catch_up`` times their volume (no draws involved).

Seasonality: emergency demand (ED visits, medical and emergency surgical admissions,
mental health) follows ``1 + winter_amplitude * cos(2 pi (day_of_year - peak_day) / 365.25)``;
ED visits and emergency admissions follow a weekday profile (Monday busiest); elective
surgery happens Monday to Friday only and stops while paused (:class:`popsim.core.event_types.Electives`);
childbirth is flat.

Per day the module draws a Poisson count per (zone, age band) cell on the cell's rows
(dead included) at the band's highest rate over the two sexes, draws that many rows of
the cell with :meth:`popsim.population.Population.draw_rows`, and keeps each by thinning
(rate of its sex over the highest rate) with a type drawn in proportion to its sex's
type rates; rows of residents who are dead, gone or already in hospital are dropped
after every draw is made: an exact Poisson process per living resident that never scans
all residents. Common random numbers: each day's draws come from a stream keyed by the
day (ED visits from another), so an epidemic or a death elsewhere changes only the
admissions of the residents it touches, never the draws of the rest (tested).

Warm start: hospitals are not empty on day 0. At ``init`` the module draws the
admissions of the ``warm_start_days`` before the start in the same way and hands the
stays still running on day 0 (with the days already spent taken off) to the care network
as ``prevalent`` needs, placed without counting an arrival or an admission.
"""

from __future__ import annotations

from datetime import date, timedelta
from typing import TYPE_CHECKING

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, field_validator

from popsim.core.ages import N_AGE_BANDS
from popsim.core.event_types import Electives
from popsim.core.module import Module
from popsim.core.requests import ALC_OPEN_DAYS, MATERNITY, MEDICAL, MENTAL, SURGICAL, NeedBatch
from popsim.core.seeds import CounterDraws
from popsim.demography import FERTILITY_BY_BAND, band_q, ltc_burden
from popsim.endoflife import P_DEATH_IN_HOSPITAL, terminal_draw, terminal_rates

if TYPE_CHECKING:
    from popsim.core.event_types import Event
    from popsim.core.module import ModelAPI as RegionModel

# Internal admission types (columns of the rate tables).
T_MEDICAL, T_SURGICAL, T_ELECTIVE, T_MATERNITY, T_MENTAL = range(5)
N_TYPES = 5
TYPE_KIND = np.array([MEDICAL, SURGICAL, SURGICAL, MATERNITY, MENTAL], dtype=np.uint8)

#: Admissions per 1,000 residents a year by age band, both sexes (assumptions, see above).
MEDICAL_RATE = np.array([20, 6, 7, 9, 16, 27, 48, 92, 180, 280], dtype=float)
SURGICAL_RATE = np.array([4, 3, 4, 4, 7, 10, 14, 18, 23, 22], dtype=float)  # emergency
ELECTIVE_RATE = np.array([3, 3, 3, 5, 8, 13, 21, 26, 20, 8], dtype=float)
MENTAL_RATE = np.array([1, 7, 8, 6, 5, 4, 3, 3, 3, 3], dtype=float)
#: Childbirth per 1,000 women a year by band: demography's fertility (one table, so
#: childbirth admissions and births agree; with demography on, its ``fertility`` is used).
MATERNITY_RATE_FEMALE = 1000.0 * np.asarray(FERTILITY_BY_BAND, dtype=float)
#: Male relative rate of medical and surgical stays by band.
REL_MALE = np.array([1.15, 1.0, 0.9, 0.9, 1.0, 1.15, 1.2, 1.2, 1.15, 1.1])
#: ED visits per 1,000 a year (all visits, those ending in admission included).
ED_RATE = np.array([420, 300, 410, 360, 320, 310, 350, 480, 720, 950], dtype=float)

#: Acute stay (days): lognormal mean by type, multiplied by an age factor; sd = cv * mean.
STAY_MEAN = np.array([7.5, 6.9, 3.75, 2.1, 17.5])
STAY_CV = np.array([1.1, 1.1, 1.0, 0.6, 1.1])
STAY_REL_BAND = np.array([0.5, 0.6, 0.7, 0.8, 0.9, 1.0, 1.05, 1.15, 1.25, 1.3])
#: Probability of needing ICU by band, medical stays (other types: times ``P_ICU_TYPE``).
#: Adults, calibration target: ICU admissions per resident by band follow Ontario's by age
#: (Tillmann et al., PLoS ONE 2021;16(5):e0251877, ICES 2003-19: 1.0 per 1,000 a year at
#: 20, 3.3 at 50, 20.3 at 80, the peak; log-linear between, 20.3 at 80-89, 90+ at 0.83 of
#: it by assumption), scaled (x 0.71) to keep Fraser's ICU stays (about 5% of stays, the
#: ICU beds' occupancy). Children: assumption (no neonatal ICU stays are modelled).
P_ICU_MEDICAL = np.array([0.045, 0.035, 0.056, 0.068, 0.065, 0.068, 0.076, 0.083, 0.066, 0.038])
P_ICU_TYPE = np.array([1.0, 1.3, 0.5, 0.05, 0.1])  # multiplies P_ICU_MEDICAL
ICU_MEAN_DAYS, ICU_SD_DAYS = 3.5, 4.0
#: In-hospital death probability by band (medical), multiplied by type.
P_DIE_MEDICAL = np.array([0.003, 0.001, 0.002, 0.003, 0.008, 0.018, 0.032, 0.05, 0.085, 0.13])
P_DIE_TYPE = np.array([1.0, 0.5, 0.1, 0.001, 0.05])
#: Probability a stay ends in ALC (waiting for long-term care) by band, multiplied by type.
P_ALC_BAND = np.array([0.0, 0.0, 0.004, 0.0065, 0.011, 0.022, 0.048, 0.108, 0.184, 0.24])
P_ALC_TYPE = np.array([1.0, 0.8, 0.3, 0.0, 1.0])
ALC_MEAN_DAYS, ALC_SD_DAYS = 20.0, 18.0
#: Emergency stays that need the tertiary site (major trauma, cardiac, neurosurgery).
P_TERTIARY = np.array([0.06, 0.12, 0.0, 0.0, 0.0])
#: Weekday profiles, Monday first (mean 1).
WEEKDAY_ED = np.array([1.10, 1.03, 1.00, 0.98, 0.97, 0.95, 0.97])
WEEKDAY_EMERGENCY = np.array([1.06, 1.02, 1.0, 1.0, 1.0, 0.95, 0.97])
WEEKDAY_ELECTIVE = np.array([1.4, 1.4, 1.4, 1.4, 1.4, 0.0, 0.0])
EMERGENCY_TYPES = (T_MEDICAL, T_SURGICAL, T_MENTAL)


def _subset(needs: NeedBatch, mask: np.ndarray) -> NeedBatch:
    return NeedBatch(**{k: getattr(needs, k)[mask] for k in NeedBatch.__dataclass_fields__})


def lognormal(
    rng: np.random.Generator, mean: np.ndarray | float, sd: np.ndarray | float, size: int
) -> np.ndarray:
    """``size`` independent lognormal draws with the given arithmetic mean and sd (scalars
    or arrays of length ``size``)."""
    mean = np.asarray(mean, dtype=float)
    sigma2 = np.log1p((np.asarray(sd, dtype=float) / mean) ** 2)
    mu = np.log(mean) - sigma2 / 2
    return rng.lognormal(mu, np.sqrt(sigma2), size)


def to_days(x: np.ndarray, lo: int = 1, hi: int = 365) -> np.ndarray:
    return np.clip(np.rint(x), lo, hi).astype(np.int16)


def stay_death_p() -> np.ndarray:
    """Probability that a stay ends in death, ``(N_AGE_BANDS, N_TYPES)``: the drawn
    paths' (:meth:`Demand._needs`) average over ICU and no ICU."""
    p_icu = np.minimum(1.0, P_ICU_MEDICAL[:, None] * P_ICU_TYPE[None, :])
    p_die = np.minimum(1.0, P_DIE_MEDICAL[:, None] * P_DIE_TYPE[None, :])
    return p_icu * np.minimum(1.0, 3 * p_die) + (1 - p_icu) * p_die


class DemandParams(BaseModel):
    """Everyday demand settings.

    Attributes:
        rel_admissions: multiplies every admission rate (0..10).
        rel_ed_visits: multiplies the ED visit rates (0..10).
        rel_stay: multiplies acute lengths of stay (0.1..10).
        rel_alc: multiplies the ALC probabilities (0..10; capped at 1 per stay).
        winter_amplitude: relative winter excess of emergency demand at its peak (0..0.9).
        peak_day_of_year: day of the year of the winter peak (1..366).
        electives_paused: elective surgery paused from the start.
        backlog_catch_up: elective surgery cancelled during a pause is done after it, at
            up to this share of the usual elective volume on top of it (0..5; 0: lost).
        warm_start_days: admissions of this many days before the start whose stays are
            still running on day 0 are in hospital from the start (0..730; 0: hospitals
            start empty).
        p_death_in_hospital: share of deaths of residents outside long-term care that
            happen in hospital, by 10-year band (each 0..1; with demography on: terminal
            admissions make up what the stays' own deaths leave; see the module
            docstring). All 0: no terminal admissions.
        terminal_stay_days: mean length of a terminal admission (days, 1..120; default
            14, CIHI 2013, see the module docstring).
    """

    model_config = ConfigDict(extra="forbid")

    rel_admissions: float = Field(1.0, ge=0.0, le=10.0)
    rel_ed_visits: float = Field(1.0, ge=0.0, le=10.0)
    rel_stay: float = Field(1.0, ge=0.1, le=10.0)
    rel_alc: float = Field(1.0, ge=0.0, le=10.0)
    winter_amplitude: float = Field(0.10, ge=0.0, le=0.9)
    peak_day_of_year: int = Field(20, ge=1, le=366)
    electives_paused: bool = False
    warm_start_days: int = Field(120, ge=0, le=730)
    backlog_catch_up: float = Field(0.2, ge=0.0, le=5.0)
    p_death_in_hospital: list[float] = Field(default_factory=lambda: list(P_DEATH_IN_HOSPITAL))
    terminal_stay_days: float = Field(14.0, ge=1.0, le=120.0)

    @field_validator("p_death_in_hospital")
    @classmethod
    def _by_band(cls, v: list[float]) -> list[float]:
        if len(v) != N_AGE_BANDS:
            raise ValueError(f"needs {N_AGE_BANDS} entries (one per age band), got {len(v)}")
        if any(not (0.0 <= x <= 1.0) for x in v):
            raise ValueError(f"every entry must be in [0, 1], got {v}")
        return v


def admission_rates(params: DemandParams) -> np.ndarray:
    """Admissions per resident per day, ``(2 sexes, N_AGE_BANDS, N_TYPES)``."""
    rates = np.zeros((2, N_AGE_BANDS, N_TYPES))
    for sex in (0, 1):
        rel = REL_MALE if sex == 1 else 1.0
        rates[sex, :, T_MEDICAL] = MEDICAL_RATE * rel
        rates[sex, :, T_SURGICAL] = SURGICAL_RATE * rel
        rates[sex, :, T_ELECTIVE] = ELECTIVE_RATE * rel
        rates[sex, :, T_MENTAL] = MENTAL_RATE
    rates[0, :, T_MATERNITY] = MATERNITY_RATE_FEMALE
    return rates * params.rel_admissions / 1000.0 / 365.25


def ed_only_rates(params: DemandParams) -> np.ndarray:
    """ED visits not ending in admission, per resident per day, ``(2, N_AGE_BANDS)``."""
    adm = admission_rates(params)[..., list(EMERGENCY_TYPES)].sum(axis=2)
    ed = ED_RATE * params.rel_ed_visits / 1000.0 / 365.25
    return np.maximum(ed[None, :] - adm, 0.0)


class Demand(Module):
    """Everyday ED visits and admissions (see the module docstring)."""

    name = "demand"
    params_class = DemandParams
    default_on = True
    events = (Electives,)

    def __init__(self, params: DemandParams) -> None:
        self.params = params
        self.paused = params.electives_paused
        self.rates = admission_rates(params)
        self.ed_rates = ed_only_rates(params)
        self.n_cancelled = 0  # elective admissions not made while paused
        self.n_caught_up = 0  # of those, made later from the backlog
        self.backlog: list[NeedBatch] = []  # cancelled electives waiting, oldest first
        self.n_skipped = 0  # drawn residents already in hospital
        # probability by band that a death drawn out of hospital follows a terminal
        # admission (None: no terminal admissions; set in init with demography on)
        self.p_terminal: np.ndarray | None = None
        # probability that a stay ends in ALC, (bands, types) (see _terminal_rates)
        self.p_alc = P_ALC_BAND[:, None] * P_ALC_TYPE[None, :]
        self.terminal_draws: CounterDraws | None = None
        # ALC stays last until a module ends them (long-term care on): no drawn length;
        # the warm start keeps the ALC patients whose ALC began in the last
        # ``alc_warm_days`` days (the module's figure of a typical wait)
        self.alc_open = False
        self.alc_warm_days = 0
        self.totals = dict.fromkeys(
            (
                "admissions",
                "acute_days",
                "alc_days",
                "alc_stays",
                "icu_stays",
                "deaths",
                "maternity",
                "terminal",
                "ed_only_visits",
            ),
            0,
        )

    def init(self, model: RegionModel) -> None:
        # (demography's parameters: its module is initialised after this one)
        demography = model.config.params.get("demography")
        if demography is not None:  # childbirth admissions follow the births
            fertility = np.asarray(demography.fertility, dtype=np.float64)
            self.rates[0, :, T_MATERNITY] = fertility * self.params.rel_admissions / 365.25
            self._terminal_rates(model, band_q(demography, model.pop))
        self.on_reindex(model)
        if model.alc_taken():
            self.alc_open = True
            self.alc_warm_days = int(getattr(getattr(model, "ltc", None), "warm_alc_days", 0))
        if self.params.warm_start_days > 0:
            prevalent = self.prevalent_needs(model, self.params.warm_start_days)
            if len(prevalent):
                model.request_care(prevalent)

    def prevalent_needs(self, model: RegionModel, days_back: int) -> NeedBatch:
        """Residents in hospital on day 0: admissions drawn for each of the ``days_back``
        days before the start whose stays run past it, with the days already spent taken
        off their path (ICU first, then ward, then ALC)."""
        start = model.config.start
        batches = []
        seen = np.zeros(0, dtype=np.int32)
        for back in range(1, days_back + 1):
            factors, _ = self.day_factors(model, start - timedelta(days=back))
            needs = self._admissions(model, self.rates * factors, self.day_rng(model, -back))
            if len(needs) == 0:
                continue
            icu = needs.icu_days.astype(np.int64)
            ward = needs.ward_days.astype(np.int64)
            alc = needs.alc_days.astype(np.int64)
            if self.alc_open:  # an open ALC stay: in hospital if it began recently
                alc = np.where(alc > 0, self.alc_warm_days, 0)
            keep = (icu + ward + alc > back) & ~np.isin(needs.resident, seen)
            if self.paused:  # drawn then dropped, as in step
                keep &= ~needs.elective
            if not keep.any():
                continue
            icu, ward, alc = icu[keep], ward[keep], alc[keep]
            spent_ward = np.maximum(back - icu, 0)
            spent_alc = np.maximum(spent_ward - ward, 0)
            if self.alc_open:
                alc = np.where(alc > 0, ALC_OPEN_DAYS + spent_alc, 0)
            batches.append(
                NeedBatch.build(
                    needs.resident[keep],
                    needs.kind[keep],
                    icu_days=np.maximum(icu - back, 0),
                    ward_days=np.maximum(ward - spent_ward, 0),
                    alc_days=alc - spent_alc,
                    dies=needs.dies[keep],
                    tertiary=needs.tertiary[keep],
                    elective=needs.elective[keep],
                    prevalent=True,
                )
            )
            seen = np.concatenate([seen, needs.resident[keep]])
        return NeedBatch.concat(batches)

    def _terminal_rates(self, model: RegionModel, q_band: np.ndarray) -> None:
        """Terminal admissions: the probability that a death drawn out of hospital
        follows one, by band, and the medical admissions that make room for them
        (:func:`popsim.endoflife.terminal_rates`). ``q_band``: the yearly all-cause
        death probability, less the deaths in long-term care homes here (the share is of
        the deaths outside them)."""
        s = np.asarray(self.params.p_death_in_hospital, dtype=np.float64)
        if not s.any():
            return
        pop = model.pop
        alive = np.maximum(pop.alive_counts.sum(axis=0), 1)
        female = np.bincount(pop.band[pop.alive & (pop.sex == 0)], minlength=N_AGE_BANDS)
        f = female / alive
        d, _ = self.hospital_burden(f)
        burden = ltc_burden(model)  # deaths in care homes: not in hospital, not drawn here
        if burden is not None:
            q_band = np.maximum(q_band - burden[0], 0.0)
        p_d = stay_death_p()[:, T_MEDICAL]
        medical = (f * self.rates[0, :, T_MEDICAL] + (1 - f) * self.rates[1, :, T_MEDICAL]) * 365.25
        room, self.p_terminal = terminal_rates(s, q_band, d, p_d, medical)
        self.rates[..., T_MEDICAL] = np.maximum(self.rates[..., T_MEDICAL] - room / 365.25, 0.0)
        # the stays that made room are of residents about to die, not of those who wait in
        # hospital for long-term care: the medical ALC stays per resident stay as they were
        left = np.maximum(medical - room, 1e-12)
        self.p_alc[:, T_MEDICAL] *= np.where(medical > room, medical / left, 1.0)
        self.terminal_draws = CounterDraws(model.stream("demand.terminal"))

    def end_of_life(self, model: RegionModel, ids: np.ndarray) -> np.ndarray:
        """Residents ``ids`` (alive, out of hospital) whom the life table picks to die
        today: those who die in hospital are admitted today to a terminal stay that ends
        in death (:attr:`p_terminal` by band); returns the others, who die today where
        they are.
        Counter-based: each decision and stay is keyed by the day and the resident."""
        if self.p_terminal is None or len(ids) == 0:
            return ids
        admit, stay = self._terminal_draw(model, ids, model.day)
        if admit.any():
            needs = NeedBatch.build(ids[admit], MEDICAL, ward_days=stay[admit], dies=True)
            self._tally(needs)
            self.totals["terminal"] += len(needs)
            model.request_care(needs)
        return ids[~admit]

    def terminal_prevalent(self, model: RegionModel, ids: np.ndarray, back: int) -> NeedBatch:
        """The warm start's terminal stays: of ``ids``, the life table's picks of the day
        ``back`` days before the start, those admitted then whose stay runs past day 0
        (the same draws :meth:`end_of_life` would have made that day)."""
        if self.p_terminal is None or len(ids) == 0:
            return NeedBatch.empty()
        admit, stay = self._terminal_draw(model, ids, -back)
        keep = admit & (stay > back)
        return NeedBatch.build(
            ids[keep], MEDICAL, ward_days=stay[keep] - back, dies=True, prevalent=True
        )

    def _terminal_draw(
        self, model: RegionModel, ids: np.ndarray, day: int
    ) -> tuple[np.ndarray, np.ndarray]:
        """Whether each of ``ids`` dying on ``day`` is admitted, and the stay it would
        have (whole days, :func:`popsim.endoflife.terminal_draw`)."""
        if self.p_terminal is None or self.terminal_draws is None:
            raise RuntimeError("no terminal admissions: demography is off")
        p = self.p_terminal[model.pop.band[ids]]
        admit, stay = terminal_draw(
            self.terminal_draws, p, ids, day, self.params.terminal_stay_days
        )
        return admit, to_days(stay, 1, 365)

    def hospital_burden(self, female_share: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Expected in-hospital deaths per resident-year, and the expected share of a
        resident's year spent in hospital, by age band, from this module's stays (the
        year's average: seasonal and weekday factors average to 1). ``female_share``: by
        band. Demography takes these off its all-cause hazard so that in-hospital deaths
        are part of all-cause mortality, not added to it."""
        f = np.asarray(female_share, dtype=np.float64)[:, None]
        rates = (f * self.rates[0] + (1 - f) * self.rates[1]) * 365.25  # (bands, types)
        p = self.params
        p_die = stay_death_p()
        acute = STAY_MEAN[None, :] * STAY_REL_BAND[:, None] * p.rel_stay
        acute[:, T_MATERNITY] = STAY_MEAN[T_MATERNITY] * p.rel_stay
        p_alc = np.minimum(1.0, self.p_alc * p.rel_alc)
        days = np.maximum(acute, 1.0) + (1 - p_die) * p_alc * ALC_MEAN_DAYS
        return (rates * p_die).sum(axis=1), (rates * days).sum(axis=1) / 365.25

    def on_reindex(self, model: RegionModel) -> None:
        pop = model.pop
        alive = pop.alive
        self.n_female = np.bincount(
            pop.cell[alive & (pop.sex == 0)], minlength=pop.n_zones * N_AGE_BANDS
        ).reshape(pop.n_zones, N_AGE_BANDS)
        self._shares(model)

    def on_join(self, model: RegionModel, ids: np.ndarray) -> None:
        """Newborns joined: the girls added to the living women and girls by cell (kept
        up to date through deaths), the shares as :meth:`on_reindex` would have them."""
        self._count_women(model, ids, 1)
        self._shares(model)

    def on_deaths(self, model: RegionModel, ids: np.ndarray) -> None:
        # (the shares stay those of the last re-index or births, as before)
        self._count_women(model, ids, -1)

    def _count_women(self, model: RegionModel, ids: np.ndarray, sign: int) -> None:
        pop = model.pop
        ids = ids[pop.sex[ids] == 0]
        if len(ids):
            np.add.at(self.n_female, (pop.zone[ids], pop.band[ids]), sign)

    def _shares(self, model: RegionModel) -> None:
        total = np.maximum(model.pop.alive_counts, 1)
        self.female_share = share = self.n_female / total
        # ED-only visits per resident a day by cell (before the day's factor)
        self.ed_cell_rates = share * self.ed_rates[0] + (1 - share) * self.ed_rates[1]

    def apply(self, model: RegionModel, event: Event) -> None:
        if isinstance(event, Electives):
            self.paused = bool(event.paused)

    # ------------------------------------------------------------------- day
    def day_factors(self, model: RegionModel, day: date | None = None) -> tuple[np.ndarray, float]:
        """Multipliers of the admission rates by type, and of ED visits, today (or ``day``)."""
        d = model.date if day is None else day
        doy = d.timetuple().tm_yday
        wd = d.weekday()
        p = self.params
        season = 1.0 + p.winter_amplitude * np.cos(2 * np.pi * (doy - p.peak_day_of_year) / 365.25)
        f = np.ones(N_TYPES)
        for t in EMERGENCY_TYPES:
            f[t] = season * (WEEKDAY_EMERGENCY[wd] if t != T_MENTAL else 1.0)
        f[T_ELECTIVE] = WEEKDAY_ELECTIVE[wd]
        return f, season * WEEKDAY_ED[wd]

    @staticmethod
    def day_rng(model: RegionModel, day: int, what: str = "admissions") -> np.random.Generator:
        """The stream of one day's draws (counter-based: keyed by the day, not by the draws
        of earlier days), so another module's change reaches no later day's draws."""
        return model.stream(f"demand.{what}:{day}")

    def step(self, model: RegionModel) -> None:
        factors, ed_factor = self.day_factors(model)
        self._ed_visits(model, ed_factor, self.day_rng(model, model.day, "ed"))
        needs = self._admissions(model, self.rates * factors, self.day_rng(model, model.day))
        if self.paused:
            # drawn then dropped, so the other draws match a run without the pause
            # (common random numbers between scenarios); kept for later as a backlog
            cancelled = needs.elective
            self.n_cancelled += int(cancelled.sum())
            if self.params.backlog_catch_up > 0 and cancelled.any():
                self.backlog.append(_subset(needs, cancelled))
            needs = _subset(needs, ~cancelled)
        elif self.backlog and factors[T_ELECTIVE] > 0:
            needs = NeedBatch.concat([needs, self._release_backlog(model, factors)])
        if len(needs):
            self._tally(needs)
            model.request_care(needs)

    def _tally(self, needs: NeedBatch) -> None:
        """Running totals of the stays handed to care (planned paths; the validation report
        reads them: acute length of stay, ALC share, in-hospital deaths)."""
        t = self.totals
        acute = needs.icu_days.astype(np.int64) + needs.ward_days
        t["admissions"] += len(needs)
        t["acute_days"] += int(acute.sum())
        if not self.alc_open:  # (open ALC stays have no planned length)
            t["alc_days"] += int(needs.alc_days.sum())
        t["alc_stays"] += int((needs.alc_days > 0).sum())
        t["icu_stays"] += int((needs.icu_days > 0).sum())
        t["deaths"] += int(needs.dies.sum())
        t["maternity"] += int((needs.kind == MATERNITY).sum())

    def _release_backlog(self, model: RegionModel, factors: np.ndarray) -> NeedBatch:
        """Cancelled elective surgery, first cancelled first, at ``backlog_catch_up`` times
        today's expected electives; the dead are dropped, inpatients wait."""
        pop = model.pop
        share = self.female_share
        rates = self.rates[..., T_ELECTIVE] * factors[T_ELECTIVE]
        expected = (pop.alive_counts * (share * rates[0] + (1 - share) * rates[1])).sum()
        room = int(round(self.params.backlog_catch_up * expected))
        queue = NeedBatch.concat(self.backlog)
        queue = _subset(queue, pop.alive[queue.resident])
        ready = np.flatnonzero(~pop.in_hospital[queue.resident])[:room]
        take = np.zeros(len(queue), dtype=bool)
        take[ready] = True
        self.backlog = [_subset(queue, ~take)] if (~take).any() else []
        self.n_caught_up += int(take.sum())
        return _subset(queue, take)

    def _ed_visits(self, model: RegionModel, factor: float, rng: np.random.Generator) -> None:
        per_cell = model.pop.alive_counts * self.ed_cell_rates
        visits = rng.poisson(per_cell * factor)
        self.totals["ed_only_visits"] += int(visits.sum())
        model.request_ed_visits(visits.sum(axis=1))

    def _admissions(
        self, model: RegionModel, rates: np.ndarray, rng: np.random.Generator
    ) -> NeedBatch:
        """Today's admissions and their clinical paths, by Poisson thinning per cell.

        Per cell, a Poisson count on the cell's rows (dead included, as of the last
        reindex) times the band's highest rate over the two sexes; the rows drawn
        (:meth:`popsim.population.Population.draw_rows`) keep a type in proportion to their
        sex's rates, and every draw of their paths is made before the rows that cannot be
        admitted today (dead, moved away, already in hospital, drawn twice) are dropped.
        So the draws depend only on the day and the cell index, never on another module's
        state: an epidemic that kills or admits someone changes that resident's
        admission, and nobody else's (common random numbers between scenarios)."""
        pop = model.pop
        total = rates.sum(axis=2)  # (2, bands)
        top = total.max(axis=0)  # (bands,)
        k = rng.poisson(pop.cell_size * np.tile(top, pop.n_zones))
        ids = pop.draw_rows(k, rng)
        if len(ids) == 0:
            return NeedBatch.empty()
        band = pop.band[ids]
        sex = pop.sex[ids]
        cum = np.cumsum(rates, axis=2)[sex, band]  # (n, types)
        u = rng.random(len(ids)) * top[band]
        kind = (u[:, None] >= cum).sum(axis=1)
        typed = kind < N_TYPES
        ids, kind = ids[typed], kind[typed]
        needs = self._needs(model, ids, kind, rng)
        first = np.zeros(len(ids), dtype=bool)
        first[np.unique(ids, return_index=True)[1]] = True
        busy = pop.in_hospital[ids]
        self.n_skipped += int((busy & pop.alive[ids]).sum())
        return _subset(needs, first & pop.alive[ids] & ~busy)

    def _needs(
        self, model: RegionModel, ids: np.ndarray, types: np.ndarray, rng: np.random.Generator
    ) -> NeedBatch:
        """Clinical paths for today's admissions: ICU, ward, ALC days and death."""
        p = self.params
        band = model.pop.band[ids].astype(np.int64)
        n = len(ids)
        mean = STAY_MEAN[types] * STAY_REL_BAND[band] * p.rel_stay
        mean = np.where(types == T_MATERNITY, STAY_MEAN[T_MATERNITY] * p.rel_stay, mean)
        acute = lognormal(rng, mean, mean * STAY_CV[types], n)
        icu = rng.random(n) < P_ICU_MEDICAL[band] * P_ICU_TYPE[types]
        icu_days = np.where(icu, to_days(lognormal(rng, ICU_MEAN_DAYS, ICU_SD_DAYS, n), 1, 60), 0)
        dies = rng.random(n) < np.minimum(
            1.0, P_DIE_MEDICAL[band] * P_DIE_TYPE[types] * np.where(icu, 3.0, 1.0)
        )
        ward_days = to_days(acute - icu_days, 1, 365)
        # half of ICU deaths happen in the ICU (no step-down)
        die_in_icu = dies & icu & (rng.random(n) < 0.5)
        ward_days = np.where(die_in_icu, 0, ward_days)
        p_alc = np.minimum(1.0, self.p_alc[band, types] * p.rel_alc)
        alc = (rng.random(n) < p_alc) & ~dies
        if self.alc_open:  # the ALC stay lasts until long-term care or home support ends it
            alc_days = np.where(alc, ALC_OPEN_DAYS, 0).astype(np.int16)
        else:
            alc_days = np.where(
                alc, to_days(lognormal(rng, ALC_MEAN_DAYS, ALC_SD_DAYS, n), 3, 365), 0
            )
        tertiary = rng.random(n) < P_TERTIARY[types]
        return NeedBatch.build(
            ids,
            TYPE_KIND[types],
            icu_days=icu_days,
            ward_days=ward_days,
            alc_days=alc_days,
            dies=dies,
            tertiary=tertiary,
            elective=types == T_ELECTIVE,
        )
