"""The calibration's estimate from noisy trial log-likelihoods: a quadratic's maximum, and
ridges (parameters the data determine only in combination) reported, not a failed fit."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from popsim.twin.surrogate import accepted, surrogate

BOUNDS = {"epidemic.r0": (1.0, 3.0), "epidemic.seed_infections": (0.0, 400.0)}


def trials(ll_of, n: int = 200, noise: float = 0.5, seed: int = 4) -> pd.DataFrame:
    rng = np.random.default_rng(seed)
    u = rng.uniform(size=(n, 2))
    ll = ll_of(u[:, 0], u[:, 1]) + rng.normal(0, noise, n)
    frame = pd.DataFrame(
        {
            "trial": np.arange(n),
            "state": "COMPLETE",
            "epidemic.r0": 1.0 + 2.0 * u[:, 0],
            "epidemic.seed_infections": np.round(400.0 * u[:, 1]),
            "log_likelihood": ll - 500.0,
        }
    )
    return frame


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_ridge_is_reported_and_the_estimate_lies_on_it(seed):
    # only r0 + seeding is determined (scaled: u + v = 1)
    frame = trials(lambda u, v: -200.0 * (u + v - 1.0) ** 2, seed=seed)
    fit = surrogate(frame, BOUNDS, {"epidemic.seed_infections"})
    assert fit.fitted and len(fit.ridges) == 1
    (ridge,) = fit.ridges
    assert set(ridge) == set(BOUNDS)
    assert np.sign(ridge["epidemic.r0"]) != np.sign(ridge["epidemic.seed_infections"])
    u = (fit.best["epidemic.r0"] - 1.0) / 2.0
    v = fit.best["epidemic.seed_infections"] / 400.0
    assert abs(u + v - 1.0) < 0.05  # on the ridge (1/sqrt(200) of curvature: about 0.07)
    assert isinstance(fit.best["epidemic.seed_infections"], int)
    (line,) = fit.describe_ridges()
    assert line.startswith("ridge: epidemic.r0") and "epidemic.seed_infections" in line
    # the accepted draws lie along the ridge, spanning most of it
    draws = accepted(frame, list(BOUNDS), fit, {"epidemic.seed_infections"})
    assert draws["epidemic.r0"].max() - draws["epidemic.r0"].min() > 1.0
    assert draws["epidemic.seed_infections"].dtype == "int64"


def test_a_determined_maximum_has_no_ridge():
    frame = trials(lambda u, v: -300.0 * ((u - 0.3) ** 2 + (v - 0.6) ** 2))
    fit = surrogate(frame, BOUNDS, set())
    assert fit.fitted and fit.ridges == []
    assert fit.best["epidemic.r0"] == pytest.approx(1.6, abs=0.04)
    assert fit.best["epidemic.seed_infections"] == pytest.approx(240, abs=8)


def test_a_parameter_the_data_ignore_is_reported_alone():
    frame = trials(lambda u, v: -300.0 * (u - 0.3) ** 2)
    fit = surrogate(frame, BOUNDS, set())
    assert fit.ridges and set(fit.ridges[0]) == {"epidemic.seed_infections"}
    assert fit.describe_ridges()[0].startswith("not determined: epidemic.seed_infections")
    assert fit.best["epidemic.r0"] == pytest.approx(1.6, abs=0.04)
