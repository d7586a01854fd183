"""Region: zones, facilities and travel times of a health region.

A region folder holds (see ``regions/README.md`` for the full format):

- ``region.toml``: name, projected CRS, travel-time parameters;
- ``zones.geojson`` or ``zones.gpkg``: one polygon per zone with ``zone_id``, ``name``,
  ``hsda``, ``population``;
- ``age.csv``: ``zone_id, age_band, female, male`` resident counts per 10-year band;
- ``facilities.csv``: one acute-care site per row.

Loading validates everything and raises :class:`popsim.errors.RegionError` naming the
file, the row or field and what was expected. Geometry lives here, at the region's
edge: the model sees plain arrays (zone of each facility, travel minutes).

The layers, bottom up (no cycles): :mod:`popsim.region.types` (the :class:`Region` and
its constants, re-exported here), :mod:`popsim.region.parse` (the one parsing layer),
:mod:`popsim.region.files` (the four files), this module (finding and loading folders).
"""

from __future__ import annotations

import os
from pathlib import Path

from popsim.core.ages import AGE_BANDS, N_AGE_BANDS, SEXES
from popsim.errors import RegionError, RegionProblems
from popsim.region.files import read_region
from popsim.region.parse import Problems
from popsim.region.types import ROLES, STATUSES, Region, TravelParams, travel_minutes

__all__ = [
    "AGE_BANDS",
    "N_AGE_BANDS",
    "ROLES",
    "SEXES",
    "STATUSES",
    "Region",
    "TravelParams",
    "check_region",
    "list_regions",
    "load_region",
    "regions_root",
    "resolve_region",
    "shipped_regions_root",
    "travel_minutes",
]


# ---------------------------------------------------------------------------
# Finding and loading region folders (reading and validation: popsim.region.files)
# ---------------------------------------------------------------------------


def regions_root() -> Path:
    """Folder of shipped regions (``POPSIM_REGIONS`` overrides it)."""
    env = os.environ.get("POPSIM_REGIONS")
    if env:
        return Path(env)
    return shipped_regions_root()


def shipped_regions_root() -> Path:
    """The ``regions/`` folder shipped with popsim (whatever ``POPSIM_REGIONS`` says)."""
    return Path(__file__).resolve().parents[2] / "regions"


def list_regions() -> list[tuple[str, Path]]:
    """``(name, folder)`` of every region folder (one holding ``region.toml``) under the root."""
    root = regions_root()
    if not root.is_dir():
        return []
    return sorted(
        (p.name, p) for p in root.iterdir() if p.is_dir() and (p / "region.toml").is_file()
    )


def resolve_region(name_or_path: str | os.PathLike[str]) -> Path:
    """Folder of a region: a bare name is a shipped region if there is one, else a path."""
    text = str(name_or_path)
    if "/" not in text and "\\" not in text and text not in (".", ".."):
        candidate = regions_root() / text
        if (candidate / "region.toml").is_file():
            return candidate
    path = Path(text)
    if path.is_dir():
        return path
    known = ", ".join(name for name, _ in list_regions()) or "none"
    raise RegionError(
        text, None, f"no such region folder (shipped regions: {known}; or give a folder path)"
    )


def check_region(path: str | os.PathLike[str]) -> list[RegionError]:
    """Every problem in a region folder (empty list: it loads)."""
    problems = Problems()
    folder = Path(path)
    if not folder.is_dir():
        problems.add(folder, None, "not a folder; expected a region folder with region.toml")
        return problems.items
    read_region(folder, problems)
    return problems.items


def load_region(name_or_path: str | os.PathLike[str]) -> Region:
    """Load and validate a region folder (a shipped name such as ``fraser`` or a path).

    Raises :class:`RegionError` for a single problem, :class:`RegionProblems` for several.
    """
    folder = resolve_region(name_or_path)
    problems = Problems()
    region = read_region(folder, problems)
    problems.raise_if_any()
    if region is None:  # every reason was recorded; kept as a guard
        raise RegionProblems(problems.items)
    return region
