"""Sequential data assimilation: a particle filter over the epidemic's state and its
transmission multiplier, for forecasts from today's state.

**Transmission that changes.** The epidemic module's ``rel_beta`` multiplies community
transmission on each day (:mod:`popsim.epidemic.module`). In a forecast or backtest it
follows a random walk on its logarithm with weekly knots (piecewise constant between
knots)::

    log m(knot 0)     ~ Normal(0, sd_log_start)
    log m(knot j + 1) = log m(knot j) + Normal(0, sd_log_week)

the first knot on the first day with observed data, then every ``knot_days`` days
(:class:`Transmission`; before the first knot ``m = 1``: the spec's own ``r0`` and
seeding make the early epidemic). ``m`` is kept within ``[0.05, 5]``.

Optionally the walk carries a *damped trend* (a damped local linear trend: Harvey 1989,
"Forecasting, structural time series models and the Kalman filter"; Gardner and
McKenzie 1985, "Forecasting trends in time series")::

    b(knot j + 1)     = phi * b(knot j) + Normal(0, sd_trend_week)
    log m(knot j + 1) = log m(knot j) + b(knot j + 1) + Normal(0, sd_log_week)

with ``b = 0`` at the first knot (``sd_trend_week = 0``, the default, is the plain walk
above; ``phi = trend_damping``). Contacts change smoothly (restrictions phased in,
behaviour adapting) more often than they jump, and the census sees a change of
transmission only one to three weeks later (infection to admission): with a plain walk
the last two weeks of ``m`` before the as-of date are barely constrained by the data and
the forecast carries their full prior spread; with a trend they follow the direction
the earlier weeks took, and the forecast carries that direction on, damped (a trend is
not carried for ever: ``phi < 1``). The defaults
(``sd_log_start = 0.25``, ``sd_log_week = 0.15``) are assumptions: a wave whose
effective reproduction number falls from about 1.3 to 0.9 within a month, as the
provinces' fall-2020 waves did when contacts changed, is a change of ``log m`` of about
0.35 in four weeks, within two standard deviations of this walk's 0.3. Set them in a
spec's ``[transmission]`` table.

**The filter** (bootstrap particle filter with resampling; Gordon, Salmond and Smith
1993; Doucet and Johansen 2011, "A tutorial on particle filtering and smoothing"). A
particle is a whole model (residents, epidemic, care network) and its ``log m``. All
particles run from the spec's start; at each knot every particle draws its walk's step,
runs to the next knot and is weighted by the likelihood of the observations of those
days (:func:`window_log_likelihood`, every metric the file has, site rows and the
region's ``all`` rows). When the effective sample size ``ESS = 1 / sum(w^2)`` falls
below half the particles, they are resampled (systematic resampling); a particle drawn
more than once is copied (:meth:`popsim.twin.branching.BranchingModel.branch`) onto
random streams of its own, so the copies diverge from the next day on.

With many series (every site's every metric) one week's likelihood can be so sharp that
a single particle takes all the weight; a knot's likelihood is then tempered, raised to
the largest power ``lambda <= 1`` that keeps half of the particles effective
(:func:`temper`; Del Moral, Doucet and Jasra 2012 choose their tempering steps by the
ESS the same way). This is an approximation: such a step uses less of the data's
information than the exact filter would, in exchange for not collapsing onto one
history; a tempered step is always followed by resampling (else the ESS would stay at
the threshold and the filter would never drop a particle far from the data). The ESS
reported is after tempering.

Particles run in *islands* (Verge, Dubarry, Del Moral and Moulines 2015, "On parallel
implementation of sequential Monte Carlo methods: the island particle model"): up to
:data:`ISLAND_PARTICLES` particles filtered together in one task (one Dask worker), with
their own resampling. Islands are weighted by their estimate of the data's marginal
likelihood (the product over knots of the mean unnormalised weight), so the pooled
weights are those of one filter over all particles in the limit. The islands are a
function of the number of particles only: a forecast is the same numbers on any number
of workers.

The filter's weights use a negative binomial of size ``filter_dispersion`` (default 20)
around the simulated value: not reporting noise but the model's discrepancy from the
real system (an exact weight on an exact census would leave no particle). Census values
are scored on the last observed day of each knot's window (census is autocorrelated:
one value a week, as in :mod:`popsim.twin.likelihood`), flows as the window's sum.

**Carried forward.** Each forecast branch continues its particle's walk (and its trend,
damped): a new step every ``knot_days`` days from the as-of date, drawn from the
branch's own stream ``forecast.transmission``. So the forecast carries the filtered multiplier's
spread (between particles) and the walk's growing spread (``sd_log_week * sqrt(weeks)``
after so many weeks) into its intervals.
"""

from __future__ import annotations

import dataclasses
import gc
import math
import zlib
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
from pydantic import BaseModel, ConfigDict, Field

from popsim.twin import likelihood as lk
from popsim.twin.observed import ALL, Observed

if TYPE_CHECKING:
    import datetime as dt

    from popsim.run.spec import RunSpec

#: Most particles filtered together in one task (an island).
ISLAND_PARTICLES = 16
#: Resample when the effective sample size falls below this share of the particles.
RESAMPLE_ESS_SHARE = 0.5
#: Each knot's likelihood is tempered (raised to a power <= 1) when its weights alone would
#: leave fewer effective particles than this share (see the module docstring).
MIN_STEP_ESS_SHARE = 0.5
#: The multiplier's bounds.
M_BOUNDS = (0.05, 5.0)
#: Spawn keys of the filter's streams (beside the as-of day and the island).
FILTER_STREAM = zlib.crc32(b"forecast.filter")
RESAMPLE_STREAM = zlib.crc32(b"forecast.resample")


class Transmission(BaseModel):
    """A spec's ``[transmission]`` table: the random walk of ``log rel_beta``."""

    model_config = ConfigDict(extra="forbid")

    sd_log_start: float = Field(
        0.25, ge=0, le=2, description="sd of log m at the first knot (assumption)"
    )
    sd_log_week: float = Field(
        0.15, ge=0, le=2, description="sd of the step of log m per knot (assumption)"
    )
    knot_days: int = Field(7, ge=1, le=56, description="days between knots")
    sd_trend_week: float = Field(
        0.0, ge=0, le=1, description="sd of the weekly change of the trend of log m (assumption)"
    )
    trend_damping: float = Field(
        1.0, ge=0, le=1, description="share of the trend of log m kept from one knot to the next"
    )

    @property
    def has_trend(self) -> bool:
        return self.sd_trend_week > 0

    def step(
        self,
        log_m: np.ndarray,
        trend: np.ndarray,
        rng: np.random.Generator,
        first: bool = False,
    ) -> tuple[np.ndarray, np.ndarray]:
        """One knot of the walk: ``(log m, trend)`` after it (see the module docstring).
        Without a trend (``sd_trend_week = 0``) one draw per value, as a plain walk."""
        log_m, trend = np.asarray(log_m, dtype=float), np.asarray(trend, dtype=float)
        if first:
            return clip_log_m(log_m + self.sd_log_start * rng.standard_normal(log_m.shape)), trend
        if self.has_trend:
            trend = self.trend_damping * trend + self.sd_trend_week * rng.standard_normal(
                log_m.shape
            )
        step = self.sd_log_week * rng.standard_normal(log_m.shape)
        return clip_log_m(log_m + trend + step), trend


@dataclass(frozen=True)
class Series:
    """One observed series: ``facility`` index (-1: the region's total), ``metric``,
    whether it is a census (a state) or a flow, its day indices and values."""

    facility: int
    metric: str
    census: bool
    days: np.ndarray
    values: np.ndarray


def series_of(
    observed: Observed, facility_ids: list[str], start: dt.date, metrics: list[str]
) -> list[Series]:
    """The non-missing observations of ``metrics`` as series (site rows and ``all``)."""
    out = []
    frame = observed.long([m for m in metrics if m in observed.metrics])
    for (fac, metric), g in frame.groupby(["facility", "metric"], sort=True):
        days = np.array([(d - start).days for d in g["date"]], dtype=np.int64)
        order = np.argsort(days)
        out.append(
            Series(
                -1 if fac == ALL else facility_ids.index(fac),
                str(metric),
                metric in lk.CENSUS_METRICS,
                days[order],
                g["value"].to_numpy(dtype=float)[order],
            )
        )
    return out


def window_log_likelihood(
    facility_day: np.ndarray,
    names: list[str],
    series: list[Series],
    first_day: int,
    last_day: int,
    size: float,
    census_days: bool = False,
) -> float:
    """Log-likelihood of the observations of days ``first_day..last_day`` (see the module
    docstring) given a model's ``facility_day`` array. ``census_days``: a census series
    is weighed on every observed day of the window, by the mean of the days'
    log-likelihoods (one observation's weight, spread over the window: the filter
    favours particles that follow the census through the week, not only on its last
    day)."""
    total = 0.0
    for s in series:
        sel = (s.days >= first_day) & (s.days <= last_day)
        if not sel.any() or s.metric not in names:
            continue
        col = facility_day[:, :, names.index(s.metric)]
        sim = col.sum(axis=1) if s.facility < 0 else col[:, s.facility]
        if s.census and census_days:
            mu = np.maximum(sim[s.days[sel]].astype(float), lk.MU_FLOOR)
            total += float(lk.log_probs(s.values[sel], mu, size).mean())
            continue
        if s.census:
            i = np.flatnonzero(sel)[-1]
            y, mu, k = s.values[i], sim[s.days[i]], size
        else:
            y, mu, k = s.values[sel].sum(), sim[s.days[sel]].sum(), size * int(sel.sum())
        total += float(lk.log_probs(np.array([y]), np.array([max(float(mu), lk.MU_FLOOR)]), k)[0])
    return total


def ess(log_w: np.ndarray) -> float:
    """Effective sample size of normalised log weights."""
    w = np.exp(log_w - log_w.max())
    w /= w.sum()
    return float(1.0 / np.sum(w**2))


def temper(log_w: np.ndarray, ll: np.ndarray, share: float = MIN_STEP_ESS_SHARE) -> float:
    """The largest ``lambda`` in [0, 1] with which ``log_w + lambda * ll`` keeps an
    effective sample size of at least ``share`` of the particles (1 when the step's
    weights keep it, or ``share`` is 0; bisection otherwise)."""
    n = len(ll)
    if share <= 0 or ess(log_w + ll) >= share * n:
        return 1.0
    lo, hi = 0.0, 1.0
    for _ in range(30):
        mid = (lo + hi) / 2
        if ess(log_w + mid * ll) >= share * n:
            lo = mid
        else:
            hi = mid
    return lo


def systematic(log_w: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Ancestor indices by systematic resampling (sorted)."""
    n = len(log_w)
    w = np.exp(log_w - log_w.max())
    cum = np.cumsum(w / w.sum())
    cum[-1] = 1.0
    return np.searchsorted(cum, (rng.random() + np.arange(n)) / n).astype(np.int64)


def islands(n_particles: int) -> list[list[int]]:
    """Particle indices of each island: ``ceil(n / ISLAND_PARTICLES)`` contiguous,
    even-sized groups (a function of ``n`` alone)."""
    k = max(1, math.ceil(n_particles / ISLAND_PARTICLES))
    return [list(map(int, a)) for a in np.array_split(np.arange(n_particles), k) if len(a)]


def clip_log_m(x: np.ndarray | float) -> Any:
    return np.clip(x, math.log(M_BOUNDS[0]), math.log(M_BOUNDS[1]))


def set_multiplier(model: Any, log_m: float) -> None:
    epi = getattr(model, "epidemic", None)
    if epi is not None:
        epi.rel_beta = float(math.exp(log_m))


@dataclass
class IslandResult:
    """An island's filter: per particle its normalised log weight, ``log m``, the index of
    the particle it descends from at the start and its branches' arrays; the island's
    log marginal likelihood and its ESS at each knot (before any resampling)."""

    log_w: np.ndarray
    log_m: np.ndarray
    trend: np.ndarray
    origin: np.ndarray
    arrays: list[list[np.ndarray]]
    names: list[str]
    log_z: float
    ess: list[float]
    resampled: int
    census_ratio: np.ndarray | None = None


def run_island(
    spec: RunSpec,
    scenario: str,
    values: list[dict[str, Any]],
    particle_ids: list[int],
    island: int,
    as_of_days: list[int],
    days: list[int],
    n_branches: list[int],
    series: list[Series],
    walk: Transmission,
    filter_size: float,
    start_plans: list[Any],
    temper_share: float = MIN_STEP_ESS_SHARE,
    census_days: bool = False,
    anchors: dict[int, Any] | None = None,
) -> list[IslandResult]:
    """Filter the island's particles forward once, and at each origin of ``as_of_days``
    (increasing) run ``n_branches[i]`` branches of the particle in slot ``i`` for that
    origin's ``days`` from the warm start of its ``start_plans`` entry
    (:class:`popsim.twin.warmstart.StartPlan`); one result per origin.

    The pass is a one-origin filter's, origin after origin: the walk's knots and the
    filter's random numbers are keyed to the knot, not to the origin, so each origin's
    particles are those a filter run to that origin alone would hold. At an origin inside
    a knot's window, the forecast's weights take the window's data up to the origin (a
    one-origin filter's last, shorter window) and the filter then carries on with the
    whole window, as a filter to a later origin does. ``anchors``: the warm starts
    (day -> :class:`popsim.twin.warmstart.StartPlan`) that reset every particle's census,
    and its infected, to the observed at the end of each knot's window (see
    :func:`anchor`)."""
    from popsim.twin import sim, uncertainty
    from popsim.twin.branching import branch_seed, particle_model

    if list(as_of_days) != sorted(set(as_of_days)) or not as_of_days:
        raise ValueError(f"origins must be increasing and distinct: {as_of_days}")
    last_day = max(a + 1 + d for a, d in zip(as_of_days, days, strict=True))
    models = []
    try:
        for pid, v in zip(particle_ids, values, strict=True):
            run_spec = uncertainty.apply(spec, scenario, v).with_overrides(days=last_day)
            region = sim.region_of(run_spec)
            config = dataclasses.replace(
                run_spec.model_config_for(scenario, region), record_journeys=False
            )
            models.append(particle_model(region, config, spec.seed, pid))
        names = list(models[0].care.metrics)
        n = len(models)
        rng = np.random.default_rng(
            np.random.SeedSequence(spec.seed, spawn_key=(FILTER_STREAM, island))
        )
        final = as_of_days[-1]
        data_days = [int(s.days[0]) for s in series if len(s.days) and s.days[0] <= final]
        first_knot = min(data_days) if data_days else final + 1
        log_w = np.full(n, -math.log(n))
        log_m = np.zeros(n)
        trend = np.zeros(n)
        origin = np.arange(n)
        log_z, ess_trace, resampled = 0.0, [], 0
        out: list[IslandResult] = []
        todo = list(zip(as_of_days, days, start_plans, strict=True))
        gc.freeze()

        def forecast_at(as_of_day: int, horizon: int, plan: Any, lw, lz, trace) -> None:
            census_ratio = as_of_census_ratio(models, names, series, as_of_day)
            arrays = [
                _branches(
                    model,
                    spec.seed,
                    particle_ids[i],
                    n_branches[i],
                    as_of_day,
                    horizon,
                    log_m[i],
                    trend[i],
                    walk,
                    plan,
                    branch_seed,
                )  # fmt: skip
                for i, model in enumerate(models)
            ]
            out.append(
                IslandResult(
                    lw.copy(),
                    log_m.copy(),
                    trend.copy(),
                    origin.copy(),
                    arrays,
                    names,
                    lz,
                    list(trace),
                    resampled,
                    census_ratio,
                )  # fmt: skip
            )

        def step_to(day: int) -> None:
            for i, model in enumerate(models):
                set_multiplier(model, log_m[i])
                while model.day <= day:
                    model.step()

        # before the first knot: the spec's own epidemic (m = 1)
        while todo and todo[0][0] < first_knot:
            step_to(todo[0][0])
            forecast_at(*todo.pop(0), log_w, log_z, ess_trace)
        for model in models:
            while model.day < first_knot:
                model.step()
        d0, knot = first_knot, 0
        while todo:
            log_m, trend = walk.step(log_m, trend, rng, first=knot == 0)
            d1 = d0 + walk.knot_days - 1
            while todo and todo[0][0] <= d1:  # origins inside this knot's window
                as_of_day = todo[0][0]
                step_to(as_of_day)
                ll = np.array(
                    [window_log_likelihood(m.facility_day, names, series, d0, as_of_day,
                                           filter_size, census_days) for m in models]
                )  # fmt: skip
                lw, norm = _weigh(log_w, ll, temper_share)
                forecast_at(*todo.pop(0), lw, log_z + norm, [*ess_trace, ess(lw)])
            if not todo:
                break
            step_to(d1)
            ll = np.array(
                [window_log_likelihood(
                    m.facility_day, names, series, d0, d1, filter_size, census_days
                )
                 for m in models]
            )  # fmt: skip
            lam = temper(log_w, ll, temper_share)
            log_w, norm = _weigh(log_w, ll, temper_share)
            log_z += norm
            ess_trace.append(ess(log_w))
            if lam < 1 or ess_trace[-1] < RESAMPLE_ESS_SHARE * n:
                anc = systematic(log_w, rng)
                models = _resample(models, anc, spec.seed, island, d1)
                log_m, trend, origin = log_m[anc], trend[anc], origin[anc]
                log_w = np.full(n, -math.log(n))
                resampled += 1
            if anchors and d1 in anchors:
                for model in models:
                    anchor(model, anchors[d1], d1)
            d0, knot = d1 + 1, knot + 1
        return out
    finally:
        gc.unfreeze()
        for m in models:
            m.release()


def anchor(model: Any, plan: Any, day: int) -> None:
    """Reset a filtered particle's observed census to the observed (the forecast's warm
    start, :mod:`popsim.twin.warmstart`) and scale its infected residents not in hospital
    by the ratio that imposed (``plan.rescale_infected`` on), on the random streams
    ``forecast.anchor.<day>`` of the particle: the filter then weighs each particle on
    how its epidemic moves from the observed level over the next window (its
    transmission), not on how far its level has drifted (``[observation] filter_anchor``,
    off by default; an approximation, see ``docs/twin.md``)."""
    from popsim.twin.warmstart import clear_observed, warm_start

    ratio = plan.infected_ratio(model)
    census, want = plan.prepare(model)
    if not census:
        return
    templates = clear_observed(model, census)
    rng = model.stream(f"forecast.anchor.{day}")
    warm_start(model, census, rng, plan.adjust(templates, want, rng))
    plan.rescale(model, ratio, model.stream(f"forecast.anchor-infected.{day}"))


def _weigh(log_w: np.ndarray, ll: np.ndarray, temper_share: float) -> tuple[np.ndarray, float]:
    """Normalised log weights after a window's (tempered) log-likelihoods, and the log of
    their normaliser (the window's factor of the marginal likelihood)."""
    new = log_w + temper(log_w, ll, temper_share) * ll
    top = new.max()
    norm = top + math.log(np.exp(new - top).sum())
    return new - norm, float(norm)


def _resample(models: list[Any], anc: np.ndarray, seed: int, island: int, day: int) -> list:
    """The particles of ancestors ``anc``: the first copy of each is the particle itself,
    the others branches on streams of their own (keyed to the island, the day and the
    slot); particles not drawn are released."""
    used: set[int] = set()
    fresh = []
    for i, a in enumerate(anc):
        if a not in used:
            used.add(int(a))
            fresh.append(models[a])
        else:
            s = np.random.SeedSequence(seed, spawn_key=(RESAMPLE_STREAM, island, day, i))
            fresh.append(models[a].branch(s))
    for j, m in enumerate(models):
        if j not in used:
            m.release()
    return fresh


def as_of_census_ratio(
    models: list[Any], names: list[str], series: list[Series], as_of_day: int
) -> np.ndarray | None:
    """Each filtered particle's census on the as-of day over the observed one (the first
    census series observed that day, the region's first), before the warm start: how far
    the particles' epidemics are from the data the warm start then imposes (a particle
    far above keeps its larger stream of infections on their way to hospital)."""
    for s in sorted(series, key=lambda s: s.facility):
        if not s.census or s.metric not in names or as_of_day not in s.days:
            continue
        y = float(s.values[np.flatnonzero(s.days == as_of_day)[0]])
        if y <= 0:
            return None
        col = names.index(s.metric)
        sims = [
            m.facility_day[as_of_day, :, col].sum()
            if s.facility < 0
            else m.facility_day[as_of_day, s.facility, col]
            for m in models
        ]
        return np.asarray(sims, dtype=float) / y
    return None


def _branches(
    model: Any,
    seed: int,
    particle: int,
    n_branches: int,
    as_of_day: int,
    days: int,
    log_m: float,
    trend: float,
    walk: Transmission,
    start_plan: Any,
    branch_seed: Any,
) -> list[np.ndarray]:
    """The ``(days + 1, n_fac, n_metrics)`` arrays of a particle's branches from the as-of
    day (row 0: after the warm start). The particle is not changed (the filter carries
    on with it): each branch is a copy whose observed units are emptied and refilled."""
    from popsim.twin.warmstart import clear_observed, warm_start

    ratio = start_plan.infected_ratio(model)
    census, want = start_plan.prepare(model)
    out = []
    for j in range(n_branches):
        s = branch_seed(seed, particle, j)
        branch = model.branch(s)
        try:
            if census:
                templates = clear_observed(branch, census)
                rng = branch.stream("forecast.warm-start")
                warm_start(branch, census, rng, start_plan.adjust(templates, want, rng))
                start_plan.rescale(branch, ratio, branch.stream("forecast.rescale-infected"))
            rng = branch.stream("forecast.transmission")
            lm, tr = np.array([log_m]), np.array([trend])
            for d in range(days):
                if d % walk.knot_days == 0:
                    lm, tr = walk.step(lm, tr, rng)
                    set_multiplier(branch, float(lm[0]))
                branch.step()
            out.append(branch.facility_day[as_of_day : as_of_day + days + 1].copy())
        finally:
            branch.release()
    return out
