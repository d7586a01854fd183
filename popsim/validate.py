"""``popsim validate``: the model against published figures, as a report anyone can rerun.

Runs a set of checks on the shipped region (Fraser by default; residents scaled to
``population``) and writes ``validation.csv`` (check, class, expected, source,
measured, verdict) and ``validation.html`` to the output folder. A check the model
fails is reported as failed, with the figures, never hidden. Every row names its class
(:class:`Check`'s ``kind``, required): *verification* (the code does what it says:
against its own inputs or an exact relation), *calibration target* (a figure a
parameter was set to, measured again on what was drawn), or *validation* (a figure no
parameter was set to: a test the model can fail). Expected ranges are central bands,
widened only by the chance of the drawn count (stated in the row). ``quick`` runs the same checks on a
small population (tests, CI); the full run is ``popsim validate`` (see runs/README.md).

Checks:

- **final size** (well mixed: one zone, no households, proportionate mixing): the
  attack rate against the SIR final-size relation ``z = 1 - exp(-R0 z)``;
- **early growth**: the growth rate of daily infections against the Wallinga-Lipsitch
  relation ``R = 1 / M(-r)`` with the model's own generation interval (latent period,
  then constant infectiousness over the infectious period, in whole days), well mixed,
  and on the region with households and age mixing;
- **influenza season** (the shipped profile, with Prem et al. 2021's contacts for
  Canada and their school layer): attack rates of children and adults (Somes et al.
  2018), hospitalisations per 10,000 (PHAC), ICU share of hospitalised, deaths per
  hospitalised (FluWatch), deaths in and out of hospital per 100,000 (PHAC), the
  season's shape (weeks at or above half the peak week, the peak's month), all drawn;
- **COVID-19** (ancestral profile): hospitalised, ICU and deaths per infection against
  the profile's table, ICU share of hospitalised (Canada);
- **everyday demand**: admissions and ED visits per 1,000 (CIHI, Ontario), acute length
  of stay (CIHI), ALC share of stays and of bed-days (CIHI);
- **long-term care** (Fraser at its own population, :mod:`popsim.ltc.checks`): the ALC
  share of bed-days emergent from LTC capacity (CIHI), LTC occupancy, median wait for a
  place and length of stay (Office of the Seniors Advocate BC), and every ALC stay
  ending by an LTC place, home or death;
- **beds** (Fraser at its own population, 90-110%: beds are never scaled):
  region-wide ward occupancy (BC's 103%) and ED boarders a day (Fraser's 222) in a
  default year, and the uncapped bed demand against occupancy plus boarders; per site,
  the region's ``targets.csv`` (calibration targets and held-out validation figures) and
  ED boarders at most a quarter of funded ward beds (:mod:`popsim.site_checks`);
- **demography**: crude death and birth rates (BC), the death rate with and without
  everyday demand (in-hospital deaths counted once), the share of deaths in hospital
  (Statistics Canada);
- **queueing**: Little's law on the uncapped care network, and the dispersion of the
  uncapped census (M/G/infinity: Poisson, variance / mean about 1).
"""

from __future__ import annotations

import csv
import html
import math
import os
import tempfile
from dataclasses import dataclass, field
from datetime import date, timedelta
from pathlib import Path

import numpy as np

from popsim.care.params import CareParams
from popsim.demand import DemandParams
from popsim.demography import DemographyParams
from popsim.epidemic.params import EpidemicParams
from popsim.ltc.checks import ltc_rows
from popsim.model import ModelConfig, RegionModel
from popsim.region.load import Region, load_region
from popsim.site_checks import read_targets, site_rows

FULL_POPULATION = 2_000_000
QUICK_POPULATION = 40_000
#: Admitted patients boarding in Fraser's EDs on a given day (news reports; the target
#: is 165 or fewer): the split of bed demand between wards and EDs the checks compare.
FRASER_ED_BOARDERS = 222
COLUMNS = ("check", "class", "expected", "source", "measured", "verdict")
#: The class of a row: the code does what it says (against its own inputs or an exact
#: relation); a figure a parameter was set to, measured again on what was drawn; or a
#: figure no parameter was set to (an out-of-sample test the model can fail).
VERIFICATION, CALIBRATION, VALIDATION = "verification", "calibration target", "validation"
CLASSES = (VERIFICATION, CALIBRATION, VALIDATION)


@dataclass(frozen=True)
class Check:
    """One row of the report. ``kind`` (the ``class`` column) is one of
    :data:`CLASSES`, given by every row (keyword only)."""

    check: str
    expected: str
    source: str
    measured: str
    passed: bool
    kind: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.kind not in CLASSES:
            raise ValueError(f"check {self.check!r}: class must be one of {CLASSES}")

    def row(self) -> dict[str, str]:
        return {
            "check": self.check,
            "class": self.kind,
            "expected": self.expected,
            "source": self.source,
            "measured": self.measured,
            "verdict": "pass" if self.passed else "FAIL",
        }


def classed(row: tuple[str, str, str, str, bool]) -> Check:
    """A row ``(check, expected, source, measured, passed)`` of another module's checks
    (per-site targets, long-term care) as a :class:`Check`, its class read from its own
    text, which names it ("calibration target", "validation" or "verification");
    ValueError if it names none."""
    text = row[0]
    found = [(text.find(k), k) for k in (CALIBRATION, VALIDATION, VERIFICATION) if k in text]
    if not found:
        raise ValueError(f"check {text!r} names no class ({', '.join(CLASSES)})")
    return Check(*row, kind=min(found)[1])


def _within(x: float, lo: float, hi: float) -> bool:
    return lo <= x <= hi


def _factor(x: float, target: float, factor: float = 1.5) -> bool:
    return target / factor <= x <= target * factor


# ------------------------------------------------------------------- epidemic
def final_size(r0: float) -> float:
    """Root in (0, 1) of ``z = 1 - exp(-r0 z)`` (0 when r0 <= 1)."""
    if r0 <= 1:
        return 0.0
    z = 0.5
    for _ in range(200):
        z = 1 - math.exp(-r0 * z)
    return z


def generation_mgf(params: EpidemicParams, r: float, n: int = 200_000, seed: int = 0) -> float:
    """``E[exp(-r T)]`` of the model's generation interval ``T`` (Monte Carlo on its own
    duration samplers): infectious from day ``L`` (latent) for ``D`` days, infecting at a
    constant rate each of those days."""
    rng = np.random.default_rng(seed)
    lat = params.dur_latent.sample(rng, n).astype(np.float64)
    dur = params.dur_infectious.sample(rng, n).astype(np.float64)
    # sum_{j < D} exp(-r (L + j)) = exp(-r L) (1 - exp(-r D)) / (1 - exp(-r))
    if abs(r) < 1e-9:
        return 1.0
    total = np.exp(-r * lat) * (1 - np.exp(-r * dur)) / (1 - math.exp(-r))
    return float(total.mean() / dur.mean())


def growth_rate(daily: np.ndarray, n: int) -> tuple[float, int, int]:
    """Log-linear growth rate of daily infections over the early phase: from the first
    day (after day 10) with at least 30 infections until 4% of ``n`` are infected (at
    most 40 days)."""
    daily = np.asarray(daily, dtype=np.float64)
    cum = np.cumsum(daily)
    # (after the first generation: the seeds' own infections are not yet on the curve)
    late = np.arange(len(daily)) >= 10
    start = int(np.argmax(late & (daily >= 30))) if (late & (daily >= 30)).any() else 10
    stop = int(np.argmax(cum >= 0.04 * n)) if (cum >= 0.04 * n).any() else len(daily)
    stop = min(stop, start + 40)
    if stop - start < 5:
        return float("nan"), start, stop
    days = np.arange(start, stop)
    slope = np.polyfit(days, np.log(np.maximum(daily[start:stop], 1.0)), 1)[0]
    return float(slope), start, stop


def _well_mixed_region(population: int) -> Region:
    from popsim.region.synth import synthetic_region

    return synthetic_region(n_zones=1, population=population, n_facilities=1, seed=1)


def epidemic_checks(region: Region, population: int, seed: int) -> list[Check]:
    out: list[Check] = []
    # well mixed: final size and early growth
    n_mixed = max(population // 4, 100_000)
    mixed = _well_mixed_region(n_mixed)
    r0 = 1.8
    params = EpidemicParams(
        r0=r0, household_share=0.0, mixing="uniform", seed_infections=30, coupling=0.0
    )
    model = RegionModel(mixed, ModelConfig(days=400, epidemic=params), seed=seed)
    infections = model.run().zone_counts("new_infections")
    n = model.pop.n
    z = infections.sum() / n
    z_exp = final_size(r0)
    sd = math.sqrt(z_exp * (1 - z_exp) / n) / max(1 - r0 * (1 - z_exp), 0.05)
    out.append(
        Check(
            "final size, well mixed (R0 1.8)",
            f"{z_exp:.3f} +/- {4 * sd + 0.01:.3f}",
            "SIR final-size relation z = 1 - exp(-R0 z)",
            f"{z:.3f} ({n:,} residents)",
            abs(z - z_exp) < 4 * sd + 0.01,
            kind=VERIFICATION,
        )
    )
    daily = np.asarray(model.epidemic.daily_infections)
    r, a, b = growth_rate(daily, n)
    r_implied = 1.0 / generation_mgf(params, r) if math.isfinite(r) else float("nan")
    out.append(
        Check(
            "early growth, well mixed: R0 implied by r (Wallinga-Lipsitch)",
            f"{r0:.2f} within 10%",
            "Wallinga and Lipsitch, Proc R Soc B 2007; the model's generation interval",
            f"{r_implied:.2f} (r = {r:.3f}/day, days {a}-{b})",
            math.isfinite(r_implied) and abs(r_implied / r0 - 1) < 0.10,
            kind=VERIFICATION,
        )
    )
    # the region: households and age mixing (COVID-19 ancestral defaults)
    params = EpidemicParams(r0=1.8, seed_infections=30)
    model = RegionModel(
        region, ModelConfig(days=200, population=population, epidemic=params), seed=seed
    )
    model.run()
    daily = np.asarray(model.epidemic.daily_infections)
    r, a, b = growth_rate(daily, model.pop.n)
    r_implied = 1.0 / generation_mgf(params, r) if math.isfinite(r) else float("nan")
    out.append(
        Check(
            "early growth with households and age mixing: R0 implied by r",
            "1.80 within 15%",
            "Wallinga and Lipsitch 2007 (R0 from the next-generation matrix incl. households)",
            f"{r_implied:.2f} (r = {r:.3f}/day, days {a}-{b})",
            math.isfinite(r_implied) and abs(r_implied / 1.8 - 1) < 0.15,
            kind=VERIFICATION,
        )
    )
    out += _flu_checks(region, population, seed)
    out += _covid_checks(region, population, seed)
    return out


def _flu_checks(region: Region, population: int, seed: int) -> list[Check]:
    # (at least 40 seeds: near R = 1.2 a handful of chains may die out or start late, and
    # at a small population the season would not be over in 300 days)
    # seeded on 1 November: with the profile's seasonal forcing, transmission in early
    # autumn is too low for a few seeds to take hold (R below 1 with prior immunity)
    params = EpidemicParams(
        pathogen="influenza", seed_infections=max(population // 10_000, 40), start_day=61
    )
    cfg = ModelConfig(
        days=300,
        start=date(2026, 9, 1),
        population=population,
        epidemic=params,
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    model = RegionModel(region, cfg, seed=seed)
    infected = model.run().zone_counts("new_infections").sum(axis=(0, 1)).astype(np.float64)
    n_band = model.pop.alive_counts.sum(axis=0).astype(np.float64)
    children = infected[:2].sum() / n_band[:2].sum()
    adults = infected[2:].sum() / n_band[2:].sum()
    e = model.epidemic
    # burden expected from the season's infections by age and the profile's table (at a
    # small population the drawn stays are too few to compare); the drawn ones beside it
    p = params
    hosp_exp = (infected * np.asarray(p.p_severe)).sum()
    hosp = e.n_hospitalised + e.n_severe_in_hospital
    n_alive = model.pop.n_alive
    # drawn values, each with its chance: 3 binomial (or Poisson) sd of its count
    per_10k = 1e4 * hosp / n_alive
    chance_10k = 3e4 * math.sqrt(max(hosp, 1)) / n_alive
    icu = e.n_critical_total / max(hosp, 1)
    deaths = e.n_dies_total / max(hosp, 1)

    def chance(share: float) -> float:
        return 3 * math.sqrt(max(share * (1 - share), 0.01) / max(hosp, 1))

    all_deaths = e.n_dies_total + e.n_deaths_outside
    per_100k = 1e5 * all_deaths / n_alive
    chance_100k = 3e5 * math.sqrt(max(all_deaths, 1)) / n_alive
    # the season's shape: weekly new infections from the first Monday
    daily = np.asarray(e.daily_infections, dtype=np.float64)
    first = (7 - cfg.start.weekday()) % 7
    weeks = daily[first:][: (len(daily) - first) // 7 * 7].reshape(-1, 7).sum(axis=1)
    peak = int(weeks.argmax())
    n_weeks = int((weeks >= weeks[peak] / 2).sum())
    peak_start = cfg.start + timedelta(days=first + 7 * peak)
    peak_mid = peak_start + timedelta(days=3)
    somes = "Somes et al., Vaccine 2018 (unvaccinated, infection incl. asymptomatic)"
    return [
        Check(
            "influenza season: attack rate, children 0-19",
            "0.225 (factor 1.5)",
            somes,
            f"{children:.3f}",
            _factor(children, 0.225),
            kind=CALIBRATION,
        ),
        Check(
            "influenza season: attack rate, adults 20+",
            "0.107 (factor 1.5)",
            somes,
            f"{adults:.3f}",
            _factor(adults, 0.107),
            kind=CALIBRATION,
        ),
        Check(
            "influenza season: hospitalisations per 10,000",
            f"3.2 (2.4-4.0, +/- {chance_10k:.2f} for chance)",
            "PHAC: about 12,200 influenza hospitalisations a year in Canada",
            f"{per_10k:.2f} ({hosp} stays drawn, {hosp_exp:.0f} expected)",
            _within(per_10k, 2.4 - chance_10k, 4.0 + chance_10k),
            kind=CALIBRATION,
        ),
        Check(
            "influenza season: ICU share of hospitalised",
            f"0.10-0.17 (+/- {chance(icu):.3f} for chance)",
            "FluWatch (about 1 in 8 adult influenza hospitalisations in ICU)",
            f"{icu:.3f} ({e.n_critical_total} of {hosp} drawn)",
            _within(icu, 0.10 - chance(icu), 0.17 + chance(icu)),
            kind=CALIBRATION,
        ),
        Check(
            "influenza season: deaths per hospitalised",
            f"0.04-0.07 (+/- {chance(deaths):.3f} for chance)",
            "FluWatch 2013-14 week 11: 197 deaths among 3,570 hospitalisations",
            f"{deaths:.3f} ({e.n_dies_total} of {hosp} drawn)",
            _within(deaths, 0.04 - chance(deaths), 0.07 + chance(deaths)),
            kind=CALIBRATION,
        ),
        Check(
            "influenza season: deaths per 100,000, in and out of hospital",
            f"5-13 (+/- {chance_100k:.2f} for chance)",
            "PHAC: about 3,500 influenza deaths a year in Canada (9 per 100,000)",
            f"{per_100k:.2f} ({e.n_dies_total} in hospital, {e.n_deaths_outside} outside)",
            _within(per_100k, 5.0 - chance_100k, 13.0 + chance_100k),
            kind=CALIBRATION,
        ),
        Check(
            "influenza season: weeks at or above half the peak week (new infections)",
            "6-10",
            "BC influenza seasons (BCCDC surveillance); seasonal forcing chosen for it",
            f"{n_weeks} (peak week from {peak_start})",
            6 <= n_weeks <= 10,
            kind=CALIBRATION,
        ),
        Check(
            "influenza season: month of the peak week",
            "December-February",
            "BC influenza seasons (BCCDC surveillance); seasonal forcing chosen for it",
            f"{peak_mid:%B %Y}",
            peak_mid.month in (12, 1, 2),
            kind=CALIBRATION,
        ),
    ]


def _covid_checks(region: Region, population: int, seed: int) -> list[Check]:
    params = EpidemicParams(pathogen="covid19-ancestral", r0=2.0, seed_infections=20)
    cfg = ModelConfig(
        days=300,
        population=population,
        epidemic=params,
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    model = RegionModel(region, cfg, seed=seed)
    infected = model.run().zone_counts("new_infections").sum(axis=(0, 1)).astype(np.float64)
    e = model.epidemic
    expected = {
        "hospitalised": (infected * np.asarray(params.p_severe)).sum(),
        "ICU": (infected * np.asarray(params.p_critical)).sum(),
        "deaths": (infected * np.asarray(params.p_death)).sum(),
    }
    drawn = {
        "hospitalised": e.n_hospitalised + e.n_severe_in_hospital,
        "ICU": e.n_critical_total,
        "deaths": e.n_dies_total,
    }
    out = []
    for what, exp in expected.items():
        got = drawn[what]
        tol = 4 * math.sqrt(max(exp, 1.0)) + 0.02 * exp
        out.append(
            Check(
                f"COVID-19 ancestral: {what} per infection vs its table",
                f"{exp:.0f} +/- {tol:.0f}",
                "profile covid19-ancestral (Covasim; Canadian ICU share)",
                f"{got}",
                abs(got - exp) < tol,
                kind=VERIFICATION,
            )
        )
    icu = e.n_critical_total / max(e.n_hospitalised + e.n_severe_in_hospital, 1)
    out.append(
        Check(
            "COVID-19 ancestral: ICU share of hospitalised",
            "0.15-0.20 (0.12-0.24 passes)",
            "Canada to March 2021: ~9,000 ICU of ~49,000 hospitalised (Government of Canada)",
            f"{icu:.3f}",
            _within(icu, 0.12, 0.24),
            kind=CALIBRATION,
        )
    )
    return out


# --------------------------------------------------------------- care, demand
def demand_checks(region: Region, population: int, seed: int) -> list[Check]:
    cfg = ModelConfig(
        days=365,
        start=date(2026, 1, 1),
        population=population,
        demand=DemandParams(winter_amplitude=0.0),
        care=CareParams(uncapped=True),
        record_journeys=False,
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
    disp, n_rep = census_dispersion(region, population, seed)
    out = []
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
            _within(admitted / n * 1000, 65, 85),
            kind=CALIBRATION,
        ),
        Check(
            "ED visits per 1,000 a year (approx.: all but childbirth)",
            "350-450",
            "Ontario: about 413 per 1,000 (Can Fam Physician)",
            f"{ed:.0f}",
            _within(ed, 350, 450),
            kind=CALIBRATION,
        ),
        Check(
            "acute length of stay, days",
            "6.5-8.5",
            "CIHI Discharge Abstract Database: 7.3 days (2023-24)",
            f"{acute_los:.2f}",
            _within(acute_los, 6.5, 8.5),
            kind=CALIBRATION,
        ),
        Check(
            "ALC share of stays",
            "0.045-0.075",
            "CIHI: 5.8% (2021-22), 6.2% (2022-23)",
            f"{alc_stays:.3f}",
            _within(alc_stays, 0.045, 0.075),
            kind=CALIBRATION,
        ),
        Check(
            "ALC share of acute bed-days, drawn ALC stays (a region without long-term care)",
            "0.12-0.16",
            "CIHI, Alternate level of care in Canada: about 1 in 7 acute beds",
            f"{alc_days:.3f}",
            _within(alc_days, 0.12, 0.16),
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
            f"1 (+/- {2.5 * math.sqrt(2 / (n_rep - 1)):.2f})",
            "M/G/infinity queue: the census on a day is Poisson",
            f"{disp:.2f} ({n_rep} replicates)",
            abs(disp - 1) < 2.5 * math.sqrt(2 / (n_rep - 1)),
            kind=VERIFICATION,
        ),
    ]


def occupancy_checks(
    region: Region, population: int, seed: int, uncapped_demand: float
) -> list[Check]:
    """Beds against Fraser's reports, at the region's own population (beds are never
    scaled): a default year with the winter peak and no epidemic, capped as the care
    network runs it (surge beds, then ED boarding), its ward occupancy and its ED
    boarders; and the uncapped run's bed demand (``uncapped_demand``, ward and ALC
    census over funded ward beds), which counts both, so it is compared with the
    reported occupancy plus the reported boarders."""
    cfg = ModelConfig(
        days=365,
        start=date(2026, 1, 1),
        population=population,
        demand=DemandParams(),
        record_journeys=False,
    )
    result = RegionModel(region, cfg, seed=seed).run()
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
            _within(occupancy, 0.95, 1.15),
            kind=VALIDATION,
        ),
        Check(
            "admitted patients boarding in EDs a day, region-wide (default year)",
            f"{FRASER_ED_BOARDERS} (factor 1.5)",
            "Fraser Health: about 222 a day, target 165 (news reports)",
            f"{boarders:.0f}",
            _factor(boarders, FRASER_ED_BOARDERS),
            kind=CALIBRATION,
        ),
        Check(
            "ward bed demand / funded ward beds, region-wide (uncapped: patients in beds "
            "and those boarding in EDs; no epidemic, no winter peak)",
            f"{expected_demand:.2f} (1.03-1.25 passes)",
            "BC occupancy 103.2% plus Fraser's 222 ED boarders a day over its funded ward "
            "beds; up to Fraser's reported site occupancy (118-123%)",
            f"{uncapped_demand:.3f}",
            _within(uncapped_demand, 1.03, 1.25),
            kind=CALIBRATION,
        ),
        *sites,
    ]


def census_dispersion(
    region: Region, population: int, seed: int, replicates: int = 24
) -> tuple[float, int]:
    """Variance / mean of the region's uncapped census on one day (day 14, after the
    warm start put the stays already running in hospital) across independent replicates
    (no seasonality: every replicate has the same expected census that day)."""
    cfg = ModelConfig(
        days=15,
        population=population,
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
        Check(
            "share of all deaths that happen in hospital (default year, no epidemic)",
            f"0.45-0.60 (+/- {chance_share:.3f} for chance)",
            "Statistics Canada table 13-10-0715-01 (deaths by place of death): about half "
            "in hospital",
            f"{share:.3f} ({in_hospital:.0f} of {n_deaths:.0f})",
            _within(share, 0.45 - chance_share, 0.60 + chance_share),
            kind=VALIDATION,
        ),
        Check(
            "crude death rate per 1,000 (demography + everyday demand)",
            f"7-9 (+/- {noise_deaths:.2f} for chance)",
            "BC: about 7 per 1,000 a year 1976-2014, about 8.5 in 2021-22 (over 44,000 "
            "deaths in 2021, 45,380 in 2022; BC Stats vital statistics)",
            f"{death:.3f} ({n_deaths:.0f} deaths)",
            _within(death, 7.0 - noise_deaths, 9.0 + noise_deaths),
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
            _within(birth, 6.5 - noise, 9.0 + noise),
            kind=CALIBRATION,
        ),
    ]


# ---------------------------------------------------------------------- report
def run_checks(
    region: str = "fraser", population: int | None = None, quick: bool = False, seed: int = 1
) -> list[Check]:
    """Every check, on ``region`` scaled to ``population`` residents."""
    reg = load_region(region)
    n = population or (QUICK_POPULATION if quick else FULL_POPULATION)
    checks: list[Check] = []
    checks += epidemic_checks(reg, n, seed)
    checks += demand_checks(reg, n, seed)
    checks += [classed(row) for row in ltc_rows(reg, n, seed)]
    checks += demography_checks(reg, n, seed)
    return checks


def write_report(checks: list[Check], out: str | os.PathLike[str], title: str) -> Path:
    """``validation.csv`` and ``validation.html`` in ``out`` (written to a temporary name
    and renamed: never half-written). Returns the HTML path."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [c.row() for c in checks]
    with tempfile.NamedTemporaryFile(
        "w", dir=folder, suffix=".tmp", delete=False, newline="", encoding="utf-8"
    ) as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(f.name, folder / "validation.csv")
    n_pass = sum(c.passed for c in checks)
    body = "".join(
        "<tr class='{}'>{}</tr>".format(
            "ok" if r["verdict"] == "pass" else "bad",
            "".join(f"<td>{html.escape(r[c])}</td>" for c in COLUMNS),
        )
        for r in rows
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>popsim validation</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        ".bad td:last-child{color:#b00;font-weight:bold}.ok td:last-child{color:#070}"
        "</style></head><body>"
        f"<h1>popsim validation</h1><p>{html.escape(title)}</p>"
        f"<p>{n_pass} of {len(checks)} checks pass.</p><table><tr>"
        + "".join(f"<th>{c}</th>" for c in COLUMNS)
        + f"</tr>{body}</table></body></html>"
    )
    with tempfile.NamedTemporaryFile(
        "w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8"
    ) as f:
        f.write(page)
    os.replace(f.name, folder / "validation.html")
    return folder / "validation.html"


def table(checks: list[Check]) -> str:
    """The checks as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for c in checks:
        r = c.row()
        lines.append("| " + " | ".join(r[k].replace("|", "/") for k in COLUMNS) + " |")
    return "\n".join(lines)
