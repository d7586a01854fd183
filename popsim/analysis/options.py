"""The planner's answer: an options table and a key-findings table, patients first.

``options`` (one row per window and scenario, the comparator included): for the region
(``All sites``) each patient-centred measure of :data:`OPTION_MEASURES` (ED boarding,
patients in surge or hallway beds, transfers for want of a bed, diversions, critical care
outside an ICU, deaths, unserved needs), then bed-days over the beds (the staffed beds
when staffing is on), and days over only where it discriminates (not the same in every
replicate of every scenario). Per measure: the scenario's median over replicates
(``<m>``), and against the comparator, paired by replicate (common random numbers), the
median change (``<m>_change``), its 90% interval (``<m>_change_p5``, ``<m>_change_p95``)
and the share of replicates in which the scenario is better (``<m>_better``: fewer; ties
are not better). Deaths' change is the excess deaths against the comparator.

``key_findings`` (one row per window, scenario and site: ``All sites`` first, then the
sites that matter, at most :data:`KEY_SITES`, by the comparator's ED boarding and
critical care outside an ICU over the main window): funded and staffed beds, mean and
95th-centile bed demand, ED boarding a day, critical care outside an ICU, deaths,
diversions, and the beds needed (5% of days over) with the nurses a shift to staff them.

``diversion_shifts``: per window and scenario, the sites whose diversions changed most
against the comparator (median paired change, both directions), so that an option which
moves diversions from one site to another says so.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from popsim.analysis.capacity import ALL_SITES

#: Region measures of the options table, in order: (column of site_replicate, label).
OPTION_MEASURES: tuple[tuple[str, str], ...] = (
    ("ed_boarding_days", "ED boarding (patient-days)"),
    ("ed_boarding_per_day", "ED boarding (patients a day)"),
    ("surge_bed_days", "in surge or hallway beds (patient-days)"),
    ("capacity_transfers", "transfers for want of a bed (patients)"),
    ("diversions", "diversions past the nearest site (patients)"),
    ("icu_outside_days", "critical care outside an ICU (patient-days)"),
    ("deaths", "deaths in hospital (change: excess deaths)"),
    ("unserved", "unserved needs, no open site (patients)"),
    ("bed_days_over", "bed-days over the beds (bed-days)"),
)
DAYS_OVER = ("days_over", "days over capacity (days)")
#: Staffing measures after the patients' (with staffing on): cost beside outcomes.
STAFF_MEASURES: tuple[tuple[str, str], ...] = (
    ("short_nurse_shifts", "short nurse-shifts"),
    ("labour_cost", "nurses' labour cost (CAD)"),
)
#: Sites after the region in the key findings.
KEY_SITES = 6
#: Sites listed per scenario and window in ``diversion_shifts`` (each direction).
SHIFT_SITES = 3


def _region(site_rep: pd.DataFrame) -> pd.DataFrame:
    return site_rep[(site_rep["facility"] == ALL_SITES) & (site_rep["unit"] == "total")]


def discriminates(region: pd.DataFrame, measure: str) -> bool:
    """A measure discriminates when it is not the same in every replicate of every
    scenario of a window (days over saturates at every open day in a full region)."""
    return bool((region.groupby("window")[measure].nunique(dropna=True) > 1).any())


def option_measures(site_rep: pd.DataFrame) -> list[tuple[str, str]]:
    """The measures of the options table for this run (days over only if it discriminates)."""
    region = _region(site_rep)
    out = [(m, label) for m, label in OPTION_MEASURES if m in region and region[m].notna().any()]
    if "days_over" in region and discriminates(region, "days_over"):
        out.append(DAYS_OVER)
    return out


def options(
    site_rep: pd.DataFrame, baseline: str, staff_site: pd.DataFrame | None = None
) -> pd.DataFrame:
    """The options table (see the module docstring); with ``staff_site`` (staffing on)
    also short nurse-shifts and labour cost, after the patients' measures."""
    region = _region(site_rep)
    measures = [m for m, _ in option_measures(site_rep)]
    if staff_site is not None and len(staff_site):
        staff = staff_site[staff_site["facility"] == ALL_SITES]
        cols = [m for m, _ in STAFF_MEASURES]
        region = region.merge(
            staff[["window", "scenario", "replicate", *cols]],
            on=["window", "scenario", "replicate"],
            how="left",
        )
        measures += cols
    rows = []
    for (window, scenario), arm in region.groupby(["window", "scenario"], sort=False):
        base = region[(region["window"] == window) & (region["scenario"] == baseline)]
        pairs = arm.merge(base, on="replicate", suffixes=("", "_base"))
        row: dict[str, object] = {
            "window": window,
            "scenario": scenario,
            "comparator": baseline,
            "n_replicates": len(arm),
            "n_pairs": len(pairs),
        }
        for m in measures:
            row[m] = float(arm[m].median())
            diff = (pairs[m] - pairs[f"{m}_base"]).dropna().to_numpy(dtype=float)
            have = diff.size > 0
            row[f"{m}_change"] = float(np.median(diff)) if have else np.nan
            row[f"{m}_change_p5"] = float(np.quantile(diff, 0.05)) if have else np.nan
            row[f"{m}_change_p95"] = float(np.quantile(diff, 0.95)) if have else np.nan
            row[f"{m}_better"] = float((diff < 0).mean()) if have else np.nan
        rows.append(row)
    out = pd.DataFrame(rows)
    if out.empty:
        return out
    order = {s: i for i, s in enumerate([baseline, *sorted(set(out["scenario"]) - {baseline})])}
    windows = list(dict.fromkeys(region["window"]))
    out["_w"] = out["window"].map({w: i for i, w in enumerate(windows)})
    out["_s"] = out["scenario"].map(order)
    return out.sort_values(["_w", "_s"]).drop(columns=["_w", "_s"]).reset_index(drop=True)


def key_sites(site_rep: pd.DataFrame, baseline: str, window: str) -> list[str]:
    """The sites that matter: the comparator's most ED boarding and critical care
    outside an ICU (patient-days, median over replicates) in ``window``."""
    s = site_rep[
        (site_rep["window"] == window)
        & (site_rep["scenario"] == baseline)
        & (site_rep["unit"] == "total")
        & (site_rep["facility"] != ALL_SITES)
    ]
    if s.empty:
        return []
    load = s.assign(load=s["ed_boarding_days"].fillna(0) + s["icu_outside_days"].fillna(0))
    med = load.groupby("facility")["load"].median()
    med = med[med > 0].sort_values(ascending=False, kind="stable")
    return list(med.index[:KEY_SITES])


def key_findings(
    capacity: pd.DataFrame, beds_needed: pd.DataFrame, site_rep: pd.DataFrame, baseline: str
) -> pd.DataFrame:
    """The key-findings table (see the module docstring)."""
    if capacity.empty:
        return pd.DataFrame()
    windows = list(dict.fromkeys(capacity["window"]))
    sites = [ALL_SITES, *key_sites(site_rep, baseline, windows[0])]
    cap = capacity[(capacity["unit"] == "total") & capacity["facility"].isin(sites)]
    cols = {
        "funded_beds": "funded_beds",
        "staffed_beds": "staffed_beds",
        "mean_demand_p50": "mean_bed_demand",
        "demand_p95_p50": "bed_demand_p95",
        "ed_boarding_per_day_p50": "ed_boarding_per_day",
        "icu_outside_days_p50": "icu_outside_days",
        "deaths_p50": "deaths",
        "diversions_p50": "diversions",
    }
    have = [c for c in cols if c in cap]
    out = cap[["window", "scenario", "facility", *have]].rename(columns=cols)
    need_cols = [c for c in ("beds_needed_5", "nurses_needed_5") if c in beds_needed]
    if need_cols:
        need = beds_needed[beds_needed["unit"] == "total"][
            ["window", "scenario", "facility", *need_cols]
        ]
        out = out.merge(need, on=["window", "scenario", "facility"], how="left")
    scen = [baseline, *sorted(set(out["scenario"]) - {baseline})]
    out["_w"] = out["window"].map({w: i for i, w in enumerate(windows)})
    out["_s"] = out["scenario"].map({s: i for i, s in enumerate(scen)})
    out["_f"] = out["facility"].map({f: i for i, f in enumerate(sites)})
    out = out.sort_values(["_w", "_s", "_f"]).drop(columns=["_w", "_s", "_f"])
    return out.reset_index(drop=True)


def diversion_shifts(site_rep: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Per window and scenario, the sites whose diversions rose or fell most (median of
    the paired changes), with the region's change: the note an option needs when it
    moves diversions from one site to another."""
    s = site_rep[(site_rep["unit"] == "total")][
        ["window", "scenario", "replicate", "facility", "diversions"]
    ]
    base = s[s["scenario"] == baseline].drop(columns="scenario")
    pairs = s[s["scenario"] != baseline].merge(
        base, on=["window", "replicate", "facility"], suffixes=("", "_base")
    )
    pairs["change"] = pairs["diversions"] - pairs["diversions_base"]
    med = (
        pairs.groupby(["window", "scenario", "facility"], sort=False)
        .agg(
            comparator=("diversions_base", "median"),
            option=("diversions", "median"),
            change=("change", "median"),
        )
        .reset_index()
    )
    rows = []
    for _, g in med.groupby(["window", "scenario"], sort=False):
        sites = g[g["facility"] != ALL_SITES]
        up = sites[sites["change"] > 0].nlargest(SHIFT_SITES, "change")
        down = sites[sites["change"] < 0].nsmallest(SHIFT_SITES, "change")
        rows.append(pd.concat([g[g["facility"] == ALL_SITES], up, down]))
    if not rows:
        return pd.DataFrame(columns=[*med.columns])
    return pd.concat(rows, ignore_index=True)
