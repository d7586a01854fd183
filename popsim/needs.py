"""Needs: residents who need hospital care today (the request API of :mod:`popsim.core`).

Kept as an import path: :class:`NeedBatch`, the need kinds and their names are defined
in :mod:`popsim.core.requests`.
"""

from popsim.core.requests import (
    EPI_CRITICAL,
    EPI_SEVERE,
    KIND_NAMES,
    MATERNITY,
    MEDICAL,
    MENTAL,
    SURGICAL,
    NeedBatch,
)

__all__ = [
    "EPI_CRITICAL",
    "EPI_SEVERE",
    "KIND_NAMES",
    "MATERNITY",
    "MEDICAL",
    "MENTAL",
    "SURGICAL",
    "NeedBatch",
]
