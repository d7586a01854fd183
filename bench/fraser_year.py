"""Benchmark: the Fraser region scaled to 2,000,000 residents for 365 days, epidemic on.

Everyday demand, demography, long-term care and the care network run too. Prints the figures; the last
line is one JSON object. Run: ``python bench/fraser_year.py [residents]``.
"""

from __future__ import annotations

import json
import resource
import sys
import time

import numpy as np

from popsim.care.network import CareParams
from popsim.demand import DemandParams
from popsim.demography import DemographyParams
from popsim.epidemic.module import EpidemicParams
from popsim.ltc.params import LtcParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.load import load_region


def main() -> None:
    residents = int(sys.argv[1]) if len(sys.argv) > 1 else 2_000_000
    days = 365
    region = load_region("fraser")
    # r0 1.3 with 30% of transmission in households: a wave infecting about a third
    epidemic = EpidemicParams(r0=1.3, seed_zones=[], seed_infections=50)
    config = ModelConfig(
        days=days,
        population=residents,
        epidemic=epidemic,
        demand=DemandParams(),
        demography=DemographyParams(),
        care=CareParams(),
        ltc=LtcParams(),  # long-term care (regions/fraser/ltc.csv): on in Fraser's default
    )
    t0 = time.perf_counter()
    model = RegionModel(region, config, seed=np.random.SeedSequence(2026))
    build_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model.run()
    run_s = time.perf_counter() - t0
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    pop = model.pop
    modules = {f"{k}_s": round(v, 3) for k, v in model.seconds.items()}
    figures = {
        "residents": int(pop.n),
        "days": days,
        "region": region.name,
        "build_s": round(build_s, 3),
        "run_s": round(run_s, 3),
        "resident_days_per_s": round(pop.n * days / run_s),
        "epidemic_resident_days_per_s": round(pop.n * days / model.seconds["epidemic"]),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "attack_rate": round(model.epidemic.n_infections_total / pop.n, 4),
        "bytes_per_resident": round(pop.nbytes_per_resident(), 1),
        "modules": [m.name for m in model.modules],
        **modules,
    }
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    model.release()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
