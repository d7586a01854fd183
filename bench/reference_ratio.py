"""Benchmark: fast engine against the one-mesa.Agent-per-resident reference engine.

For each size (50,000 and 200,000 residents by default) both engines run the same
epidemic on the same synthetic region and seed, in this one process (the fast engine
inside RegionModel, care network included). ``ratio`` compares the same rules: the fast
model's epidemic phase against the reference's whole step (building its agents
included); ``whole_model_ratio`` counts the fast model's care network too. The fast
engine runs ``FAST_REPEATS`` times (the same seed, so the same epidemic) and its best
time counts: a run takes a fraction of a second, so on a shared machine one run
measures the neighbours as much as the engine; the reference runs once (seconds to
minutes, its noise averages out).

Prints a block per size; the last line is one JSON object: the smallest size's figures
at the top level (``residents``, ``days``, ``fast_resident_days_per_s``,
``reference_resident_days_per_s``, ``ratio``, ...) and every size's under ``sizes``.
Run: ``python bench/reference_ratio.py [residents ...] [--days N]``.
"""

from __future__ import annotations

import argparse
import json
import time

import numpy as np

from popsim.epidemic.module import EpidemicParams
from popsim.epidemic.reference import ReferenceModel
from popsim.model import ModelConfig, RegionModel
from popsim.region.synth import synthetic_region

SIZES = (50_000, 200_000)
FAST_REPEATS = 5


def measure(residents: int, days: int) -> dict[str, float | int]:
    """Both engines on one region and seed; the figures of this size."""
    region = synthetic_region(6, residents, 3, seed=1)
    params = EpidemicParams(r0=2.0)
    seed = np.random.SeedSequence(7)

    fast_s, fast_epidemic_s = [], []
    for _ in range(FAST_REPEATS):
        t0 = time.perf_counter()
        fast = RegionModel(region, ModelConfig(days=days, epidemic=params), seed=seed)
        fast.run()
        fast_s.append(time.perf_counter() - t0)
        fast_epidemic_s.append(fast.seconds["epidemic"])
        fast_attack = fast.epidemic.n_infections_total / fast.pop.n
        fast.release()

    t0 = time.perf_counter()
    ref = ReferenceModel(region, params, seed=seed).run(days)
    ref_s = time.perf_counter() - t0
    ref_attack = ref.n_infections_total / ref.n_residents
    ref.release()

    # the same rules: the fast engine's epidemic phase against the reference's whole step
    fast_rate = residents * days / min(fast_epidemic_s)
    ref_rate = residents * days / ref_s
    return {
        "residents": residents,
        "days": days,
        "fast_s": round(min(fast_s), 3),
        "fast_epidemic_s": round(min(fast_epidemic_s), 3),
        "fast_epidemic_s_runs": [round(s, 3) for s in fast_epidemic_s],
        "reference_s": round(ref_s, 3),
        "fast_attack_rate": round(fast_attack, 4),
        "reference_attack_rate": round(ref_attack, 4),
        "fast_resident_days_per_s": round(fast_rate),
        "reference_resident_days_per_s": round(ref_rate),
        "ratio": round(fast_rate / ref_rate, 1),
        "fast_model_resident_days_per_s": round(residents * days / min(fast_s)),
        "whole_model_ratio": round(ref_s / min(fast_s), 1),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("residents", nargs="*", type=int, default=list(SIZES))
    parser.add_argument("--days", type=int, default=150)
    args = parser.parse_args()
    sizes = [measure(n, args.days) for n in sorted(args.residents)]
    for figures in sizes:
        for key, value in figures.items():
            print(f"{key:>30}: {value}")
        print()
    summary = {
        **sizes[0],
        "fast_repeats": FAST_REPEATS,
        "ratio_by_residents": {str(s["residents"]): s["ratio"] for s in sizes},
        "sizes": sizes,
    }
    print(json.dumps(summary))


if __name__ == "__main__":
    main()
