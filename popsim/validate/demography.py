"""Demography rows of ``popsim validate``: crude death and birth rates, deaths in
hospital (see :mod:`popsim.validate`)."""

from __future__ import annotations

import math

from popsim.care.params import CareParams
from popsim.demand import DemandParams
from popsim.demography import DemographyParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.load import Region
from popsim.validate.outcomes import winter_row
from popsim.validate.rows import (
    CALIBRATION,
    VALIDATION,
    VERIFICATION,
    Check,
    within,
)


def demography_checks(region: Region, population: int, seed: int) -> list[Check]:
    rates = {}
    for demand in (False, True):
        cfg = ModelConfig(
            days=366,
            population=population,
            demography=DemographyParams(),
            demand=DemandParams() if demand else None,
            care=CareParams(uncapped=True),
            record_journeys=False,
        )
        model = RegionModel(region, cfg, seed=seed)
        person_years = 0.0
        for _ in range(cfg.days):
            person_years += model.pop.n_alive / 365.0
            model.step()
        result = model.results()
        deaths = float(result.zone_counts("deaths").sum())
        if demand:
            in_hospital = float(result.facility_frame()["deaths"].sum())
            metrics = list(result.facility_metrics)
            admitted = result.facility_day[..., metrics.index("admissions")].sum(axis=1)
            winter = winter_row(admitted, cfg.start)
        rates[demand] = (
            1000 * deaths / person_years,
            1000 * model.demography.n_births / person_years,
        )
    death, birth = rates[True]
    # deaths and births are Poisson: each range widens by 3 sd of its count (at 2.0
    # million residents about 0.2 per 1,000; at a small population more)
    births, n_deaths = birth * person_years / 1000, death * person_years / 1000
    noise = 3 * math.sqrt(max(births, 1.0)) / person_years * 1000
    noise_deaths = 3 * math.sqrt(max(n_deaths, 1.0)) / person_years * 1000
    ratio = death / rates[False][0]
    share = in_hospital / max(n_deaths, 1.0)
    chance_share = 3 * math.sqrt(share * (1 - share) / max(n_deaths, 1.0))
    return [
        winter,
        Check(
            "share of all deaths that happen in hospital (default year, no epidemic)",
            f"0.45-0.60 (+/- {chance_share:.3f} for chance)",
            "Statistics Canada table 13-10-0715-01 (deaths by place of death): about half "
            "in hospital",
            f"{share:.3f} ({in_hospital:.0f} of {n_deaths:.0f})",
            within(share, 0.45 - chance_share, 0.60 + chance_share),
            kind=VALIDATION,
        ),
        Check(
            "crude death rate per 1,000 (demography + everyday demand)",
            f"7-9 (+/- {noise_deaths:.2f} for chance)",
            "BC: about 7 per 1,000 a year 1976-2014, about 8.5 in 2021-22 (over 44,000 "
            "deaths in 2021, 45,380 in 2022; BC Stats vital statistics)",
            f"{death:.3f} ({n_deaths:.0f} deaths)",
            within(death, 7.0 - noise_deaths, 9.0 + noise_deaths),
            kind=CALIBRATION,
        ),
        Check(
            "crude death rate with / without everyday demand",
            "1.00 +/- 0.05",
            "in-hospital deaths are part of all-cause mortality",
            f"{ratio:.3f}",
            abs(ratio - 1) < 0.05,
            kind=VERIFICATION,
        ),
        Check(
            "crude birth rate per 1,000",
            f"7.5-8 (6.5-9 passes, +/- {noise:.2f} for chance)",
            "BC Stats vital statistics",
            f"{birth:.2f} ({births:.0f} births)",
            within(birth, 6.5 - noise, 9.0 + noise),
            kind=CALIBRATION,
        ),
    ]
