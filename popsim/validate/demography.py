"""Demography rows of ``popsim validate``: crude death and birth rates, where deaths
happen (in hospital, in long-term care homes) and the decedents' last months in
hospital (see :mod:`popsim.validate`)."""

from __future__ import annotations

import math

import numpy as np

from popsim.care.params import CareParams
from popsim.demand import DemandParams
from popsim.demography import DemographyParams
from popsim.ltc.params import LtcParams
from popsim.model import ModelConfig, RegionModel, RunResult
from popsim.region.load import Region
from popsim.validate.outcomes import winter_row
from popsim.validate.rows import (
    CALIBRATION,
    VALIDATION,
    VERIFICATION,
    Check,
    banded,
    share_chance,
    within,
)

#: The last months of life (days) of the decedents' hospital use row.
LAST_MONTHS_DAYS = 180


def _share_of_deaths(model: RegionModel, result: RunResult) -> float:
    """The share of deaths in hospital that demand's ``p_death_in_hospital`` by band
    sets, weighted by the run's deaths by band."""
    deaths = result.zone_counts("deaths").astype(np.float64)
    by_band = deaths.reshape(-1, deaths.shape[-1]).sum(axis=0)
    s = np.asarray(model.demand.params.p_death_in_hospital)
    return float((by_band * s).sum() / max(by_band.sum(), 1.0))


def demography_checks(region: Region, population: int, seed: int) -> list[Check]:
    rates = {}
    in_ltc_home = n_decedents = n_admitted = 0
    # long-term care where the region has it, at its own scale (with demand: it takes
    # demand's ALC patients): the deaths in its homes
    with_ltc = getattr(region, "ltc", None) is not None and region.at_own_scale(population)
    for demand in (False, True):
        cfg = ModelConfig(
            days=366,
            population=population,
            demography=DemographyParams(),
            demand=DemandParams() if demand else None,
            ltc=LtcParams() if demand and with_ltc else None,
            care=CareParams(uncapped=True),
            record_journeys=False,
        )
        model = RegionModel(region, cfg, seed=seed)
        person_years = 0.0
        homes = getattr(model.ltc, "res_home", None) if demand else None
        last_in = np.full(model.pop.n, -LAST_MONTHS_DAYS - 1, dtype=np.int64)
        for day in range(cfg.days):
            pop = model.pop
            person_years += pop.n_alive / 365.0
            # long-term care residents in their home (not in hospital) this morning
            at_home = np.fromiter(homes or (), np.int64)
            at_home = at_home[~pop.in_hospital[at_home]]
            alive = pop.alive.copy()
            model.step()
            in_ltc_home += int((~pop.alive[at_home]).sum())
            if demand:  # the decedents in hospital in their last 6 months
                died = np.flatnonzero(alive & ~pop.alive[: len(alive)])
                if day >= LAST_MONTHS_DAYS:
                    n_decedents += len(died)
                    n_admitted += int((last_in[died] >= day - LAST_MONTHS_DAYS).sum())
                if pop.n > len(last_in):  # (newborns joined)
                    grow = np.full(pop.n - len(last_in), -LAST_MONTHS_DAYS - 1, np.int64)
                    last_in = np.concatenate([last_in, grow])
                last_in[pop.in_hospital] = day
        result = model.results()
        deaths = float(result.zone_counts("deaths").sum())
        if demand:
            in_hospital = float(result.facility_frame()["deaths"].sum())
            expected_share = _share_of_deaths(model, result)
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
    chance_share = share_chance(share, max(n_deaths, 1.0))
    ltc_share = in_ltc_home / max(n_deaths, 1.0)
    chance_ltc = share_chance(ltc_share, max(n_deaths, 1.0))
    if with_ltc:
        place_rows = [
            banded(
                "share of all deaths that happen in hospital (default year, no epidemic)",
                share,
                0.45,
                0.60,
                "BC Vital Statistics 2004-2008, 153,111 deaths: 51.0% in hospital "
                "(Jayaraman and Joseph, BMC Palliative Care 2013); Ontario 2004-2015: 45% "
                "(Hill et al., CMAJ Open 2019); terminal admissions are sized on the share "
                "outside extended care, so this re-measures it with long-term care's deaths",
                kind=CALIBRATION,
                chance=chance_share,
                detail=f"{in_hospital:.0f} of {n_deaths:.0f}",
            ),
            banded(
                "share of all deaths that happen in a long-term care home (default year)",
                ltc_share,
                0.22,
                0.36,
                "BC Vital Statistics 2004-2008: 29.0% of deaths in extended care "
                "(Jayaraman and Joseph, BMC Palliative Care 2013)",
                kind=VALIDATION,
                chance=chance_ltc,
                detail=f"{in_ltc_home} of {n_deaths:.0f}",
            ),
        ]
    else:  # no long-term care modelled: the share of deaths outside it
        place_rows = [
            Check(
                "share of deaths in hospital, long-term care not modelled (default year, "
                "no epidemic)",
                f"{expected_share:.3f} (+/- {chance_share:.3f} for chance)",
                "demand's p_death_in_hospital over the deaths by band (BC Vital Statistics "
                "2004-2008: about 70% of deaths outside extended care in hospital)",
                f"{share:.3f} ({in_hospital:.0f} of {n_deaths:.0f})",
                abs(share - expected_share) <= chance_share,
                kind=VERIFICATION,
            )
        ]
    admitted_share = n_admitted / max(n_decedents, 1)
    chance_admitted = share_chance(admitted_share, max(n_decedents, 1))
    place_rows.append(
        banded(
            "share of decedents in hospital in their last 6 months (deaths from day 180 "
            "of a default year)",
            admitted_share,
            0.55,
            0.80,
            "Ontario 2004-2015, 962,462 adult decedents: 68.4% admitted to hospital in "
            "their last 6 months (Hill et al., CMAJ Open 2019)",
            kind=VALIDATION,
            chance=chance_admitted,
            detail=f"{n_admitted} of {n_decedents}",
        )
    )
    return [
        winter,
        *place_rows,
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
