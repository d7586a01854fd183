"""Age bands and sexes: the resident categories every module, output and reader shares.

Residents carry single-year ages; outputs and rates are by these ten-year bands (the
last open-ended). Imports nothing of popsim.
"""

from __future__ import annotations

#: Ten-year age bands used across the model and its outputs.
AGE_BANDS: tuple[str, ...] = (
    "0-9",
    "10-19",
    "20-29",
    "30-39",
    "40-49",
    "50-59",
    "60-69",
    "70-79",
    "80-89",
    "90+",
)
N_AGE_BANDS = len(AGE_BANDS)
SEXES: tuple[str, ...] = ("female", "male")
