"""The planner's report: one self-contained HTML file (images embedded, opens offline).

``write_report(run_dir)`` analyses the run if its tables are missing or stale, draws the
figures (also kept as PNG under ``RUN_DIR/analysis/plots/``) and writes
``RUN_DIR/analysis/report.html``.
"""

from __future__ import annotations

import base64
import html
import re
from datetime import UTC, datetime
from pathlib import Path

import pandas as pd

from popsim import __version__
from popsim.analysis import RunAnalysis, load, plots, summary
from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.epidemic import ALL_BANDS, ALL_ZONES
from popsim.errors import PopsimError
from popsim.files import write_text

_CSS = """
body{font-family:system-ui,Segoe UI,Helvetica,Arial,sans-serif;margin:2em auto;max-width:1200px;
color:#222;line-height:1.45;padding:0 1em}
h1{font-size:1.6em}h2{font-size:1.25em;border-bottom:1px solid #ccc;margin-top:2em}
.summary p{font-size:1.05em}.note{color:#666;font-size:.9em}
table{border-collapse:collapse;font-size:.8em;margin:.5em 0 1.5em}
th,td{border:1px solid #ddd;padding:2px 6px;text-align:right}th{background:#f3f3f3}
td:first-child,th:first-child{text-align:left}
figure{margin:1em 0}img{max-width:100%}figcaption{color:#555;font-size:.9em}
"""


def _region(a: RunAnalysis):
    """The run's region, or (None, reason) when it cannot be loaded."""
    name = a.dataset.region_name
    if not name:
        return None, "the run's spec names no region"
    try:
        from popsim.region import load_region

        return load_region(name), None
    except (PopsimError, OSError, ValueError, KeyError, ImportError, RuntimeError) as err:
        return None, f"region {name!r} could not be loaded ({err})"


def _names(region) -> dict[str, str]:
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
    """Rows in scenario order (baseline first), then sites as in the figures."""
    sites = plots.site_order(a.capacity, a.baseline)
    rank_s = {s: i for i, s in enumerate(a.scenarios)}
    rank_f = {f: i for i, f in enumerate(sites)}
    key = df["scenario"].map(rank_s).fillna(len(rank_s)) * 10_000 + df["facility"].map(
        rank_f
    ).fillna(len(rank_f))
    return df.assign(_k=key.to_numpy()).sort_values("_k", kind="stable").drop(columns="_k")


def _capacity_table(a: RunAnalysis, names: dict[str, str], unit: str) -> str:
    c = a.capacity[(a.capacity["unit"] == unit) & (a.capacity["open_days"] > 0)]
    c = _ordered(a, c.copy())
    c["site"] = c["facility"].map(lambda f: names.get(f, f))
    c["p_over"] = [
        f"{summary.pct(m)} ({summary.pct_range(lo, hi)})"
        for m, lo, hi in zip(c["p_over_p50"], c["p_over_p5"], c["p_over_p95"], strict=True)
    ]
    c["peak"] = [
        f"{summary.num(m)} ({summary.num_range(lo, hi)})"
        for m, lo, hi in zip(
            c["peak_census_p50"], c["peak_census_p5"], c["peak_census_p95"], strict=True
        )
    ]
    cols = {
        "scenario": "scenario",
        "site": "site",
        "funded_beds": "funded beds",
        "peak": "peak census",
        "mean_occupancy_p50": "mean occupancy",
        "p_over": "days over beds",
        "days_above_85_p50": "days > 85%",
        "days_above_95_p50": "days > 95%",
        "days_above_100_p50": "days > 100%",
        "bed_days_over_p50": "bed-days over",
    }
    if unit == "total":
        cols.update(
            {
                "ed_boarding_days_p50": "ED boarding patient-days",
                "alc_bed_days_p50": "ALC bed-days",
                "transfers_out_p50": "transfers out",
                "diversions_p50": "diversions",
            }
        )
    t = c[list(cols)].rename(columns=cols)
    fmt = {v: "int" for v in cols.values() if v not in ("scenario", "site", "peak census")}
    fmt.update({"mean occupancy": "pct", "days over beds": "str"})
    return _table(t, {k: v for k, v in fmt.items() if v != "str"})


def _beds_table(a: RunAnalysis, names: dict[str, str]) -> str:
    b = _ordered(a, a.beds_needed[a.beds_needed["unit"].isin(["total", "icu"])].copy())
    b["site"] = b["facility"].map(lambda f: names.get(f, f))
    cols = {
        "scenario": "scenario",
        "site": "site",
        "unit": "unit",
        "funded_beds": "funded beds",
        "beds_needed_5": "beds for <= 5% days over",
        "extra_beds_5": "change (5%)",
        "beds_needed_1": "beds for <= 1% days over",
        "extra_beds_1": "change (1%)",
    }
    t = b[list(cols)].rename(columns=cols)
    return _table(t, {v: "int" for k, v in cols.items() if k not in ("scenario", "site", "unit")})


def _comparison_table(a: RunAnalysis, names: dict[str, str]) -> str:
    c = a.comparison
    c = c[(c["unit"] == "total") & c["measure"].isin(["p_over", "peak_census", "bed_days_over"])]
    if c.empty:
        return "<p class='note'>Only one scenario: nothing to compare.</p>"
    c = _ordered(a, c.copy())
    c["site"] = c["facility"].map(lambda f: names.get(f, f))
    rows = []
    for _, r in c.iterrows():
        scale = 100 if r["measure"] == "p_over" else 1
        unit = " pts" if r["measure"] == "p_over" else ""
        rows.append(
            {
                "scenario": r["scenario"],
                "site": r["site"],
                "measure": r["measure"],
                "baseline (median)": f"{scale * r['baseline_p50']:,.0f}",
                "scenario (median)": f"{scale * r['scenario_p50']:,.0f}",
                "paired difference": f"{scale * r['diff_p50']:+,.0f}{unit}",
                "90% interval": f"{scale * r['diff_p5']:+,.0f} to {scale * r['diff_p95']:+,.0f}",
                "pairs": int(r["n_pairs"]),
            }
        )
    return _table(pd.DataFrame(rows))


def _epidemic_tables(a: RunAnalysis, zone_names: dict[str, str]) -> str:
    if "epidemic" not in a.tables:
        return "<p class='note'>No zone_day table: no epidemic measures.</p>"
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


def _figures(a: RunAnalysis, region, names: dict[str, str]) -> tuple[list[str], list[str]]:
    """Draw every figure; returns the HTML blocks and notes about figures left out."""
    out = a.analysis_dir / "plots"
    out.mkdir(parents=True, exist_ok=True)
    for old in out.glob("*.png"):
        old.unlink()
    blocks: list[str] = []
    notes: list[str] = []
    sites = plots.site_order(a.capacity, a.baseline)
    daily = a.census_daily
    for sc in a.scenarios:
        slug = _slug(sc)
        for unit in ("total", "icu"):
            p = plots.fan_chart(
                daily, sc, unit, sites, names, out / f"fan_{slug}_{unit}.png", a.baseline
            )
            if p:
                label = "ward + ICU" if unit == "total" else "ICU"
                blocks.append(
                    _img(
                        p,
                        f"{label} census against funded beds (red), scenario {sc}: median line, "
                        "bands hold 50% and 90% of replicates"
                        + ("; dashed: baseline median" if sc != a.baseline else ""),
                    )
                )
    for sc in a.scenarios:
        p = plots.occupancy_heatmap(
            a.occupancy_weekly, sc, sites, names, out / f"heatmap_{_slug(sc)}.png"
        )
        if p:
            blocks.append(_img(p, f"Median weekly occupancy of funded beds by site, scenario {sc}"))
    p = plots.over_capacity_bars(
        a.capacity, a.scenarios, sites, names, out / "days_over_capacity.png"
    )
    if p:
        blocks.append(_img(p, "Share of days over funded beds by site and scenario"))
    if "epidemic_daily" in a.tables:
        p = plots.epidemic_curve(a.epidemic_daily, a.scenarios, out / "epidemic_curve.png")
        if p:
            blocks.append(_img(p, "Residents infectious per day across the region"))
    if region is not None:
        attack = a.attack_rate if "attack_rate" in a.tables else None
        try:
            p = plots.region_map(region, attack, a.capacity, a.baseline, out / "region_map.png")
        except (ValueError, KeyError, TypeError, RuntimeError) as err:
            p = None
            notes.append(f"No region map: drawing it failed ({err}).")
        if p:
            blocks.append(
                _img(p, "Attack rate by zone; sites sized by funded beds, coloured by days over")
            )
    return blocks, notes


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_.-]+", "_", text)


def write_report(run_dir: str | Path) -> Path:
    """Write ``RUN_DIR/analysis/report.html`` (analysing first if needed); returns its path."""
    a = load(run_dir)
    region, why = _region(a)
    names = _names(region)
    names.setdefault(ALL_SITES, ALL_SITES)
    blocks, notes = _figures(a, region, names)
    if region is None:
        notes.append(f"No region map: {why}.")
    notes.extend(a.meta.get("warnings", []))
    paras = summary.paragraphs(a, names)
    title = f"popsim report: {a.dataset.spec.get('name') or a.run_dir.name}"
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    body = [
        f"<h1>{html.escape(title)}</h1>",
        f"<p class='note'>popsim {__version__}, written {stamp}. Tables: analysis/*.csv and "
        "*.parquet beside this file.</p>",
        "<h2>Summary</h2><div class='summary'>",
        *(f"<p>{html.escape(p)}</p>" for p in paras),
        "</div>",
        *(f"<p class='note'>{html.escape(n)}</p>" for n in notes),
        "<h2>Figures</h2>",
        *blocks,
        "<h2>Capacity by site: ward + ICU</h2>",
        _capacity_table(a, names, "total"),
        "<h2>Capacity by site: ICU</h2>",
        _capacity_table(a, names, "icu"),
        "<h2>Beds needed</h2>",
        "<p class='note'>Funded beds for a site to be over capacity on at most 5% (1%) of its "
        "days, pooled over replicates.</p>",
        _beds_table(a, names),
        "<h2>Scenarios against the baseline (paired by replicate)</h2>",
        _comparison_table(a, names),
        "<h2>Epidemic</h2>",
        _epidemic_tables(a, _zone_names(region)),
    ]
    doc = (
        "<!DOCTYPE html><html lang='en'><head><meta charset='utf-8'>"
        f"<title>{html.escape(title)}</title><style>{_CSS}</style></head><body>"
        + "\n".join(body)
        + "</body></html>"
    )
    path = a.analysis_dir / "report.html"
    write_text(path, doc)
    a.con.close()
    return path
