"""``popsim forecast``: each site's census, admissions and boarding for the next weeks,
from the observed state on the as-of date.

Replicates are branches of particles (:mod:`popsim.twin.branching`). A particle (a Dask
task) copies the model built once per worker (population and set-up), runs the spec
from its start to the as-of date (the epidemic's state on that day comes from the
model's own history) and empties the units whose census was observed that day; each of
its ``branches`` (default :data:`BRANCHES`) copies that state, takes its own random
streams, is refilled with the observed census of the day, site by site and unit by unit
(ward, ICU and ALC beds and ED boarders, :func:`popsim.twin.warmstart.warm_start`; units
without an observed census keep the simulated patients), and runs ``days`` more days.
Replicate ``r`` is branch ``r % branches`` of particle ``r // branches``: the same
numbers whether it runs alone or among others. Parameters (:func:`particle_values`):
particle ``k`` takes what replicate ``k`` of a run of the spec would, a row of the
spec's own table of draws (``[parameters] draws``, e.g. a calibrated spec's accepted
draws) and values drawn from its distributions (``r0 = { dist = ... }``); without a
table of its own, a row of its calibration's accepted draws
(``calibration/draws.parquet``, when present); else the spec's values.

Conditioning on the recent series: each particle is weighted by its likelihood of the
observed data of the ``condition_days`` before the as-of date (importance weights),
tempered (raised to a power <= 1) so that the effective number of particles stays at
least half of them; its branches share its weight, and the quantiles are the weighted
quantiles. Reporting noise (negative binomial, size ``dispersion``) is added to each
replicate's site series, so the intervals are for what will be reported, not only for
the model's mean; the region's total (``all``) is the sum of the sites' noisy values, a
total of the sites' reports. (Noise of that size on the total itself would give a
region's census of 2,300 a coefficient of variation of 22%: a 90% interval of about
+/- 850 patients.)

Output ``forecast.parquet`` in the hub format (:data:`popsim.twin.score.HUB_COLUMNS`),
horizon 0 being the as-of date (the observed census, exactly, where it was observed),
and the page ``forecast.html`` + ``forecast.png``.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import gc
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
from popsim.twin import sim, uncertainty
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
#: Forecast replicates per particle (branches sharing one run to the as-of date). Measured
#: at 2.0 million residents from mid-November: a particle's 76 days take about 0.85 CPU s,
#: a branch about 0.5 s (copy, warm start, 28 days), so 5 branches halve a replicate's
#: work, and 100 replicates still have 20 particles for the conditioning (assumption: a
#: trade of speed against the number of distinct epidemic histories).
BRANCHES = 5
#: Observation noise added to forecasts (negative-binomial size; assumption, as in
#: :mod:`popsim.twin.likelihood`).
DISPERSION = 20.0


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


def forecast_particle(
    spec: RunSpec,
    values: dict[str, Any],
    scenario: str,
    particle: int,
    branches: list[int],
    as_of_day: int,
    days: int,
    census: dict[tuple[int, str], int],
    t: lk.Targets,
    k: float,
) -> tuple[float, list[np.ndarray], list[str]]:
    """One particle: its log-likelihood of the recent data, and for each of ``branches``
    a ``(days + 1, n_fac, n_metrics)`` array from the as-of day (row 0: the state after
    the warm start)."""
    from popsim.twin.branching import branch_seed, particle_model
    from popsim.twin.warmstart import clear_observed, warm_start

    run_spec = uncertainty.apply(spec, scenario, values)
    run_spec = run_spec.with_overrides(days=as_of_day + 1 + days)
    region = sim.region_of(run_spec)
    config = dataclasses.replace(run_spec.model_config_for(scenario, region), record_journeys=False)
    model = particle_model(region, config, spec.seed, particle)
    gc.freeze()  # as RegionModel.run: long-lived objects left out of full collections
    try:
        for _ in range(as_of_day + 1):
            model.step()
        ll = lk.log_likelihood(t, lk.simulated_at(t, model.facility_day, model.care.metrics), k)
        templates = clear_observed(model, census) if census else {}  # once for all branches
        out = []
        for i, j in enumerate(branches):
            seed = branch_seed(spec.seed, particle, j)
            if i == len(branches) - 1:  # the last branch runs on the particle itself
                branch = model
                branch.reseed(seed)
            else:
                branch = model.branch(seed)
            try:
                if census:
                    warm_start(branch, census, branch.stream("forecast.warm-start"), templates)
                for _ in range(days):
                    branch.step()
                out.append(branch.facility_day[as_of_day : as_of_day + days + 1].copy())
            finally:
                if branch is not model:
                    branch.release()
        return ll, out, list(model.care.metrics)
    finally:
        gc.unfreeze()
        model.release()


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


def tempered_weights(ll: np.ndarray, min_ess_share: float = 0.5) -> np.ndarray:
    """Normalised weights ``exp(lambda * ll)`` with the largest ``lambda`` in [0, 1] whose
    effective sample size is at least ``min_ess_share`` of the replicates."""
    ll = np.asarray(ll, dtype=float)
    n = len(ll)

    def weights(lam: float) -> np.ndarray:
        w = np.exp(lam * (ll - ll.max()))
        return w / w.sum()

    def ess(w: np.ndarray) -> float:
        return 1.0 / float(np.sum(w**2))

    if ess(weights(1.0)) >= min_ess_share * n:
        return weights(1.0)
    lo, hi = 0.0, 1.0
    for _ in range(40):
        mid = (lo + hi) / 2
        if ess(weights(mid)) >= min_ess_share * n:
            lo = mid
        else:
            hi = mid
    return weights(lo)


def run_forecast(
    spec: RunSpec,
    observed: Observed,
    as_of: dt.date,
    days: int = 28,
    replicates: int = 100,
    client: Any = None,
    draws: pd.DataFrame | None = None,
    condition_days: int = 21,
    scenario: str | None = None,
    branches: int = BRANCHES,
    progress: bool = False,
) -> pd.DataFrame:
    """The hub-format forecast from ``as_of`` (data after ``as_of`` is never used);
    ``progress``: a progress bar on stderr (replicates done)."""
    from tqdm import tqdm

    if days < 1:
        raise PopsimError(f"--days {days}: expected at least 1 day to forecast")
    region = spec.load_region()
    scenario = scenario or next(iter(spec.scenarios))
    as_of_day = check_as_of(spec, as_of)
    known = observed.until(as_of)
    census = observed_census(known, as_of, region.facility_ids)
    first = max(spec.start, as_of - dt.timedelta(days=condition_days - 1))
    metrics = [m for m in ("admissions", "ward_census", "icu_census") if m in known.metrics]
    t = lk.targets(known, metrics, region.facility_ids, spec.start, first, as_of, 7)
    plan = particles(replicates, branches)
    tasks = [particle_values(spec, scenario, k, draws) for k in range(len(plan))]
    args = (as_of_day, days, census, t, DISPERSION)
    bar = tqdm(
        total=replicates,
        desc=f"{spec.name} forecast {as_of}",
        unit="replicate",
        disable=not progress,
        file=sys.stderr,
    )
    results: list[Any] = [None] * len(plan)
    with bar:
        if client is None:
            for k, (v, js) in enumerate(zip(tasks, plan, strict=True)):
                results[k] = forecast_particle(spec, v, scenario, k, js, *args)
                bar.update(len(js))
        else:
            from distributed import as_completed

            futures = [
                client.submit(forecast_particle, spec, v, scenario, k, js, *args, pure=False)
                for k, (v, js) in enumerate(zip(tasks, plan, strict=True))
            ]
            index = {f.key: k for k, f in enumerate(futures)}
            for future in as_completed(futures):
                k = index[future.key]
                results[k] = future.result()
                bar.update(len(plan[k]))
    w_particle = tempered_weights(np.array([r[0] for r in results]))
    w = np.concatenate(
        [np.full(len(js), wk / len(js)) for wk, js in zip(w_particle, plan, strict=True)]
    )
    arr = np.stack([a for r in results for a in r[1]]).astype(float)  # (R, days+1, F, M)
    metric_names = results[0][2]
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(as_of_day, 99)))
    rows = []
    fac_ids = list(region.facility_ids)
    extra = [m for m in EPIDEMIC_METRICS if m in known.metrics and m in metric_names]
    for metric in (*FORECAST_METRICS, *extra):
        mi = metric_names.index(metric)
        sites = arr[:, :, :, mi].copy()  # (R, H+1, F)
        mu = np.maximum(sites[:, 1:], 1e-9)  # (horizon 0 is the as-of day: no noise)
        sites[:, 1:] = rng.negative_binomial(DISPERSION, DISPERSION / (DISPERSION + mu))
        noisy = np.concatenate([sites, sites.sum(axis=2, keepdims=True)], axis=2)
        q = quantiles_of(noisy, w)  # (H+1, F+1, Q)
        for h in range(days + 1):
            target = as_of + dt.timedelta(days=h)
            for fi, fac in enumerate([*fac_ids, ALL]):
                for qi, level in enumerate(QUANTILES):
                    rows.append((as_of, target, h, fac, metric, level, float(q[h, fi, qi])))
    frame = pd.DataFrame(rows, columns=list(HUB_COLUMNS))
    frame.attrs["ess"] = float(1.0 / np.sum(w_particle**2))
    frame.attrs["particles"] = len(plan)
    return frame


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
    """``popsim forecast``: write ``forecast.parquet`` and the forecast page."""
    from popsim.run.ensemble import default_out
    from popsim.twin.calibrate import observed_for
    from popsim.twin.pages import forecast_page

    t0 = time.perf_counter()
    if days < 1 or replicates < 1:
        raise PopsimError(f"--days ({days}) and --replicates ({replicates}) must be >= 1")
    spec = load_spec(spec_path)
    check_as_of(spec, as_of)
    observed = observed_for(spec, observed_path, zones_path)
    base = default_out(spec_path)
    draws = calibration_draws(spec, base)
    folder = Path(out) if out is not None else base / "forecast" / f"as_of={as_of}"
    folder.mkdir(parents=True, exist_ok=True)
    with sim.client(workers, scheduler) as c:
        frame = run_forecast(spec, observed, as_of, days, replicates, c, draws, progress=progress)
    atomic_write(folder / "forecast.parquet", lambda p: frame.to_parquet(p, index=False))
    forecast_page(folder, spec.name, frame, observed)
    seconds = time.perf_counter() - t0
    print(
        f"{spec.name}: forecast from {as_of}, {days} days, {replicates} replicates of "
        f"{frame.attrs['particles']} particles (effective {frame.attrs['ess']:.1f}) "
        f"in {seconds:.0f} s",
        file=sys.stdout,
    )
    print(f"forecast: {folder / 'forecast.parquet'}")
    return folder
