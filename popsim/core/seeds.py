"""Seeds: one :class:`numpy.random.SeedSequence` per replicate, one stream per name.

Replicate ``r`` of every scenario runs from ``SeedSequence(seed, spawn_key=(r,))``:
common random numbers, so a difference between scenarios is the intervention's, not
noise. Each module draws from its own named child of the replicate's sequence, so
switching a module on or off leaves the other modules' draws unchanged.
"""

from __future__ import annotations

import zlib

import numpy as np


def replicate_seed(seed: int, replicate: int) -> np.random.SeedSequence:
    """The seed of replicate ``replicate``: the same for every scenario."""
    return np.random.SeedSequence(seed, spawn_key=(replicate,))


def stream_seed(seq: np.random.SeedSequence, name: str) -> np.random.SeedSequence:
    """The child of ``seq`` for the stream called ``name`` (independent of other names)."""
    key = zlib.crc32(name.encode("utf-8"))
    return np.random.SeedSequence(seq.entropy, spawn_key=(*seq.spawn_key, key))
