"""The planner's report: one self-contained HTML file (images embedded, opens offline).

``write_report(run_dir)`` analyses the run if its tables are missing or stale, draws the
figures (also kept as PNG under ``RUN_DIR/analysis/plots/``) and writes
``RUN_DIR/analysis/report.html``.
"""

from __future__ import annotations

import base64
import html
import re
import sys
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from popsim.analysis import Options, RunAnalysis, answer, checks, load, plots, staffing, summary
from popsim.analysis import ltc as ltc_section
from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.epidemic import ALL_BANDS, ALL_ZONES
from popsim.core import __version__
from popsim.core.schema import ZONE_DAY
from popsim.files import is_regular_file, output_dir, write_text
from popsim.twin.pages import fit_section

_CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
.summary p{font-size:1.05em}.note{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0 1.5em}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}
.warn{background:#fff4e5;border-left:4px solid #e6550d;padding:.4em 1em;margin:1em 0}
.comparator{font-size:1em}
.basis{font-size:.9em;color:#333;border-left:4px solid #3182bd;padding:.2em .8em}
.wide{overflow-x:auto}
table.options td,table.key td{vertical-align:top;font-size:.85em}
.chg{color:#444;font-size:.9em}
.arm{font-weight:bold}
"""


def run_region(a: RunAnalysis):
    """The run's region, or (None, reason) when it cannot be loaded."""
    return a.dataset.load_region()


def site_names(region) -> dict[str, str]:
    if region is None:
        return {}
    fac = region.facilities
    return {str(k): str(v) for k, v in zip(fac["facility_id"], fac["name"], strict=True)}


def _zone_names(region) -> dict[str, str]:
    if region is None:
        return {}
    z = region.zones
    return {str(k): str(v) for k, v in zip(z["zone_id"], z["name"], strict=True)}


def _img(path: Path, caption: str) -> str:
    data = base64.b64encode(path.read_bytes()).decode("ascii")
    return (
        f'<figure><img alt="{html.escape(caption)}" src="data:image/png;base64,{data}">'
        f"<figcaption>{html.escape(caption)}</figcaption></figure>"
    )


def _table(df: pd.DataFrame, formats: dict[str, str] | None = None) -> str:
    df = df.copy()
    for col, kind in (formats or {}).items():
        if col not in df:
            continue
        if kind == "pct":
            df[col] = df[col].map(lambda v: "" if pd.isna(v) else f"{100 * v:.0f}%")
        elif kind == "pct1":
            df[col] = df[col].map(lambda v: "" if pd.isna(v) else f"{100 * v:.1f}%")
        elif kind == "int":
            df[col] = df[col].map(lambda v: "" if pd.isna(v) else f"{v:,.0f}")
        elif kind == "num":
            df[col] = df[col].map(lambda v: "" if pd.isna(v) else f"{v:,.2f}")
    return df.to_html(index=False, border=0, escape=True, na_rep="")


def _ordered(a: RunAnalysis, df: pd.DataFrame) -> pd.DataFrame:
    """Rows in window order, scenario order (baseline first), then sites as in the figures."""
    sites = plots.site_order(a.capacity, a.baseline, a.windows[0])
    rank_w = {w: i for i, w in enumerate(a.windows)}
    rank_s = {
        s: i for i, s in enumerate([a.baseline, *[x for x in a.scenarios if x != a.baseline]])
    }
    rank_f = {f: i for i, f in enumerate(sites)}
    key = df["scenario"].map(rank_s).fillna(len(rank_s)) * 10_000 + df["facility"].map(
        rank_f
    ).fillna(len(rank_f))
    if "window" in df:
        key = key + df["window"].map(rank_w).fillna(len(rank_w)) * 10_000_000
    return df.assign(_k=key.to_numpy()).sort_values("_k", kind="stable").drop(columns="_k")


def _mid(m: float, lo: float, hi: float, f=summary.num) -> str:
    return (
        f"{f(m)} ({summary.num_range(lo, hi) if f is summary.num else summary.pct_range(lo, hi)})"
    )


def _capacity_table(a: RunAnalysis, names: dict[str, str], unit: str) -> str:
    c = a.capacity[(a.capacity["unit"] == unit) & (a.capacity["open_days"] > 0)]
    c = _ordered(a, c.copy())
    c["site"] = c["facility"].map(lambda f: names.get(f, f))
    c["days over"] = [
        _mid(m, lo, hi) for m, lo, hi in zip(c["days_over_p50"], c["days_over_p5"],
                                             c["days_over_p95"], strict=True)
    ]  # fmt: skip
    c["demand p95 day"] = [
        _mid(m, lo, hi) for m, lo, hi in zip(c["demand_p95_p50"], c["demand_p95_p5"],
                                             c["demand_p95_p95"], strict=True)
    ]  # fmt: skip
    cols = {
        "window": "window",
        "scenario": "scenario",
        "site": "site",
        "funded_beds": "funded beds",
        "staffed_beds": "staffed beds",
        "mean_demand_p50": "mean bed demand",
        "demand p95 day": "bed demand, 95th-percentile day",
        "peak_demand_p50": "peak bed demand",
        "peak_census_p50": "peak census",
        "open_days": "days",
        "days over": "days over capacity",
        "bed_days_over_p50": "bed-days over",
    }
    if unit == "total":
        cols.update(
            {
                "ed_boarding_per_day_p50": "ED boarding / day",
                "alc_bed_days_p50": "ALC bed-days",
                "transfers_out_p50": "transfers out",
                "diversions_p50": "diversions",
            }
        )
    t = c[list(cols)].rename(columns=cols)
    fmt = {
        v: "int"
        for k, v in cols.items()
        if k.endswith("_p50") or k in ("funded_beds", "staffed_beds", "open_days")
    }
    fmt["ED boarding / day"] = "num"
    fmt["mean bed demand"] = "int"
    return _table(t, fmt)


def _beds_table(a: RunAnalysis, names: dict[str, str]) -> str:
    b = a.beds_needed
    b = _ordered(a, b[b["unit"].isin(["total", "ward", "icu"])].copy())
    b["site"] = b["facility"].map(lambda f: names.get(f, f))
    for lvl in (5, 1):
        b[f"need{lvl}"] = [
            "no demand" if pd.isna(v) else f"{v:,.0f}" for v in b[f"beds_needed_{lvl}"]
        ]
        b[f"extra{lvl}"] = ["" if pd.isna(v) else f"{v:+,.0f}" for v in b[f"extra_beds_{lvl}"]]
    cols = {
        "window": "window",
        "scenario": "scenario",
        "site": "site",
        "unit": "unit",
        "funded_beds": "funded beds",
        "max_demand": "peak bed demand",
        "need5": "beds for <= 5% days over",
        "extra5": "change (5%)",
        "need1": "beds for <= 1% days over",
        "extra1": "change (1%)",
    }
    if "nurses_needed_5" in b:
        b["nurses5"] = [fmt_int(v) for v in b["nurses_needed_5"]]
        b["nurses1"] = [fmt_int(v) for v in b["nurses_needed_1"]]
        b["staffed"] = [fmt_int(v) for v in b["staffed_beds"]]
        cols = {
            **{k: cols[k] for k in ("window", "scenario", "site", "unit", "funded_beds")},
            "staffed": "staffed beds",
            **{k: v for k, v in cols.items() if k in ("max_demand", "need5", "extra5")},
            "nurses5": "nurses a shift to staff them (5%)",
            **{k: v for k, v in cols.items() if k in ("need1", "extra1")},
            "nurses1": "nurses a shift (1%)",
        }
    t = b[list(cols)].rename(columns=cols)
    return _table(t, {"funded beds": "int", "peak bed demand": "int"})


def fmt_int(v) -> str:
    return "" if pd.isna(v) else f"{v:,.0f}"


def _monthly_table(a: RunAnalysis, names: dict[str, str]) -> str:
    """Days over capacity (median) by site and month, the comparator scenario, and the
    change in each other scenario."""
    if "capacity_monthly" not in a.tables:
        return ""
    m = a.capacity_monthly
    m = m[(m["unit"] == "total") & (m["open_days"] > 0)]
    parts = []
    sites = [
        s for s in plots.site_order(a.capacity, a.baseline, a.windows[0]) if s in set(m["facility"])
    ]
    for sc in [a.baseline, *[s for s in a.scenarios if s != a.baseline]]:
        g = m[m["scenario"] == sc].pivot_table(
            index="facility", columns="month", values="days_over_p50", aggfunc="first"
        )
        g = g.reindex([s for s in sites if s in g.index])
        g.index = [names.get(f, f) for f in g.index]
        g = g.reset_index(names="site")
        parts.append(f"<h3>{html.escape(sc)}: days over capacity by month (median)</h3>")
        parts.append(_table(g, {c: "int" for c in g.columns if c != "site"}))
    return "\n".join(parts)


def _comparison_table(a: RunAnalysis, names: dict[str, str]) -> str:
    c = a.comparison
    measures = ["days_over", "bed_days_over", "demand_p95", "ed_boarding_per_day"]
    c = c[(c["unit"] == "total") & c["measure"].isin(measures)]
    if c.empty:
        return "<p class='note'>Only one scenario: nothing to compare.</p>"
    c = _ordered(a, c.copy())
    c["site"] = c["facility"].map(lambda f: names.get(f, f))
    rows = []
    for _, r in c.iterrows():
        f = "{:+,.1f}" if r["measure"] == "ed_boarding_per_day" else "{:+,.0f}"
        g = "{:,.1f}" if r["measure"] == "ed_boarding_per_day" else "{:,.0f}"
        rows.append(
            {
                "window": r["window"],
                "scenario": r["scenario"],
                "site": r["site"],
                "measure": r["measure"],
                f"{a.baseline} (median)": g.format(r["baseline_p50"]),
                "scenario (median)": g.format(r["scenario_p50"]),
                "paired difference": f.format(r["diff_p50"]),
                "90% interval": f"{f.format(r['diff_p5'])} to {f.format(r['diff_p95'])}",
                "P(lower)": f"{100 * r['p_lower']:.0f}%",
                "pairs": int(r["n_pairs"]),
            }
        )
    return _table(pd.DataFrame(rows))


def _epidemic_tables(a: RunAnalysis, zone_names: dict[str, str]) -> str:
    if "epidemic" not in a.tables:
        return f"<p class='note'>No {ZONE_DAY} table: no epidemic measures.</p>"
    e = a.epidemic.copy()
    parts = [_table(e, {"mean": "num", "p5": "num", "p50": "num", "p95": "num"})]
    ar = a.attack_rate
    z = ar[ar["age_band"] == ALL_BANDS].copy()
    z["zone"] = z["zone"].map(lambda v: zone_names.get(v, v))
    pk = a.peak_day.copy()
    pk["zone"] = pk["zone"].map(lambda v: zone_names.get(v, v))
    z = z.merge(pk[["scenario", "zone", "peak_day_p50"]], on=["scenario", "zone"], how="left")
    cols = [
        "scenario", "zone", "population", "attack_rate_p50", "attack_rate_p5", "attack_rate_p95",
        "admissions_p50", "deaths_p50", "peak_day_p50",
    ]  # fmt: skip
    parts.append("<h3>By zone (all ages)</h3>")
    fmt = {"attack_rate_p50": "pct1", "attack_rate_p5": "pct1", "attack_rate_p95": "pct1"}
    fmt.update({c: "int" for c in ("population", "admissions_p50", "deaths_p50", "peak_day_p50")})
    parts.append(_table(z[cols], fmt))
    b = ar[ar["zone"] == ALL_ZONES]
    parts.append("<h3>By age band (region)</h3>")
    cols = ["scenario", "age_band", "population", "attack_rate_p50", "admissions_p50", "deaths_p50"]
    parts.append(_table(b[cols], fmt))
    return "\n".join(parts)


def _figures(
    a: RunAnalysis, region, names: dict[str, str], zone_names: dict[str, str]
) -> tuple[list[str], list[str]]:
    """Draw every figure; returns the HTML blocks and notes about figures left out."""
    out = output_dir(a.run_dir, a.analysis_dir / "plots")  # no link followed
    for old in out.glob("*.png"):
        if is_regular_file(old):  # popsim's own figures, never a link or anything else
            old.unlink()
    blocks: list[str] = []
    notes: list[str] = []
    sites = plots.site_order(a.capacity, a.baseline, a.windows[0])
    daily = a.census_daily
    for sc in a.scenarios:
        slug = _slug(sc)
        for unit in ("total", "icu"):
            p = plots.fan_chart(
                daily, sc, unit, sites, names, out / f"fan_{slug}_{unit}.png", a.baseline
            )
            if p:
                label = "Ward + ICU" if unit == "total" else "ICU"
                blocks.append(
                    _img(
                        p,
                        f"{label} bed demand (blue: median line, bands hold 50% and 90% of "
                        f"replicates) beside census (green) and beds (red; the staffed beds when "
                        f"staffing is on), scenario {sc}"
                        + (f"; dashed: {a.baseline} median demand" if sc != a.baseline else ""),
                    )
                )
        p = plots.boarding_chart(daily, sc, sites, names, out / f"boarding_{slug}.png")
        if p:
            blocks.append(_img(p, f"Admitted patients boarding in the ED per day, scenario {sc}"))
    p = plots.over_capacity_bars(
        a.capacity, a.scenarios, sites, names, out / "days_over_capacity.png", a.windows
    )
    if p:
        blocks.append(
            _img(p, "Share of days over capacity (bed demand above the beds) by site, "
                 "scenario and window: median and 90% interval over replicates")
        )  # fmt: skip
    for sc in a.scenarios:
        p = plots.occupancy_heatmap(
            a.occupancy_weekly, sc, sites, names, out / f"heatmap_{_slug(sc)}.png"
        )
        if p:
            blocks.append(
                _img(p, f"Median weekly bed demand over funded beds by site, scenario {sc}")
            )
    if "epidemic_zone_daily" in a.tables:
        p = plots.zone_infections(
            a.epidemic_zone_daily, a.scenarios, zone_names, out / "zone_infections.png"
        )
        if p:
            blocks.append(_img(p, "New infections per day by zone and scenario (medians)"))
    if "epidemic_daily" in a.tables:
        p = plots.epidemic_curve(a.epidemic_daily, a.scenarios, out / "epidemic_curve.png")
        if p:
            blocks.append(_img(p, "Residents infectious per day across the region"))
    if region is not None:
        attack = a.attack_rate if "attack_rate" in a.tables else None
        try:
            p = plots.region_map(
                region, attack, a.capacity, a.baseline, out / "region_map.png", a.windows[0]
            )
        except (ValueError, KeyError, TypeError, RuntimeError) as err:
            p = None
            notes.append(f"No region map: drawing it failed ({err}).")
        if p:
            blocks.append(
                _img(p, "Attack rate by zone (scale from 0); sites sized by funded beds, "
                     "coloured by days over capacity")
            )  # fmt: skip
    return blocks, notes


#: More report sections: functions ``(analysis, site names) -> HTML`` (empty: nothing)
#: placed after the summary, before the detailed tables. A package adds its own with
#: :func:`add_section`.
SECTIONS: list = []


def add_section(fn) -> None:
    """Add a report section (see :data:`SECTIONS`)."""
    if fn not in SECTIONS:
        SECTIONS.append(fn)


def extra_sections(a: RunAnalysis, names: dict[str, str]) -> list[str]:
    return [html_ for fn in SECTIONS if (html_ := fn(a, names))]


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def write_report(run_dir: str | Path, options: Options | None = None) -> Path:
    """Write ``RUN_DIR/analysis/report.html`` (analysing first if needed); returns its path.

    The cautions (few replicates, a growing epidemic, a site over capacity every day) are
    printed on stderr too."""
    a = load(run_dir, options=options)
    region, why = run_region(a)
    names = site_names(region)
    names.setdefault(ALL_SITES, ALL_SITES)
    zone_names = _zone_names(region)
    blocks, notes = _figures(a, region, names, zone_names)
    if region is None:
        notes.append(f"No region map: {why}.")
    notes.extend(a.meta.get("warnings", []))
    daily = a.epidemic_daily if "epidemic_daily" in a.tables else None
    n_reps = {s: len(r) for s, r in a.meta.get("replicates", {}).items()}
    cautions = checks.cautions(n_reps, a.capacity, daily, names, a.windows[0])
    for c in cautions:
        print(f"popsim: warning: {c}", file=sys.stderr)
    paras = summary.paragraphs(a, names)
    title = f"popsim report: {a.dataset.spec.get('name') or a.run_dir.name}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    windows = "; ".join(answer.window_label(a, w) for w in a.windows)
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='comparator'>Comparator: <b>{html.escape(a.baseline)}</b> "
        f"({html.escape(str(a.meta.get('baseline_source', '')))}). Windows: "
        f"{html.escape(windows)}.</p>",
        f"<p class='basis'>{html.escape(answer.unit_basis(a))}</p>",
        "<h2 id='key-findings'>Key findings: the region, then the sites that matter</h2>",
        answer.key_findings_html(a, names),
        f"<h2 id='options'>Options against {html.escape(a.baseline)}</h2>",
        "<p class='note'>One row per scenario: its median over replicates, then its change "
        "against the comparator (the median of the paired differences, replicate by "
        "replicate, with their 90% interval) and the share of replicates in which it had "
        "fewer. Patients first; bed-days over the beds second; days over only where it "
        "differs between replicates; staffing cost beside the outcomes.</p>",
        answer.options_html(a, names),
        "<h2>Figures</h2>",
        *blocks,
        "<h2>Summary</h2><div class='summary'>",
        *(f"<p>{html.escape(p)}</p>" for p in paras),
        "</div>",
    ]
    if cautions:
        body.append("<div class='warn'><b>Cautions</b><ul>")
        body += [f"<li>{html.escape(c)}</li>" for c in cautions]
        body.append("</ul></div>")
    body += [
        *(f"<p class='note'>{html.escape(n)}</p>" for n in notes),
        *extra_sections(a, names),
        "<h2>Capacity by site and window: ward + ICU</h2>",
        "<p class='note'>Medians over replicates, 90% intervals in brackets. Days over "
        "capacity: days on which the site's ward or ICU bed demand exceeded its beds (the "
        "staffed beds when staffing is on). Bed-days over: the excess summed (ward + ICU, "
        "never pooled).</p>",
        _capacity_table(a, names, "total"),
        "<h2>Capacity by site and window: ICU</h2>",
        _capacity_table(a, names, "icu"),
        "<h2>Beds needed, and nurses to staff them</h2>",
        "<p class='note'>Beds at which a unit's bed demand would exceed them on at "
        "most 5% (1%) of its days, pooled over replicates, for each window; the site (total) "
        "needs its ward's plus its ICU's. From demand, so it can exceed today's beds; 'no "
        "demand': a unit that admits nobody needs no beds. Nurses: a shift's nurses to staff "
        "those beds at the unit's ratio.</p>",
        _beds_table(a, names),
        "<h2>Months</h2>",
        _monthly_table(a, names),
        f"<h2>Scenarios against {html.escape(a.baseline)} by site (paired by replicate)</h2>",
        "<p class='note'>P(lower): share of replicate pairs in which the scenario's value is "
        "below the comparator's.</p>",
        _comparison_table(a, names),
        "<h2>Epidemic</h2>",
        _epidemic_tables(a, zone_names),
        staffing.section(a, names, _table, _img, _slug),
        ltc_section.section(a, _table),
        fit_section(a.run_dir),
        f"<p class='note'>popsim {__version__}, written {stamp}. Tables: analysis/*.csv and "
        "*.parquet beside this file; <code>popsim export RUN_DIR --xlsx FILE</code> for Excel."
        "</p>",
    ]
    doc = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )
    path = a.analysis_dir / "report.html"
    write_text(path, doc, root=a.run_dir)
    a.con.close()
    return path
