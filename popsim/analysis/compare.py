"""Scenario against baseline, paired by replicate (common random numbers).

Replicate ``r`` of every scenario shares its seeds with replicate ``r`` of the baseline,
so the difference ``scenario_r - baseline_r`` is the intervention's effect in that
replicate. Each measure's differences are summarised by their mean, median and 90%
interval (5th and 95th percentiles, linear) over the replicates present in both.
"""

from __future__ import annotations

import pandas as pd


def paired_differences(
    per_replicate: pd.DataFrame, keys: list[str], measures: list[str], baseline: str
) -> pd.DataFrame:
    """One row per (scenario != baseline, keys..., measure) with the paired differences.

    ``per_replicate`` has columns ``scenario, replicate, *keys, *measures``.
    """
    cols = ["scenario", "replicate", *keys, *measures]
    data = per_replicate[cols]
    long = data.melt(
        id_vars=["scenario", "replicate", *keys], value_vars=measures, var_name="measure"
    )
    long["value"] = pd.to_numeric(long["value"], errors="coerce")
    base = long[long["scenario"] == baseline].drop(columns="scenario")
    other = long[long["scenario"] != baseline]
    on = ["replicate", *keys, "measure"]
    pairs = other.merge(base, on=on, suffixes=("", "_baseline"), how="inner")
    pairs = pairs.dropna(subset=["value", "value_baseline"])
    pairs["diff"] = pairs["value"] - pairs["value_baseline"]
    group = ["scenario", *keys, "measure"]
    if pairs.empty:
        return pd.DataFrame(
            columns=[
                *group,
                "n_pairs",
                "baseline_p50",
                "scenario_p50",
                "diff_mean",
                "diff_p5",
                "diff_p50",
                "diff_p95",
                "p_lower",
            ]
        )
    g = pairs.groupby(group, sort=False)
    out = g.agg(
        n_pairs=("diff", "size"),
        baseline_p50=("value_baseline", "median"),
        scenario_p50=("value", "median"),
        diff_mean=("diff", "mean"),
        diff_p5=("diff", lambda v: v.quantile(0.05)),
        diff_p50=("diff", "median"),
        diff_p95=("diff", lambda v: v.quantile(0.95)),
        p_lower=("diff", lambda v: float((v < 0).mean())),
    ).reset_index()
    out.insert(1, "baseline", baseline)
    return out
