"""The report's summary: sentences a planner can read aloud, from the analysis tables.

Every figure is a median over replicates with its 90% interval (5th to 95th
percentile); scenario changes are paired by replicate.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

import pandas as pd

from popsim.analysis.capacity import ALL_SITES

if TYPE_CHECKING:
    from popsim.analysis import RunAnalysis


def pct(x: float | None) -> str:
    return "n/a" if _nan(x) else f"{100 * float(x):.0f}%"


def pct_range(lo: float | None, hi: float | None) -> str:
    if _nan(lo) or _nan(hi):
        return "n/a"
    return f"{100 * float(lo):.0f}-{100 * float(hi):.0f}%"


def num(x: float | None) -> str:
    return "n/a" if _nan(x) else f"{float(x):,.0f}"


def num_range(lo: float | None, hi: float | None) -> str:
    return "n/a" if _nan(lo) or _nan(hi) else f"{float(lo):,.0f}-{float(hi):,.0f}"


def signed(x: float, unit: str = "") -> str:
    return f"{x:+,.0f}{unit}".replace("-", "\u2212")


def _nan(x: Any) -> bool:
    return x is None or (isinstance(x, float) and math.isnan(x)) or pd.isna(x)


def scenario_descriptions(spec: dict[str, Any]) -> dict[str, str]:
    """Scenario name -> its description in the spec (empty when none)."""
    raw = spec.get("scenarios")
    out: dict[str, str] = {}
    if isinstance(raw, dict):
        for k, v in raw.items():
            out[str(k)] = str(v.get("description", "")) if isinstance(v, dict) else ""
    elif isinstance(raw, list):
        for v in raw:
            if isinstance(v, dict) and "name" in v:
                out[str(v["name"])] = str(v.get("description", ""))
    return out


def scenario_phrase(name: str, descriptions: dict[str, str]) -> str:
    desc = descriptions.get(name, "").strip().rstrip(".")
    return f"with {desc} ({name})" if desc else f"in scenario {name}"


def _row(df: pd.DataFrame, **keys: Any) -> pd.Series | None:
    mask = pd.Series(True, index=df.index)
    for k, v in keys.items():
        mask &= df[k] == v
    hit = df[mask]
    return None if hit.empty else hit.iloc[0]


def paragraphs(a: RunAnalysis, names: dict[str, str]) -> list[str]:
    """The summary, one string per paragraph."""
    spec = a.dataset.spec
    desc = scenario_descriptions(spec)
    base = a.baseline
    others = [s for s in a.scenarios if s != base]
    cap = a.capacity
    out: list[str] = []

    n_reps = {s: len(r) for s, r in a.meta.get("replicates", {}).items()}
    what = spec.get("description") or spec.get("name") or a.run_dir.name
    days = cap["open_days"].max() if len(cap) else None
    intro = (
        f"{what}: {len(a.scenarios)} scenario(s), "
        + ", ".join(f"{s} ({n_reps.get(s, '?')} replicates)" for s in a.scenarios)
        + (f", {num(days)} days" if not _nan(days) else "")
        + (f" from {spec['start']}" if spec.get("start") else "")
        + ". Figures are medians over replicates with 90% intervals in brackets; "
        "'over capacity' means more patients than open funded beds on a day, counting ward "
        "(including ALC) and ICU patients."
    )
    out.append(intro)

    tot = cap[(cap["unit"] == "total") & (cap["facility"] != ALL_SITES)]
    b = tot[tot["scenario"] == base].sort_values("p_over_p50", ascending=False)
    busy = b[b["p_over_p50"] > 0.01].head(5)
    if busy.empty:
        busy = b.head(3)
    sentences = []
    for _, row in busy.iterrows():
        site = row["facility"]
        text = (
            f"{names.get(site, site)} exceeds funded beds on {pct(row['p_over_p50'])} of days "
            f"in the baseline (90% interval {pct_range(row['p_over_p5'], row['p_over_p95'])})"
        )
        for sc in others:
            r = _row(tot, scenario=sc, facility=site)
            if r is not None:
                text += (
                    f"; {scenario_phrase(sc, desc)}, {pct(r['p_over_p50'])} "
                    f"({pct_range(r['p_over_p5'], r['p_over_p95'])})"
                )
        sentences.append(text + ".")
    icu = cap[(cap["unit"] == "icu") & (cap["facility"] != ALL_SITES) & (cap["scenario"] == base)]
    icu = icu[icu["p_over_p50"] > 0.01].sort_values("p_over_p50", ascending=False).head(3)
    if len(icu):
        sentences.append(
            "In intensive care, "
            + "; ".join(
                f"{names.get(r['facility'], r['facility'])} exceeds its {num(r['funded_beds'])} "
                f"ICU beds on {pct(r['p_over_p50'])} of days "
                f"({pct_range(r['p_over_p5'], r['p_over_p95'])})"
                for _, r in icu.iterrows()
            )
            + " in the baseline."
        )
    if sentences:
        out.append(" ".join(sentences))

    region_bits = []
    for unit, label in (("total", "ward and ICU"), ("icu", "ICU")):
        r = _row(cap, scenario=base, facility=ALL_SITES, unit=unit)
        if r is None:
            continue
        text = (
            f"In the baseline, {label} census across all sites peaks at {num(r['peak_census_p50'])} "
            f"({num_range(r['peak_census_p5'], r['peak_census_p95'])}) against "
            f"{num(r['funded_beds'])} funded beds"
        )
        if unit == "total" and not _nan(r.get("ed_boarding_days_p50")):
            text += (
                f"; ED boarding totals {num(r['ed_boarding_days_p50'])} patient-days "
                f"({num_range(r['ed_boarding_days_p5'], r['ed_boarding_days_p95'])}) and "
                f"ALC {num(r['alc_bed_days_p50'])} bed-days"
            )
        region_bits.append(text + ".")
    if region_bits:
        out.append(" ".join(region_bits))

    bn = a.beds_needed
    need = bn[
        (bn["scenario"] == base) & (bn["unit"] == "total") & (bn["facility"] != ALL_SITES)
    ].sort_values("extra_beds_5", ascending=False)
    need = need[need["extra_beds_5"] > 0].head(4)
    if len(need):
        parts = [
            f"{names.get(r['facility'], r['facility'])} about {num(r['beds_needed_5'])} "
            f"({signed(r['extra_beds_5'])} on today's {num(r['funded_beds'])})"
            for _, r in need.iterrows()
        ]
        out.append(
            "To be over capacity on at most 5% of days in the baseline, sites would need "
            "these funded beds (ward + ICU): " + "; ".join(parts) + "."
        )

    if "epidemic" in a.tables:
        epi = a.epidemic
        e = epi[epi["scenario"] == base].set_index("measure")
        if "attack_rate" in e.index and e.loc["attack_rate", "p50"] > 0:
            text = (
                f"The epidemic infects {pct(e.loc['attack_rate', 'p50'])} of residents "
                f"({pct_range(e.loc['attack_rate', 'p5'], e.loc['attack_rate', 'p95'])})"
            )
            if "peak_day" in e.index:
                text += (
                    f", peaks on day {num(e.loc['peak_day', 'p50'])} "
                    f"({num_range(e.loc['peak_day', 'p5'], e.loc['peak_day', 'p95'])})"
                )
            text += (
                ". Over the whole run, from all causes (everyday demand included), residents "
                f"have {num(e.loc['hospital_admissions', 'p50'])} hospital admissions"
            )
            if "icu_admissions" in e.index:
                text += f" ({num(e.loc['icu_admissions', 'p50'])} ICU entries)"
            text += f" and {num(e.loc['deaths', 'p50'])} deaths."
            out.append(text)

    cmp = a.comparison
    for sc in others:
        r = _row(cmp, scenario=sc, facility=ALL_SITES, unit="total", measure="site_bed_days_over")
        if r is None:
            continue
        per_site = cmp[
            (cmp["scenario"] == sc)
            & (cmp["unit"] == "total")
            & (cmp["measure"] == "p_over")
            & (cmp["facility"] != ALL_SITES)
        ]
        text = (
            f"Compared with the baseline replicate by replicate, {scenario_phrase(sc, desc)}, "
            f"bed-days over capacity summed over sites change by "
            f"{signed(r['diff_p50'])} (90% interval {signed(r['diff_p5'])} to "
            f"{signed(r['diff_p95'])})"
        )
        eb = _row(cmp, scenario=sc, facility=ALL_SITES, unit="total", measure="ed_boarding_days")
        if eb is not None:
            text += (
                f" and ED boarding patient-days by {signed(eb['diff_p50'])} "
                f"({signed(eb['diff_p5'])} to {signed(eb['diff_p95'])})"
            )
        if len(per_site):
            big = per_site.loc[per_site["diff_p50"].abs().idxmax()]
            if abs(big["diff_p50"]) > 0:
                text += (
                    f"; the largest change in days over capacity is at "
                    f"{names.get(big['facility'], big['facility'])}: "
                    f"{signed(100 * big['diff_p50'])} percentage points "
                    f"({signed(100 * big['diff_p5'])} to {signed(100 * big['diff_p95'])})"
                )
        out.append(text + ".")
    return out
