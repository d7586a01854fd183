"""Benchmark: common random numbers of the epidemic between paired scenarios.

Runs the default Fraser spec (``runs/fraser.toml``: influenza, staffing on, 2.0 M
residents) as two scenarios with the same seed: today's sites, and 100 fewer funded ward
beds at Surrey Memorial from day 0. Prints how far the epidemic moved: total epidemic
hospitalisations (relative change), daily new infections (share of days within 1%,
first day that differs), deaths. The last line is one JSON object.

Usage: ``python bench/epidemic_crn.py [spec] [--replicate R] [--days N]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np


def run(spec, scenario: str, replicate: int, days: int | None):
    from popsim.model import RegionModel

    t0 = time.perf_counter()
    m = RegionModel.from_spec(spec, scenario=scenario, replicate=replicate, days=days)
    m.run()
    e = m.epidemic
    return {
        "daily": np.asarray(e.daily_infections, dtype=np.int64),
        "hospitalised": e.n_hospitalised + e.n_severe_in_hospital,
        "dies": e.n_dies_total,
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    import tomllib
    from pathlib import Path

    from popsim.run.spec import RunSpec

    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default="runs/fraser.toml")
    ap.add_argument("--replicate", type=int, default=0)
    ap.add_argument("--days", type=int, default=None)
    ap.add_argument("--facility", default="surrey-memorial")
    ap.add_argument("--beds", type=int, default=-100)
    args = ap.parse_args()
    path = Path(args.spec)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    event = {"day": 0, "facility": args.facility, "ward_beds": args.beds}
    data["scenarios"] = {"base": {}, "cut": {"events": [event]}}
    cut = RunSpec.from_dict(data, path, base_dir=path.parent)
    a = run(cut, "base", args.replicate, args.days)
    b = run(cut, "cut", args.replicate, args.days)
    da, db = a["daily"], b["daily"]
    differ = np.flatnonzero(da != db)
    rel = np.abs(db - da) / np.maximum(da, 1)
    active = da >= 10  # days of the wave (a change of 1 in 3 is not a 1% question)
    out = {
        "hospitalised": [a["hospitalised"], b["hospitalised"]],
        "hospitalised_change_pct": round(
            100 * (b["hospitalised"] / max(a["hospitalised"], 1) - 1), 3
        ),
        "infections": [int(da.sum()), int(db.sum())],
        "days": len(da),
        "days_differ": len(differ),
        "first_day_differs": int(differ[0]) if len(differ) else None,
        "share_days_within_1pct": round(float((rel < 0.01).mean()), 4),
        "share_wave_days_within_1pct": round(float((rel[active] < 0.01).mean()), 4),
        "dies": [a["dies"], b["dies"]],
        "seconds": [round(a["seconds"], 1), round(b["seconds"], 1)],
    }
    print(
        f"epidemic hospitalisations {a['hospitalised']} -> {b['hospitalised']}"
        f" ({out['hospitalised_change_pct']:+.2f}%); daily infections differ on"
        f" {len(differ)} of {len(da)} days, within 1% on"
        f" {100 * out['share_days_within_1pct']:.1f}% of days"
    )
    print(json.dumps(out))


if __name__ == "__main__":
    main()
