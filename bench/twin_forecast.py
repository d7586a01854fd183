"""A Fraser 28-day forecast with 100 replicates on a LocalCluster, end to end.

The "true" system is one replicate of runs/fraser.toml (baseline) run to the as-of date
plus 28 days, reported with negative-binomial noise (size 50); the forecast starts from
its observed census on the as-of date (target: under 60 s on 2 cores). Replicates are
branches of particles (``--branches`` per particle, the forecast's default if not
given). Prints the wall time and the CPU seconds of the forecast (this process and the
cluster's workers, counted when the cluster has shut down), and the forecast's WIS and
90% coverage on the 28 days that followed, against persistence.

Usage: python bench/twin_forecast.py [--replicates 100] [--workers 2] [--branches B]
       [--as-of 2026-11-15] [--days 28] [--population N]. The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import resource
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[1]
METRICS = ["admissions", "ward_census", "icu_census", "alc_census", "ed_boarding"]


def main() -> None:
    from popsim.run.spec import load_spec
    from popsim.twin.backtest import baseline
    from popsim.twin.forecast import BRANCHES, run_forecast
    from popsim.twin.observed import Observed, with_noise
    from popsim.twin.score import score_table
    from popsim.twin.sim import client, observed_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--as-of", type=dt.date.fromisoformat, default=dt.date(2026, 11, 15))
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--population", type=int, default=None)
    ap.add_argument("--branches", type=int, default=BRANCHES)
    args = ap.parse_args()
    spec = load_spec(REPO / "runs" / "fraser.toml")
    if args.population:
        spec = spec.with_overrides(population=args.population)
    as_of_day = (args.as_of - spec.start).days
    t0 = time.perf_counter()
    truth_spec = spec.model_copy(update={"seed": spec.seed + 1000})
    clean = observed_table(truth_spec, "baseline", 0, METRICS, days=as_of_day + 1 + args.days)
    t_truth = time.perf_counter() - t0
    noisy = with_noise(clean, np.random.default_rng(1), 50.0, METRICS)
    observed = Observed(noisy)
    t0 = time.perf_counter()
    cpu0 = time.process_time()
    children0 = resource.getrusage(resource.RUSAGE_CHILDREN)
    with client(args.workers) as c:
        t_cluster = time.perf_counter() - t0
        fc = run_forecast(
            spec,
            observed.until(args.as_of),
            args.as_of,
            args.days,
            args.replicates,
            c,
            branches=args.branches,
        )
    wall = time.perf_counter() - t0
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = time.process_time() - cpu0
    cpu += children.ru_utime + children.ru_stime - children0.ru_utime - children0.ru_stime
    ess = fc.attrs.get("ess", float("nan"))
    truth = observed.long(METRICS).rename(columns={"date": "target_date"})
    model = score_table(fc[fc["horizon"] > 0], truth)
    pers = score_table(baseline(observed, args.as_of, args.days, "persistence"), truth)
    out = {
        "replicates": args.replicates,
        "workers": args.workers,
        "days": args.days,
        "as_of": str(args.as_of),
        "branches": args.branches,
        "particles": fc.attrs["particles"],
        "forecast_wall_s": round(wall, 1),
        "forecast_cpu_s": round(cpu, 1),
        "cluster_start_s": round(t_cluster, 1),
        "truth_run_s": round(t_truth, 1),
        "ess": round(ess, 1),
        "wis_model": round(float(model["wis"].mean()), 2),
        "wis_persistence": round(float(pers["wis"].mean()), 2),
        "cover_90": round(float(model["cover_90"].mean()), 3),
        "cover_50": round(float(model["cover_50"].mean()), 3),
    }
    print(
        f"Fraser forecast, {args.replicates} replicates x {args.days} days from {args.as_of}"
        f" ({fc.attrs['particles']} particles) on {args.workers} workers: {wall:.1f} s end to"
        f" end (cluster start {t_cluster:.1f} s), {cpu:.0f} CPU seconds"
    )
    print(
        f"  mean WIS {out['wis_model']} vs persistence {out['wis_persistence']};"
        f" 90% coverage {out['cover_90']}, 50% coverage {out['cover_50']}"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
