"""Scenario against baseline, paired by replicate (common random numbers).

Replicate ``r`` of every scenario shares its seeds with replicate ``r`` of the baseline,
so the difference ``scenario_r - baseline_r`` is the intervention's effect in that
replicate. Each measure's differences are summarised by their mean, median and 90%
interval (5th and 95th percentiles, linear) over the replicates present in both;
:func:`with_mean_interval` adds a Student t interval of the mean difference.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy import stats


def _pairs(
    per_replicate: pd.DataFrame, keys: list[str], measures: list[str], baseline: str
) -> pd.DataFrame:
    """Long pairs: scenario, replicate, keys, measure, value, value_baseline, diff."""
    data = per_replicate[["scenario", "replicate", *keys, *measures]]
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
    return pairs


def paired_differences(
    per_replicate: pd.DataFrame, keys: list[str], measures: list[str], baseline: str
) -> pd.DataFrame:
    """One row per (scenario != baseline, keys..., measure) with the paired differences.

    ``per_replicate`` has columns ``scenario, replicate, *keys, *measures``.
    """
    pairs = _pairs(per_replicate, keys, measures, baseline)
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


def with_mean_interval(
    out: pd.DataFrame,
    per_replicate: pd.DataFrame,
    keys: list[str],
    baseline: str,
    level: float,
    names: tuple[str, str],
) -> pd.DataFrame:
    """``out`` (from :func:`paired_differences`) with the two-sided Student t interval
    of each mean paired difference at ``level`` (0.90, 0.95) in the columns ``names``
    (low, high): ``mean -/+ t(level, n - 1) * sd / sqrt(n)``; NaN with fewer than two
    pairs."""
    low, high = names
    if out.empty:
        return out.assign(**{low: pd.Series(dtype=float), high: pd.Series(dtype=float)})
    measures = list(dict.fromkeys(out["measure"]))
    group = ["scenario", *keys, "measure"]
    g = _pairs(per_replicate, keys, measures, baseline).groupby(group, sort=False)["diff"]
    s = g.agg(["mean", "std", "size"]).reset_index()
    n = s["size"].to_numpy(float)
    with np.errstate(invalid="ignore", divide="ignore"):
        t = stats.t.ppf(0.5 + level / 2.0, np.where(n > 1, n - 1, np.nan))
        half = t * s["std"].to_numpy(float) / np.sqrt(n)
    s[low] = s["mean"] - half
    s[high] = s["mean"] + half
    return out.merge(s[[*group, low, high]], on=group, how="left")
