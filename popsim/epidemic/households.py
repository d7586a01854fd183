"""The early growth rate of the epidemic with households: what ``r0`` means, and the
growth it implies.

``r0`` is the spectral radius of the next-generation matrix by age band in a fully
susceptible population, community and household infections together, each infected
resident's housemates counted as susceptible (:func:`popsim.epidemic.transmission.calibrate`).
That is the definition the model keeps (one consistent definition, used by every
profile and every spec). In a population of small households it overstates the
early growth: a housemate infected by the index case is not there to be infected by a
second case of the household, so households saturate. Without households the growth
rate ``r`` and ``r0`` are tied by the generation interval (Wallinga and Lipsitch, Proc
R Soc B 2007: ``r0 = 1 / M(-r)``); with households they are tied by the household
version of that relation (Fraser, PLoS ONE 2007; Pellis, Ferguson and Fraser, J R Soc
Interface 2011): the epidemic grows as a branching process of household outbreaks,
each started by one community infection, and ``r`` solves

    spectral radius of  M(-r) K_community W(r)  = 1,

where ``K_community`` is the community part of the next-generation matrix, ``M(-r)`` the
generation interval's moment generating function (:func:`generation_mgf`), and
``W(r)[c, b]`` the expected sum of ``exp(-r t)`` over the members of band ``c`` infected
at time ``t`` in the household outbreak started by a primary case of band ``b`` at
time 0 (the primary included). :func:`household_outbreaks` draws ``W`` with the model's
own rules (latent and infectious periods in whole days, each susceptible housemate
infected by each infectious one with ``p_household`` on a day uniform in the infector's
infectious period, the earliest exposure winning) on the population's own households;
:func:`household_growth_rate` solves for ``r``. The validation report compares the
growth measured on the region with it.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np

from popsim.core.ages import N_AGE_BANDS
from popsim.epidemic.infectiousness import day_weights
from popsim.epidemic.transmission import next_generation, spectral_radius

if TYPE_CHECKING:
    from popsim.epidemic.params import EpidemicParams
    from popsim.population import Population


def generation_mgf(params: EpidemicParams, r: float, n: int = 200_000, seed: int = 0) -> float:
    """``E[exp(-r T)]`` of the model's generation interval ``T`` (Monte Carlo on its own
    duration samplers): infectious from day ``L`` (latent) for ``D`` days, infecting at a
    constant rate each of those days (a resident infectious ``D`` days weighs ``D``; or
    front-loaded, :func:`day_weights`)."""
    rng = np.random.default_rng(seed)
    lat = params.dur_latent.sample(rng, n).astype(np.float64)
    dur = params.dur_infectious.sample(rng, n).astype(np.float64)
    # sum_{j < D} exp(-r (L + j)) = exp(-r L) (1 - exp(-r D)) / (1 - exp(-r))
    if abs(r) < 1e-9:
        return 1.0
    total = np.exp(-r * lat) * (1 - np.exp(-r * dur)) / (1 - math.exp(-r))
    q = params.rel_infectiousness_daily
    if q != 1.0:  # front-loaded: sum_j w(j) exp(-r (L + j)), w of day_weights
        x = q * math.exp(-r)
        total = np.exp(-r * lat) * dur * (1 - q) / (1 - q**dur) * (1 - x**dur) / (1 - x)
    return float(total.mean() / dur.mean())


def generation_pmf(params: EpidemicParams) -> np.ndarray:
    """``g[j]``: the share of an infected resident's infections made ``j`` days after their
    own infection (the generation interval in whole days, exact): infectious from day
    ``L`` for ``D`` days at a constant rate, so ``g[j] = sum P(L) P(D) / E[D]`` over
    ``L <= j < L + D`` (front-loaded: times ``w(j - L)`` of :func:`day_weights`)."""
    lat = np.diff(params.dur_latent.day_cdf(), prepend=0.0)
    dur = np.diff(params.dur_infectious.day_cdf(), prepend=0.0)
    days = np.arange(1, len(dur) + 1)
    # P(D > j - L) for each lag: the infectious days' survival, shifted by the latent
    surv = np.concatenate([[1.0], 1.0 - np.cumsum(dur)])  # P(D > k), k = 0..
    q = params.rel_infectiousness_daily
    if q != 1.0:  # front-loaded: sum over D of P(D) w(k) (popsim.epidemic.infectiousness)
        surv = np.zeros(len(surv))
        for d in np.flatnonzero(dur > 0):
            k = np.arange(d + 1)
            surv[: d + 1] += dur[d] * day_weights(q, np.full(d + 1, d + 1), k)
    g = np.zeros(2 * len(days) + 1)
    for latent, p_l in zip(days, lat, strict=True):
        if p_l > 0:
            g[latent : latent + len(surv)] += p_l * surv
    return g / float((days * dur).sum())


def household_outbreaks(
    params: EpidemicParams,
    pop: Population,
    p_household: float,
    n_per_band: int = 20_000,
    seed: int = 0,
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Household outbreaks, each started by a primary case (a living resident drawn
    uniformly from a band: community infection is uniform within a band) at day 0:
    returns, for every infected member, the outbreak's primary band, the member's band
    and the day of infection (the primary's rows included, at day 0). The community
    plays no part (early on, a housemate is infected from outside rarely)."""
    rng = np.random.default_rng(seed)
    alive = np.flatnonzero(pop.alive)
    band_of = pop.band.astype(np.int64)
    primaries = []
    for b in range(N_AGE_BANDS):
        ids = alive[band_of[alive] == b]
        if len(ids):
            primaries.append(rng.choice(ids, n_per_band))
    primary = np.concatenate(primaries)
    owner, members = pop.household_members(pop.household[primary], owners=True)
    members = members.astype(np.int64)
    keep = pop.alive[members]
    owner, members = owner[keep], members[keep]
    n = len(members)
    # each member's own latent and infectious days (used if infected)
    lat = params.dur_latent.sample(rng, n)
    dur = params.dur_infectious.sample(rng, n)
    t = np.full(n, np.inf)
    t[members == primary[owner]] = 0.0
    # every ordered pair (infector i, member k) of an outbreak, with its fixed draws
    start = np.flatnonzero(np.r_[True, owner[1:] != owner[:-1]])
    size = np.diff(np.r_[start, n])
    first = np.repeat(start, size)
    reps = np.repeat(size, size)
    i = np.repeat(np.arange(n), reps)
    k = np.repeat(first, reps) + (np.arange(len(i)) - np.repeat(np.cumsum(reps) - reps, reps))
    pair = i != k
    i, k = i[pair], k[pair]
    # an asymptomatic infector transmits rel_trans_asymptomatic as much
    p_sym = np.asarray(params.p_symptomatic, dtype=np.float64)[band_of[members]]
    rel = np.where(rng.random(n) < p_sym, 1.0, params.rel_trans_asymptomatic)
    hit = rng.random(len(i)) < p_household * rel[i]
    i, k = i[hit], k[hit]
    delay = lat[i] + np.floor(rng.random(len(i)) * dur[i])
    # earliest exposure wins: relax the pairs until no infection day changes (at most
    # the largest household's size rounds)
    for _ in range(int(size.max(initial=1)) + 1):
        cand = t[i] + delay
        new = t.copy()
        np.minimum.at(new, k, cand)
        if np.array_equal(new, t):
            break
        t = new
    inf = np.isfinite(t)
    return band_of[primary[owner]][inf], band_of[members][inf], t[inf]


def household_growth_rate(
    params: EpidemicParams,
    pop: Population,
    beta: float,
    p_household: float,
    n_per_band: int = 20_000,
    seed: int = 0,
) -> float:
    """The early growth rate ``r`` (per day) of the epidemic with households (see the
    module docstring): the root of ``spectral radius(M(-r) K_community W(r)) = 1``,
    by bisection on ``r`` in (-0.5, 2)."""
    k_comm = next_generation(params, pop, beta, 0.0)
    pb, mb, t = household_outbreaks(params, pop, p_household, n_per_band, seed)
    n_b = np.bincount(pb, minlength=N_AGE_BANDS).astype(np.float64)
    # (primaries per band: each band drew n_per_band, unless it has no residents)
    n_primary = np.where(n_b > 0, float(n_per_band), 1.0)

    def radius(r: float) -> float:
        w = np.zeros((N_AGE_BANDS, N_AGE_BANDS))
        np.add.at(w, (mb, pb), np.exp(-r * t))
        w /= n_primary[None, :]
        return generation_mgf(params, r) * spectral_radius(k_comm @ w)

    lo, hi = -0.5, 2.0
    if radius(hi) > 1 or radius(lo) < 1:
        return float("nan")
    for _ in range(40):
        mid = (lo + hi) / 2
        if radius(mid) > 1:  # (the radius falls as r grows)
            lo = mid
        else:
            hi = mid
    return (lo + hi) / 2
