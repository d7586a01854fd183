"""Branching a running model: many forecast replicates from one simulated state.

A forecast replicate is a *branch* of a *particle*. A particle is one run of the spec
from its start to the as-of date (the epidemic's state on that day comes from the
model's own history); a branch is a copy of the particle's state on the as-of date,
given its own random streams, warm-started from the observed census and run on. The
particle's work (building the model and running to the as-of date, about three
quarters of a replicate's time at 2.0 million residents) is shared by its branches.

- :func:`built_model`: the model (population synthesised, modules set up: about a
  second at 2.0 million residents) built once per process for a region, configuration
  and seed; every particle starts from a copy of it (:func:`particle_model`), with its
  own random streams: the population, its prior immunity, the nurses and the initial
  census are the forecast's set-up, shared by its particles, not part of its
  uncertainty;
- :class:`BranchingModel`: a :class:`popsim.model.RegionModel` that remembers its named
  random streams, so that :meth:`BranchingModel.branch` can give a copy of it streams
  of another seed: the same streams a model built with that seed would draw from.

Seeds: particle ``k`` runs from the ensemble's seed of replicate ``k``
(:func:`popsim.core.seeds.replicate_seed`); branch ``j`` of particle ``k`` from
:func:`branch_seed` (a child of the particle's seed that no run or stream uses). A
branch's draws depend on ``(k, j)`` only, never on which other branches ran before it
or beside it.
"""

from __future__ import annotations

import copy
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim.core.seeds import replicate_seed, stream_seed
from popsim.model import RegionModel

if TYPE_CHECKING:
    from popsim.core.config import ModelConfig
    from popsim.region.load import Region

#: Stream name of the seeds of a particle's branches (a child of the particle's seed).
BRANCH_STREAM = "forecast.branch"


def particle_seed(seed: int, particle: int) -> np.random.SeedSequence:
    """The seed of particle ``particle``: the ensemble's seed of that replicate."""
    return replicate_seed(seed, particle)


def branch_seed(seed: int, particle: int, branch: int) -> np.random.SeedSequence:
    """The seed of branch ``branch`` of particle ``particle`` (spawn key
    ``(particle, crc32("forecast.branch"), branch)``: no ensemble replicate or stream has
    a key of that length and start)."""
    parent = stream_seed(particle_seed(seed, particle), BRANCH_STREAM)
    return np.random.SeedSequence(parent.entropy, spawn_key=(*parent.spawn_key, branch))


#: The model built in this process, as ``[region, config, seed, model]`` (one only: a
#: Fraser model holds a few hundred MB).
_BUILT: list[Any] = []


def built_model(region: Region, config: ModelConfig, seed: int) -> BranchingModel:
    """Replicate 0 of ``seed`` built (population synthesised, modules set up) and not
    stepped, kept for the next call with the same region, configuration and seed.
    Never stepped or changed: particles are copies of it."""
    if _BUILT and _BUILT[0] is region and _BUILT[1] == config and _BUILT[2] == seed:
        return _BUILT[3]
    if _BUILT:
        _BUILT.pop().release()
        _BUILT.clear()
    model = BranchingModel(region, config, particle_seed(seed, 0))
    _BUILT.extend([region, config, seed, model])
    return model


def particle_model(region: Region, config: ModelConfig, seed: int, particle: int):
    """The model of particle ``particle``, ready to step: a copy of :func:`built_model`
    (particle 0: exactly replicate 0 of an ensemble run of the spec; particle ``k``: the
    same population, set-up and initial census, drawing from replicate ``k``'s streams
    from its first day). Call :meth:`BranchingModel.release` on it when done."""
    base = built_model(region, config, seed)
    return base.branch(particle_seed(seed, particle) if particle else None)


class BranchingModel(RegionModel):
    """A :class:`RegionModel` whose state can be copied onto other random streams.

    Every stream a module asks for (:meth:`stream`) is remembered by name;
    :meth:`branch` deep-copies the model (the region and the configuration, read-only,
    are shared) and reseeds each remembered stream, in place, with the stream of that
    name of the new seed; later streams (the demand module's per-day streams) come from
    the new seed too. Mesa's own generators are reseeded as :class:`RegionModel` seeds
    them, and the staffing module's counter key (drawn from its stream at set-up) is
    drawn again from its reseeded stream.
    """

    def stream(self, name: str) -> np.random.Generator:
        """The named stream (see :meth:`RegionModel.stream`), remembered for branching."""
        gen = super().stream(name)
        self.__dict__.setdefault("_named_streams", {})[name] = gen
        return gen

    @property
    def named_streams(self) -> dict[str, np.random.Generator]:
        """The streams handed out so far, by name (the latest of each name)."""
        return self.__dict__.setdefault("_named_streams", {})

    def branch(self, seed: np.random.SeedSequence | None) -> BranchingModel:
        """A copy of this model in its current state drawing from ``seed``'s streams from
        now on (``None``: a copy drawing on from the same streams); this model is not
        changed. Call :meth:`release` on the copy when done."""
        memo: dict[int, Any] = {id(self.region): self.region, id(self.config): self.config}
        new = copy.deepcopy(self, memo)
        if seed is not None:
            new.reseed(seed)
        return new

    def reseed(self, seed: np.random.SeedSequence) -> None:
        """From now on, draw every stream from ``seed`` instead of the model's seed."""
        self.seed_sequence = seed
        for name, gen in self.named_streams.items():
            fresh = np.random.default_rng(stream_seed(seed, name))
            gen.bit_generator.state = fresh.bit_generator.state
        mesa_seed = int(np.random.default_rng(stream_seed(seed, "mesa")).integers(2**31 - 1))
        self.random.seed(mesa_seed)
        self.rng.bit_generator.state = np.random.default_rng(mesa_seed).bit_generator.state
        staffing = getattr(self, "staffing", None)
        if staffing is not None and hasattr(staffing, "key"):
            # counter-keyed draws (sickness, strikes) are a function of this key
            staffing.key = int(staffing.rng.integers(2**62))
