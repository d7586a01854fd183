"""End-of-life (terminal and palliative) admissions: where the dying die.

With demography and everyday demand on, a resident whom demography's life table picks
to die out of hospital is admitted instead, with probability ``p_terminal`` by band, to
a ward stay that ends in death (:meth:`popsim.demand.Demand.end_of_life`; the death
comes at the end of the stay, a couple of weeks after the day drawn). The probability is
set so that the share of deaths in hospital, counting the deaths of everyday demand's
other stays, is ``p_death_in_hospital`` by band of the deaths outside long-term care
homes: BC Vital Statistics 2004-2008 (Jayaraman and Joseph, BMC Palliative Care 12:19,
2013; 153,111 deaths): 51.0% in hospital, 29.0% in extended care, 16.5% at home, 3.5%
elsewhere, so 72% of deaths outside extended care are in hospital; about 70% here, since
a few of the hospital deaths are of care home residents. Statistics Canada's table
13-10-0715-01 (deaths by place of death) does not carry British Columbia's place of
death for most years (unknown for 99% of BC deaths in 2006), so the BC registry study is
the source. Younger deaths are sudden more often (injury, toxic drugs) and infant deaths
mostly neonatal: the age shape is an assumption. Long-term care residents die in the
home (that module's exits) or in hospital after an everyday admission.

The terminal stay is lognormal, mean ``terminal_stay_days`` (14) with cv 1, so that
about a third last over two weeks (CIHI, End-of-Life Hospital Care for Cancer Patients,
2013: 34% of stays with a sole diagnosis of palliative care were over two weeks).

The terminal stays are among CIHI's admissions (every discharge, deaths included, is
counted): each band's medical admission rate makes room for the expected terminal
admissions, so that admissions per 1,000 stay at their calibrated total; the stays they
replace are of residents about to die, not of those who wait in hospital for long-term
care, so the probability that a medical stay ends in ALC rises to keep ALC stays per
resident as they were (:class:`popsim.demand.Demand`).
"""

from __future__ import annotations

import numpy as np

from popsim.core.seeds import CounterDraws

#: Share of deaths outside long-term care homes that happen in hospital, by band (BC
#: Vital Statistics 2004-2008: 51.0% of deaths in hospital, 29.0% in extended care, so
#: about 70% of the others; the age shape is an assumption, see the module docstring).
P_DEATH_IN_HOSPITAL = (0.8, 0.5, 0.5, 0.6, 0.7, 0.7, 0.7, 0.7, 0.7, 0.7)
#: Coefficient of variation of the terminal stay (lognormal; with the mean of 14 days,
#: about 34% of stays over two weeks, as CIHI 2013 reports).
TERMINAL_STAY_CV = 1.0


def terminal_rates(
    share: np.ndarray, q: np.ndarray, d: np.ndarray, p_d: np.ndarray, medical: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Terminal admissions by band: the medical admissions per resident-year that make
    room for them, and the probability that a death drawn out of hospital follows one.

    ``share``: the deaths in hospital wanted, of ``q``, the deaths per resident-year
    outside care homes; ``d``: everyday demand's deaths in hospital per resident-year;
    ``p_d``: the share of medical stays that end in death; ``medical``: medical
    admissions per resident-year. ``R`` terminal admissions replace as many medical ones,
    whose deaths then leave: ``share q = d - p_d R + R``, so ``R = (share q - d) / (1 -
    p_d)`` (at least 0); where ``R`` is more than ``medical``, those all make room and
    the rest add. A death drawn out of hospital (``q - d + p_d room`` per resident-year)
    follows a terminal admission with probability ``R`` over that."""
    per_year = np.maximum((share * q - d) / (1.0 - p_d), 0.0)
    room = np.minimum(per_year, medical)
    per_year = np.where(per_year > medical, np.maximum(share * q - d + p_d * room, 0.0), per_year)
    out = np.maximum(q - d + p_d * room, 1e-12)
    return room, np.clip(per_year / out, 0.0, 1.0)


def terminal_draw(
    draws: CounterDraws, p: np.ndarray, ids: np.ndarray, day: int, mean_days: float
) -> tuple[np.ndarray, np.ndarray]:
    """Whether each resident of ``ids`` picked to die on ``day`` is admitted (probability
    ``p``, one per resident), and the stay it would have (days, lognormal of mean
    ``mean_days`` and cv :data:`TERMINAL_STAY_CV`; Box-Muller). Counter-based: every
    draw is keyed by the day and the resident, so it does not depend on who else dies."""
    admit = draws.uniform(0, day, ids) < p
    z = np.sqrt(-2.0 * np.log(draws.uniform(1, day, ids))) * np.cos(
        2.0 * np.pi * draws.uniform(2, day, ids)
    )
    sigma2 = np.log1p(TERMINAL_STAY_CV**2)
    return admit, np.exp(np.log(mean_days) - sigma2 / 2 + np.sqrt(sigma2) * z)
