"""Calibration on the small synthetic region: wall time of N trials on a LocalCluster, and
how well the hidden parameters are recovered.

The "true" system: one replicate of the synthetic region (20,000 residents, 120 days, an
epidemic seeded on day 30, bed limits off) with hidden demand.rel_admissions = 1.3 and
epidemic.r0 = 1.6, reported with negative-binomial noise (size 50). The calibration
starts from r0 = 2.0, rel_admissions = 1.0 and searches [0.5, 2.0] x [1.1, 2.2] with 4
replicates per trial (target: 200 trials on 2 workers in under 10 minutes).

Usage: python bench/twin_calibrate.py [--trials 200] [--workers 2] [--seed 99].
The last line is one JSON object.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

SPEC = """
name = "{name}"
region = "synthetic"
start = 2026-09-01
days = 120
seed = {seed}
record_journeys = false
[epidemic]
r0 = {r0}
seed_infections = 200
start_day = 30
[demand]
rel_admissions = {rel}
[care]
uncapped = true
"""
CALIBRATION = """
[calibration]
parameters = { "demand.rel_admissions" = [0.5, 2.0], "epidemic.r0" = [1.1, 2.2] }
targets = ["admissions", "ward_census", "icu_census"]
replicates_per_trial = 4
"""
HIDDEN = {"demand.rel_admissions": 1.3, "epidemic.r0": 1.6}
METRICS = ["admissions", "ward_census", "icu_census", "alc_census", "ed_boarding"]


def main() -> None:
    from popsim.run.spec import load_spec
    from popsim.twin.calibrate import calibrate
    from popsim.twin.observed import with_noise
    from popsim.twin.sim import observed_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--trials", type=int, default=200)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--seed", type=int, default=99, help="seed of the true system")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth = folder / "truth.toml"
        truth.write_text(
            SPEC.format(name="truth", seed=args.seed, r0=1.6, rel=1.3), encoding="utf-8"
        )
        clean = observed_table(load_spec(truth), "baseline", 0, METRICS)
        noisy = with_noise(clean, np.random.default_rng(args.seed), 50.0, METRICS)
        noisy.to_csv(folder / "observed.csv", index=False, float_format="%.0f")
        spec = folder / "fit.toml"
        spec.write_text(SPEC.format(name="fit", seed=1, r0=2.0, rel=1.0) + CALIBRATION)
        t0 = time.perf_counter()
        result = calibrate(
            spec,
            folder / "observed.csv",
            trials=args.trials,
            workers=args.workers,
            progress=False,
        )
        wall = time.perf_counter() - t0
        d = result.draws
        out = {
            "trials": args.trials,
            "workers": args.workers,
            "wall_s": round(wall, 1),
            "s_per_trial": round(wall / args.trials, 2),
            "hidden": HIDDEN,
            "estimate": result.best,
            "error_pct": {k: round(100 * (result.best[k] / v - 1), 1) for k, v in HIDDEN.items()},
            "n_accepted": len(d),
            "accepted_range": {k: [float(d[k].min()), float(d[k].max())] for k in HIDDEN},
            "covered": {k: bool(d[k].min() <= v <= d[k].max()) for k, v in HIDDEN.items()},
        }
    print(f"{args.trials} trials on {args.workers} workers: {wall:.0f} s")
    for k, v in HIDDEN.items():
        print(
            f"  {k}: hidden {v}, estimate {result.best[k]:.3f} ({out['error_pct'][k]:+.1f}%),"
            f" accepted {out['accepted_range'][k][0]:.3f}..{out['accepted_range'][k][1]:.3f}"
        )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
