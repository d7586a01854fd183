"""The top of the report: the answer first (key findings, options, diversion notes).

Every figure shown here is a value of the analysis tables ``key_findings``, ``options``
and ``diversion_shifts`` (:mod:`popsim.analysis.options`), formatted and nothing else, so
that a reader can find each in the CSV beside the report. Paired changes are written
``change -5,586 (90% interval -6,010 to -5,120)`` on their own line, apart from the arms'
values, so that a median of differences is never read as the difference of medians.
"""

from __future__ import annotations

import html
import math
from typing import Any

import pandas as pd

from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.options import DAYS_OVER, OPTION_MEASURES, STAFF_MEASURES

#: Measures shown with one decimal (a day's mean); the others are whole numbers.
DECIMALS = {"ed_boarding_per_day": 1}
#: Key-findings columns: table column -> heading (with its unit).
KEY_COLUMNS: dict[str, str] = {
    "funded_beds": "funded beds",
    "staffed_beds": "staffed beds",
    "mean_bed_demand": "bed demand, mean (patients)",
    "bed_demand_p95": "bed demand, 95th-centile day (patients)",
    "ed_boarding_per_day": "ED boarding (patients a day)",
    "icu_outside_days": "critical care outside an ICU (patient-days)",
    "deaths": "deaths in hospital",
    "diversions": "diversions (patients)",
    "beds_needed_5": "beds needed (at most 5% of days over)",
    "nurses_needed_5": "nurses a shift to staff them",
}


def fmt(value: Any, decimals: int = 0) -> str:
    """A number as the report writes it: thousands separated, ``-`` for none."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "-"
    return f"{float(value):,.{decimals}f}"


def change_text(change: float, lo: float, hi: float, decimals: int = 0) -> str:
    """``change -5,586 (90% interval -6,010 to -5,120)``."""
    if any(pd.isna(v) for v in (change, lo, hi)):
        return "change -"
    f = f"{{:+,.{decimals}f}}"
    return f"change {f.format(change)} (90% interval {f.format(lo)} to {f.format(hi)})"


def labels(columns: list[str]) -> list[tuple[str, str]]:
    """The options table's measures present in ``columns``, with their labels, in order."""
    every = [*OPTION_MEASURES, DAYS_OVER, *STAFF_MEASURES]
    return [(m, label) for m, label in every if m in columns]


def unit_basis(a) -> str:
    """The one unit basis the report uses, said once at the top."""
    staffed = "staffed_beds" in a.capacity and bool(
        (a.capacity["staffed_beds"] != a.capacity["funded_beds"]).any() or "staff_site" in a.tables
    )
    beds = (
        "beds are the staffed beds, funded or surge (a bed counts only if the day's nurses "
        "staffed it), shown beside the funded beds"
        if staffed
        else "beds are the funded beds (this run has no staffing limits)"
    )
    n = sorted({len(r) for r in a.meta.get("replicates", {}).values()})
    reps = f"{n[0]}" if len(n) == 1 else f"{n[0]}-{n[-1]}" if n else "?"
    return (
        "Unit basis: patients and patient-days (a patient-day is one patient on one day), "
        f"summed over each window; {beds}. Values are medians over {reps} replicates; "
        f"changes are against {a.baseline}, paired by replicate, with 90% intervals."
    )


def key_findings_html(a, names: dict[str, str]) -> str:
    """One table per window: the region, then the sites that matter."""
    if "key_findings" not in a.tables or a.key_findings.empty:
        return "<p class='note'>No key findings: the run has no capacity table.</p>"
    kf = a.key_findings
    parts = []
    for window in dict.fromkeys(kf["window"]):
        w = kf[kf["window"] == window]
        cols = [c for c in KEY_COLUMNS if c in w]
        head = "".join(f"<th>{html.escape(KEY_COLUMNS[c])}</th>" for c in cols)
        rows = []
        for _, r in w.iterrows():
            site = names.get(r["facility"], r["facility"])
            cells = "".join(f"<td>{fmt(r[c], DECIMALS.get(c, 0))}</td>" for c in cols)
            rows.append(
                f"<tr><td>{html.escape(str(r['scenario']))}</td>"
                f"<td>{html.escape(str(site))}</td>{cells}</tr>"
            )
        parts.append(
            f"<h3>Window {html.escape(window_label(a, window))}</h3>"
            f"<table class='key' id='key-findings-{html.escape(str(window))}' "
            f"data-window='{html.escape(str(window))}'><thead><tr><th>scenario</th>"
            f"<th>site</th>{head}</tr></thead><tbody>{''.join(rows)}</tbody></table>"
        )
    return "\n".join(parts)


def options_html(a, names: dict[str, str]) -> str:
    """One table per window: a row per scenario, a column per measure; each cell the
    scenario's median, then on its own line the paired change and how often it was
    better; the comparator's row has the values only."""
    if "options" not in a.tables or a.options.empty:
        return "<p class='note'>No options table.</p>"
    o = a.options
    measures = labels(list(o.columns))
    parts = []
    for window in dict.fromkeys(o["window"]):
        w = o[o["window"] == window]
        head = "".join(f"<th>{html.escape(label)}</th>" for _, label in measures)
        rows = []
        for _, r in w.iterrows():
            cells = []
            for m, _ in measures:
                d = DECIMALS.get(m, 0)
                text = f"<span class='arm'>{fmt(r[m], d)}</span>"
                if r["scenario"] != r["comparator"]:
                    share = r[f"{m}_better"]
                    text += (
                        "<br><span class='chg'>"
                        + html.escape(
                            change_text(
                                r[f"{m}_change"], r[f"{m}_change_p5"], r[f"{m}_change_p95"], d
                            )
                        )  # fmt: skip
                        + (
                            f"; fewer in {100 * share:.0f}% of replicates"
                            if pd.notna(share)
                            else ""
                        )
                        + "</span>"
                    )
                cells.append(f"<td>{text}</td>")
            rows.append(
                f"<tr><td>{html.escape(str(r['scenario']))}"
                + (" (comparator)" if r["scenario"] == r["comparator"] else "")
                + f"</td>{''.join(cells)}</tr>"
            )
        parts.append(
            f"<h3>Window {html.escape(window_label(a, window))}</h3>"
            f"<div class='wide'><table class='options' id='options-{html.escape(str(window))}' "
            f"data-window='{html.escape(str(window))}'><thead><tr><th>scenario</th>{head}"
            f"</tr></thead><tbody>{''.join(rows)}</tbody></table></div>"
        )
        parts += [f"<p class='note'>{html.escape(t)}</p>" for t in _shift_notes(a, names, window)]
    return "\n".join(parts)


def _shift_notes(a, names: dict[str, str], window: str) -> list[str]:
    """A note for each option that moves diversions between sites (one site's rise with
    another's fall, or a site's rise of at least 10 and a quarter of the comparator's)."""
    if "diversion_shifts" not in a.tables:
        return []
    d = a.diversion_shifts
    d = d[d["window"] == window]
    notes = []
    for sc, g in d.groupby("scenario", sort=False):
        sites = g[g["facility"] != ALL_SITES]
        up = sites[sites["change"] > 0]
        down = sites[sites["change"] < 0]
        big = up[(up["change"] >= 10) & (up["change"] >= 0.25 * up["comparator"].clip(lower=1))]
        if up.empty or (down.empty and big.empty):
            continue
        region = g[g["facility"] == ALL_SITES]

        def say(rows: pd.DataFrame) -> str:
            return ", ".join(
                f"{names.get(r['facility'], r['facility'])} {fmt(r['comparator'])} -> "
                f"{fmt(r['option'])} ({r['change']:+,.0f})"
                for _, r in rows.iterrows()
            )

        text = f"{sc} moves diversions between sites: up at {say(up)}"
        if len(down):
            text += f"; down at {say(down)}"
        if len(region):
            text += f"; the region {region.iloc[0]['change']:+,.0f} (median paired changes)"
        notes.append(
            text + ". A site that gains beds diverts fewer; its neighbours then receive the "
            "patients it no longer turns away, or divert more when they fill."
        )
    return notes


def window_label(a, window: str) -> str:
    """``name (first to last)``, the run's own dates where the window is open-ended."""
    daily = a.census_daily if "census_daily" in a.tables else None
    lo = hi = None
    if daily is not None and len(daily):
        dates = pd.to_datetime(daily["date"])
        lo, hi = dates.min().date().isoformat(), dates.max().date().isoformat()
    for w in a.meta.get("windows", []):
        if w["name"] == window:
            return f"{window}: {w.get('first') or lo} to {w.get('last') or hi}"
    return str(window)
