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
    if round(float(x)) == 0:
        return f"0{unit}"
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


def _window_phrase(a: RunAnalysis, window: str) -> str:
    for w in a.meta.get("windows", []):
        if w["name"] == window:
            if w.get("first") is None and w.get("last") is None:
                return "over the whole run"
            return (
                f"in the {window} window ({w.get('first') or 'start'} to {w.get('last') or 'end'})"
            )
    return f"in window {window}"


def site_sentence(row: pd.Series, names: dict[str, str]) -> str:
    """One site's capacity in one window: days over, bed-days over, demand against beds.

    The numbers are the ``capacity`` table's medians (``days_over_p50``, ``open_days``,
    ``bed_days_over_p50``, ``demand_p95_p50``, ``funded_beds``), formatted with
    :func:`num`; the report's tests read them back out of the text.
    """
    site = names.get(row["facility"], row["facility"])
    text = (
        f"{site} is over capacity on {num(row['days_over_p50'])} of {num(row['open_days'])} "
        f"days (90% interval {num_range(row['days_over_p5'], row['days_over_p95'])}), "
        f"{num(row['bed_days_over_p50'])} bed-days over; bed demand on its 95th-percentile "
        f"day is {num(row['demand_p95_p50'])} against {num(row['funded_beds'])} funded beds"
    )
    if not _nan(row.get("ed_boarding_per_day_p50")):
        text += f", and {row['ed_boarding_per_day_p50']:,.1f} patients board in its ED a day"
    return text


def paragraphs(a: RunAnalysis, names: dict[str, str]) -> list[str]:
    """The summary, one string per paragraph."""
    spec = a.dataset.spec
    desc = scenario_descriptions(spec)
    base = a.baseline
    others = [s for s in a.scenarios if s != base]
    cap = a.capacity
    main = a.windows[0]
    out: list[str] = []

    n_reps = {s: len(r) for s, r in a.meta.get("replicates", {}).items()}
    what = spec.get("description") or spec.get("name") or a.run_dir.name
    days = cap.loc[cap["window"] == main, "days"].max() if len(cap) else None
    intro = (
        f"{what}: {len(a.scenarios)} scenario(s), "
        + ", ".join(f"{s} ({n_reps.get(s, '?')} replicates)" for s in a.scenarios)
        + (f", {num(days)} days {_window_phrase(a, main)}" if not _nan(days) else "")
        + (f" (run from {spec['start']})" if spec.get("start") else "")
        + f". Scenarios are compared with {base}, {a.meta.get('baseline_source', 'the default')}."
        " Figures are medians over replicates with 90% intervals. A unit (ward including ALC, "
        "or ICU) is over capacity on a day when its bed demand, the patients the site is "
        "responsible for who need that unit wherever they wait (bed, surge bed, ED), exceeds "
        "its open beds (the funded beds that were staffed, when staffing is on); bed-days "
        "over is that excess summed; a site is over when "
        "either unit is. Bed demand here is " + str(a.meta.get("demand_source", "census")) + "."
    )
    out.append(intro)

    for window in a.windows:
        wcap = cap[cap["window"] == window]
        tot = wcap[(wcap["unit"] == "total") & (wcap["facility"] != ALL_SITES)]
        b = tot[(tot["scenario"] == base) & (tot["open_days"] > 0)]
        b = b.sort_values(["bed_days_over_p50", "facility"], ascending=[False, True])
        busy = b[b["days_over_p50"] > 0].head(5)
        if busy.empty:
            out.append(
                f"{_window_phrase(a, window).capitalize()}, no site is over capacity "
                f"in the median replicate of {base}."
            )
        else:
            sentences = [f"{_window_phrase(a, window).capitalize()}, in {base}:"]
            sentences += [site_sentence(r, names) + "." for _, r in busy.iterrows()]
            out.append(" ".join(sentences))
        for sc in others:
            text = _option_sentence(a, window, sc, desc)
            if text:
                out.append(text)

    bn = a.beds_needed
    for window in a.windows:
        need = bn[
            (bn["window"] == window)
            & (bn["scenario"] == base)
            & (bn["unit"] == "total")
            & (bn["facility"] != ALL_SITES)
        ].sort_values("extra_beds_5", ascending=False)
        need = need[need["extra_beds_5"] > 0].head(5)
        if not len(need):
            continue
        parts = []
        for _, r in need.iterrows():
            text = (
                f"{names.get(r['facility'], r['facility'])} {num(r['beds_needed_5'])} beds "
                f"({signed(r['extra_beds_5'])} on today's {num(r['funded_beds'])} funded)"
            )
            if "nurses_needed_5" in r and not _nan(r["nurses_needed_5"]):
                text += f" and {num(r['nurses_needed_5'])} nurses a shift to staff them"
            parts.append(text)
        out.append(
            f"{_window_phrase(a, window).capitalize()}, to be over capacity on at most 5% of "
            f"days in {base}, from bed demand, sites would need (ward + ICU): "
            + "; ".join(parts)
            + "."
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
    return out


def _option_sentence(a: RunAnalysis, window: str, sc: str, desc: dict[str, str]) -> str:
    """One scenario against the comparator in a window, patients first, from ``options``:
    each arm's value, then the paired change on its own, written apart from the arms."""
    if "options" not in a.tables:
        return ""
    o = a.options
    r = o[(o["window"] == window) & (o["scenario"] == sc)]
    b = o[(o["window"] == window) & (o["scenario"] == a.baseline)]
    if r.empty or b.empty:
        return ""
    r, b = r.iloc[0], b.iloc[0]
    said = []
    for m, what in (
        ("ed_boarding_days", "ED boarding patient-days"),
        ("icu_outside_days", "patient-days of critical care outside an ICU"),
        ("deaths", "deaths in hospital"),
        ("bed_days_over", "bed-days over the beds"),
        ("labour_cost", "nurses' labour cost (CAD)"),
    ):
        if m not in o or _nan(r[m]):
            continue
        said.append(
            f"{what}: {num(r[m])} ({a.baseline} {num(b[m])}); change {signed(r[m + '_change'])} "
            f"(90% interval {signed(r[m + '_change_p5'])} to {signed(r[m + '_change_p95'])})"
        )
    if not said:
        return ""
    return (
        f"{_window_phrase(a, window).capitalize()}, {scenario_phrase(sc, desc)}, paired by "
        "replicate: " + "; ".join(said) + "."
    )
