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


# ------------------------------------------------------------ counter-based draws
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_M1 = np.uint64(0xBF58476D1CE4E5B9)
_M2 = np.uint64(0x94D049BB133111EB)


def _mix(z: np.ndarray) -> np.ndarray:
    """SplitMix64's finaliser (Steele, Lea and Flood 2014), in place on uint64 arrays."""
    z += _GOLDEN
    z ^= z >> np.uint64(30)
    z *= _M1
    z ^= z >> np.uint64(27)
    z *= _M2
    z ^= z >> np.uint64(31)
    return z


_MASK = (1 << 64) - 1


def _mix_int(z: int) -> int:
    """:func:`_mix` on one Python integer (modulo 2**64)."""
    z = (z + 0x9E3779B97F4A7C15) & _MASK
    z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & _MASK
    z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & _MASK
    return z ^ (z >> 31)


def _to_uniform(h: np.ndarray) -> np.ndarray:
    """The top 53 bits of 64-bit hashes as uniforms in (0, 1), never 0 or 1."""
    return ((h >> np.uint64(11)).astype(np.float64) + 0.5) * (1.0 / 2**53)


class CounterDraws:
    """Counter-based random numbers: a draw is a hash of a key and integer counters
    (``(purpose, day, resident)``, ``(purpose, pair of residents)``, ...), not the next
    value of a sequential stream, so a draw never depends on how many draws came before
    it. A module that keys every draw by the event it decides keeps common random numbers
    between scenarios: one more event elsewhere changes no other event's draws.

    The key comes from a named stream (:func:`stream_seed`), so it is fixed by the
    replicate's seed and the name. The hash is SplitMix64's finaliser (Steele, Lea and
    Flood 2014) applied to the key plus each counter in turn: leading integer counters
    are folded into the key once, array counters (non-negative, below 2**64) cost one
    pass each over the array; the top 53 bits give a uniform in (0, 1)."""

    def __init__(self, rng: np.random.Generator):
        self.key = int(rng.integers(0, 2**63))

    def hashes(self, *counters: np.ndarray | int) -> np.ndarray:
        """64-bit hashes of the key and the counters (arrays broadcast together)."""
        h_int = self.key
        rest = list(counters)
        while rest and isinstance(rest[0], int | np.integer):
            h_int = _mix_int(h_int + int(rest.pop(0)))
        arrays = [np.asarray(c) for c in rest]
        if len(arrays) == 1:  # the common case: one array counter (a copy, then the key)
            h = arrays[0].astype(np.uint64)
            with np.errstate(over="ignore"):
                h += np.uint64(h_int)
                return _mix(h)
        shape = np.broadcast_shapes(*(a.shape for a in arrays)) if arrays else ()
        h = np.full(shape, h_int, dtype=np.uint64)
        with np.errstate(over="ignore"):
            for a in arrays:
                h += a.astype(np.uint64, copy=False)
                _mix(h)
        return h

    def uniform(self, *counters: np.ndarray | int) -> np.ndarray:
        """Uniforms in (0, 1), never 0 or 1 (so their logarithm is finite)."""
        return _to_uniform(self.hashes(*counters))

    def exponential(self, *counters: np.ndarray | int) -> np.ndarray:
        """Exponential draws of rate 1."""
        return -np.log(self.uniform(*counters))


def pair(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """One counter for two (each below 2**32): ``a * 2**32 + b``."""
    return (np.asarray(a).astype(np.uint64) << np.uint64(32)) | np.asarray(b).astype(np.uint64)
