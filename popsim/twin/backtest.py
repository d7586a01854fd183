"""``popsim backtest``: forecasts from rolling origins, scored against what happened next.

Origins run every ``every`` days from ``first`` (default: four weeks after the spec's
start, so the conditioning window is full) to the day before the last observed date.
Each origin's forecast (:func:`popsim.twin.forecast.run_forecast`) sees only the data up
to its origin; it is kept in ``backtest/forecasts/as_of=<date>.parquet`` so an
interrupted backtest resumes with the origins still missing.

Parameters: as in a forecast (:func:`popsim.twin.forecast.particle_values`), the spec's
own table of draws (``[parameters] draws``, e.g. a calibrated spec's accepted draws) and
its distributions, else the accepted draws of a calibration of the spec
(``runs/<name>/calibration/draws.parquet``) when there is one, else the spec's values;
each particle of each forecast takes its own draw.

Every observed value after an origin (horizons 1..``days``) is scored
(:mod:`popsim.twin.score`) for the model and two point-forecast baselines:

- ``persistence``: the last value observed on or before the origin;
- ``last_week``: the value of the same weekday in the last observed week (the target
  date minus a whole number of weeks, the nearest on or before the origin).

``scores.csv``: per method, metric and horizon, the number of values, mean WIS, mean
absolute error of the median, and the 50% and 90% interval coverage (for a point
forecast coverage means "exactly right"); ``scores_detail.parquet``: one row per scored
value; and the page ``backtest.html`` + ``backtest.png``.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

from popsim.errors import PopsimError
from popsim.files import atomic_write, write_text
from popsim.run.spec import load_spec
from popsim.twin import obsmodel, sim
from popsim.twin.forecast import (
    calibration_draws,
    check_as_of,
    check_size,
    run_forecast,
    run_forecasts,
)
from popsim.twin.observed import ALL, Observed
from popsim.twin.score import HUB_COLUMNS, QUANTILES, score_table


def origins(observed: Observed, first: dt.date, every: int) -> list[dt.date]:
    """Forecast origins: ``first``, then every ``every`` days, before the last data day."""
    last = max(observed.dates)
    out = []
    day = first
    while day < last:
        out.append(day)
        day += dt.timedelta(days=every)
    return out


def baseline(observed: Observed, as_of: dt.date, days: int, method: str) -> pd.DataFrame:
    """A point forecast in hub format (every quantile the same value)."""
    known = observed.until(as_of).long()
    rows = []
    for (fac, metric), g in known.groupby(["facility", "metric"]):
        by_date = dict(zip(g["date"], g["value"], strict=True))
        latest = max(by_date)
        for h in range(1, days + 1):
            target = as_of + dt.timedelta(days=h)
            if method == "persistence":
                value = by_date[latest]
            else:
                back = target - dt.timedelta(days=7 * math.ceil(h / 7))
                while back not in by_date and back >= latest - dt.timedelta(days=28):
                    back -= dt.timedelta(days=7)
                value = by_date.get(back, by_date[latest])
            rows.extend((as_of, target, h, fac, metric, q, float(value)) for q in QUANTILES)
    return pd.DataFrame(rows, columns=list(HUB_COLUMNS))


def phases(observed: Observed, todo: list[dt.date], lead_days: int = 14) -> dict:
    """Each origin's phase of the wave, from the region's headline series (the epidemic's
    census when observed, else the ward census; ``all`` rows, else the sites' sum):
    ``growth`` when it is more than 10% higher ``lead_days`` later, ``decline`` when more
    than 10% lower, else ``peak`` (a label for the scores, read from what came after)."""
    metric = "epidemic_census" if "epidemic_census" in observed.metrics else "ward_census"
    if metric not in observed.metrics:
        return {d: "all" for d in todo}
    f = observed.facility
    rows = f[f["facility"] == ALL] if (f["facility"] == ALL).any() else f
    series = rows.groupby("date")[metric].sum(min_count=1).dropna()
    out = {}
    for d in todo:
        now = series[series.index <= d]
        later = series[series.index <= d + dt.timedelta(days=lead_days)]
        if now.empty or later.empty or now.iloc[-1] <= 0:
            out[d] = "unknown"
            continue
        ratio = later.iloc[-1] / now.iloc[-1]
        out[d] = "growth" if ratio > 1.1 else "decline" if ratio < 1 / 1.1 else "peak"
    return out


def summarise(detail: pd.DataFrame, by: tuple[str, ...] = ("horizon",)) -> pd.DataFrame:
    """Mean scores per method, metric and ``by`` (horizon; or week, phase)."""
    return (
        detail.groupby(["method", "metric", *by], observed=True)
        .agg(
            n=("wis", "size"),
            wis=("wis", "mean"),
            ae_median=("ae_median", "mean"),
            cover_50=("cover_50", "mean"),
            cover_90=("cover_90", "mean"),
        )
        .reset_index()
    )


def backtest(
    spec_path: str | Path,
    observed_path: str | Path,
    every: int = 7,
    days: int = 28,
    replicates: int = 50,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    first: dt.date | None = None,
    zones_path: str | Path | None = None,
    progress: bool = True,
    refit: bool = False,
    trials: int = 40,
) -> pd.DataFrame:
    """Run (or resume) a backtest; returns the summary table written to ``scores.csv``.
    ``refit``: at each origin, first a full calibration of the spec's ``[calibration]``
    (``trials`` trials) on the data up to that origin, whose accepted draws are that
    origin's parameters (``backtest/calibration/as_of=<date>/``)."""
    from tqdm import tqdm

    from popsim.run.ensemble import default_out
    from popsim.twin.pages import backtest_page

    if every < 1 or days < 1:
        raise PopsimError(f"--every ({every}) and --days ({days}) must be >= 1")
    t0 = time.perf_counter()
    spec = load_spec(spec_path)
    if refit:
        from popsim.twin.calibrate import check_trials

        check_trials(trials)
        if spec.calibration is None:
            raise PopsimError(f"{spec_path}: --refit needs a [calibration] section in the spec")
    observed = obsmodel.observed_of(spec, observed_path, zones_path)
    for note in observed.notes:
        print(note)
    base = default_out(spec_path)
    draws = calibration_draws(spec, base)
    folder = Path(out) if out is not None else base / "backtest"
    start = first or spec.start + dt.timedelta(days=28)
    todo = origins(observed, start, every)
    if not todo:
        raise PopsimError(
            f"{observed_path}: no observed data after the first origin {start} "
            f"(last observed {max(observed.dates)})"
        )
    last_run = spec.start + dt.timedelta(days=spec.days - 1)
    for as_of in todo:
        check_size(spec, check_as_of(spec, as_of), days, replicates)
    (folder / "forecasts").mkdir(parents=True, exist_ok=True)
    origin_draws = {}
    if refit:
        origin_draws = refits(
            spec_path, observed_path, folder, todo, trials, workers, scheduler, zones_path, progress
        )
    frames = {}
    stats = []
    missing = []
    for as_of in todo:
        path = folder / "forecasts" / f"as_of={as_of}.parquet"
        if path.is_file():
            frames[as_of] = pd.read_parquet(path)
        elif min(days, (last_run - as_of).days) >= 1:
            missing.append(as_of)
    horizons = [min(days, (last_run - as_of).days) for as_of in missing]

    def save(as_of: dt.date, fc: pd.DataFrame) -> None:
        path = folder / "forecasts" / f"as_of={as_of}.parquet"
        write_text(path.with_suffix(".json"), json.dumps(origin_stat(as_of, fc)))
        stats.append((as_of, fc.attrs["ess"], fc.attrs["ess_min"], fc.attrs["resampled"]))
        fc = fc[fc["horizon"] > 0]
        atomic_write(path, lambda p, f=fc: f.to_parquet(p, index=False))
        frames[as_of] = fc

    with sim.client(workers, scheduler) as c:
        if refit:  # each origin's own parameters: one filter per origin
            for a, h in tqdm(
                list(zip(missing, horizons, strict=True)),
                desc=f"backtest {spec.name}",
                disable=not progress,
                file=sys.stderr,
            ):
                save(
                    a, run_forecast(spec, observed, a, h, replicates, c, origin_draws.get(a, draws))
                )
        elif missing:  # one pass of the filter, the forecasts branched at each origin
            made = run_forecasts(
                spec, observed, missing, horizons, replicates, c, draws, progress=progress
            )
            for a, fc in zip(missing, made, strict=True):
                save(a, fc)
    frames = [frames[a] for a in sorted(frames)]
    for as_of, ess, ess_min, resampled in stats:
        print(
            f"origin {as_of}: filter ESS {ess:.1f} at the end, lowest {ess_min:.1f}, "
            f"{resampled} resamplings"
        )
    truth = observed.long().rename(columns={"date": "target_date"})
    phase = phases(observed, todo)
    detail = []
    for fc in frames:
        fc = fc.copy()
        fc["target_date"] = pd.to_datetime(fc["target_date"]).dt.date
        fc["as_of"] = pd.to_datetime(fc["as_of"]).dt.date
        as_of = fc["as_of"].iloc[0]
        h = int(fc["horizon"].max())
        for method, frame in (
            ("model", fc),
            ("persistence", baseline(observed, as_of, h, "persistence")),
            ("last_week", baseline(observed, as_of, h, "last_week")),
        ):
            scored = score_table(frame, truth)
            scored.insert(0, "method", method)
            scored["phase"] = phase.get(as_of, "unknown")
            detail.append(scored)
    detail_frame = pd.concat(detail, ignore_index=True) if detail else pd.DataFrame()
    if detail_frame.empty:
        raise PopsimError(
            f"{observed_path}: nothing to score: no value observed within --days {days} "
            f"after any origin ({todo[0]}..{todo[-1]}) of a metric the model forecasts"
        )
    detail_frame["week"] = (detail_frame["horizon"] + 6) // 7
    summary = summarise(detail_frame)
    by_week = summarise(detail_frame, ("week",))
    by_phase = summarise(detail_frame, ("phase",))
    atomic_write(
        folder / "scores_detail.parquet", lambda p: detail_frame.to_parquet(p, index=False)
    )
    write_text(folder / "scores.csv", summary.to_csv(index=False))
    write_text(folder / "scores_by_week.csv", by_week.to_csv(index=False))
    write_text(folder / "scores_by_phase.csv", by_phase.to_csv(index=False))
    backtest_page(folder, spec.name, summary)
    seconds = time.perf_counter() - t0
    print(f"{spec.name}: backtest of {len(todo)} origins in {seconds:.0f} s")
    print(headline(summary).to_string(index=False))
    cols = ["method", "metric", "n", "wis", "cover_50", "cover_90"]
    print(by_week[["week", *cols]].to_string(index=False))
    print(by_phase[["phase", *cols]].to_string(index=False))
    print(f"backtest: {folder / 'scores.csv'}")
    return summary


def origin_stat(as_of: dt.date, fc: pd.DataFrame) -> dict:
    """An origin's filter figures (``as_of=<date>.json`` beside its forecast)."""
    stat = {
        "as_of": str(as_of),
        "particles": fc.attrs["particles"],
        "ess": round(fc.attrs["ess"], 2),
        "ess_min": round(fc.attrs["ess_min"], 2),
        "resampled": fc.attrs["resampled"],
        "m_05": round(math.exp(fc.attrs["log_m"][0]), 3),
        "m_50": round(math.exp(fc.attrs["log_m"][1]), 3),
        "m_95": round(math.exp(fc.attrs["log_m"][2]), 3),
        "trend_50": round(fc.attrs["trend"][1], 3),
    }
    if "census_ratio" in fc.attrs:
        lo, mid, hi = fc.attrs["census_ratio"]
        stat |= {"census_ratio_05": round(lo, 3), "census_ratio_50": round(mid, 3),
                 "census_ratio_95": round(hi, 3)}  # fmt: skip
    return stat


def refits(
    spec_path: str | Path,
    observed_path: str | Path,
    folder: Path,
    todo: list[dt.date],
    trials: int,
    workers: int | None,
    scheduler: str | None,
    zones_path: str | Path | None,
    progress: bool,
) -> dict[dt.date, pd.DataFrame]:
    """``--refit``: the accepted draws of a calibration on the data up to each origin
    whose forecast is not on disk yet (each calibration resumes from its own journal)."""
    from popsim.twin.calibrate import calibrate

    out = {}
    for as_of in todo:
        if (folder / "forecasts" / f"as_of={as_of}.parquet").is_file():
            continue
        result = calibrate(
            spec_path,
            observed_path,
            trials=trials,
            workers=workers,
            scheduler=scheduler,
            out=folder / "calibration" / f"as_of={as_of}",
            zones_path=zones_path,
            progress=progress,
            fan_draws=0,
            until=as_of,
        )
        if result is None or result.draws.empty:
            raise PopsimError(f"{spec_path}: the calibration up to {as_of} accepted no draws")
        out[as_of] = result.draws
    return out


def headline(summary: pd.DataFrame) -> pd.DataFrame:
    """Mean WIS by method and horizon band (1-6, 7-13, 14-20, 21+ days), all metrics."""
    bands = pd.cut(
        summary["horizon"], [0, 6, 13, 20, np.inf], labels=["1-6", "7-13", "14-20", "21+"]
    )
    s = summary.assign(band=bands)
    table = s.pivot_table(
        index="band", columns="method", values="wis", aggfunc="mean", observed=True
    )
    cover = s[s["method"] == "model"].groupby("band", observed=True)["cover_90"].mean()
    table["model_cover_90"] = cover
    return table.reset_index()
