"""The report's figures as PNG files (matplotlib, Agg backend; no display needed).

Each function takes the analysis tables and a folder and returns the written path (or
``None`` when there is nothing to draw).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.epidemic import ALL_BANDS, ALL_ZONES
from popsim.files import atomic_write

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from popsim.region import Region

DPI = 90


def _pyplot():
    import matplotlib

    matplotlib.use("Agg", force=True)
    import matplotlib.pyplot as plt

    return plt


def _save(fig: Figure, path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write(path, lambda tmp: fig.savefig(tmp, format="png", dpi=DPI, bbox_inches="tight"))
    _pyplot().close(fig)
    return path


def site_order(capacity: pd.DataFrame, baseline: str) -> list[str]:
    """Sites by baseline funded beds (largest first), ``All sites`` first."""
    tot = capacity[(capacity["scenario"] == baseline) & (capacity["unit"] == "total")]
    tot = tot[tot["facility"] != ALL_SITES].sort_values(
        ["funded_beds", "facility"], ascending=[False, True], na_position="last"
    )
    return [ALL_SITES, *tot["facility"].tolist()]


def fan_chart(
    daily: pd.DataFrame,
    scenario: str,
    unit: str,
    sites: list[str],
    names: dict[str, str],
    path: Path,
    baseline: str | None = None,
) -> Path | None:
    """Census quantile bands against funded beds, one panel per site."""
    d = daily[(daily["scenario"] == scenario) & (daily["unit"] == unit)]
    used = d[(d["beds"] > 0) | (d["p95"] > 0)]  # leave out units with no beds and no patients
    sites = [s for s in sites if s in set(used["facility"])]
    if not sites:
        return None
    base = None
    if baseline is not None and baseline != scenario:
        base = daily[(daily["scenario"] == baseline) & (daily["unit"] == unit)]
    plt = _pyplot()
    ncol = min(4, len(sites))
    nrow = int(np.ceil(len(sites) / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(3.6 * ncol, 2.5 * nrow), squeeze=False, constrained_layout=True
    )
    for ax, site in zip(axes.ravel(), sites, strict=False):
        s = d[d["facility"] == site].sort_values("day")
        x = pd.to_datetime(s["date"]) if s["date"].notna().all() else s["day"]
        ax.fill_between(x, s["p5"], s["p95"], color="#9ecae1", lw=0, label="90% of replicates")
        ax.fill_between(x, s["p25"], s["p75"], color="#4292c6", lw=0, label="50% of replicates")
        ax.plot(x, s["p50"], color="#08306b", lw=1.2, label="median census")
        ax.step(x, s["beds"], where="post", color="#cb181d", lw=1.2, label="funded beds")
        if base is not None:
            b = base[base["facility"] == site].sort_values("day")
            xb = pd.to_datetime(b["date"]) if b["date"].notna().all() else b["day"]
            ax.plot(xb, b["p50"], color="#636363", lw=0.9, ls="--", label=f"median, {baseline}")
        ax.set_title(names.get(site, site), fontsize=9)
        ax.tick_params(labelsize=7)
        ax.set_ylim(bottom=0)
        for label in ax.get_xticklabels():
            label.set_rotation(30)
    for ax in axes.ravel()[len(sites) :]:
        ax.set_visible(False)
    handles, labels = axes.ravel()[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8)
    fig.suptitle(f"{unit} census, scenario {scenario}", fontsize=11)
    return _save(fig, path)


def occupancy_heatmap(
    weekly: pd.DataFrame, scenario: str, sites: list[str], names: dict[str, str], path: Path
) -> Path | None:
    """Median weekly occupancy of funded beds (ward + ICU) by site and week."""
    from matplotlib.colors import TwoSlopeNorm

    w = weekly[(weekly["scenario"] == scenario) & (weekly["unit"] == "total")]
    grid = w.pivot_table(index="facility", columns="week", values="occupancy_p50", aggfunc="first")
    grid = grid.reindex([s for s in sites if s in grid.index])
    if grid.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(min(16, 3 + 0.18 * grid.shape[1]), 1 + 0.35 * len(grid)))
    values = grid.to_numpy(dtype=float)
    hi = max(1.3, float(np.nanmax(values)) if np.isfinite(values).any() else 1.3)
    norm = TwoSlopeNorm(vmin=0.0, vcenter=1.0, vmax=hi)
    im = ax.imshow(
        np.ma.masked_invalid(values), aspect="auto", cmap="RdYlBu_r", norm=norm,
        interpolation="nearest",
    )  # fmt: skip
    ax.set_yticks(range(len(grid)), [names.get(s, s) for s in grid.index], fontsize=8)
    starts = w.drop_duplicates("week").set_index("week")["week_start"]
    ticks = list(range(0, grid.shape[1], max(1, grid.shape[1] // 12)))
    labels = [
        str(pd.Timestamp(starts.get(grid.columns[i])).date())
        if pd.notna(starts.get(grid.columns[i]))
        else str(grid.columns[i])
        for i in ticks
    ]
    ax.set_xticks(ticks, labels, fontsize=7, rotation=45, ha="right")
    ax.set_xlabel("week starting")
    cbar = fig.colorbar(im, ax=ax, fraction=0.03)
    cbar.set_label("census / funded beds (median)", fontsize=8)
    ax.set_title(f"Weekly occupancy, scenario {scenario}", fontsize=11)
    return _save(fig, path)


def over_capacity_bars(
    capacity: pd.DataFrame, scenarios: list[str], sites: list[str], names: dict[str, str],
    path: Path,
) -> Path | None:  # fmt: skip
    """Share of days over funded beds per site and scenario, median and 90% interval."""
    c = capacity[capacity["unit"] == "total"]
    sites = [s for s in sites if s in set(c["facility"])]
    if not sites:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 0.9 + 0.3 * len(sites) * max(1, len(scenarios)) ** 0.5))
    height = 0.8 / max(1, len(scenarios))
    y = np.arange(len(sites))
    for i, sc in enumerate(scenarios):
        rows = c[c["scenario"] == sc].set_index("facility").reindex(sites)
        mid = rows["p_over_p50"].to_numpy(dtype=float) * 100
        lo = mid - rows["p_over_p5"].to_numpy(dtype=float) * 100
        hi = rows["p_over_p95"].to_numpy(dtype=float) * 100 - mid
        ax.barh(
            y + i * height, np.nan_to_num(mid), height, label=sc,
            xerr=np.nan_to_num([lo, hi]), error_kw={"lw": 0.8},
        )  # fmt: skip
    ax.set_yticks(y + height * (len(scenarios) - 1) / 2, [names.get(s, s) for s in sites])
    ax.invert_yaxis()
    ax.set_xlabel("% of days over funded beds (ward + ICU), median and 90% interval")
    ax.legend(fontsize=8)
    return _save(fig, path)


def region_map(
    region: Region,
    attack: pd.DataFrame | None,
    capacity: pd.DataFrame,
    baseline: str,
    path: Path,
) -> Path | None:
    """Zones coloured by attack rate, sites sized by beds and coloured by days over beds."""
    zones = region.zones.copy()
    zones["zone_key"] = zones["zone_id"].astype(str)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(9, 6.5))
    if attack is not None and len(attack):
        a = attack[
            (attack["scenario"] == baseline)
            & (attack["age_band"] == ALL_BANDS)
            & (attack["zone"] != ALL_ZONES)
        ]
        zones = zones.merge(
            a[["zone", "attack_rate_p50"]], left_on="zone_key", right_on="zone", how="left"
        )
        zones["attack_pct"] = zones["attack_rate_p50"] * 100
        zones.plot(
            column="attack_pct", ax=ax, cmap="Oranges", edgecolor="#555555", lw=0.4,
            legend=True, legend_kwds={"label": "attack rate, % (median)", "shrink": 0.6},
            missing_kwds={"color": "#eeeeee"},
        )  # fmt: skip
    else:
        zones.plot(ax=ax, color="#f0f0f0", edgecolor="#555555", lw=0.4)
    fac = region.facilities.copy()
    c = capacity[(capacity["scenario"] == baseline) & (capacity["unit"] == "total")]
    c = c[c["open_days"] > 0]  # a site not open in this scenario is not drawn
    fac = fac.merge(
        c[["facility", "p_over_p50", "funded_beds"]],
        left_on=fac["facility_id"].astype(str),
        right_on="facility",
        how="inner",
    )
    if len(fac):
        sizes = 20 + 300 * (fac["funded_beds"].fillna(0) / max(1.0, fac["funded_beds"].max()))
        pts = ax.scatter(
            fac["x"], fac["y"], s=sizes, c=fac["p_over_p50"].fillna(0) * 100, cmap="RdPu",
            vmin=0, vmax=100, edgecolor="black", lw=0.6, zorder=3,
        )  # fmt: skip
        cbar = fig.colorbar(pts, ax=ax, shrink=0.6)
        cbar.set_label("% of days over funded beds (median)")
        for _, row in fac.iterrows():
            ax.annotate(str(row["name"]), (row["x"], row["y"]), fontsize=6, xytext=(4, 4),
                        textcoords="offset points")  # fmt: skip
    ax.set_axis_off()
    ax.set_title(f"{region.name}: attack rate by zone, sites by days over beds ({baseline})")
    return _save(fig, path)


def epidemic_curve(daily_infectious: pd.DataFrame, scenarios: list[str], path: Path) -> Path | None:
    """Residents infectious per day across the region (median and 90% band) per scenario."""
    if daily_infectious is None or daily_infectious.empty:
        return None
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(8, 3.2))
    for sc in scenarios:
        s = daily_infectious[daily_infectious["scenario"] == sc].sort_values("day")
        if s.empty:
            continue
        x = pd.to_datetime(s["date"]) if s["date"].notna().all() else s["day"]
        ax.fill_between(x, s["p5"], s["p95"], alpha=0.25, lw=0)
        ax.plot(x, s["p50"], lw=1.2, label=sc)
    ax.set_ylabel("residents infectious")
    ax.legend(fontsize=8)
    ax.set_title("Epidemic curve, region (median and 90% of replicates)")
    return _save(fig, path)
