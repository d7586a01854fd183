"""Benchmark: the shape and burden of the shipped influenza season on Fraser.

Runs the default spec's first scenario (``runs/fraser.toml``: the influenza profile,
2.0 M residents, a year from September) and prints the season's shape from the weekly
new infections (weeks at or above half the peak week, the peak week's date), attack
rates of children (0-19) and adults against Somes et al. 2018 (22.5% and 10.7%), the
epidemic's hospitalisations per 10,000 (PHAC 3.2) and deaths per 100,000, and the mean
generation interval drawn. The last line is one JSON object.

Usage: ``python bench/flu_season.py [spec] [--replicate R] [--population N]``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json

import numpy as np


def main() -> None:
    from popsim.model import RegionModel

    ap = argparse.ArgumentParser()
    ap.add_argument("spec", nargs="?", default="runs/fraser.toml")
    ap.add_argument("--replicate", type=int, default=0)
    ap.add_argument("--population", type=int, default=None)
    args = ap.parse_args()
    m = RegionModel.from_spec(args.spec, replicate=args.replicate, population=args.population)
    epi = m.epidemic
    infected = np.zeros(m.pop.n, dtype=bool)
    original = epi._infect

    def spy(model, ids):
        infected[ids] = True
        original(model, ids)

    epi._infect = spy
    start = m.date
    m.run()
    daily = np.asarray(epi.daily_infections, dtype=np.float64)
    weeks = daily[: len(daily) // 7 * 7].reshape(-1, 7).sum(axis=1)
    peak = int(weeks.argmax())
    n = m.pop.n
    age = m.pop.age[:n]
    infected = infected[:n]
    child = age < 20
    out = {
        "weeks_at_or_above_half_peak": int((weeks >= weeks[peak] / 2).sum()),
        "peak_week_start": str(start + dt.timedelta(days=7 * peak)),
        "attack_children": round(float(infected[child].mean()), 4),
        "attack_adults": round(float(infected[~child].mean()), 4),
        "hospitalised_per_10k": round(1e4 * (epi.n_hospitalised + epi.n_severe_in_hospital) / n, 2),
        "deaths_in_hospital_per_100k": round(1e5 * epi.n_dies_total / n, 2),
        "deaths_outside_per_100k": round(1e5 * epi.n_deaths_outside / n, 2),
        "deaths_per_100k": round(1e5 * (epi.n_dies_total + epi.n_deaths_outside) / n, 2),
        "last_day_share_of_peak_day": round(float(daily[-1] / daily.max()), 3),
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
