"""Benchmark: what staffing adds to a Fraser year (2,000,000 residents, 365 days).

Runs the configuration of ``bench/fraser_year.py`` with the staffing module off and on,
alternating (off, on, off, on, ...) so both see the same machine load, and prints the
best run time of each, the ratio, and staffing's own seconds. The last line is one JSON
object. Run: ``python bench/fraser_staffing.py [residents] [repeats]``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from popsim.care.network import CareParams
from popsim.demand import DemandParams
from popsim.demography import DemographyParams
from popsim.epidemic.module import EpidemicParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.load import load_region
from popsim.staffing.module import StaffingParams


def run_once(region, residents: int, staffing: StaffingParams | None) -> dict[str, float]:
    config = ModelConfig(
        days=365,
        population=residents,
        epidemic=EpidemicParams(r0=1.3, seed_zones=[], seed_infections=50),
        demand=DemandParams(),
        demography=DemographyParams(),
        care=CareParams(),
        staffing=staffing,
    )
    t0 = time.perf_counter()
    model = RegionModel(region, config, seed=np.random.SeedSequence(2026))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    result = model.run()
    run_s = time.perf_counter() - t0
    out = {"build_s": build_s, "run_s": run_s, "staffing_s": model.seconds.get("staffing", 0.0)}
    if result.staff_day is not None:
        out["nurses"] = int((model.pop.nurse_post >= 0).sum())
        out["staff_rows"] = len(result.staff_day["day"])
    model.release()
    return out


def main() -> None:
    residents = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    repeats = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    region = load_region("fraser")
    runs: dict[str, list[dict[str, float]]] = {"off": [], "on": []}
    for _ in range(repeats):
        runs["off"].append(run_once(region, residents, None))
        runs["on"].append(run_once(region, residents, StaffingParams()))
    best = {k: min(runs[k], key=lambda r: r["build_s"] + r["run_s"]) for k in runs}
    total = {k: best[k]["build_s"] + best[k]["run_s"] for k in best}
    figures = {
        "residents": residents,
        "repeats": repeats,
        "off_build_s": round(best["off"]["build_s"], 3),
        "off_run_s": round(best["off"]["run_s"], 3),
        "on_build_s": round(best["on"]["build_s"], 3),
        "on_run_s": round(best["on"]["run_s"], 3),
        "staffing_s": round(best["on"]["staffing_s"], 3),
        "nurses": best["on"].get("nurses", 0),
        "added_share": round(total["on"] / total["off"] - 1.0, 4),
        "all_off_s": [round(r["build_s"] + r["run_s"], 3) for r in runs["off"]],
        "all_on_s": [round(r["build_s"] + r["run_s"], 3) for r in runs["on"]],
    }
    for key, value in figures.items():
        print(f"{key:>14}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
