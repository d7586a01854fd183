"""``popsim forecast``: each site's census, admissions and boarding for the next weeks,
from the observed state on the as-of date.

Replicates are branches of particles. The particles are filtered to the as-of date by
:mod:`popsim.twin.smc` (a particle filter over the epidemic's state and its transmission
multiplier, conditioned on every observed metric, site rows and the region's ``all``
rows), then each of its ``branches`` (default :data:`BRANCHES`) copies that state, takes
its own random streams, is refilled with the observed census of the day
(:mod:`popsim.twin.warmstart`: site by site and unit by unit, or the region's epidemic
census spread by the particle's own shares), continues its particle's transmission walk
and runs ``days`` more days. Parameters (:func:`particle_values`): particle ``k`` takes
what replicate ``k`` of a run of the spec would, a row of the spec's own table of draws
and values drawn from its distributions; without a table of its own, a row of its
calibration's accepted draws (``calibration/draws.parquet``, when present); else the
spec's values. The quantiles are weighted by the filter's final weights (a particle's
branches share its weight), with the observation model's noise
(:mod:`popsim.twin.obsmodel`: census exact by default, flows negative binomial); the
region's total (``all``) is the sum of the sites' values.

Output ``forecast.parquet`` in the hub format (:data:`popsim.twin.score.HUB_COLUMNS`),
horizon 0 being the as-of date (the observed census, exactly, where it was observed),
and the page ``forecast.html`` + ``forecast.png``.
"""

from __future__ import annotations

import datetime as dt
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from popsim.errors import PopsimError
from popsim.files import atomic_write
from popsim.run.spec import RunSpec, load_spec
from popsim.twin import likelihood as lk
from popsim.twin import obsmodel, sim, smc, uncertainty
from popsim.twin.observed import ALL, Observed
from popsim.twin.score import HUB_COLUMNS, QUANTILES, quantiles_of

#: Metrics forecast, per site and for the region.
FORECAST_METRICS: tuple[str, ...] = (
    "ward_census",
    "icu_census",
    "alc_census",
    "admissions",
    "ed_boarding",
)
#: Forecast too when observed (the epidemic's own share, e.g. a public COVID-19 series).
EPIDEMIC_METRICS: tuple[str, ...] = ("epidemic_census", "epidemic_admissions")
#: Observed metrics that set the warm start's census, and their units.
CENSUS_UNITS = {
    "ward_census": "ward",
    "icu_census": "icu",
    "alc_census": "alc",
    "ed_boarding": "ed",
}
#: Forecast replicates per particle (branches sharing one filtered particle). The filter
#: needs particles (distinct epidemic histories and multipliers), the forecast's spread
#: needs replicates: 2 branches a particle give 50 replicates 25 particles (two islands,
#: one per core of a two-core machine); assumption, a trade of speed against particles.
BRANCHES = 2
#: Most replicates of a forecast or backtest origin (the spec's own limit of replicates).
MAX_REPLICATES = 10_000
#: Most memory a forecast may need (bytes, :func:`memory_estimate`): 8 GiB, an assumption
#: (a third of a 24 GiB machine).
MAX_MEMORY_BYTES = 8 * 2**30
#: A particle's memory per resident (bytes): measured, a backtest of 50 replicates at
#: 1,000,000 residents in one process (one island of 13 particles, the model it copies and
#: the copies in flight, about 15 models) peaked at 2.24 GB resident, about 150 bytes a
#: resident (the previous assumption, 200, refused 50 replicates at Fraser's 2.0 M).
BYTES_PER_RESIDENT = 150


def observed_census(observed: Observed, as_of: dt.date, facility_ids: list[str]):
    """``(facility_index, unit) -> count`` of the sites with a census observed on ``as_of``."""
    out: dict[tuple[int, str], int] = {}
    f = observed.facility
    rows = f[(f["date"] == as_of) & (f["facility"] != ALL)]
    for _, row in rows.iterrows():
        for metric, unit in CENSUS_UNITS.items():
            if metric in rows.columns and pd.notna(row[metric]):
                out[(facility_ids.index(row["facility"]), unit)] = int(row[metric])
    return out


def particles(replicates: int, branches: int) -> list[list[int]]:
    """The branches of each particle: particle ``k`` runs replicates ``k * branches``
    onwards (the last particle may have fewer)."""
    if replicates < 1 or branches < 1:
        raise PopsimError(f"replicates ({replicates}) and branches ({branches}) must be >= 1")
    return [list(range(min(branches, replicates - k))) for k in range(0, replicates, branches)]


def calibration_draws(spec: RunSpec, base: Path) -> pd.DataFrame | None:
    """The accepted draws of a calibration of ``spec`` (``base/calibration/draws.parquet``)
    for its forecasts, unless the spec has a table of draws of its own (that one comes
    first, see :func:`particle_values`); None without either."""
    path = base / "calibration" / "draws.parquet"
    if spec._draws is not None or not path.is_file():
        return None
    return pd.read_parquet(path)


def particle_values(
    spec: RunSpec, scenario: str, particle: int, draws: pd.DataFrame | None = None
) -> dict[str, Any]:
    """Parameters of particle ``particle``: those replicate ``particle`` of a run of the
    spec takes (a row of its own table of draws, values drawn from its distributions:
    :func:`popsim.twin.uncertainty.replicate_values`), then row ``particle % len(draws)``
    of ``draws`` (a calibration's accepted draws) for each parameter the scenario does
    not set itself."""
    values: dict[str, Any] = uncertainty.replicate_values(spec, scenario, particle)
    if draws is None or not len(draws):
        return values
    row = draws.iloc[particle % len(draws)]
    values.update(uncertainty.table_values(spec, scenario, row))  # multipliers too
    return values


def check_as_of(spec: RunSpec, as_of: dt.date) -> int:
    """The as-of date's day index in the run (PopsimError if outside the run)."""
    last = spec.start + dt.timedelta(days=spec.days - 1)
    if not spec.start <= as_of <= last:
        raise PopsimError(f"--as-of {as_of} is outside the spec's run ({spec.start}..{last})")
    return (as_of - spec.start).days


def check_size(spec: RunSpec, as_of_day: int, days: int, replicates: int) -> None:
    """PopsimError (one line per problem) for a forecast too long or too large to run:
    ``days`` past the longest run, ``replicates`` above :data:`MAX_REPLICATES`, or an
    estimated memory above :data:`MAX_MEMORY_BYTES` (:func:`memory_estimate`)."""
    from popsim.run.spec import MAX_DAYS

    problems = []
    if not 1 <= days <= MAX_DAYS - as_of_day - 1:
        problems.append(
            f"--days {days}: expected 1..{MAX_DAYS - as_of_day - 1:,} (a run ends by day "
            f"{MAX_DAYS:,} of the spec)"
        )
    if not 1 <= replicates <= MAX_REPLICATES:
        problems.append(f"--replicates {replicates}: expected 1..{MAX_REPLICATES:,}")
    if not problems:
        need = memory_estimate(spec, days, replicates)
        if need > MAX_MEMORY_BYTES:
            problems.append(
                f"--replicates {replicates} x --days {days}: about {need / 2**30:.1f} GiB "
                f"of forecasts and particles, more than the limit of "
                f"{MAX_MEMORY_BYTES / 2**30:.0f} GiB"
            )
    if problems:
        raise PopsimError("\n".join(problems))


def memory_estimate(spec: RunSpec, days: int, replicates: int) -> float:
    """Bytes a forecast holds at once, roughly: the replicates' arrays (days x sites x
    metrics, 8 bytes each, twice: collected and noised) plus the particles of the islands
    in flight (:data:`BYTES_PER_RESIDENT` a resident each, two islands)."""
    from popsim.care.network import METRICS

    region = spec.load_region()
    residents = spec.population or region.total_population
    arrays = 2 * replicates * (days + 1) * (region.n_facilities + 1) * len(METRICS) * 8
    n_particles = len(particles(replicates, BRANCHES))
    in_flight = min(n_particles, 2 * smc.ISLAND_PARTICLES) + 2
    return float(arrays + in_flight * residents * BYTES_PER_RESIDENT)


def start_plan(known: Observed, as_of: dt.date, facility_ids: list[str], population: int):
    """The warm start of the as-of date (:class:`popsim.twin.warmstart.StartPlan`);
    PopsimError when the observed census is more patients than the region has residents."""
    from popsim.twin.warmstart import StartPlan

    census = observed_census(known, as_of, facility_ids)
    total = None
    value = known.value(as_of, ALL, "epidemic_census")
    if value is not None:
        total = int(round(value))
    region_rows = [known.value(as_of, ALL, m) for m in (*CENSUS_UNITS, "epidemic_census")]
    seeded = max(sum(census.values()), sum(v for v in region_rows if v is not None))
    if seeded > population:
        raise PopsimError(
            f"{known.path}: the census observed on {as_of} totals {seeded:,} patients, "
            f"more than the region's {population:,} residents"
        )
    site_epi = {}
    if census:
        rows = known.facility[
            (known.facility["date"] == as_of) & (known.facility["facility"] != ALL)
        ]
        if "epidemic_census" in rows.columns:
            for fac, v in zip(rows["facility"], rows["epidemic_census"], strict=True):
                if pd.notna(v):
                    site_epi[facility_ids.index(fac)] = int(round(v))
    return StartPlan(census, total, site_epi)


def run_forecast(
    spec: RunSpec,
    observed: Observed,
    as_of: dt.date,
    days: int = 28,
    replicates: int = 100,
    client: Any = None,
    draws: pd.DataFrame | None = None,
    scenario: str | None = None,
    branches: int = BRANCHES,
    progress: bool = False,
) -> pd.DataFrame:
    """The hub-format forecast from ``as_of`` (data after ``as_of`` is never used), by the
    particle filter of :mod:`popsim.twin.smc`; ``progress``: a progress bar on stderr
    (replicates done). ``attrs``: ``particles``, ``ess`` (of the pooled final weights),
    ``ess_min`` (lowest of any island at any knot, before resampling), ``resampled``
    (resampling steps, all islands) and ``log_m`` (weighted median and 5-95% of the
    filtered multiplier's log on the as-of date)."""
    return run_forecasts(
        spec, observed, [as_of], [days], replicates, client, draws, scenario, branches, progress
    )[0]


def run_forecasts(
    spec: RunSpec,
    observed: Observed,
    as_ofs: list[dt.date],
    days: list[int],
    replicates: int = 100,
    client: Any = None,
    draws: pd.DataFrame | None = None,
    scenario: str | None = None,
    branches: int = BRANCHES,
    progress: bool = False,
) -> list[pd.DataFrame]:
    """The forecasts from each of ``as_ofs`` (increasing; ``days[i]`` days from
    ``as_ofs[i]``) by one pass of the particle filter through the observed series
    (:func:`popsim.twin.smc.run_island`): each forecast is the one :func:`run_forecast`
    gives from its origin alone (the same numbers), at the cost of one filter run to the
    last origin instead of one per origin."""
    from tqdm import tqdm

    region = spec.load_region()
    scenario = scenario or next(iter(spec.scenarios))
    as_of_days = [check_as_of(spec, a) for a in as_ofs]
    for d, h in zip(as_of_days, days, strict=True):
        check_size(spec, d, h, replicates)
    obs = obsmodel.observation_of(spec)
    walk = obsmodel.transmission_of(spec)
    ids = list(region.facility_ids)
    population = spec.population or region.total_population
    knowns = [observed.until(a) for a in as_ofs]
    plans = []
    for known, a in zip(knowns, as_ofs, strict=True):
        plans.append(start_plan(known, a, ids, population))
        plans[-1].rescale_infected = obs.rescale_infected
    last = knowns[-1]
    series = smc.series_of(last, ids, spec.start, last.metrics)
    anchors = anchor_plans(spec, last, ids, population) if obs.filter_anchor else None
    plan = particles(replicates, branches)
    n_branch = [len(js) for js in plan]
    values = [particle_values(spec, scenario, k, draws) for k in range(len(plan))]
    groups = smc.islands(len(plan))
    bar = tqdm(
        total=replicates * len(as_ofs),
        desc=f"{spec.name} forecast {as_ofs[0]}" + (f"..{as_ofs[-1]}" if len(as_ofs) > 1 else ""),
        unit="replicate",
        disable=not progress,
        file=sys.stderr,
    )

    def args(i: int, pids: list[int]) -> tuple:
        return (
            spec, scenario, [values[k] for k in pids], pids, i, as_of_days, list(days),
            [n_branch[k] for k in pids], series, walk, obs.filter_dispersion, plans,
            obs.filter_temper_share, obs.filter_census == "days", anchors,
        )  # fmt: skip

    results: list[Any] = [None] * len(groups)
    with bar:
        if client is None:
            for i, pids in enumerate(groups):
                results[i] = smc.run_island(*args(i, pids))
                bar.update(sum(n_branch[k] for k in pids) * len(as_ofs))
        else:
            from distributed import as_completed

            futures = [
                client.submit(smc.run_island, *args(i, pids), pure=False)
                for i, pids in enumerate(groups)
            ]
            index = {f.key: i for i, f in enumerate(futures)}
            for future in as_completed(futures):
                i = index[future.key]
                results[i] = future.result()
                bar.update(sum(n_branch[k] for k in groups[i]) * len(as_ofs))
    return [
        _frame_of(
            spec,
            region,
            [r[j] for r in results],
            known,
            a,
            as_of_days[j],
            days[j],
            obs,
            len(plan),
        )  # fmt: skip
        for j, (known, a) in enumerate(zip(knowns, as_ofs, strict=True))
    ]


def anchor_plans(spec: RunSpec, known: Observed, ids: list[str], population: int) -> dict:
    """The filter's anchors (``[observation] filter_anchor``): the warm start of every
    day a census is observed on, by day of the run, with the infected rescaled."""
    out = {}
    for day in sorted(known.dates):
        plan = start_plan(known, day, ids, population)
        if plan.census or plan.epidemic_total is not None:
            plan.rescale_infected = True
            out[(day - spec.start).days] = plan
    return out


def _frame_of(
    spec: RunSpec,
    region: Any,
    results: list[Any],
    known: Observed,
    as_of: dt.date,
    as_of_day: int,
    days: int,
    obs: Any,
    n_particles: int,
) -> pd.DataFrame:
    """One origin's hub frame from its islands' results, with the filter's figures."""
    log_z = np.array([r.log_z for r in results])
    log_w = np.concatenate([r.log_w + z for r, z in zip(results, log_z, strict=True)])
    w_particle = np.exp(log_w - log_w.max())
    w_particle /= w_particle.sum()
    w = _replicate_weights(results, w_particle)
    arr = np.stack([a for r in results for arrays in r.arrays for a in arrays]).astype(float)
    metric_names = results[0].names
    frame = _quantile_frame(spec, region, arr, w, metric_names, known, as_of, as_of_day, days, obs)
    log_m = np.concatenate([r.log_m for r in results])
    frame.attrs["ess"] = float(1.0 / np.sum(w_particle**2))
    frame.attrs["ess_min"] = float(min((min(r.ess) for r in results if r.ess), default=n_particles))
    frame.attrs["resampled"] = int(sum(r.resampled for r in results))
    frame.attrs["particles"] = n_particles
    frame.attrs["log_m"] = tuple(
        float(v) for v in quantiles_1d(log_m, w_particle, (0.05, 0.5, 0.95))
    )
    ratios = [r.census_ratio for r in results]
    if all(r is not None for r in ratios):
        frame.attrs["census_ratio"] = tuple(
            float(v) for v in quantiles_1d(np.concatenate(ratios), w_particle, (0.05, 0.5, 0.95))
        )
    trend = np.concatenate([r.trend for r in results])
    frame.attrs["trend"] = tuple(
        float(v) for v in quantiles_1d(trend, w_particle, (0.05, 0.5, 0.95))
    )
    return frame


def _ratio_note(frame: pd.DataFrame) -> str:
    """The particles' census on the as-of date against the observed (before the warm
    start), when a census was observed that day."""
    if "census_ratio" not in frame.attrs:
        return ""
    lo, mid, hi = frame.attrs["census_ratio"]
    return f"; filtered census / observed on the as-of date {mid:.2f}, 90% {lo:.2f}-{hi:.2f}"


def _replicate_weights(results: list[Any], w_particle: np.ndarray) -> np.ndarray:
    """Each replicate's weight: its particle's, shared by the particle's branches."""
    out, k = [], 0
    for r in results:
        for arrays in r.arrays:
            out.append(np.full(len(arrays), w_particle[k] / len(arrays)))
            k += 1
    return np.concatenate(out)


def quantiles_1d(x: np.ndarray, w: np.ndarray, levels: tuple[float, ...]) -> np.ndarray:
    """Weighted quantiles of a 1-d sample."""
    order = np.argsort(x)
    cum = np.cumsum(w[order])
    cum /= cum[-1]
    return np.array([x[order][min(np.searchsorted(cum, q), len(x) - 1)] for q in levels])


def _quantile_frame(
    spec: RunSpec,
    region: Any,
    arr: np.ndarray,
    w: np.ndarray,
    metric_names: list[str],
    known: Observed,
    as_of: dt.date,
    as_of_day: int,
    days: int,
    obs: Any,
) -> pd.DataFrame:
    """Hub rows: the weighted quantiles of each metric per site and for the region, with
    the observation model's noise (:mod:`popsim.twin.obsmodel`) on horizons >= 1."""
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(as_of_day, 99)))
    fac_ids = [*region.facility_ids, ALL]
    metrics = [*FORECAST_METRICS]
    metrics += [m for m in known.metrics if m not in metrics and m in metric_names]
    parts = []
    for metric in metrics:
        mi = metric_names.index(metric)
        sites = arr[:, :, :, mi].copy()  # (R, H+1, F)
        size = obs.census_dispersion if metric in lk.CENSUS_METRICS else obs.flow_dispersion
        if size is not None:
            mu = np.maximum(sites[:, 1:], 1e-9)  # (horizon 0 is the as-of day: no noise)
            sites[:, 1:] = rng.negative_binomial(size, size / (size + mu))
        noisy = np.concatenate([sites, sites.sum(axis=2, keepdims=True)], axis=2)
        q = quantiles_of(noisy, w)  # (H+1, F+1, Q)
        h, f, qi = np.meshgrid(
            np.arange(days + 1), np.arange(len(fac_ids)), np.arange(len(QUANTILES)), indexing="ij"
        )
        parts.append(
            pd.DataFrame(
                {
                    "as_of": as_of,
                    "target_date": [as_of + dt.timedelta(days=int(d)) for d in h.ravel()],
                    "horizon": h.ravel(),
                    "facility": np.array(fac_ids, dtype=object)[f.ravel()],
                    "metric": metric,
                    "quantile": np.array(QUANTILES)[qi.ravel()],
                    "value": q.ravel().astype(float),
                }
            )
        )
    return pd.concat(parts, ignore_index=True)[list(HUB_COLUMNS)]


def forecast(
    spec_path: str | Path,
    observed_path: str | Path,
    as_of: dt.date,
    days: int = 28,
    replicates: int = 100,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    zones_path: str | Path | None = None,
    progress: bool = True,
) -> Path:
    """``popsim forecast``: write ``forecast.parquet``, ``forecast_weekly.csv`` and the
    forecast page. Everything is checked before anything runs or is written."""
    from popsim.files import write_text
    from popsim.run.ensemble import default_out
    from popsim.twin.pages import forecast_page
    from popsim.twin.tables import summary_line, weekly_table

    t0 = time.perf_counter()
    spec = load_spec(spec_path)
    as_of_day = check_as_of(spec, as_of)
    check_size(spec, as_of_day, days, replicates)
    observed = obsmodel.observed_of(spec, observed_path, zones_path)
    known = observed.until(as_of)
    if known.long().empty:
        raise PopsimError(f"{observed_path}: no observed value on or before --as-of {as_of}")
    region = spec.load_region()
    start_plan(known, as_of, list(region.facility_ids), spec.population or region.total_population)
    for note in observed.notes:
        print(note)
    base = default_out(spec_path)
    draws = calibration_draws(spec, base)
    folder = Path(out) if out is not None else base / "forecast" / f"as_of={as_of}"
    with sim.client(workers, scheduler) as c:
        frame = run_forecast(spec, observed, as_of, days, replicates, c, draws, progress=progress)
    folder.mkdir(parents=True, exist_ok=True)
    atomic_write(folder / "forecast.parquet", lambda p: frame.to_parquet(p, index=False))
    write_text(folder / "forecast_weekly.csv", weekly_table(frame).to_csv(index=False))
    forecast_page(folder, spec.name, frame, observed)
    seconds = time.perf_counter() - t0
    lo, mid, hi = (float(np.exp(v)) for v in frame.attrs["log_m"])
    print(
        f"{spec.name}: forecast from {as_of}, {days} days, {replicates} replicates of "
        f"{frame.attrs['particles']} particles (filter: effective sample size "
        f"{frame.attrs['ess']:.1f} at the end, lowest {frame.attrs['ess_min']:.1f}, "
        f"{frame.attrs['resampled']} resamplings; transmission multiplier {mid:.2f}, 90% "
        f"{lo:.2f}-{hi:.2f}{_ratio_note(frame)}) in {seconds:.0f} s",
        file=sys.stdout,
    )
    print(summary_line(frame))
    print(f"forecast: {folder / 'forecast.parquet'}")
    return folder
