"""Parameter uncertainty: a spec parameter may be a distribution, drawn per replicate.

In any module section of a spec (or a scenario's override of it)::

    [epidemic]
    r0 = { dist = "uniform", low = 1.2, high = 1.5 }
    [demand]
    rel_admissions = { dist = "normal", mean = 1.0, sd = 0.05 }
    rel_stay = { dist = "lognormal", median = 1.0, sigma = 0.1 }

Validation (:meth:`popsim.scenario.RunSpec.params`) sees each distribution's central
value (uniform: midpoint, normal: mean, lognormal: median), so a spec is checked as a
whole before anything runs. Replicate ``r`` of a run draws its own values from its own
random stream, ``SeedSequence(seed, spawn_key=(r, PARAMETER_STREAM))``, the same in
every scenario (common random numbers: scenarios differ by their interventions, not by
their parameter draws); the values drawn are recorded in the replicate's manifest
(``parameters``). A draw outside the parameter's allowed range is a model error of that
replicate.
"""

from __future__ import annotations

import math
import zlib
from typing import Any

import numpy as np

from popsim.modules import REGISTRY

#: A :class:`popsim.scenario.RunSpec` (not imported: the spec loader imports this module).
RunSpec = Any

#: Distributions and their keys.
DISTS: dict[str, tuple[str, ...]] = {
    "uniform": ("low", "high"),
    "normal": ("mean", "sd"),
    "lognormal": ("median", "sigma"),
}
#: The spawn key of the parameter stream (beside the replicate number).
PARAMETER_STREAM = zlib.crc32(b"parameters")


class DistributionError(ValueError):
    """A bad distribution table: ``key`` names the parameter, ``problem`` what is wrong."""

    def __init__(self, key: str, problem: str) -> None:
        self.key, self.problem = key, problem
        super().__init__(f"{key}: {problem}")


def is_distribution(value: Any) -> bool:
    return isinstance(value, dict) and "dist" in value


def check(value: dict[str, Any]) -> None:
    """ValueError naming what is wrong with a distribution's table."""
    kind = value.get("dist")
    if kind not in DISTS:
        raise ValueError(f"dist must be one of {', '.join(DISTS)}, got {kind!r}")
    keys = DISTS[kind]
    extra = set(value) - {"dist", *keys}
    if extra:
        raise ValueError(f"unknown key(s) {', '.join(sorted(extra))} for dist {kind!r}")
    for k in keys:
        v = value.get(k)
        if isinstance(v, bool) or not isinstance(v, int | float) or not math.isfinite(v):
            raise ValueError(f"dist {kind!r} needs a number {k}, got {v!r}")
    a, b = (float(value[k]) for k in keys)
    if kind == "uniform" and not a < b:
        raise ValueError(f"uniform needs low < high, got {a} and {b}")
    if kind in ("normal", "lognormal") and b < 0:
        raise ValueError(f"{kind} needs {keys[1]} >= 0, got {b}")
    if kind == "lognormal" and a <= 0:
        raise ValueError(f"lognormal needs median > 0, got {a}")


def central(value: dict[str, Any]) -> float:
    """The value validation sees: uniform midpoint, normal mean, lognormal median."""
    check(value)
    kind = value["dist"]
    if kind == "uniform":
        return (float(value["low"]) + float(value["high"])) / 2
    return float(value["mean"] if kind == "normal" else value["median"])


def draw(value: dict[str, Any], rng: np.random.Generator) -> float:
    check(value)
    kind = value["dist"]
    if kind == "uniform":
        return float(rng.uniform(value["low"], value["high"]))
    if kind == "normal":
        return float(rng.normal(value["mean"], value["sd"]))
    return float(math.exp(rng.normal(math.log(value["median"]), value["sigma"])))


def centralise(values: dict[str, Any]) -> dict[str, Any]:
    """A section's parameters with each distribution replaced by its central value
    (:class:`DistributionError` for a bad distribution)."""
    out = dict(values)
    for key, value in values.items():
        if is_distribution(value):
            try:
                out[key] = central(value)
            except ValueError as err:
                raise DistributionError(key, str(err)) from None
    return out


def distributions(spec: RunSpec, scenario: str) -> dict[str, dict[str, Any]]:
    """Dotted name -> distribution, of the parameters ``scenario`` runs with."""
    found: dict[str, dict[str, Any]] = {}
    override = spec.scenarios[scenario]
    for section in REGISTRY.names():  # every registered module's section
        merged = {**(getattr(spec, section) or {}), **(getattr(override, section) or {})}
        for key, value in merged.items():
            if is_distribution(value):
                found[f"{section}.{key}"] = value
    return dict(sorted(found.items()))


def replicate_values(spec: RunSpec, scenario: str, replicate: int) -> dict[str, float]:
    """The values replicate ``replicate`` draws (empty without distributions)."""
    dists = distributions(spec, scenario)
    if not dists:
        return {}
    rng = np.random.default_rng(
        np.random.SeedSequence(spec.seed, spawn_key=(replicate, PARAMETER_STREAM))
    )
    values = {}
    for name, dist in dists.items():
        v = draw(dist, rng)
        section, key = name.split(".", 1)
        current = getattr(spec.params(section, scenario), key)
        values[name] = (
            int(round(v)) if isinstance(current, int) and not isinstance(current, bool) else v
        )
    return values


def apply(spec: RunSpec, scenario: str, values: dict[str, float]) -> RunSpec:
    """A copy of ``spec`` with ``values`` in the base sections and in ``scenario``'s
    overrides where it overrides them (validated)."""
    if not values:
        return spec
    update: dict[str, Any] = {}
    sc = spec.scenarios[scenario]
    sc_update: dict[str, Any] = {}
    for name, value in values.items():
        section, key = name.split(".", 1)
        update.setdefault(section, dict(getattr(spec, section) or {}))[key] = value
        own = getattr(sc, section)
        if own and key in own:
            sc_update.setdefault(section, dict(own))[key] = value
    if sc_update:
        scenarios = dict(spec.scenarios)
        scenarios[scenario] = sc.model_copy(update=sc_update)
        update["scenarios"] = scenarios
    new = spec.model_copy(update=update)
    for section in {n.split(".", 1)[0] for n in values}:
        new.params(section, scenario)  # raises SpecError for a draw out of range
    return new
