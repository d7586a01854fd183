"""Contact matrices by setting: a published source, aggregated to the model's age bands.

The default (``[epidemic] mixing = "prem2021_canada"``) is Prem et al. 2021's social
contact matrices projected for Canada (PLoS Comput Biol 17(7): e1009098), shipped
unmodified in ``popsim/data/contacts/prem2021_canada.toml`` with its source: mean daily
contacts by five-year age group (the last 75 and over) in four settings, home, school,
work and other locations. How the model uses them:

- **home is not used**: households are the model's explicit layer (each infectious
  resident exposes their real housemates with a probability calibrated to
  ``household_share`` of R0, :mod:`popsim.epidemic.transmission`); adding Prem's home contacts
  to the community would count home contacts twice. So the community layer is school +
  work + other.
- **school is a layer of its own**: a ``contact_reduction`` event with
  ``setting = "school"`` scales it (``contact_reduction = 1.0``: schools closed), in
  the zones given; ``"community"`` scales every non-household contact, school included.
  School holidays are not modelled (the matrices are of a school day average).
- **aggregation** to the model's 10-year bands uses the region's own population by
  single year of age as weights: a band's contacts are the population-weighted mean of
  its five-year groups' rows, summed over the columns of the groups in the other band;
  the open 75+ group is split between 70-79, 80-89 and 90+ in proportion to the
  region's residents (its row is everyone's in it; its column is shared by size).
- **reciprocity** on the region's age structure, layer by layer: the total contacts of
  two bands with each other are the mean of what each side reports,
  ``(n_a C_ab + n_b C_ba) / 2`` (Prem et al. 2017's adjustment), so
  ``n_a C_ab = n_b C_ba`` exactly.
"""

from __future__ import annotations

import tomllib
from functools import lru_cache
from importlib import resources
from typing import Any

import numpy as np

from popsim.core.ages import AGE_BANDS, N_AGE_BANDS

#: Settings of a shipped contact source, in file order.
SETTINGS: tuple[str, ...] = ("home", "school", "work", "other")
#: Lower age of each model band (the last band is open).
BAND_LOWER: tuple[int, ...] = tuple(int(b.split("-")[0].rstrip("+")) for b in AGE_BANDS)


def source_names() -> list[str]:
    """Names of the shipped contact sources."""
    folder = resources.files("popsim") / "data" / "contacts"
    return sorted(p.name[:-5] for p in folder.iterdir() if p.name.endswith(".toml"))


@lru_cache(maxsize=4)
def published(name: str) -> dict[str, Any]:
    """A shipped source: ``name``, ``description``, ``sources``, ``lower`` (lower age of
    each group; the last open) and ``settings`` (setting -> group x group array)."""
    if name not in source_names():
        raise ValueError(f"unknown contact source {name!r}; shipped: {', '.join(source_names())}")
    path = resources.files("popsim") / "data" / "contacts" / f"{name}.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    lower = [int(g.split("-")[0].rstrip("+")) for g in data["age_groups"]]
    settings = {s: np.asarray(data["settings"][s], dtype=np.float64) for s in SETTINGS}
    return {**data, "lower": lower, "settings": settings}


def _group_of(lower_ages: np.ndarray, lower: list[int] | tuple[int, ...]) -> np.ndarray:
    """Index of the group (lower bounds ``lower``, the last open) of each age."""
    return np.searchsorted(np.asarray(lower), lower_ages, side="right") - 1


def to_bands(m: np.ndarray, lower: list[int], age_counts: np.ndarray) -> np.ndarray:
    """Contacts by source group (``m``, rows and columns by ``lower``) as contacts by
    model band, weighted by ``age_counts`` (residents by single year of age).

    The groups are cut at every source and band boundary; a fine group takes its source
    group's row, and the share (by residents) of its source group's column; a band is
    the resident-weighted mean of its fine groups' rows, summed over the other band's
    fine columns."""
    counts = np.asarray(age_counts, dtype=np.float64)
    cuts = np.unique(np.concatenate([lower, BAND_LOWER]))
    cuts = cuts[cuts < len(counts)]
    n_fine = np.add.reduceat(counts, cuts)  # residents of each fine group
    src = _group_of(cuts, lower)
    band = _group_of(cuts, BAND_LOWER)
    n_src = np.bincount(src, weights=n_fine, minlength=len(lower))
    # a source group without residents: its column split evenly between its parts
    parts = np.bincount(src, minlength=len(lower)).astype(np.float64)
    share = np.divide(n_fine, n_src[src], out=1.0 / parts[src], where=n_src[src] > 0)
    fine = m[np.ix_(src, src)] * share[None, :]
    n_band = np.bincount(band, weights=n_fine, minlength=N_AGE_BANDS)
    even = 1.0 / np.bincount(band, minlength=N_AGE_BANDS)[band]  # a band without residents
    weight = np.divide(n_fine, n_band[band], out=even, where=n_band[band] > 0)
    rows = np.zeros((N_AGE_BANDS, len(cuts)))
    np.add.at(rows, band, fine * weight[:, None])
    out = np.zeros((N_AGE_BANDS, N_AGE_BANDS))
    np.add.at(out.T, band, rows.T)
    return out


def reciprocal(c: np.ndarray, n_band: np.ndarray) -> np.ndarray:
    """``c`` made reciprocal on the band sizes: the total contacts between two bands are
    the mean of what each side reports (``(n_a c_ab + n_b c_ba) / 2``), per member."""
    n = np.maximum(np.asarray(n_band, dtype=np.float64), 1.0)
    total = c * n[:, None]
    return (total + total.T) / 2 / n[:, None]


def community_layers(name: str, age_counts: np.ndarray) -> dict[str, np.ndarray]:
    """The source's non-home settings by model band, each reciprocal on the band sizes
    of ``age_counts`` (living residents by single year of age): ``school``, ``work``,
    ``other``."""
    src = published(name)
    counts = np.asarray(age_counts, dtype=np.float64)
    n_band = np.bincount(
        _group_of(np.arange(len(counts)), BAND_LOWER), weights=counts, minlength=N_AGE_BANDS
    )
    return {
        s: reciprocal(to_bands(src["settings"][s], src["lower"], counts), n_band)
        for s in SETTINGS
        if s != "home"
    }
