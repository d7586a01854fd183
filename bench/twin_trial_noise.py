"""Benchmark: the calibration's trial noise, the roughness of the log-likelihood surface.

A calibration's trials share their seeds (common random numbers), so the log-likelihood
should move smoothly with the parameters; what a tiny change of a parameter does beyond
a straight line is noise the sampler must see through. The true system is that of
``bench/twin_calibrate.py`` (synthetic region, 120 days, hidden r0 1.6 and
rel_admissions 1.3, negative-binomial reporting noise); the trial (4 replicates, as the
calibration runs it) is scored at ``--n`` values of r0 evenly spread over
1.6 +/- ``--half-width``, and the SD of the residuals from a straight-line fit is the
trial noise (an acceptance threshold of chi2_2(0.95) / 2 = 3.0 units, 1.92 for one
parameter). The last line is one JSON object.

Usage: ``python bench/twin_trial_noise.py [--n 12] [--half-width 0.01]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))

from twin_calibrate import CALIBRATION, METRICS, SPEC  # noqa: E402


def main() -> None:
    from popsim.run.spec import load_spec
    from popsim.twin import likelihood as lk
    from popsim.twin.calibrate import calibration_of, run_trial
    from popsim.twin.observed import load_observed, with_noise
    from popsim.twin.sim import observed_table

    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=12)
    ap.add_argument("--half-width", type=float, default=0.01)
    ap.add_argument("--seed", type=int, default=99)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        truth = folder / "truth.toml"
        truth.write_text(SPEC.format(name="truth", seed=args.seed, r0=1.6, rel=1.3))
        clean = observed_table(load_spec(truth), "baseline", 0, METRICS)
        noisy = with_noise(clean, np.random.default_rng(args.seed), 50.0, METRICS)
        noisy.to_csv(folder / "observed.csv", index=False, float_format="%.0f")
        path = folder / "fit.toml"
        path.write_text(SPEC.format(name="fit", seed=1, r0=2.0, rel=1.0) + CALIBRATION)
        spec = load_spec(path)
        cal = calibration_of(spec)
        region = spec.load_region()
        last = spec.start + dt.timedelta(days=spec.days - 1)
        obs = load_observed(folder / "observed.csv", region, spec.start, last)
        scenario = cal.scenario
        t = lk.targets(
            obs,
            cal.targets,
            region.facility_ids,
            spec.start,
            spec.start,
            last,
            cal.census_every_days,
            cal.flow_block_days,
        )
        r0s = np.linspace(1.6 - args.half_width, 1.6 + args.half_width, args.n)
        t0 = time.perf_counter()
        ll = np.array(
            [
                run_trial(
                    spec,
                    {"epidemic.r0": float(r0), "demand.rel_admissions": 1.3},
                    scenario,
                    cal.replicates_per_trial,
                    spec.days,
                    t,
                    cal.k,
                )
                for r0 in r0s
            ]
        )
        wall = time.perf_counter() - t0
    fit = np.polyval(np.polyfit(r0s, ll, 1), r0s)
    sd = float(np.std(ll - fit, ddof=2))
    out = {
        "r0": [round(float(x), 5) for x in r0s],
        "ll": [round(float(x), 2) for x in ll],
        "residual_sd": round(sd, 2),
        "range": round(float(ll.max() - ll.min()), 2),
        "seconds": round(wall, 1),
    }
    print(f"trial noise: SD {sd:.2f} log-likelihood units over r0 1.6 +/- {args.half_width}")
    print(json.dumps(out))


if __name__ == "__main__":
    main()
