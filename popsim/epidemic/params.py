"""Epidemic parameters: pathogen profiles (shipped as data), durations, severity, mixing.

A spec names a **pathogen profile** (``[epidemic] pathogen = "influenza"``), a TOML file
shipped in ``popsim/data/pathogens/`` with its sources, and may override any of its
values (``r0``, a duration, a severity table, ``immune``). Shipped profiles:

- ``covid19-ancestral`` (the default): Covasim's severity table (Imperial College Report
  9, O'Driscoll et al.) with the ICU share of hospitalised set to Canadian data (about
  18%);
- ``covid19-omicron``: higher R0, hospitalisation and death per infection scaled from
  Nyberg et al. (Lancet 2022);
- ``influenza``: a typical Canadian season (PHAC: about 3.2 hospitalisations per 10,000
  a year) with prior immunity by age.

Severity tables are per infection, by 10-year age band: ``p_symptomatic``, ``p_severe``
(needs a hospital bed), ``p_critical`` (needs ICU), ``p_death`` (dies in hospital; on the
ward or after ICU, ``share_deaths_after_icu`` of them after ICU). Per symptomatic case,
divide by ``p_symptomatic`` (:func:`per_symptomatic`). ``immune``: share of each band
immune at the start (earlier infection or vaccination). ``deaths_in_life_table``: the
pathogen's deaths are already in demography's all-cause mortality (seasonal influenza);
demography then takes a typical season's deaths (``p_attack_typical x p_death`` by band)
out of its hazard for the year from ``start_day``, so only a worse-than-typical season
adds deaths; a pandemic (the default, False) adds all its deaths as excess mortality.
"""

from __future__ import annotations

import math
import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any, Literal

import numpy as np
from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    ValidationInfo,
    field_validator,
    model_validator,
)

from popsim.core.ages import N_AGE_BANDS
from popsim.core.seeds import CounterDraws
from popsim.epidemic.contacts import community_layers, reciprocal

MAX_STAY_DAYS = 365
DEFAULT_PATHOGEN = "covid19-ancestral"


def pathogen_names() -> list[str]:
    """Names of the shipped pathogen profiles."""
    folder = resources.files("popsim") / "data" / "pathogens"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


@lru_cache(maxsize=16)
def pathogen_profile(name: str) -> dict[str, Any]:
    """A shipped profile: ``name``, ``description``, ``sources`` and ``params``."""
    if name not in pathogen_names():
        raise ValueError(f"unknown pathogen {name!r}; shipped: {', '.join(pathogen_names())}")
    path = resources.files("popsim") / "data" / "pathogens" / f"{name}.toml"
    return tomllib.loads(path.read_text(encoding="utf-8"))


def polymod_like_matrix() -> np.ndarray:
    """Synthetic 10x10 daily contacts of band ``a`` (row) with band ``b`` (column): the
    ``polymod_like`` mixing (an assumption, not measured; the default is the published
    ``prem2021_canada``, :mod:`popsim.epidemic.contacts`).

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
    """A duration in days with this mean and standard deviation (sd 0: fixed), rounded to
    whole days (at least 1): lognormal (the default), or Erlang (``family = "erlang"``: a
    gamma of whole shape ``round((mean / sd)**2)``, at least 1, the sum of that many
    exponential stages; a latent or infectious period of a compartmental model with
    stages, whose tail is shorter than the lognormal's)."""

    model_config = ConfigDict(extra="forbid")
    mean: float = Field(gt=0, le=365, description="mean days, in (0, 365]")
    sd: float = Field(ge=0, le=365, description="standard deviation in days, in [0, 365]")
    family: Literal["lognormal", "erlang"] = Field(
        "lognormal", description="lognormal (default) or erlang"
    )

    @property
    def erlang_shape(self) -> int:
        """Stages of the Erlang: ``round((mean / sd)**2)``, at least 1."""
        return max(1, round((self.mean / self.sd) ** 2)) if self.sd > 0 else 1

    def sample(self, rng: np.random.Generator, n: int) -> np.ndarray:
        """``n`` durations rounded to whole days, at least 1."""
        if n == 0:  # (drawing none takes nothing from ``rng``)
            return np.zeros(0, dtype=np.int64)
        if self.sd == 0:
            return _whole_days(np.full(n, self.mean))
        if self.family == "erlang":
            k = self.erlang_shape
            return _whole_days(rng.gamma(k, self.mean / k, n))
        return _whole_days(rng.lognormal(*_lognormal_args(self.mean, self.sd), n))

    def draw(self, draws: CounterDraws, *counters: np.ndarray | int) -> np.ndarray:
        """Durations as :meth:`sample` (the same distribution of whole days), from
        counter-based uniforms keyed by ``counters``: one duration per element, by the
        inverse of the whole-day distribution (:meth:`day_cdf`)."""
        cdf = self.day_cdf()
        return np.searchsorted(cdf, draws.uniform(*counters), side="right") + 1

    def day_cdf(self) -> np.ndarray:
        """``P(days <= k)`` for ``k = 1 .. MAX_STAY_DAYS``: the lognormal rounded to whole
        days, at least 1, at most :data:`MAX_STAY_DAYS`."""
        if self.family == "erlang" and self.sd > 0:
            return _erlang_day_cdf(self.mean, self.erlang_shape)
        return _day_cdf(self.mean, self.sd)

    def expected_days(self) -> float:
        """Mean of :meth:`sample` (rounding and the 1-day floor included)."""
        cdf = self.day_cdf()
        pmf = np.diff(cdf, prepend=0.0)
        return float((np.arange(1, MAX_STAY_DAYS + 1) * pmf).sum())


@lru_cache(maxsize=256)
def _day_cdf(mean: float, sd: float) -> np.ndarray:
    k = np.arange(1, MAX_STAY_DAYS + 1, dtype=np.float64)
    if sd == 0:
        cdf = (k >= min(max(round(mean), 1), MAX_STAY_DAYS)).astype(np.float64)
    else:
        mu, sigma = _lognormal_args(mean, sd)
        z = (np.log(k + 0.5) - mu) / (sigma * math.sqrt(2))
        cdf = 0.5 * (1 + np.vectorize(math.erf)(z))
    cdf[-1] = 1.0
    cdf.flags.writeable = False
    return cdf


@lru_cache(maxsize=256)
def _erlang_day_cdf(mean: float, shape: int) -> np.ndarray:
    """:func:`_day_cdf` of an Erlang of ``shape`` stages: ``P(X < k + 0.5)`` is
    ``1 - exp(-x) sum_{n < shape} x**n / n!`` at ``x = (k + 0.5) * shape / mean``."""
    x = (np.arange(1, MAX_STAY_DAYS + 1, dtype=np.float64) + 0.5) * shape / mean
    term = np.exp(-x)
    survive = term.copy()
    for n in range(1, shape):
        term = term * x / n
        survive += term
    cdf = np.clip(1.0 - survive, 0.0, 1.0)
    cdf[-1] = 1.0
    cdf.flags.writeable = False
    return cdf


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


class Importation(BaseModel):
    """``count`` infections arriving in ``zone`` (id, name or index; None: by population) on ``day``."""

    model_config = ConfigDict(extra="forbid")
    day: int = Field(ge=0, description="day index, >= 0")
    count: int = Field(ge=0, description="infections, >= 0")
    zone: str | int | None = None


class EpidemicParams(BaseModel):
    """Parameters of the epidemic module: a pathogen profile's values, with any of them
    overridden. Probability tables have one entry per age band."""

    model_config = ConfigDict(extra="forbid")

    pathogen: str = Field(DEFAULT_PATHOGEN, description="a shipped pathogen profile")
    r0: float = Field(gt=0, le=30, description="basic reproduction number, in (0, 30]")
    seed_infections: int = Field(
        20, ge=0, description="infections seeded on start_day in each seed zone, >= 0"
    )
    seed_zones: list[str | int] = Field(
        default_factory=list, description="zones (id, name or index) of the seeds; empty: all"
    )
    start_day: int = Field(0, ge=0, description="day of the seeding, >= 0")
    importations: list[Importation] = Field(default_factory=list)

    dur_latent: LogNormalDays
    dur_infectious: LogNormalDays
    dur_onset: LogNormalDays
    dur_symptoms_to_severe: LogNormalDays
    dur_severe_stay: LogNormalDays
    dur_critical_stay: LogNormalDays
    dur_critical_to_death: LogNormalDays
    dur_severe_to_death: LogNormalDays
    dur_ward_after_icu: LogNormalDays

    p_symptomatic: list[float]
    p_severe: list[float]
    p_critical: list[float]
    p_death: list[float]
    p_death_community: list[float] = Field(
        default_factory=lambda: [0.0] * N_AGE_BANDS,
        description="deaths outside hospital (at home, in care homes) per infection, by "
        "band, among the infections not hospitalised",
    )
    share_deaths_after_icu: float = Field(
        ge=0, le=1, description="share of hospital deaths that follow an ICU stay, in [0, 1]"
    )
    immune: list[float] = Field(default_factory=lambda: [0.0] * N_AGE_BANDS)
    deaths_in_life_table: bool = Field(
        False,
        description="the pathogen's deaths are in demography's all-cause life table "
        "(seasonal influenza): a typical season's deaths are taken out of its hazard",
    )
    p_attack_typical: list[float] = Field(default_factory=lambda: [0.0] * N_AGE_BANDS)
    rel_trans_asymptomatic: float = Field(
        1.0, ge=0, le=1, description="infectiousness of asymptomatic cases, in [0, 1]"
    )
    rel_infectiousness_daily: float = Field(
        1.0,
        gt=0,
        le=1,
        description="each day of the infectious period this times as infectious as the day "
        "before, the period's total kept (1: flat; :mod:`popsim.epidemic.infectiousness`), "
        "in (0, 1]",
    )
    seasonal_amplitude: float = Field(
        0.0,
        ge=0,
        lt=1,
        description="seasonal forcing: transmission times 1 + amplitude x cos(2 pi (day "
        "of year - seasonal_peak_day_of_year) / 365.25), in [0, 1); r0 is the year's mean",
    )
    seasonal_peak_day_of_year: int = Field(
        15, ge=1, le=366, description="day of the year transmission peaks, in [1, 366]"
    )
    # scalar knobs over the profile (a bad season, a fit of the twin): 1.0 is the profile
    rel_severity: float = Field(
        1.0,
        ge=0,
        le=20,
        description="multiplier of the hospitalisation, ICU and death probabilities per "
        "infection (each capped at the one it is part of: hospitalised at symptomatic, "
        "ICU and death at hospitalised), in [0, 20]",
    )
    rel_transmissibility: float = Field(
        1.0,
        gt=0,
        le=10,
        description="multiplier of transmission, community and household (r0 times it), in (0, 10]",
    )
    rel_stay: float = Field(
        1.0,
        gt=0,
        le=10,
        description="multiplier of the epidemic's hospital stays (ward, ICU, and to "
        "death; mean and standard deviation), in (0, 10]",
    )

    household_share: float = Field(
        0.3, ge=0, lt=1, description="share of R0 from household contacts, in [0, 1)"
    )
    mixing: Literal["prem2021_canada", "polymod_like", "uniform"] = Field(
        "prem2021_canada",
        description="community contacts: prem2021_canada (published, with a school layer), "
        "polymod_like (synthetic) or uniform (well mixed)",
    )
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

    @model_validator(mode="before")
    @classmethod
    def _profile(cls, data: Any) -> Any:
        """The named profile's values under the given ones."""
        if not isinstance(data, dict):
            return data
        name = data.get("pathogen", DEFAULT_PATHOGEN)
        if not isinstance(name, str):
            raise ValueError(f"pathogen must be one of {', '.join(pathogen_names())}")
        return {**pathogen_profile(name)["params"], **data}

    @field_validator(
        "p_symptomatic",
        "p_severe",
        "p_critical",
        "p_death",
        "p_death_community",
        "immune",
        "p_attack_typical",
    )
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
            ("p_death", "p_severe"),
        )
        for inner, outer in pairs:
            a, b = getattr(self, inner), getattr(self, outer)
            if any(x > y + 1e-12 for x, y in zip(a, b, strict=True)):
                raise ValueError(
                    f"{inner} must be <= {outer} in every age band (range [0, {outer}])"
                )
        return self

    def contact_layers(self, age_counts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Daily community contacts of band ``a`` (row) with band ``b``, all of them and
        those at school (a part of them), for a population of ``age_counts`` living
        residents by single year of age. Reciprocal on its band sizes (``n_a C_ab = n_b
        C_ba``; Prem et al. 2017's adjustment). Household contacts are not in them (the
        model's explicit household layer). ``contact_matrix`` (a spec's own, all
        community settings) and ``polymod_like`` have no school layer; ``uniform`` is
        proportionate (well-mixed) mixing: contacts with a band in proportion to its size.
        """
        counts = np.asarray(age_counts, dtype=np.float64)
        n_band = np.bincount(
            np.minimum(np.arange(len(counts)) // 10, N_AGE_BANDS - 1),
            weights=counts,
            minlength=N_AGE_BANDS,
        )
        n = np.maximum(n_band, 1.0)
        none = np.zeros((N_AGE_BANDS, N_AGE_BANDS))
        if self.contact_matrix is not None:
            return reciprocal(np.asarray(self.contact_matrix, dtype=np.float64), n), none
        if self.mixing == "uniform":
            return np.tile(n / n.sum(), (N_AGE_BANDS, 1)), none
        if self.mixing == "polymod_like":
            return reciprocal(polymod_like_matrix(), n), none
        layers = community_layers(self.mixing, counts)
        return layers["school"] + layers["work"] + layers["other"], layers["school"]


def conditional(a: list[float], b: list[float]) -> np.ndarray:
    """``a / b`` by band (0 where ``b`` is 0): absolute table -> conditional probability."""
    a, b = np.asarray(a, dtype=np.float64), np.asarray(b, dtype=np.float64)
    return np.divide(a, b, out=np.zeros_like(a), where=b > 0)


def per_symptomatic(p: list[float], p_symptomatic: list[float]) -> np.ndarray:
    """A per-infection table as per symptomatic case."""
    return conditional(p, p_symptomatic)


def severity_tables(p: EpidemicParams) -> dict[str, np.ndarray]:
    """``p_severe``, ``p_critical`` and ``p_death`` per infection times ``rel_severity``,
    each capped at the probability it is part of (hospitalised at symptomatic, ICU and
    death at hospitalised): at 1.0, the profile's tables."""
    rel = p.rel_severity
    sym = np.asarray(p.p_symptomatic, dtype=np.float64)
    severe = np.minimum(np.asarray(p.p_severe, dtype=np.float64) * rel, sym)
    return {
        "p_severe": severe,
        "p_critical": np.minimum(np.asarray(p.p_critical, dtype=np.float64) * rel, severe),
        "p_death": np.minimum(np.asarray(p.p_death, dtype=np.float64) * rel, severe),
        "p_death_community": np.minimum(
            np.asarray(p.p_death_community, dtype=np.float64) * rel, 1.0
        ),
    }


STAYS = (
    "dur_severe_stay",
    "dur_critical_stay",
    "dur_critical_to_death",
    "dur_severe_to_death",
    "dur_ward_after_icu",
)


def stay(p: EpidemicParams, name: str) -> LogNormalDays:
    """The hospital stay ``name`` (one of :data:`STAYS`) scaled by ``rel_stay``."""
    d = getattr(p, name)
    if p.rel_stay == 1.0:
        return d
    return LogNormalDays.model_construct(mean=d.mean * p.rel_stay, sd=d.sd * p.rel_stay)


def hospital_paths(p: EpidemicParams) -> dict[str, np.ndarray]:
    """Conditional probabilities by band for the paths of the hospitalised (severity
    scaled by ``rel_severity``, :func:`severity_tables`).

    ``severe``: hospitalised per symptomatic case; ``die``: dies in hospital per
    hospitalised; ``icu_if_die`` and ``icu_if_live``: ICU per hospitalised who dies or
    lives, so that ICU per hospitalised is ``p_critical / p_severe`` and the share of
    deaths after ICU is ``share_deaths_after_icu`` where the ICU share allows it (capped
    at ``p_critical / p_death``)."""
    t = severity_tables(p)
    icu = conditional(t["p_critical"], t["p_severe"])
    die = conditional(t["p_death"], t["p_severe"])
    cap = np.divide(icu, die, out=np.ones_like(icu), where=die > 0)
    icu_if_die = np.minimum(p.share_deaths_after_icu, np.minimum(cap, 1.0))
    live = 1.0 - die
    icu_if_live = np.divide(icu - icu_if_die * die, live, out=np.zeros_like(icu), where=live > 0)
    return {
        "severe": conditional(t["p_severe"], p.p_symptomatic),
        "die": die,
        "icu_if_die": icu_if_die,
        "icu_if_live": np.clip(icu_if_live, 0.0, 1.0),
    }
