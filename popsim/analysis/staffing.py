"""Staffing tables and the report's staffing section, from ``staff_day`` (if the run has it).

Tables (written by :func:`popsim.analysis.analyze` beside the others):

- ``staff_site``: per scenario, replicate and site (and ``All sites``): short-staffed
  shifts (unit-shifts with a shortfall), short nurse-shifts (the shortfall summed),
  overtime and agency nurse-shifts, overtime hours, absent nurse-shifts, labour cost (CAD)
  and ED boarding (patient-days, from ``facility_day``);
- ``staff_comparison``: each scenario against the baseline, paired by replicate
  (:func:`popsim.analysis.compare.paired_differences`), with a 95% t-interval of the
  mean paired difference (``ci_low``, ``ci_high``);
- ``staff_daily``: per scenario, day and site: median and 5th/95th percentiles over
  replicates of absent nurses and short nurse-shifts (the fan charts).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.compare import paired_differences, with_mean_interval
from popsim.core.schema import FACILITY_DAY, STAFF_DAY

if TYPE_CHECKING:
    from popsim.analysis.dataset import RunDataset

#: Per-replicate measures of ``staff_site``.
MEASURES: tuple[str, ...] = (
    "short_shifts",
    "short_nurse_shifts",
    "overtime_shifts",
    "overtime_hours",
    "agency_shifts",
    "absent_shifts",
    "labour_cost",
    "ed_boarding_days",
)


def staff_site(staff: pd.DataFrame, facility_day: pd.DataFrame | None) -> pd.DataFrame:
    """Per scenario, replicate and site (plus ``All sites``): see the module docstring."""
    s = staff.copy()
    per_day = s.groupby(["scenario", "replicate", "day", "facility", "unit"])["shift"]
    s["hours"] = 24.0 / per_day.transform("size")
    s["short_shift"] = (s["shortfall"] > 0).astype(np.int64)
    s["overtime_h"] = s["overtime"] * s["hours"]
    keys = ["scenario", "replicate", "facility"]
    out = (
        s.groupby(keys)
        .agg(
            short_shifts=("short_shift", "sum"),
            short_nurse_shifts=("shortfall", "sum"),
            overtime_shifts=("overtime", "sum"),
            overtime_hours=("overtime_h", "sum"),
            agency_shifts=("agency", "sum"),
            absent_shifts=("absent", "sum"),
            labour_cost=("labour_cost", "sum"),
        )
        .reset_index()
    )
    if facility_day is not None:
        board = facility_day.groupby(keys)["ed_boarding"].sum().rename("ed_boarding_days")
        out = out.merge(board.reset_index(), on=keys, how="left")
    else:
        out["ed_boarding_days"] = np.nan
    total = out.groupby(["scenario", "replicate"])[list(MEASURES)].sum(min_count=1)
    total = total.reset_index().assign(facility=ALL_SITES)
    return pd.concat([total[out.columns], out], ignore_index=True)


def staff_comparison(site: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Scenario minus baseline per window, replicate and site, with a 95% interval of the
    mean."""
    keys = ["window", "facility"]
    out = paired_differences(site, keys, list(MEASURES), baseline)
    return with_mean_interval(out, site, keys, baseline, 0.95, ("ci_low", "ci_high"))


def staff_daily(staff: pd.DataFrame) -> pd.DataFrame:
    """Per scenario, day and site (and all sites): absent nurses and short nurse-shifts
    summed over units and shifts, as median and 5th/95th percentiles over replicates."""
    keys = ["scenario", "replicate", "day", "date"]
    per = staff.groupby([*keys, "facility"])[["absent", "shortfall"]].sum().reset_index()
    total = per.groupby(keys)[["absent", "shortfall"]].sum().reset_index()
    per = pd.concat([total.assign(facility=ALL_SITES), per], ignore_index=True)
    g = per.groupby(["scenario", "day", "date", "facility"])
    out = g.agg(
        absent_p5=("absent", lambda v: v.quantile(0.05)),
        absent_p50=("absent", "median"),
        absent_p95=("absent", lambda v: v.quantile(0.95)),
        short_p5=("shortfall", lambda v: v.quantile(0.05)),
        short_p50=("shortfall", "median"),
        short_p95=("shortfall", lambda v: v.quantile(0.95)),
    )
    return out.reset_index()


def _within(frame: pd.DataFrame | None, first: str | None, last: str | None):
    if frame is None:
        return None
    dates = pd.to_datetime(frame["date"])
    keep = np.ones(len(frame), dtype=bool)
    if first:
        keep &= (dates >= pd.Timestamp(first)).to_numpy()
    if last:
        keep &= (dates <= pd.Timestamp(last)).to_numpy()
    return frame[keep]


def tables(ds: RunDataset, baseline: str, windows=None) -> dict[str, pd.DataFrame]:
    """The staffing tables of a run ({} when it has no ``staff_day``); ``staff_site``
    and ``staff_comparison`` for each window (objects with ``name``, ``first``, ``last``:
    :class:`popsim.analysis.capacity.Window`; default the whole run, ``all``)."""
    staff = ds.read(STAFF_DAY)
    if staff is None:
        return {}
    fd = ds.read(FACILITY_DAY)
    frames = []
    for w in windows or [None]:
        name, first, last = ("all", None, None) if w is None else (w.name, w.first, w.last)
        part = staff_site(_within(staff, first, last), _within(fd, first, last))
        frames.append(part.assign(window=name)[["window", *part.columns]])
    site = pd.concat(frames, ignore_index=True)
    return {
        "staff_site": site,
        "staff_comparison": staff_comparison(site, baseline),
        "staff_daily": staff_daily(staff),
    }


# ------------------------------------------------------------------------ report
def _fan(daily: pd.DataFrame, epidemic: pd.DataFrame | None, scenario: str, path: Path):
    from popsim.analysis.plots import _pyplot, _save

    d = daily[(daily["scenario"] == scenario) & (daily["facility"] == ALL_SITES)]
    if d.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for what, colour, label in (("absent", "C0", "absent"), ("short", "C3", "short")):
        x = pd.to_datetime(d["date"])
        ax.fill_between(x, d[f"{what}_p5"], d[f"{what}_p95"], color=colour, alpha=0.2)
        ax.plot(x, d[f"{what}_p50"], color=colour, label=f"{label} nurse-shifts a day")
    ax.set_xlabel("date")
    ax.set_ylabel("nurse-shifts")
    if epidemic is not None and "p50" in epidemic:  # residents infectious (median)
        e = epidemic[epidemic["scenario"] == scenario]
        if len(e):
            ax2 = ax.twinx()
            ex = pd.to_datetime(e["date"]) if "date" in e else e["day"]
            ax2.plot(ex, e["p50"], color="grey", ls="--", label="infectious")
            ax2.set_ylabel("residents infectious (dashed)")
    ax.legend(loc="upper right", fontsize=8)
    return _save(fig, path)


def section(a, names: dict[str, str], _table, _img, _slug) -> str:
    """The report's staffing section (empty when the run has no staffing tables); the
    report passes its HTML helpers (table, image, file-name slug)."""
    if "staff_site" not in a.tables:
        return ""
    site = a["staff_site"]
    med = site.groupby(["window", "scenario", "facility"], sort=False)[list(MEASURES)]
    med = med.median().reset_index()
    med["facility"] = med["facility"].map(lambda f: names.get(f, f))
    fmt = dict.fromkeys(MEASURES, "int")
    parts = [
        "<h2>Staffing</h2>",
        "<p class='note'>Nurses per site (medians over replicates): unit-shifts worked "
        "short, short nurse-shifts, overtime and agency nurse-shifts, labour cost (CAD) and "
        "ED boarding (patient-days).</p>",
        _table(med, fmt),
    ]
    comp = a["staff_comparison"] if "staff_comparison" in a.tables else None
    if comp is not None and len(comp):
        c = comp[comp["measure"].isin(["short_nurse_shifts", "labour_cost", "ed_boarding_days"])]
        c = c[
            ["window", "scenario", "facility", "measure", "diff_mean", "ci_low", "ci_high"]
            + ["n_pairs"]
        ]
        c = c.assign(facility=c["facility"].map(lambda f: names.get(f, f)))
        parts += [
            "<h3>Against the baseline, paired by replicate</h3>",
            "<p class='note'>Mean difference and its 95% interval over replicates.</p>",
            _table(c, {"diff_mean": "num", "ci_low": "num", "ci_high": "num"}),
        ]
    daily = a["staff_daily"] if "staff_daily" in a.tables else None
    epi = a["epidemic_daily"] if "epidemic_daily" in a.tables else None
    if daily is not None:
        for sc in a.scenarios:
            p = _fan(daily, epi, sc, a.analysis_dir / "plots" / f"staff_{_slug(sc)}.png")
            if p:
                parts.append(
                    _img(p, f"Absent and short nurse-shifts a day, all sites, scenario {sc}")
                )
    return "\n".join(parts)
