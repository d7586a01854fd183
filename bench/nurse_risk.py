"""Benchmark: nurses' realised infection risk against other adults of their ages.

Runs a spec with staffing (default ``runs/fraser.toml``: influenza, 2.0 M residents) and
counts the season's infections of nurses (residents holding a nursing post) against
those expected at the attack rates of the other residents of their 10-year age bands
(20-69): the realised relative risk, to compare with Kuster et al., PLoS ONE 2011 (health
care workers against other working adults: about 1.5). The last line is one JSON object.

Usage: ``python bench/nurse_risk.py [spec] [--replicate R] [--rel X]`` (``--rel``: the
staffing section's ``rel_infection_at_work`` for this run).
"""

from __future__ import annotations

import argparse
import json
import tomllib
from pathlib import Path

import numpy as np


def main() -> None:
    from popsim.core.ages import N_AGE_BANDS
    from popsim.model import RegionModel
    from popsim.run.spec import RunSpec

    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default="runs/fraser.toml")
    ap.add_argument("--replicate", type=int, default=0)
    ap.add_argument("--rel", type=float, default=None)
    args = ap.parse_args()
    path = Path(args.spec)
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    if args.rel is not None:
        data.setdefault("staffing", {})["rel_infection_at_work"] = args.rel
    spec = RunSpec.from_dict(data, path, base_dir=path.parent)
    m = RegionModel.from_spec(spec, replicate=args.replicate)
    epi = m.epidemic
    infected = np.zeros(m.pop.n, dtype=bool)
    original = epi._infect

    def spy(model, ids):
        infected[ids] = True
        original(model, ids)

    epi._infect = spy
    susceptible_at_start = (epi.state == 0).copy()
    m.run()
    n0 = len(susceptible_at_start)
    nurse = m.pop.nurse_post[:n0] >= 0
    band = m.pop.band[:n0]
    sus = susceptible_at_start
    hit = infected[:n0]
    observed = expected = 0.0
    for b in range(2, 7):  # 20-69
        others = sus & ~nurse & (band == b)
        nurses = sus & nurse & (band == b)
        if others.sum() == 0 or nurses.sum() == 0:
            continue
        observed += hit[nurses].sum()
        expected += nurses.sum() * hit[others].mean()
    out = {
        "nurses": int(nurse.sum()),
        "nurse_infections": int(observed),
        "expected_at_others_rates": round(float(expected), 1),
        "relative_risk": round(float(observed / max(expected, 1e-9)), 3),
        "bands": N_AGE_BANDS,
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
