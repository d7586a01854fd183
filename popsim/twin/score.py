"""Scoring quantile forecasts the way the forecast hubs do.

A forecast is a set of predictive quantiles per (as_of, target_date, facility, metric),
in the hub's long format ``as_of, target_date, horizon, facility, metric, quantile,
value`` with the quantile levels :data:`QUANTILES` (the 23-level set of the COVID-19
Forecast Hubs less its two outermost, 0.01 and 0.99: 0.025 ... 0.975, that is the median
and 10 central intervals, 10% to 95%).

Scores (Bracher, Ray, Gneiting and Reich 2021, "Evaluating epidemic forecasts in an
interval format", PLoS Comput Biol 17(2): e1008618):

- interval score of the central ``(1 - alpha)`` interval ``[l, u]`` for the value ``y``::

      IS_alpha = (u - l) + 2/alpha * (l - y) * 1{y < l} + 2/alpha * (y - u) * 1{y > u}

- weighted interval score over K intervals and the median ``m``, with weights
  ``w_0 = 1/2`` and ``w_k = alpha_k / 2``::

      WIS = (w_0 |y - m| + sum_k w_k IS_alpha_k) / (K + 1/2)

  (a proper score; it approximates the CRPS, and for a point forecast it is the
  absolute error);
- coverage of the 50% and 90% central intervals (share of values inside ``[l, u]``);
- absolute error of the median.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

#: Quantile levels of a forecast (symmetric around the median).
QUANTILES: tuple[float, ...] = (
    0.025,
    0.05,
    *(round(0.1 + 0.05 * i, 2) for i in range(17)),
    0.95,
    0.975,
)
#: Columns of a forecast table in hub format.
HUB_COLUMNS: tuple[str, ...] = (
    "as_of",
    "target_date",
    "horizon",
    "facility",
    "metric",
    "quantile",
    "value",
)


def interval_alphas(levels: tuple[float, ...] = QUANTILES) -> list[float]:
    """The ``alpha`` of each central interval a symmetric quantile set holds (ascending)."""
    lower = sorted(q for q in levels if q < 0.5)
    return [round(2 * q, 10) for q in lower]


def interval_score(lower: np.ndarray, upper: np.ndarray, y: np.ndarray, alpha: float) -> np.ndarray:
    """Interval score of the central ``1 - alpha`` interval (elementwise)."""
    lower, upper, y = (np.asarray(a, dtype=float) for a in (lower, upper, y))
    below = np.maximum(lower - y, 0.0)
    above = np.maximum(y - upper, 0.0)
    return (upper - lower) + (2.0 / alpha) * (below + above)


def wis(quantiles: np.ndarray, y: np.ndarray, levels: tuple[float, ...] = QUANTILES) -> np.ndarray:
    """Weighted interval score. ``quantiles`` is ``(..., len(levels))`` (ascending levels),
    ``y`` the observed values (shape ``...``). Returns one score per value."""
    q = np.asarray(quantiles, dtype=float)
    y = np.asarray(y, dtype=float)
    levels = tuple(levels)
    if q.shape[-1] != len(levels):
        raise ValueError(f"expected {len(levels)} quantiles per forecast, got {q.shape[-1]}")
    if 0.5 not in levels:
        raise ValueError("the quantile levels must include the median, 0.5")
    median = q[..., levels.index(0.5)]
    total = 0.5 * np.abs(y - median)
    alphas = interval_alphas(levels)
    for alpha in alphas:
        lo = levels.index(min(levels, key=lambda v: abs(v - alpha / 2)))
        hi = levels.index(min(levels, key=lambda v: abs(v - (1 - alpha / 2))))
        total = total + (alpha / 2) * interval_score(q[..., lo], q[..., hi], y, alpha)
    return total / (len(alphas) + 0.5)


def coverage(quantiles: np.ndarray, y: np.ndarray, width: float, levels=QUANTILES) -> np.ndarray:
    """1.0 where ``y`` lies in the central ``width`` interval (e.g. 0.9), else 0.0."""
    q = np.asarray(quantiles, dtype=float)
    lo = levels.index(min(levels, key=lambda v: abs(v - (1 - width) / 2)))
    hi = levels.index(min(levels, key=lambda v: abs(v - (1 + width) / 2)))
    y = np.asarray(y, dtype=float)
    return ((q[..., lo] <= y) & (y <= q[..., hi])).astype(float)


def quantiles_of(samples: np.ndarray, weights: np.ndarray | None = None, levels=QUANTILES):
    """Predictive quantiles (last axis: ``levels``) of samples along axis 0, optionally
    weighted.

    An ensemble's own quantiles make intervals too narrow for a new value: with 30 equal
    members, the 5%-95% range between the usual empirical quantiles holds a new draw from
    the same distribution only about 87% of the time. Each sorted member therefore sits
    at the Weibull plotting position, its cumulative weight times ``n / (n + 1)`` (for equal
    weights ``i / (n + 1)``, Hyndman and Fan 1996, definition 6), under which a new
    exchangeable draw falls below the i-th member with probability ``i / (n + 1)``: a
    nominal 90% interval then covers 90% of new draws. Levels outside the members'
    positions take the smallest or largest member.
    """
    s = np.asarray(samples, dtype=float)
    n = len(s)
    if weights is None:
        return np.moveaxis(np.quantile(s, levels, axis=0, method="weibull"), 0, -1)
    w = np.asarray(weights, dtype=float)
    w = w / w.sum()
    order = np.argsort(s, axis=0)
    sorted_s = np.take_along_axis(s, order, axis=0)
    cw = np.cumsum(w[order], axis=0) * (n / (n + 1))
    flat_s = sorted_s.reshape(len(s), -1)
    flat_w = cw.reshape(len(s), -1)
    out = np.empty((flat_s.shape[1], len(levels)))
    for j in range(flat_s.shape[1]):
        out[j] = np.interp(levels, flat_w[:, j], flat_s[:, j])
    return out.reshape(*s.shape[1:], len(levels))


def score_table(forecast: pd.DataFrame, truth: pd.DataFrame) -> pd.DataFrame:
    """Scores of a hub-format forecast against ``truth`` (``target_date, facility, metric,
    value``): one row per forecast target that was observed, with ``wis``, ``ae_median``,
    ``cover_50`` and ``cover_90``."""
    keys = ["as_of", "target_date", "horizon", "facility", "metric"]
    wide = forecast.pivot_table(index=keys, columns="quantile", values="value", aggfunc="first")
    levels = tuple(float(c) for c in wide.columns)
    wide = wide.reset_index()
    merged = wide.merge(
        truth.rename(columns={"value": "observed"}),
        on=["target_date", "facility", "metric"],
        how="inner",
    )
    merged = merged.dropna(subset=["observed"])
    q = merged[list(wide.columns[len(keys) :])].to_numpy(dtype=float)
    y = merged["observed"].to_numpy(dtype=float)
    out = merged[keys].copy()
    out["observed"] = y
    out["median"] = q[:, levels.index(0.5)] if len(q) else np.zeros(0)
    out["wis"] = wis(q, y, levels) if len(q) else np.zeros(0)
    out["ae_median"] = np.abs(y - out["median"].to_numpy())
    out["cover_50"] = coverage(q, y, 0.5, levels) if len(q) else np.zeros(0)
    out["cover_90"] = coverage(q, y, 0.9, levels) if len(q) else np.zeros(0)
    return out.reset_index(drop=True)
