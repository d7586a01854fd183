"""The twin experiment on Fraser: a "true" system with hidden parameters, the calibration
that recovers them, and a backtest of the calibrated twin against two baselines.

1. Truth: one replicate of the Fraser region (an influenza wave seeded in Surrey on day
   7, the default spec's everyday demand) with hidden ``demand.rel_admissions = 1.15``
   and ``epidemic.r0 = 2.0``, reported with negative-binomial noise (size 50): each
   site's admissions, ward, ICU and ALC census, ED boarding, and the epidemic's own
   admissions and census.
2. Calibration (``popsim calibrate``) from the spec's values (1.0 and the influenza
   profile's 1.8) over [0.7, 1.6] x [1.4, 2.6], 2 replicates per trial, targets
   admissions, ward and ICU census and epidemic admissions.
3. Backtest (``popsim backtest``) of the calibrated spec with its accepted draws
   (``[parameters] draws``, one draw per replicate): origins every ``--every`` days from
   day 56, 28 days ahead, scored against persistence and same-weekday-last-week.

The region is scaled to ``--population`` residents (default 500,000, a quarter of
Fraser's 2.0 million; beds as in the region, so sites run below capacity) so that the
whole experiment takes minutes on two cores; ``--population 2000000`` for full scale.

Usage: python bench/twin_fraser.py [--trials 60] [--population 500000] [--days 150]
       [--replicates 30] [--every 14] [--workers 2] [--out DIR].
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import tempfile
import time
from pathlib import Path

import numpy as np
import pandas as pd

SPEC = """
name = "{name}"
region = "fraser"
start = 2026-09-01
days = {days}
population = {population}
seed = {seed}
record_journeys = false

[epidemic]
pathogen = "influenza"
seed_infections = 500
seed_zones = ["surrey"]
start_day = 7
{r0}
[demand]
winter_amplitude = 0.08
rel_admissions = {rel}
"""
CALIBRATION = """
[calibration]
parameters = { "demand.rel_admissions" = [0.7, 1.6], "epidemic.r0" = [1.4, 2.6] }
targets = ["admissions", "ward_census", "icu_census", "epidemic_admissions"]
replicates_per_trial = 2
"""
HIDDEN = {"demand.rel_admissions": 1.15, "epidemic.r0": 2.0}
METRICS = [
    "admissions",
    "ward_census",
    "icu_census",
    "alc_census",
    "ed_boarding",
    "epidemic_admissions",
    "epidemic_census",
]
BANDS = [(1, 7), (8, 14), (15, 21), (22, 28)]


def by_horizon(detail: pd.DataFrame) -> pd.DataFrame:
    """Mean WIS per method and the model's 50%/90% coverage, per week of horizon, over
    every scored value of the sites and metrics whose observed series is not all zero (a
    closed site, or ED boarding when beds never run out, is trivially forecast)."""
    model = detail[detail["method"] == "model"]
    moving = model.groupby(["facility", "metric"])["observed"].apply(lambda s: (s != 0).any())
    keep = set(moving[moving].index)
    pairs = pd.Series(list(zip(detail["facility"], detail["metric"], strict=True)))
    detail = detail[pairs.isin(keep).to_numpy()]
    rows = []
    for lo, hi in BANDS:
        d = detail[(detail["horizon"] >= lo) & (detail["horizon"] <= hi)]
        if d.empty:
            continue
        wis = d.groupby("method")["wis"].mean()
        model = d[d["method"] == "model"]
        rows.append(
            {
                "horizon": f"{lo}-{hi}",
                "n": len(model),
                "wis_model": wis.get("model", np.nan),
                "wis_persistence": wis.get("persistence", np.nan),
                "wis_last_week": wis.get("last_week", np.nan),
                "cover_50": model["cover_50"].mean(),
                "cover_90": model["cover_90"].mean(),
            }
        )
    return pd.DataFrame(rows)


def main() -> None:
    from popsim.run.spec import load_spec
    from popsim.twin.backtest import backtest
    from popsim.twin.calibrate import calibrate
    from popsim.twin.observed import with_noise
    from popsim.twin.sim import observed_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=60)
    ap.add_argument("--population", type=int, default=500_000)
    ap.add_argument("--days", type=int, default=150)
    ap.add_argument("--replicates", type=int, default=30, help="per backtest forecast")
    ap.add_argument("--every", type=int, default=14, help="days between backtest origins")
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=99, help="seed of the true system")
    ap.add_argument("--out", type=Path, default=None, help="keep the outputs here")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = args.out or Path(tmp)
        folder.mkdir(parents=True, exist_ok=True)
        common = {"days": args.days, "population": args.population}
        t0 = time.perf_counter()
        truth = folder / "truth.toml"
        truth.write_text(
            SPEC.format(
                name="truth",
                seed=args.seed,
                r0=f"r0 = {HIDDEN['epidemic.r0']}",
                rel=HIDDEN["demand.rel_admissions"],
                **common,
            ),
            encoding="utf-8",
        )
        clean = observed_table(load_spec(truth), "baseline", 0, METRICS)
        noisy = with_noise(clean, np.random.default_rng(args.seed), 50.0, METRICS)
        observed = folder / "observed.csv"
        noisy.to_csv(observed, index=False, float_format="%.0f")
        t_truth = time.perf_counter() - t0

        spec = folder / "fit.toml"
        text = SPEC.format(name="fit", seed=1, r0="", rel=1.0, **common) + CALIBRATION
        spec.write_text(text, encoding="utf-8")
        t0 = time.perf_counter()
        result = calibrate(spec, observed, trials=args.trials, workers=args.workers, progress=False)
        t_cal = time.perf_counter() - t0

        calibrated = result.folder / "calibrated.toml"
        text = calibrated.read_text(encoding="utf-8")
        text = text.replace(
            '# [parameters]\n# draws = "draws.parquet"', '[parameters]\ndraws = "draws.parquet"'
        )
        calibrated.write_text(text, encoding="utf-8")
        start = load_spec(calibrated).start
        t0 = time.perf_counter()
        backtest(
            calibrated,
            observed,
            every=args.every,
            days=28,
            replicates=args.replicates,
            workers=args.workers,
            first=start + dt.timedelta(days=56),
            progress=False,
        )
        t_back = time.perf_counter() - t0
        detail = pd.read_parquet(
            calibrated.parent / "calibrated" / "backtest" / "scores_detail.parquet"
        )
        table = by_horizon(detail)
        d = result.draws
        recovered = {
            k: {
                "hidden": v,
                "estimate": round(float(result.best[k]), 4),
                "error_pct": round(100 * (result.best[k] / v - 1), 1),
                "accepted": [round(float(d[k].min()), 4), round(float(d[k].max()), 4)],
                "covered": bool(d[k].min() <= v <= d[k].max()),
            }
            for k, v in HIDDEN.items()
        }
    print(
        f"Fraser twin, {args.population:,} residents, {args.days} days; truth {t_truth:.0f} s, "
        f"calibration {args.trials} trials {t_cal:.0f} s, backtest {t_back:.0f} s "
        f"({args.workers} workers)"
    )
    for k, r in recovered.items():
        print(
            f"  {k}: hidden {r['hidden']}, estimate {r['estimate']:.3f} ({r['error_pct']:+.1f}%), "
            f"{len(d)} accepted draws {r['accepted'][0]:.3f}..{r['accepted'][1]:.3f}"
            f" ({'covers' if r['covered'] else 'MISSES'} the truth)"
        )
    print("backtest by horizon (days), every site and metric with a non-zero observed series:")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    out = {
        "population": args.population,
        "days": args.days,
        "trials": args.trials,
        "seconds": {
            "truth": round(t_truth),
            "calibration": round(t_cal),
            "backtest": round(t_back),
        },
        "recovered": recovered,
        "backtest": table.to_dict(orient="records"),
    }
    print(json.dumps(out, default=float))


if __name__ == "__main__":
    main()
