"""The ``population`` analysis table: residents by year, zone, age band and sex.

From the run's ``population`` output (the living residents on the run's first day and on
each 1 January after it, per replicate): the median and 90% interval over replicates per
scenario, year, zone, age band and sex, with totals over zones (``All zones``), bands
(``All ages``) and sexes (``both``). Runs written before the output existed have none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import pandas as pd

from popsim.core.schema import POPULATION

if TYPE_CHECKING:
    from popsim.analysis.dataset import RunDataset

ALL_ZONES, ALL_AGES, BOTH = "All zones", "All ages", "both"


def population(ds: RunDataset) -> pd.DataFrame | None:
    """The table (see the module docstring); None when the run has no population output."""
    data = ds.read(POPULATION)
    if data is None or data.empty:
        return None
    keys = ["scenario", "replicate", "year", "date"]
    levels = {"zone": ALL_ZONES, "age_band": ALL_AGES, "sex": BOTH}
    frames = []
    for total_over in range(8):  # every combination of levels summed away
        cols = [c for i, c in enumerate(levels) if not total_over >> i & 1]
        g = data.groupby([*keys, *cols], observed=True)["residents"].sum().reset_index()
        for i, (c, name) in enumerate(levels.items()):
            if total_over >> i & 1:
                g[c] = name
        frames.append(g)
    per_rep = pd.concat(frames, ignore_index=True)
    g = per_rep.groupby(["scenario", "year", "date", *levels], sort=True)["residents"]
    out = g.agg(
        n_replicates="size",
        residents_p50="median",
        residents_p5=lambda v: v.quantile(0.05),
        residents_p95=lambda v: v.quantile(0.95),
    ).reset_index()
    return out
