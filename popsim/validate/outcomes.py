"""Validation rows on what was drawn, against figures no parameter was set to: who is
admitted (by age), how long they stay (by age), ICU by age, the winter excess of monthly
admissions, and the age of influenza's hospitalised (see :mod:`popsim.validate`).

The age shapes of everyday demand (admission and stay factors by band) and of
influenza severity are planning assumptions (:mod:`popsim.demand`, the influenza
profile's sources); only their totals were calibrated. The adults' ICU factors by band
follow another source than the ICU row's (Ontario, Tillmann et al. 2021). So the age profiles below are
out-of-sample tests: each compares a *ratio of rates* (65 and over against under 65),
which does not depend on the region's age structure, with the published one.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta

import numpy as np

from popsim.model import RunResult
from popsim.validate.rows import CALIBRATION, VALIDATION, Check, banded, share_chance

#: Residents 65 and over: the age the published profiles split at. Wilson, Shen and
#: Low, Can J Aging 2017 (all inpatient episodes, Canada without Quebec, 2014-15; the
#: younger group from birth to 64): residents 65 and over had 37.0% of hospital
#: episodes and 41.5% of ICU and coronary care admissions, when they were about 15.1% of
#: that population (Statistics Canada estimates, 2014): rate ratios 65+ / under 65 of
#: (0.370 / 0.151) / (0.630 / 0.849), about 3.3, and 4.0 for ICU. Their ICU count is
#: the Discharge Abstract Database's special care units, neonatal intensive care
#: included: more than twice Ontario's ICU admissions per resident (docs/validation.md),
#: so not like-for-like; the row fails, a finding.
OLD = 65


def _rate_ratio(share_events: float, share_pop: float) -> float:
    return (share_events / share_pop) / ((1 - share_events) / (1 - share_pop))


@dataclass(frozen=True)
class Stays:
    """Stays that began in the run (an arrival), from the journeys: the resident's age,
    the first and last day (-1 while still in hospital at the end) and whether the stay
    entered an ICU."""

    age: np.ndarray
    begin: np.ndarray
    end: np.ndarray
    icu: np.ndarray


def stays(result: RunResult, age: np.ndarray) -> Stays:
    """The stays of ``result``'s journeys (recorded), ``age`` by resident row."""
    j, codes = result.journeys, result.journey_codes
    ev, unit = codes["event"], codes["unit"]
    order = np.argsort(j["resident_id"], kind="stable")  # (the journal is in day order)
    rid, day = j["resident_id"][order].astype(np.int64), j["day"][order].astype(np.int64)
    event, where = j["event"][order], j["unit"][order]
    begins = np.isin(event, [ev.index("arrive"), ev.index("start")])
    stay = np.cumsum(begins) - 1  # the stay each event belongs to
    n = int(begins.sum())
    first = np.flatnonzero(begins)
    end = np.full(n, -1, dtype=np.int64)
    ends = np.isin(event, [ev.index("discharge"), ev.index("death")])
    end[stay[ends]] = day[ends]
    entered = np.isin(event, [ev.index("admit"), ev.index("move_unit")])
    icu = np.zeros(n, dtype=bool)
    icu[stay[entered & (where == unit.index("icu"))]] = True
    arrived = event[first] == ev.index("arrive")  # (not the stays running at the start)
    return Stays(
        age=age[rid[first]][arrived], begin=day[first][arrived], end=end[arrived], icu=icu[arrived]
    )


def icu_shape_row(s: Stays, age: np.ndarray) -> Check:
    """ICU admissions per resident at 80-89 against 50-59 (drawn stays that entered an
    ICU; ``age`` of the living residents): the shape everyday demand's adult ICU
    probabilities were set to (Ontario by age, :data:`popsim.demand.P_ICU_MEDICAL`)."""
    k80 = int((s.icu & (s.age >= 80) & (s.age < 90)).sum())
    k50 = int((s.icu & (s.age >= 50) & (s.age < 60)).sum())
    n80 = max(int(((age >= 80) & (age < 90)).sum()), 1)
    n50 = max(int(((age >= 50) & (age < 60)).sum()), 1)
    ratio = (k80 / n80) / (k50 / n50) if k50 else float("nan")
    # chance: 3 Poisson sd of the ratio of two counts
    chance = 3 * ratio * np.sqrt(1 / max(k80, 1) + 1 / max(k50, 1)) if k50 else 0.0
    return banded(
        "ICU admissions per resident, 80-89 / 50-59 (drawn stays that entered an ICU)",
        ratio,
        3.86,
        5.22,
        "Tillmann et al., PLoS ONE 2021 (Ontario, ICES 2003-19): 20.3 ICU admissions per "
        "1,000 a year at 80, 3.3 at 50; 4.47 at 55 log-linearly: ratio 4.54 of the bands, "
        "central band +/- 15%",
        kind=CALIBRATION,
        chance=chance,
        fmt=".2f",
        detail=f"{k80:,} of {n80:,} and {k50:,} of {n50:,} residents",
    )


def stay_rows(s: Stays, days: int, share_old: float) -> list[Check]:
    """The mean stay at 65+ against 20-64, and the admissions and ICU admissions of
    residents 65+ against under 65 as rate ratios (events per resident of each group:
    the drawn share of events at 65+ over ``share_old``, the region's residents 65+,
    against the same for under 65), over a run of ``days``. The published ratios are
    the published shares of events over Canada's 2014 share of residents 65+: two
    populations of different ages compared by their rates."""
    old = s.age >= OLD
    out = []
    wilson = "Wilson, Shen and Low, Can J Aging 2017 (CIHI DAD, Canada without Quebec, 2014-15)"
    # length of stay: stays that began in the first part of the run and ended (a stay
    # longer than the rest of the run is rare: a few per thousand)
    done = (s.end >= 0) & (s.begin < days - 90)
    los = (s.end - s.begin).astype(np.float64)
    adult = done & (s.age >= 20) & ~old
    if done.any() and adult.any():
        ratio = los[done & old].mean() / los[adult].mean()
        k_old, k_adult = int((done & old).sum()), int(adult.sum())
        # the stays' own noise: a relative sd of about cv / sqrt(k) for each mean
        chance = 3 * ratio * np.sqrt(1.2**2 / max(k_old, 1) + 1.2**2 / max(k_adult, 1))
        out.append(
            banded(
                "mean length of stay, 65+ / 20-64 (drawn stays, days to discharge or death)",
                ratio,
                1.65,
                2.25,
                "CIHI via CMAJ 2000;163(4):436 (1997-98): 10.5 days at 65+, 5.4 at 20-64 "
                "(ratio 1.94; central band +/- 15%)",
                kind=VALIDATION,
                chance=chance,
                fmt=".2f",
                detail=f"{los[done & old].mean():.1f} / {los[adult].mean():.1f} days, "
                f"{k_old:,} and {k_adult:,} stays",
            )
        )
    return out + [
        _ratio_row(
            "admission rate ratio, 65+ / under 65 (drawn stays per resident)",
            old,
            share_old,
            2.8,
            3.8,
            wilson + ": 37.0% of episodes at 65+ (childbirth included): ratio 3.3, "
            "central band +/- 15%",
        ),
        _ratio_row(
            "ICU admission rate ratio, 65+ / under 65 (drawn stays that entered an ICU)",
            old[s.icu],
            share_old,
            3.4,
            4.6,
            wilson + ": 41.5% of ICU and coronary care admissions at 65+: ratio 4.0, "
            "central band +/- 15%. Not like-for-like: their count is every special care "
            "unit stay from birth (neonatal ICUs, coronary care and step-down units), "
            "about 11 per 1,000 residents a year, over twice Ontario's 4.9 ICU "
            "admissions (Tillmann et al. 2021; docs/validation.md)",
        ),
    ]


def _ratio_row(
    check: str, old: np.ndarray, share_old: float, lo: float, hi: float, source: str
) -> Check:
    """A row on the rate ratio 65+ / under 65 of the events flagged ``old`` (one flag
    per event, True at 65+) among residents of whom ``share_old`` are 65+."""
    k = len(old)
    share = float(old.mean()) if k else float("nan")
    ratio = _rate_ratio(share, share_old)
    # chance: the ratio's change for 3 binomial sd of the share
    eps = share_chance(share, k) if k else 0.0
    hi_r = _rate_ratio(min(share + eps, 0.999), share_old)
    return banded(
        check,
        ratio,
        lo,
        hi,
        source,
        kind=VALIDATION,
        chance=hi_r - ratio,
        fmt=".2f",
        detail=f"{share:.3f} of {k:,} at 65+, {share_old:.3f} of residents",
    )


def winter_row(admissions: np.ndarray, start: date) -> Check:
    """The spread of monthly admissions (whole calendar months of a default year with
    the winter peak): (highest month - lowest month) / the mean month, counts as they
    come (months of 28-31 days, as the published series)."""
    days = np.arange(len(admissions))
    month = np.array([(start + timedelta(days=int(d))).month for d in days])
    year = np.array([(start + timedelta(days=int(d))).year for d in days])
    key = year * 12 + month
    whole = [k for k in np.unique(key) if (key == k).sum() >= 28]
    counts = np.array([admissions[key == k].sum() for k in whole], dtype=np.float64)
    spread = (counts.max() - counts.min()) / counts.mean() if len(counts) >= 12 else np.nan
    # chance: each month Poisson; the spread of 12 months of pure noise is about 3.3 sd
    chance = 3.3 * np.sqrt(counts.mean()) / counts.mean() if len(counts) else 0.0
    return banded(
        "monthly admissions: (highest - lowest month) / mean month, default year",
        spread,
        0.15,
        0.25,
        "Crighton et al., Can J Public Health 2003 (Ontario, all hospitalisations "
        "1988-2000): average monthly variability about 20% (20,000 of 97,000)",
        kind=VALIDATION,
        chance=chance,
        detail=f"{len(counts)} months, mean {counts.mean():,.0f}",
    )


def flu_age_row(s: Stays) -> Check:
    """The share of influenza's hospitalised aged 65 and over (drawn stays of a run with
    no other demand)."""
    k = len(s.age)
    share = float((s.age >= OLD).mean()) if k else float("nan")
    return banded(
        "influenza season: share of hospitalisations aged 65+ (drawn stays)",
        share,
        0.50,
        0.70,
        "FluWatch (PHAC) 2016-17 week 2: the majority of hospitalisations among adults "
        "65+; CDC FluView January 2013: 49.6% of 5,249 at 65+",
        kind=VALIDATION,
        chance=share_chance(share, k) if k else 0.0,
        detail=f"{k:,} stays",
    )
