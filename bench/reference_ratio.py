"""Benchmark: fast engine against the one-mesa.Agent-per-resident reference engine.

Both run the same epidemic on the same synthetic region (200,000 residents by default:
small enough for the reference, large enough that the fast engine's fixed per-day cost
does not dominate) and seed, in one process
(the fast engine inside RegionModel, care network included). ``ratio`` compares the
same rules: the fast model's epidemic phase against the reference's whole step;
``whole_model_ratio`` counts the fast model's care network too. The last line is one JSON
object. Run: ``python bench/reference_ratio.py [residents] [days]``.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np

from popsim.epidemic import EpidemicParams
from popsim.model import ModelConfig, RegionModel
from popsim.reference import ReferenceModel
from popsim.synth import synthetic_region


def main() -> None:
    residents = int(sys.argv[1]) if len(sys.argv) > 1 else 200_000
    days = int(sys.argv[2]) if len(sys.argv) > 2 else 150
    region = synthetic_region(6, residents, 3, seed=1)
    params = EpidemicParams(r0=2.0)
    seed = np.random.SeedSequence(7)

    t0 = time.perf_counter()
    fast = RegionModel(region, ModelConfig(days=days, epidemic=params), seed=seed)
    fast.run()
    fast_s = time.perf_counter() - t0
    fast_epidemic_s = fast.seconds["epidemic"]
    fast_attack = fast.epidemic.n_infections_total / fast.pop.n
    fast.release()

    t0 = time.perf_counter()
    ref = ReferenceModel(region, params, seed=seed).run(days)
    ref_s = time.perf_counter() - t0
    ref_attack = ref.n_infections_total / ref.n_residents
    ref.release()

    # the same rules: the fast engine's epidemic phase against the reference's whole step
    fast_rate = residents * days / fast_epidemic_s
    ref_rate = residents * days / ref_s
    figures = {
        "residents": residents,
        "days": days,
        "fast_s": round(fast_s, 3),
        "fast_epidemic_s": round(fast_epidemic_s, 3),
        "reference_s": round(ref_s, 3),
        "fast_attack_rate": round(fast_attack, 4),
        "reference_attack_rate": round(ref_attack, 4),
        "fast_resident_days_per_s": round(fast_rate),
        "reference_resident_days_per_s": round(ref_rate),
        "ratio": round(fast_rate / ref_rate, 1),
        "fast_model_resident_days_per_s": round(residents * days / fast_s),
        "whole_model_ratio": round(ref_s / fast_s, 1),
    }
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
