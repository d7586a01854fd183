"""The calibration's estimate and accepted draws from its trials' log-likelihoods.

A trial's log-likelihood is a noisy estimate (its replicates are few), so the best trial
is partly the luckiest one. A quadratic fitted to the better trials (in parameters
scaled to [0, 1]) smooths that noise out: its maximum is the estimate, and the spread of
the trials around it (``noise_sd``, the residual standard deviation) is the Monte Carlo
noise of one trial's log-likelihood.

**Ridges.** Some parameters trade off: a higher ``r0`` with fewer seed infections gives
nearly the same epidemic curve, and the data then determine a combination of them, not
each one. The quadratic's curvature along such a direction (an eigenvector of its
Hessian) is nearly flat, or even the wrong way, so it has no maximum. A direction is
*flat* when moving half the search range along it costs less log-likelihood than the
acceptance cut (``chi2_p(0.95) / 2`` plus twice the trial noise): within the ranges
given, the data do not choose a point along it. The estimate is then the quadratic's
maximum across the determined directions, at the mean position along the flat ones of
the trials within the cut of the best (the best trial alone is partly the luckiest),
and each flat direction is reported (the parameters it moves, in their units); the
accepted draws lie along it, so a run with them carries that uncertainty. This is a
result, not a failed fit: a calibration of a ridge says which combination is known.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from popsim.twin.calspec import CHI2_95

#: Most accepted draws kept (the best by log-likelihood).
MAX_DRAWS = 200
#: A parameter takes part in a flat direction when its component of the (scaled)
#: direction is at least this share of the largest component.
RIDGE_COMPONENT = 0.2


@dataclass
class Surrogate:
    """The estimate: ``best`` (the quadratic's maximum, or the best trial when the
    trials are too few to fit it), ``max_ll``, ``noise_sd`` (a trial's Monte Carlo noise),
    ``fitted`` (a quadratic was fitted) and ``ridges`` (flat directions, see the module)."""

    best: dict[str, float]
    max_ll: float
    noise_sd: float
    fitted: bool
    ridges: list[dict[str, float]] = field(default_factory=list)

    def describe_ridges(self) -> list[str]:
        """One sentence per flat direction."""
        out = []
        for r in self.ridges:
            moves = " with ".join(f"{n} {d:+.3g}" for n, d in r.items())
            if len(r) > 1:
                out.append(
                    f"ridge: {moves} gives about the same likelihood (the data determine "
                    "their combination, not each one; the accepted draws lie along it)"
                )
            else:
                out.append(
                    f"not determined: {moves} gives about the same likelihood within its "
                    "range (the accepted draws span it)"
                )
        return out


def _design(x: np.ndarray) -> np.ndarray:
    p = x.shape[1]
    cols = [np.ones(len(x))] + [x[:, i] for i in range(p)]
    cols += [x[:, i] * x[:, j] for i in range(p) for j in range(i, p)]
    return np.column_stack(cols)


def surrogate(
    frame: pd.DataFrame, bounds: dict[str, tuple[float, float]], ints: set[str]
) -> Surrogate:
    """Fit the quadratic to the better half of the complete trials (at least three times
    as many trials as the quadratic has terms; else the best trial is the estimate)."""
    names = list(bounds)
    ok = frame[frame["state"] == "COMPLETE"].dropna(subset=["log_likelihood"])
    ok = ok.sort_values("log_likelihood", ascending=False)
    top = ok.iloc[0] if len(ok) else None
    p = len(names)
    n_terms = 1 + p + p * (p + 1) // 2
    use = ok.head(max(3 * n_terms, len(ok) // 2))
    fallback = Surrogate(
        {n: float(top[n]) for n in names} if top is not None else {},
        float(top["log_likelihood"]) if top is not None else float("nan"),
        0.0,
        False,
    )
    if len(use) < 3 * n_terms:
        return _typed(fallback, ints)
    lo = np.array([bounds[n][0] for n in names], dtype=float)
    hi = np.array([bounds[n][1] for n in names], dtype=float)
    x = (use[names].to_numpy(dtype=float) - lo) / (hi - lo)
    y = use["log_likelihood"].to_numpy(dtype=float)
    coef, *_ = np.linalg.lstsq(_design(x), y, rcond=None)
    resid = y - _design(x) @ coef
    noise_sd = float(np.sqrt(np.sum(resid**2) / max(1, len(y) - n_terms)))
    b = coef[1 : 1 + p]
    h = np.zeros((p, p))
    k = 1 + p
    for i in range(p):
        for j in range(i, p):
            h[i, j] += coef[k] if i != j else 2 * coef[k]
            if i != j:
                h[j, i] += coef[k]
            k += 1
    lam, vec = np.linalg.eigh(h)
    cut = CHI2_95[p - 1] / 2 + 2 * noise_sd
    # flat: half the range along the direction costs less than the acceptance cut
    flat = -lam * 0.5 * 0.5**2 < cut
    # along flat directions: the mean of the trials within the cut of the best (the best
    # trial alone is partly the luckiest); across the others, the quadratic's maximum
    x0 = x[y >= y[0] - cut].mean(axis=0)
    grad = b + h @ x0
    step = np.zeros(p)
    for i in np.flatnonzero(~flat):
        step -= vec[:, i] * (vec[:, i] @ grad) / lam[i]
    xs = np.clip(x0 + step, 0.0, 1.0)
    best = {n: float(lo[i] + xs[i] * (hi[i] - lo[i])) for i, n in enumerate(names)}
    ridges = []
    for i in np.flatnonzero(flat):
        v = vec[:, i] / np.max(np.abs(vec[:, i]))
        v = v if v[np.argmax(np.abs(v))] > 0 else -v
        part = {
            names[j]: float(v[j] * 0.5 * (hi[j] - lo[j]))  # half the range along it
            for j in range(p)
            if abs(v[j]) >= RIDGE_COMPONENT
        }
        ridges.append(part)
    max_ll = float((_design(xs[None]) @ coef)[0])
    return _typed(Surrogate(best, max_ll, noise_sd, True, ridges), ints)


def _typed(fit: Surrogate, ints: set[str]) -> Surrogate:
    for n in ints & set(fit.best):
        fit.best[n] = int(round(fit.best[n]))
    return fit


def accepted(
    frame: pd.DataFrame,
    names: list[str],
    fit: Surrogate | None = None,
    ints: set[str] = frozenset(),
) -> pd.DataFrame:
    """The accepted draws, best first: complete trials whose log-likelihood is within the
    95% likelihood-ratio distance ``chi2_p(0.95) / 2`` of the maximum, widened by twice
    the Monte Carlo noise of a trial's log-likelihood (a trial that far below could be
    as good as the best, unluckily estimated). Integer parameters as integers."""
    ok = frame[frame["state"] == "COMPLETE"].dropna(subset=["log_likelihood"])
    if ok.empty:
        return ok
    top = ok["log_likelihood"].max()
    slack = 0.0
    if fit is not None and fit.fitted:
        top = min(top, fit.max_ll)
        slack = 2.0 * fit.noise_sd
    cut = top - CHI2_95[len(names) - 1] / 2 - slack
    keep = ok[ok["log_likelihood"] >= cut].sort_values("log_likelihood", ascending=False)
    keep = keep.head(MAX_DRAWS).reset_index(drop=True)
    for n in ints:
        keep[n] = keep[n].round().astype("int64")
    return keep


def plain(v: Any) -> Any:
    """A numpy scalar as a Python number."""
    return v.item() if isinstance(v, np.generic) else v
