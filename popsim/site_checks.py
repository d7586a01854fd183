"""Per-site checks of ``popsim validate``: a region's ``targets.csv`` against a run.

``targets.csv`` (optional, in the region folder) holds each site's public figures: one row
per site (or sites joined by ``;``) and measure, with the band a modelled value must fall
in, the figure's year and source, and whether it was used to calibrate the region's
routing (``calibration``: a calibration target) or held out (``validation``). Measures:

- ``occupancy``: ward and ALC census over funded ward beds, the year's mean;
- ``ed_visits``: ED visits a year (admitted arrivals and ED-only visits);
- ``admissions``: admissions a year;
- ``alc_share``: ALC share of the site's ward bed-days;
- ``boarders_share``: the sites' share of the region's ED boarders.

Besides the targets, every open site with funded ward beds is checked to board in its ED
on average at most a quarter of its funded ward beds (a planning limit: an assumption).
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import numpy as np

MEASURES = ("occupancy", "ed_visits", "admissions", "alc_share", "boarders_share")
USES = ("calibration", "validation")
COLUMNS = ("facility_id", "measure", "value", "band_low", "band_high", "year", "use", "source")
#: At most this share of a site's funded ward beds boarding in its ED on an average day.
MAX_BOARDERS_SHARE = 0.25


class TargetsError(ValueError):
    """``targets.csv`` is unusable; the message has one line per problem."""


@dataclass(frozen=True)
class Target:
    sites: tuple[str, ...]
    measure: str
    value: float
    low: float
    high: float
    year: str
    use: str
    source: str


def read_targets(path: Path, facility_ids: list[str]) -> list[Target]:
    """The targets of a region (empty when the file does not exist). TargetsError with
    every problem (file, line, field, what was expected)."""
    if not path.is_file():
        return []
    problems: list[str] = []
    out: list[Target] = []
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
        if missing:
            raise TargetsError(f"{path}: missing columns {', '.join(missing)}")
        for i, rec in enumerate(reader, start=2):
            where = f"{path}: line {i}"
            sites = tuple(s.strip() for s in rec["facility_id"].split(";") if s.strip())
            unknown = [s for s in sites if s not in facility_ids]
            if not sites or unknown:
                problems.append(f"{where}, facility_id: unknown {unknown or rec['facility_id']!r}")
            if rec["measure"] not in MEASURES:
                problems.append(f"{where}, measure: got {rec['measure']!r}; expected {MEASURES}")
            if rec["use"] not in USES:
                problems.append(f"{where}, use: got {rec['use']!r}; expected {USES}")
            nums = []
            for col in ("value", "band_low", "band_high"):
                try:
                    x = float(rec[col])
                    if not np.isfinite(x) or x < 0:
                        raise ValueError
                    nums.append(x)
                except ValueError:
                    problems.append(f"{where}, {col}: expected a number >= 0, got {rec[col]!r}")
            if len(nums) == 3 and not nums[1] <= nums[0] <= nums[2]:
                problems.append(f"{where}, band: expected band_low <= value <= band_high")
            if not problems:
                out.append(
                    Target(sites, rec["measure"], *nums, rec["year"], rec["use"], rec["source"])
                )
    if problems:
        raise TargetsError("\n".join(problems))
    return out


def measure(result_day: np.ndarray, metrics: list[str], idx: list[int], what: str) -> float:
    """A measure of sites ``idx`` over a run's ``facility_day`` (days, sites, metrics)."""
    fd = result_day.astype(np.float64)

    def col(c: str) -> np.ndarray:
        return fd[..., metrics.index(c)]

    if what == "occupancy":
        return float(
            (col("ward_census") + col("alc_census"))[:, idx].sum()
            / max(col("ward_beds")[:, idx].sum(), 1.0)
        )
    if what in ("ed_visits", "admissions"):
        days = fd.shape[0]
        return float(col(what)[:, idx].sum() * 365.0 / days)
    if what == "alc_share":
        ward = (col("ward_census") + col("alc_census"))[:, idx].sum()
        return float(col("alc_census")[:, idx].sum() / max(ward, 1.0))
    if what == "boarders_share":
        return float(col("ed_boarding")[:, idx].sum() / max(col("ed_boarding").sum(), 1.0))
    raise ValueError(f"unknown measure {what!r}")


def site_rows(
    targets: list[Target],
    facility_ids: list[str],
    result_day: np.ndarray,
    metrics: list[str],
    open_sites: list[bool],
) -> list[tuple[str, str, str, str, bool]]:
    """``(check, expected, source, measured, passed)`` per target (labelled calibration
    target or validation), then the boarding limit of every open site with ward beds."""
    rows = []
    for t in targets:
        idx = [facility_ids.index(s) for s in t.sites]
        got = measure(result_day, metrics, idx, t.measure)
        label = "calibration target" if t.use == "calibration" else "validation"
        rows.append(
            (
                f"[{label}] {' + '.join(t.sites)}: {t.measure.replace('_', ' ')} (default year)",
                f"{t.value:g} ({t.low:g}-{t.high:g} passes)",
                f"{t.source} ({t.year})",
                f"{got:.3f}" if got < 10 else f"{got:,.0f}",
                t.low <= got <= t.high,
            )
        )
    fd = result_day.astype(np.float64)
    beds = fd[..., metrics.index("ward_beds")].mean(axis=0)
    boarding = fd[..., metrics.index("ed_boarding")].mean(axis=0)
    for i, fid in enumerate(facility_ids):
        if not open_sites[i] or beds[i] <= 0:
            continue
        limit = MAX_BOARDERS_SHARE * beds[i]
        rows.append(
            (
                f"[validation] {fid}: ED boarders a day at most a quarter of funded ward beds",
                f"<= {limit:.0f} ({beds[i]:.0f} beds)",
                "planning limit (assumption)",
                f"{boarding[i]:.1f}",
                bool(boarding[i] <= limit),
            )
        )
    return rows
