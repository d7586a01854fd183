"""Ten years of Fraser with demography alone and with everyday demand (and care).

Prints the crude death and birth rates per 1,000 a year and the 65+ share at the end of
each run, then a JSON object. In-hospital deaths are part of all-cause mortality: the
two runs should agree (issue: deaths were counted twice with demand on).

    PYTHONPATH=. python bench/demography_decade.py [--population N] [--years N]
"""

from __future__ import annotations

import argparse
import json
import time
from datetime import date

from popsim.care.params import CareParams
from popsim.demand import DemandParams
from popsim.demography import DemographyParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.load import load_region


def run(region, population: int, years: int, demand: bool, seed: int) -> dict[str, float]:
    cfg = ModelConfig(
        days=365 * years,
        start=date(2026, 1, 1),
        population=population,
        demography=DemographyParams(),
        demand=DemandParams() if demand else None,
        care=CareParams(uncapped=True),
        record_journeys=False,
    )
    t0 = time.perf_counter()
    model = RegionModel(region, cfg, seed=seed)
    person_years = 0.0
    for _ in range(cfg.days):
        person_years += model.pop.n_alive / 365.0
        model.step()
    deaths = float(model.results().zone_counts("deaths").sum())
    pop = model.pop
    alive = pop.alive
    return {
        "deaths_per_1000": 1000 * deaths / person_years,
        "births_per_1000": 1000 * model.demography.n_births / person_years,
        "share_65_plus_end": float((pop.age[alive] >= 65).mean()),
        "residents_end": int(alive.sum()),
        "seconds": time.perf_counter() - t0,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--population", type=int, default=2_000_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=10)
    args = ap.parse_args()
    region = load_region("fraser")
    out = {}
    for demand in (False, True):
        key = "demography_and_demand" if demand else "demography_alone"
        out[key] = run(region, args.population, args.years, demand, args.seed)
        print(key, {k: round(v, 4) for k, v in out[key].items()}, flush=True)
    a, b = out["demography_alone"], out["demography_and_demand"]
    out["death_rate_ratio"] = b["deaths_per_1000"] / a["deaths_per_1000"]
    out["share_65_plus_difference_points"] = 100 * (b["share_65_plus_end"] - a["share_65_plus_end"])
    print(json.dumps(out))


if __name__ == "__main__":
    main()
