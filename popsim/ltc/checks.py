"""Long-term care against published figures (rows of ``popsim validate``).

A default year of a region with long-term care (Fraser at its own population: LTC beds
and hospital beds are never scaled), everyday demand with its winter peak, no epidemic,
the care network capped as it runs: the ALC share of acute bed-days (now emergent from
LTC capacity and flow), LTC occupancy, the median wait for a place, the LTC length of
stay, the share of admissions from hospital, the community wait list's drift over the
year, and the hand-over's conservation (every ALC stay ends by an LTC place, home, or
death). Each row says whether it is a calibration target (a default was set to meet it)
or a validation (nothing was tuned to it) or a verification (an identity that must hold).
"""

from __future__ import annotations

from datetime import date
from typing import TYPE_CHECKING

import numpy as np

from popsim.core.config import ModelConfig
from popsim.core.requests import ALC_END_NAMES, ALC_OTHER
from popsim.core.schema import LTC_METRICS

if TYPE_CHECKING:
    from popsim.region.types import Region

#: Days left out at the start (the warm start settling); a year is measured after them.
BURN_IN_DAYS = 60


def ltc_year(
    region: Region, population: int, seed: int, days: int = BURN_IN_DAYS + 365, **ltc: float
) -> dict[str, float]:
    """The figures of one default year with long-term care (see the module docstring),
    measured over the days after the burn-in (a whole year, winter included, by default);
    ``ltc`` sets parameters of the module (calibration)."""
    from popsim.demand import DemandParams
    from popsim.ltc.params import LtcParams
    from popsim.model import RegionModel

    cfg = ModelConfig(
        days=days,
        start=date(2026, 1, 1),
        population=population,
        demand=DemandParams(),
        ltc=LtcParams(**ltc),
        record_journeys=False,
    )
    model = RegionModel(region, cfg, seed=seed)
    result = model.run()
    metrics = list(result.facility_metrics)
    fd = result.facility_day[BURN_IN_DAYS:].astype(np.float64)

    def total(column: str) -> float:
        return float(fd[..., metrics.index(column)].sum())

    alc = total("alc_census")
    bed_days = total("ward_census") + total("icu_census") + alc
    ld = result.ltc_day[BURN_IN_DAYS:].astype(np.float64).sum(axis=1)  # (days, metrics)
    col = {name: i for i, name in enumerate(LTC_METRICS)}
    exits = ld[:, col["ltc_deaths"]].sum() + ld[:, col["ltc_discharges"]].sum()
    ltc = model.ltc
    ltc.settle(model)  # the last day's hand-over
    waits = [w for day, _, _, w in ltc.admissions if day >= BURN_IN_DAYS]
    ends = dict(ltc.alc_ends)
    return {
        "alc_share": alc / max(bed_days, 1.0),
        "occupancy": ld[:, col["ltc_residents"]].sum() / max(ld[:, col["ltc_beds"]].sum(), 1.0),
        "median_wait_days": float(np.median(waits)) if waits else float("nan"),
        "n_admissions": float(len(waits)),
        "los_years": ld[:, col["ltc_residents"]].mean() / max(exits / len(ld), 1e-9) / 365.25,
        "alc_started": float(ltc.n_alc_started),
        "alc_ended": float(sum(ends.values())),
        "alc_open": float(len(ltc.alc)),
        "alc_other_ends": float(ends.get(ALC_OTHER, 0)),
        "boarders_per_day": total("ed_boarding") / len(fd),
        "from_hospital": ld[:, col["admit_hospital"]].sum()
        / max(ld[:, col["admit_hospital"]].sum() + ld[:, col["admit_community"]].sum(), 1.0),
        "community_first": float(ld[0, col["wait_community"]]),
        "community_last": float(ld[-1, col["wait_community"]]),
    }


def ltc_rows(region: Region, population: int, seed: int) -> list[tuple[str, str, str, str, bool]]:
    """Rows ``(check, expected, source, measured, passed)``; none for a region without
    long-term care or away from its own population."""
    if getattr(region, "ltc", None) is None or not region.at_own_scale(population):
        return []
    f = ltc_year(region, population, seed)
    conserved = f["alc_started"] == f["alc_ended"] + f["alc_open"] and f["alc_other_ends"] == 0
    ends = ", ".join(ALC_END_NAMES[:5])
    return [
        (
            "ALC share of acute bed-days, emergent from LTC capacity (calibration target; "
            "default year, no epidemic)",
            "0.12-0.16",
            "CIHI, Alternate level of care in Canada: about 1 in 7 acute beds",
            f"{f['alc_share']:.3f}",
            0.12 <= f["alc_share"] <= 0.16,
        ),
        (
            "LTC occupancy, region-wide (calibration target)",
            "0.95-0.99",
            "Office of the Seniors Advocate BC, Long-Term Care Directory: homes run about "
            "97-98% full",
            f"{f['occupancy']:.3f}",
            0.95 <= f["occupancy"] <= 0.99,
        ),
        (
            "median wait for an LTC place, days (validation)",
            "15-90",
            "Office of the Seniors Advocate BC, Monitoring Seniors' Services: 57% admitted "
            "within 30 days (2015-16), waits longer since",
            f"{f['median_wait_days']:.0f} ({f['n_admissions']:.0f} admissions)",
            15 <= f["median_wait_days"] <= 90,
        ),
        (
            "LTC length of stay, years (Little's law: residents / exits a year; "
            "calibration target)",
            "1.5-3.0",
            "Office of the Seniors Advocate BC, Long-Term Care Directory: average stay "
            "about 2 years",
            f"{f['los_years']:.2f}",
            1.5 <= f["los_years"] <= 3.0,
        ),
        (
            "share of LTC admissions from hospital (calibration target: hospital_priority_days)",
            "0.40-0.60",
            "Office of the Seniors Advocate BC, Monitoring Seniors' Services: about half "
            "of LTC admissions come from hospital (approximate)",
            f"{f['from_hospital']:.2f}",
            0.40 <= f["from_hospital"] <= 0.60,
        ),
        (
            "community wait list at the year's end / at its start, after the burn-in "
            "(calibration target: community need rates; a list that neither empties nor "
            "grows all year)",
            "0.80-1.25",
            "a steady state: BC's community wait list has held a few thousand people for "
            "years (Office of the Seniors Advocate BC, Monitoring Seniors' Services)",
            f"{f['community_last']:.0f} / {f['community_first']:.0f}",
            0.80 * f["community_first"] <= f["community_last"] <= 1.25 * f["community_first"],
        ),
        (
            f"every ALC stay ends by an LTC place, home or death ({ends}; verification)",
            "started = ended + still waiting; no other end",
            "the ALC hand-over between the care network and long-term care",
            f"{f['alc_started']:.0f} = {f['alc_ended']:.0f} + {f['alc_open']:.0f}; "
            f"other {f['alc_other_ends']:.0f}",
            bool(conserved),
        ),
    ]
