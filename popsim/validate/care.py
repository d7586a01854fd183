"""Care rows of ``popsim validate``: everyday demand, stays, beds, queueing (see
:mod:`popsim.validate`)."""

from __future__ import annotations

import math
from datetime import date

import numpy as np

from popsim.care.params import CareParams
from popsim.demand import DemandParams
from popsim.model import ModelConfig, RegionModel, RunResult
from popsim.region.load import Region
from popsim.site_checks import read_targets, site_rows
from popsim.validate.outcomes import icu_shape_row, stay_rows, stays
from popsim.validate.rows import (
    CALIBRATION,
    VALIDATION,
    VERIFICATION,
    Check,
    classed,
    factor,
    within,
)

#: Admitted patients boarding in Fraser's EDs on a given day (news reports; the target
#: is 165 or fewer): the split of bed demand between wards and EDs the checks compare.
FRASER_ED_BOARDERS = 222


def demand_checks(region: Region, population: int, seed: int) -> list[Check]:
    cfg = ModelConfig(
        days=365,
        start=date(2026, 1, 1),
        population=population,
        demand=DemandParams(winter_amplitude=0.0),
        care=CareParams(uncapped=True),
    )
    model = RegionModel(region, cfg, seed=seed)
    result = model.run()
    t = model.demand.totals
    n = model.pop.n_alive
    metrics = list(result.facility_metrics)
    census = sum(
        result.facility_day[..., metrics.index(c)].sum(axis=1).astype(np.float64)
        for c in ("ward_census", "icu_census", "alc_census")
    )
    admitted = t["admissions"]
    planned_days = t["acute_days"] + t["alc_days"]
    emergency = admitted - t["maternity"]  # (elective surgery is not an ED visit either)
    ed = (t["ed_only_visits"] + emergency) / n * 1000
    acute_los = t["acute_days"] / admitted
    alc_stays = t["alc_stays"] / admitted
    alc_days = t["alc_days"] / planned_days
    lam, w = admitted / cfg.days, planned_days / admitted
    little = census[60:].mean() / (lam * w)
    disp, n_rep = census_dispersion(region, seed)
    alive = model.pop.alive
    share_old = float((model.pop.age[alive] >= 65).mean())
    drawn = stays(result, model.pop.age)
    out = stay_rows(drawn, cfg.days, share_old)
    out.append(icu_shape_row(drawn, model.pop.age[alive]))
    # (figures of Fraser's beds, at its own population: beds are never scaled)
    if region.name == "fraser" and region.at_own_scale(population):
        day = result.facility_day[60:]
        ward = sum(day[..., metrics.index(c)].sum() for c in ("ward_census", "alc_census"))
        beds = float(day[..., metrics.index("ward_beds")].sum())
        out += occupancy_checks(region, population, seed, float(ward) / max(beds, 1.0))
    return out + [
        Check(
            "admissions per 1,000 a year",
            "65-85",
            "CIHI: 70 per 1,000 (6,992 per 100,000, 2023-24)",
            f"{admitted / n * 1000:.1f}",
            within(admitted / n * 1000, 65, 85),
            kind=CALIBRATION,
        ),
        Check(
            "ED visits per 1,000 a year (approx.: all but childbirth)",
            "350-450",
            "Ontario: about 413 per 1,000 (Can Fam Physician)",
            f"{ed:.0f}",
            within(ed, 350, 450),
            kind=CALIBRATION,
        ),
        Check(
            "acute length of stay, days",
            "6.5-8.5",
            "CIHI Discharge Abstract Database: 7.3 days (2023-24)",
            f"{acute_los:.2f}",
            within(acute_los, 6.5, 8.5),
            kind=CALIBRATION,
        ),
        Check(
            "ALC share of stays",
            "0.045-0.075",
            "CIHI: 5.8% (2021-22), 6.2% (2022-23)",
            f"{alc_stays:.3f}",
            within(alc_stays, 0.045, 0.075),
            kind=CALIBRATION,
        ),
        Check(
            "ALC share of acute bed-days, drawn ALC stays (a region without long-term care)",
            "0.12-0.16",
            "CIHI, Alternate level of care in Canada: about 1 in 7 acute beds",
            f"{alc_days:.3f}",
            within(alc_days, 0.12, 0.16),
            kind=CALIBRATION,
        ),
        Check(
            "Little's law, uncapped: census / (admissions a day x mean stay)",
            "1.00 +/- 0.03",
            "Little's law L = lambda W",
            f"{little:.3f}",
            abs(little - 1) < 0.03,
            kind=VERIFICATION,
        ),
        Check(
            "uncapped census dispersion: variance / mean across replicates, one day",
            f"1 +/- {dispersion_tolerance(n_rep):.2f} ({DISPERSION_Z} sd of the ratio "
            f"for {n_rep} replicates)",
            "M/G/infinity queue: the census on a day is Poisson (index of dispersion: "
            "(n - 1) var / mean is chi-square with n - 1 degrees of freedom, sd of the "
            "ratio sqrt(2 / (n - 1)))",
            f"{disp:.3f} ({n_rep} replicates of {DISPERSION_POPULATION:,} residents)",
            abs(disp - 1) <= dispersion_tolerance(n_rep),
            kind=VERIFICATION,
        ),
    ]


def default_year(region: Region, population: int, seed: int) -> RunResult:
    """The default year the per-site rows measure (and Fraser's routing fit fits): 2026
    from 1 January, everyday demand with its winter peak, no epidemic, beds capped as the
    care network runs them, no journeys recorded."""
    cfg = ModelConfig(
        days=365,
        start=date(2026, 1, 1),
        population=population,
        demand=DemandParams(),
        record_journeys=False,
    )
    return RegionModel(region, cfg, seed=seed).run()


def occupancy_checks(
    region: Region, population: int, seed: int, uncapped_demand: float
) -> list[Check]:
    """Beds against Fraser's reports, at the region's own population (beds are never
    scaled): a default year with the winter peak and no epidemic, capped as the care
    network runs it (surge beds, then ED boarding), its ward occupancy and its ED
    boarders; and the uncapped run's bed demand (``uncapped_demand``, ward and ALC
    census over funded ward beds), which counts both, so it is compared with the
    reported occupancy plus the reported boarders."""
    result = default_year(region, population, seed)
    metrics = list(result.facility_metrics)

    def total(column: str) -> np.ndarray:
        return result.facility_day[..., metrics.index(column)].sum(axis=1).astype(np.float64)

    beds = total("ward_beds")
    occupancy = float((total("ward_census") + total("alc_census")).sum() / beds.sum())
    ids = list(region.facilities["facility_id"])
    targets = read_targets(region.path / "targets.csv", ids) if region.path else []
    opened = (result.facility_day[..., metrics.index("open")] > 0).any(axis=0).tolist()
    sites = [classed(r) for r in site_rows(targets, ids, result.facility_day, metrics, opened)]
    boarders = float(total("ed_boarding").mean())
    expected_demand = 1.032 + FRASER_ED_BOARDERS / float(beds.mean())
    return [
        Check(
            "ward occupancy of funded ward beds, region-wide (ward and ALC census; default "
            "year, no epidemic)",
            "1.03 (0.95-1.15 passes)",
            "BC acute occupancy 103.2% (2018-19); Fraser sites reported at 118-123%",
            f"{occupancy:.3f}",
            within(occupancy, 0.95, 1.15),
            kind=VALIDATION,
        ),
        Check(
            "admitted patients boarding in EDs a day, region-wide (default year)",
            f"{FRASER_ED_BOARDERS} (factor 1.5)",
            "Fraser Health: about 222 a day, target 165 (news reports)",
            f"{boarders:.0f}",
            factor(boarders, FRASER_ED_BOARDERS),
            kind=CALIBRATION,
        ),
        Check(
            "ward bed demand / funded ward beds, region-wide (uncapped: patients in beds "
            "and those boarding in EDs; no epidemic, no winter peak)",
            f"{expected_demand:.2f} (1.03-1.25 passes)",
            "BC occupancy 103.2% plus Fraser's 222 ED boarders a day over its funded ward "
            "beds; up to Fraser's reported site occupancy (118-123%)",
            f"{uncapped_demand:.3f}",
            within(uncapped_demand, 1.03, 1.25),
            kind=CALIBRATION,
        ),
        *sites,
    ]


#: Residents of each replicate of the dispersion test: a small population keeps 300
#: replicates to about a minute (a census of about 50 a day: Poisson or not shows at
#: any size).
DISPERSION_POPULATION = 40_000
DISPERSION_REPLICATES = 300
#: Two-sided 0.1% of the normal: a correct model fails the row once in a thousand runs.
DISPERSION_Z = 3.29


def dispersion_tolerance(replicates: int) -> float:
    """The band of the index of dispersion (variance / mean) around 1 for ``replicates``
    independent Poisson counts: ``DISPERSION_Z`` standard deviations of the ratio,
    ``sqrt(2 / (replicates - 1))`` (its chi-square's, over ``replicates - 1``). With
    300 replicates 0.27: an over- or under-dispersion of a third fails."""
    return DISPERSION_Z * math.sqrt(2.0 / (replicates - 1))


def census_dispersion(
    region: Region, seed: int, replicates: int = DISPERSION_REPLICATES
) -> tuple[float, int]:
    """Variance / mean of the region's uncapped census (ward, ICU and ALC) on one day
    (day 14, after the warm start put the stays already running in hospital) across
    independent replicates of :data:`DISPERSION_POPULATION` residents (no seasonality:
    every replicate has the same expected census that day)."""
    cfg = ModelConfig(
        days=15,
        population=DISPERSION_POPULATION,
        demand=DemandParams(winter_amplitude=0.0),
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    values = []
    for i in range(replicates):
        result = RegionModel(region, cfg, seed=np.random.SeedSequence([seed, i])).run()
        metrics = list(result.facility_metrics)
        values.append(
            sum(
                float(result.facility_day[-1, :, metrics.index(c)].sum())
                for c in ("ward_census", "icu_census", "alc_census")
            )
        )
    v = np.asarray(values)
    return float(v.var(ddof=1) / v.mean()), replicates
