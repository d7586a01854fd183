"""The staffing module's parameters (``[staffing]`` of a run spec) and its counter-keyed
random draws; the module itself is :mod:`popsim.staffing.module`."""

from __future__ import annotations

import math
from typing import Literal

import numpy as np
from pydantic import BaseModel, ConfigDict, Field, model_validator


class StaffingParams(BaseModel):
    """``[staffing]`` of a run spec. Sources and assumptions are given per field."""

    model_config = ConfigDict(extra="forbid")

    policy: Literal["fixed", "predicted", "forecast"] = "fixed"
    forecast_file: str | None = Field(
        None,
        description=(
            "policy forecast: a forecast.parquet of popsim forecast (relative to the spec)"
        ),
    )
    forecast_census: list[tuple[int, int, int, float]] | None = Field(
        None,
        description=(
            "resolved from forecast_file when the spec is read (facility, unit, day, census "
            "at forecast_quantile); not to be written by hand"
        ),
    )
    forecast_quantile: float = Field(
        0.9, ge=0.5, le=1.0, description="assumption: roster to the 90th centile of census"
    )
    forecast_window_days: int = Field(7, ge=1, le=90, description="persistence window")
    roster_floor: Literal["funded", "none"] = Field(
        "funded",
        description=(
            "policies predicted and forecast: never roster fewer nurses than the unit's "
            "funded beds need at its ratio (the file's roster for an ED); none: no floor"
        ),
    )
    relief_factor: float = Field(
        1.2,
        ge=1.0,
        le=2.0,
        description="assumption: pool over contract-hours need (1.15-1.25 usual)",
    )
    shifts_per_nurse_week: float = Field(
        3.0, gt=0, le=7, description="assumption: 12-hour shifts, about 36 h a week"
    )
    sickness_days_per_year: float = Field(
        14.9,
        ge=0,
        le=100,
        description="Statistics Canada 11-627-M (2023): nurses' sick days per year, 2019",
    )
    sickness_winter_amplitude: float = Field(
        0.15,
        ge=0,
        lt=1,
        description=(
            "everyday sickness absence times 1 + amplitude x cos(2 pi (day of year - "
            "sickness_peak_day_of_year) / 365.25), the year's mean unchanged; assumption: "
            "illness absence rises in winter with the respiratory viruses not modelled "
            "explicitly (Statistics Canada's work absence rates are annual averages of "
            "seasonal monthly figures, 71-211-X); 0 = flat"
        ),
    )
    sickness_peak_day_of_year: int = Field(
        20, ge=1, le=366, description="day of the year everyday sickness peaks (assumption)"
    )
    sickness_episode_days: float = Field(2.0, ge=1, le=30, description="assumption")
    symptomatic_absence_days: int = Field(
        5, ge=0, le=30, description="assumption: away at least 5 days from symptom onset"
    )
    household_isolation: bool = False
    max_overtime_share: float = Field(0.15, ge=0, le=1, description="assumption")
    max_agency_share: float = Field(0.10, ge=0, le=1, description="assumption")
    ed_diverts_when_short: bool = Field(
        True, description="a site whose ED works short diverts new emergency arrivals"
    )
    ed_hours_per_visit: float = Field(
        4.0, gt=0, le=48, description="assumption: hours an ED visit occupies a space"
    )
    min_age: int = Field(22, ge=16, le=80)
    max_age: int = Field(64, ge=16, le=90)
    p_female: float = Field(
        0.9, ge=0, le=1, description="CIHI Nursing in Canada: about 9 in 10 nurses are women"
    )
    max_commute_minutes: float = Field(60.0, gt=0, le=600, description="assumption")
    rel_infection_at_work: float = Field(
        3.7,
        ge=1.0,
        le=20.0,
        description=(
            "relative community infection hazard on a day at work; calibration target: "
            "Kuster et al., PLoS One 2011;6:e26239 (symptomatic influenza, healthcare "
            "workers against other working adults, IRR 1.5), the realised ratio. The "
            "community hazard is only part of a nurse's (households are the rest) and "
            "nurses work about 3 days in 7: 2.2 gave a realised 1.22, 3.7 gives 1.52 on "
            "Fraser's influenza season (bench/nurse_risk.py)"
        ),
    )

    @model_validator(mode="after")
    def _forecast_needs_a_file(self) -> StaffingParams:
        if self.policy == "forecast" and not self.forecast_file and self.forecast_census is None:
            raise ValueError('policy "forecast" needs forecast_file (a forecast.parquet)')
        return self


_M64 = (1 << 64) - 1


def uniforms(key: int, ids: np.ndarray, day: int, purpose: int) -> np.ndarray:
    """Uniforms in [0, 1), one per id, a function of (key, id, day, purpose) only
    (splitmix64 of a combined counter)."""
    salt = (key + day * 0x632BE59BD9B4E019 + purpose * 0x8CB92BA72F3D8DD7) & _M64
    x = np.asarray(ids).astype(np.uint64) * np.uint64(0x9E3779B97F4A7C15)
    x ^= np.uint64(salt)
    x ^= x >> np.uint64(30)
    x *= np.uint64(0xBF58476D1CE4E5B9)
    x ^= x >> np.uint64(27)
    x *= np.uint64(0x94D049BB133111EB)
    x ^= x >> np.uint64(31)
    return (x >> np.uint64(11)).astype(np.float64) * (1.0 / 9007199254740992.0)


def geometric_days(u: np.ndarray, mean_days: float) -> np.ndarray:
    """Geometric durations (1, 2, ... days) of mean ``mean_days`` from uniforms ``u``."""
    if mean_days <= 1.0:
        return np.ones(len(u), dtype=np.int64)
    q = 1.0 - 1.0 / mean_days  # P(one more day)
    return 1 + np.floor(np.log1p(-u) / math.log(q)).astype(np.int64)


def required_nurses(census: int, patients_per_nurse: float) -> int:
    """Nurses a unit needs at the minimum ratio: census over ratio, rounded up."""
    if census <= 0:
        return 0
    return math.ceil(census / patients_per_nurse - 1e-9)


def plan_roster(demand: float, ratio: float, floor: int, most: int) -> int:
    """Nurses a shift for a predicted bed demand: ``ceil(demand / ratio)``, at least
    ``floor``, at most ``most`` (the pool at contract hours, which also limits the floor)."""
    need = required_nurses(math.ceil(demand - 1e-9), ratio)
    return max(0, min(max(need, floor), most))
