"""What a distance-decay choice of emergency department would do to Fraser's ED visits.

    .venv/bin/python regions/fraser/ed_choice.py [--beta 0.17 0.3] [--reach MINUTES]

The model sends every emergency of a zone to its nearest open ED (by the region's
zone-to-site travel minutes). The alternative tried here: a zone's emergencies split
among the open EDs in proportion to ``exp(-beta x minutes beyond the nearest)`` (a
multinomial logit in travel time, as hospital choice models are fitted), optionally
only among those within ``--reach`` minutes of the nearest. It prints, per site, the
ED visits the rule would give as a multiple of the nearest-site rule's, with visits in
proportion to each zone's residents (no run: the split alone).

``beta``: 0.17 a minute is the distance coefficient of Gutacker, Siciliani, Moscelli and
Gravelle, "Choice of hospital: which type of quality matters?", Journal of Health
Economics 50 (2016) 230-246, Table 3 (-0.265 per km, English NHS hip replacement
patients), converted to this region's minutes (a straight-line km is 1.3 road km at 50
km/h: 1.56 minutes). An elective choice: emergencies are more bound to the nearest site,
so it spreads patients more than an emergency rule would (an upper bound); 0.3 a minute
is a labelled assumption for a tighter emergency choice.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np

from popsim.region.load import load_region

HERE = Path(__file__).resolve().parent
#: Gutacker et al. (2016): -0.265 per straight-line km, over 1.56 minutes per km here.
BETA_PER_MINUTE = 0.17


def ed_shares(
    minutes: np.ndarray,
    open_ed: np.ndarray,
    population: np.ndarray,
    beta: float | None,
    reach: float | None = None,
) -> np.ndarray:
    """Expected visits per site (residents' share of each zone sent there, summed over
    zones). ``beta=None``: every zone to its nearest open ED."""
    out = np.zeros(minutes.shape[1])
    for z, people in enumerate(population):
        t = np.where(open_ed, minutes[z], np.inf)
        if not np.isfinite(t).any():
            continue
        extra = t - t.min()
        if beta is None:
            w = (extra == 0).astype(np.float64)
        else:
            w = np.where(np.isfinite(extra), np.exp(-beta * np.where(open_ed, extra, 0.0)), 0.0)
            if reach is not None:
                w[extra > reach] = 0.0
        out += people * w / w.sum()
    return out


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default=str(HERE))
    ap.add_argument("--beta", type=float, nargs="+", default=[BETA_PER_MINUTE, 0.3])
    ap.add_argument("--reach", type=float, default=None)
    args = ap.parse_args(argv)
    if any(b <= 0 for b in args.beta) or (args.reach is not None and args.reach < 0):
        print("--beta: expected > 0 a minute; --reach: expected >= 0 minutes", file=sys.stderr)
        return 2
    region = load_region(args.region)
    fac = region.facilities
    open_ed = (fac["has_ed"].astype(bool) & (fac["status"] == "open")).to_numpy()
    pop = region.zones["population"].to_numpy(dtype=np.float64)
    minutes = np.asarray(region.zone_facility_minutes, dtype=np.float64)
    nearest = ed_shares(minutes, open_ed, pop, None)
    rules = {b: ed_shares(minutes, open_ed, pop, b, args.reach) for b in args.beta}
    print(f"{'site':<22}" + "".join(f"{'beta ' + format(b, 'g'):>12}" for b in rules))
    for i, fid in enumerate(fac["facility_id"]):
        if open_ed[i] and nearest[i] > 0:
            print(f"{fid:<22}" + "".join(f"{r[i] / nearest[i]:>12.2f}" for r in rules.values()))
    return 0


if __name__ == "__main__":
    sys.exit(main())
