"""Cautions a planner must read before the numbers: printed on the console and in the report.

- fewer than :data:`MIN_REPLICATES` replicates in a scenario: the 90% intervals are
  rough (a 5th or 95th percentile from fewer than 20 values is barely past the extremes);
- the epidemic still growing at the end of the run: more new infections (median over
  replicates) in the last week than in the week before, and the last day at least the
  earlier week's daily mean, so the run stops before the peak and totals are undercounts;
- a site (ward or ICU) over capacity on every open day of the run in the median
  replicate: its census is capped by beds and surge beds, so its answer is its bed
  demand, not its census.
"""

from __future__ import annotations

import pandas as pd

from popsim.analysis.capacity import ALL_SITES

#: Replicates below which the report says the intervals are rough (an assumption: with
#: n values the linear 5th/95th percentiles need n >= 20 to rest on more than the extremes).
MIN_REPLICATES = 20
#: Days compared at the end of the run for "still growing".
GROWTH_DAYS = 7


def cautions(
    replicates: dict[str, int],
    capacity: pd.DataFrame,
    epidemic_daily: pd.DataFrame | None,
    names: dict[str, str] | None = None,
    window: str = "all",
) -> list[str]:
    """The warnings for this analysis, one sentence each."""
    names = names or {}
    out: list[str] = []
    few = {s: n for s, n in replicates.items() if n < MIN_REPLICATES}
    if few:
        out.append(
            "fewer than 20 replicates ("
            + ", ".join(f"{s}: {n}" for s, n in few.items())
            + "): the 90% intervals are rough; run more replicates for firm intervals"
        )
    if epidemic_daily is not None and len(epidemic_daily):
        for sc, d in epidemic_daily.groupby("scenario", sort=False):
            v = d.sort_values("day")["new_infections_p50"].fillna(0).to_numpy()
            w = min(GROWTH_DAYS, len(v) // 2)
            if w == 0:
                continue
            last, before = float(v[-w:].sum()), float(v[-2 * w : -w].sum())
            if last > before and v[-1] > 0 and v[-1] >= before / w:
                out.append(
                    f"the epidemic is still growing on the last day in scenario {sc} "
                    f"({last:,.0f} new infections in the last {w} days against {before:,.0f} "
                    "in the days before, medians): the run ends before the peak, so its "
                    "totals are undercounts; run longer"
                )
    c = capacity[
        (capacity["window"] == window)
        & (capacity["unit"].isin(["ward", "icu"]))
        & (capacity["facility"] != ALL_SITES)
        & (capacity["open_days"] > 0)
    ]
    full = c[c["p_over_p50"] >= 1.0]
    for _, r in full.iterrows():
        site = names.get(r["facility"], r["facility"])
        out.append(
            f"{site} {r['unit']} is over capacity on every day in scenario {r['scenario']}: "
            f"its answer is its bed demand (95th percentile day {r['demand_p95_p50']:,.0f} "
            f"against {r['funded_beds']:,.0f} funded beds), not its census"
        )
    return out
