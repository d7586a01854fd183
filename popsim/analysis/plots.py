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

    from popsim.region.load import Region

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


def site_order(capacity: pd.DataFrame, baseline: str, window: str = "all") -> list[str]:
    """Sites by baseline funded beds in ``window`` (largest first), ``All sites`` first;
    sites open only in other scenarios follow."""
    tot = capacity[(capacity["unit"] == "total") & (capacity["window"] == window)]
    extra = sorted(set(tot["facility"]) - set(tot.loc[tot["scenario"] == baseline, "facility"]))
    tot = tot[tot["scenario"] == baseline]
    tot = tot[tot["facility"] != ALL_SITES].sort_values(
        ["funded_beds", "facility"], ascending=[False, True], na_position="last"
    )
    return [ALL_SITES, *tot["facility"].tolist(), *extra]


def _x(s: pd.DataFrame) -> pd.Series:
    return pd.to_datetime(s["date"]) if s["date"].notna().all() else s["day"]


def _grid(plt, n: int, ncol: int = 4, w: float = 3.8, h: float = 2.7):
    ncol = min(ncol, n)
    nrow = int(np.ceil(n / ncol))
    fig, axes = plt.subplots(
        nrow, ncol, figsize=(w * ncol, h * nrow), squeeze=False, constrained_layout=True
    )
    for ax in axes.ravel()[n:]:
        ax.set_visible(False)
    return fig, axes.ravel()


def _dates_axis(ax) -> None:
    import matplotlib.dates as mdates

    ax.tick_params(labelsize=7)
    lo, hi = ax.get_xlim()
    if hi - lo >= 28:  # dates (days since the epoch) over a month or more
        loc = mdates.AutoDateLocator(maxticks=5)
        ax.xaxis.set_major_locator(loc)
        ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(loc))


def fan_chart(
    daily: pd.DataFrame,
    scenario: str,
    unit: str,
    sites: list[str],
    names: dict[str, str],
    path: Path,
    baseline: str | None = None,
) -> Path | None:
    """Bed demand bands beside census and funded beds, one panel per site.

    Bands hold 50% and 90% of replicates' bed demand; the dark line is its median; the
    green line the median census (patients in a funded or surge bed); red the funded beds.
    """
    d = daily[(daily["scenario"] == scenario) & (daily["unit"] == unit)]
    used = d[(d["beds"] > 0) | (d["demand_p95"] > 0)]  # no beds and no patients: left out
    sites = [s for s in sites if s in set(used["facility"])]
    if not sites:
        return None
    base = None
    if baseline is not None and baseline != scenario:
        base = daily[(daily["scenario"] == baseline) & (daily["unit"] == unit)]
    plt = _pyplot()
    fig, axes = _grid(plt, len(sites))
    label = "ward + ICU" if unit == "total" else unit.upper() if unit == "icu" else unit
    for ax, site in zip(axes, sites, strict=False):
        s = d[d["facility"] == site].sort_values("day")
        x = _x(s)
        ax.fill_between(x, s["demand_p5"], s["demand_p95"], color="#c6dbef", lw=0,
                        label="bed demand, 90% of replicates")  # fmt: skip
        ax.fill_between(x, s["demand_p25"], s["demand_p75"], color="#6baed6", lw=0,
                        label="bed demand, 50% of replicates")  # fmt: skip
        ax.plot(x, s["demand_p50"], color="#08306b", lw=1.2, label="bed demand, median")
        ax.plot(x, s["census_p50"], color="#238b45", lw=1.0, label="census (in a bed), median")
        ax.step(x, s["beds"], where="post", color="#cb181d", lw=1.2, label="funded beds")
        if base is not None:
            b = base[base["facility"] == site].sort_values("day")
            ax.plot(_x(b), b["demand_p50"], color="#636363", lw=0.9, ls="--",
                    label=f"bed demand, median, {baseline}")  # fmt: skip
        ax.set_title(names.get(site, site), fontsize=9)
        ax.set_ylabel("patients", fontsize=8)
        ax.set_ylim(bottom=0)
        _dates_axis(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=3, fontsize=8)
    fig.suptitle(f"{label} bed demand against census and funded beds, scenario {scenario}",
                 fontsize=11)  # fmt: skip
    return _save(fig, path)


def boarding_chart(
    daily: pd.DataFrame, scenario: str, sites: list[str], names: dict[str, str], path: Path
) -> Path | None:
    """Admitted patients boarding in each site's ED per day (median and 90% band)."""
    d = daily[(daily["scenario"] == scenario) & (daily["unit"] == "total")]
    busy = d.groupby("facility")["boarding_p95"].max()
    sites = [s for s in sites if s != ALL_SITES and busy.get(s, 0) > 0]
    if not sites:
        return None
    plt = _pyplot()
    fig, axes = _grid(plt, len(sites))
    for ax, site in zip(axes, sites, strict=False):
        s = d[d["facility"] == site].sort_values("day")
        x = _x(s)
        ax.fill_between(x, s["boarding_p5"], s["boarding_p95"], color="#fdd0a2", lw=0,
                        label="90% of replicates")  # fmt: skip
        ax.plot(x, s["boarding_p50"], color="#a63603", lw=1.2, label="median")
        ax.set_title(names.get(site, site), fontsize=9)
        ax.set_ylabel("patients boarding in ED", fontsize=8)
        ax.set_ylim(bottom=0)
        _dates_axis(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=2, fontsize=8)
    fig.suptitle(f"ED boarding (admitted, waiting for a ward bed), scenario {scenario}",
                 fontsize=11)  # fmt: skip
    return _save(fig, path)


def occupancy_heatmap(
    weekly: pd.DataFrame, scenario: str, sites: list[str], names: dict[str, str], path: Path
) -> Path | None:
    """Median weekly occupancy of funded beds (ward + ICU) by site and week."""
    from matplotlib.colors import TwoSlopeNorm

    w = weekly[(weekly["scenario"] == scenario) & (weekly["unit"] == "total")]
    grid = w.pivot_table(
        index="facility", columns="week", values="demand_ratio_p50", aggfunc="first"
    )
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
    cbar.set_label("bed demand / funded beds (median)", fontsize=8)
    ax.set_title(f"Weekly bed demand against funded beds, scenario {scenario}", fontsize=11)
    return _save(fig, path)


def over_capacity_bars(
    capacity: pd.DataFrame, scenarios: list[str], sites: list[str], names: dict[str, str],
    path: Path, windows: list[str] | None = None,
) -> Path | None:  # fmt: skip
    """Share of days over capacity per site and scenario, a panel per window (median and
    90% interval over replicates)."""
    c = capacity[(capacity["unit"] == "total") & (capacity["open_days"] > 0)]
    windows = windows or sorted(set(c["window"]))
    # All sites is over whenever any site is: not a bar a planner can compare
    sites = [s for s in sites if s in set(c["facility"]) and s != ALL_SITES]
    if not sites or c.empty:
        return None
    plt = _pyplot()
    h = 0.9 + 0.3 * len(sites) * max(1, len(scenarios)) ** 0.5
    fig, axes = plt.subplots(1, len(windows), figsize=(6 * len(windows), h), squeeze=False,
                             sharey=True, constrained_layout=True)  # fmt: skip
    height = 0.8 / max(1, len(scenarios))
    y = np.arange(len(sites))
    for ax, window in zip(axes.ravel(), windows, strict=True):
        cw = c[c["window"] == window]
        for i, sc in enumerate(scenarios):
            rows = cw[cw["scenario"] == sc].set_index("facility").reindex(sites)
            mid = rows["p_over_p50"].to_numpy(dtype=float) * 100
            lo = mid - rows["p_over_p5"].to_numpy(dtype=float) * 100
            hi = rows["p_over_p95"].to_numpy(dtype=float) * 100 - mid
            ax.barh(
                y + i * height, np.nan_to_num(mid), height, label=sc,
                xerr=np.nan_to_num([lo, hi]), error_kw={"lw": 0.8},
            )  # fmt: skip
        ax.set_xlim(0, 100)
        ax.set_title(f"window: {window}", fontsize=10)
        ax.set_xlabel("% of days over capacity (bed demand > funded beds)", fontsize=8)
    ax0 = axes.ravel()[0]
    ax0.set_yticks(y + height * (len(scenarios) - 1) / 2, [names.get(s, s) for s in sites])
    ax0.invert_yaxis()
    ax0.legend(fontsize=8, title="scenario", title_fontsize=8)
    return _save(fig, path)


def zone_infections(
    zone_daily: pd.DataFrame, scenarios: list[str], zone_names: dict[str, str], path: Path,
    max_zones: int = 16,
) -> Path | None:  # fmt: skip
    """New infections per day by zone (median over replicates), a line per scenario; the
    zones with most infections, largest first."""
    if zone_daily is None or zone_daily.empty:
        return None
    tot = zone_daily.groupby("zone")["new_infections_p50"].sum().sort_values(ascending=False)
    zones = [z for z, v in tot.items() if v > 0][:max_zones]
    if not zones:
        return None
    plt = _pyplot()
    fig, axes = _grid(plt, len(zones), ncol=4, w=3.6, h=2.4)
    for ax, zone in zip(axes, zones, strict=False):
        for sc in scenarios:
            s = zone_daily[(zone_daily["zone"] == zone) & (zone_daily["scenario"] == sc)]
            s = s.sort_values("day")
            if len(s):
                ax.plot(_x(s), s["new_infections_p50"], lw=1.1, label=sc)
        ax.set_title(zone_names.get(zone, zone), fontsize=9)
        ax.set_ylabel("new infections / day", fontsize=8)
        ax.set_ylim(bottom=0)
        _dates_axis(ax)
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=8,
               title="scenario (median of replicates)", title_fontsize=8)  # fmt: skip
    more = len([v for v in tot if v > 0]) - len(zones)
    fig.suptitle("New infections per day by zone" + (f" ({more} smaller zones not shown)"
                 if more > 0 else ""), fontsize=11)  # fmt: skip
    return _save(fig, path)


def _text_box(t, renderer):
    """The window extent of an annotation's text alone (its leader line left out)."""
    from matplotlib.text import Text

    t.update_positions(renderer)
    return Text.get_window_extent(t, renderer)


def _nearest_is_own(bb, pts: np.ndarray, i: int) -> bool:
    """The label box is closer to its own point than to any other (so it cannot be read
    as another site's label)."""
    dx = np.maximum(np.maximum(bb.x0 - pts[:, 0], 0), pts[:, 0] - bb.x1)
    dy = np.maximum(np.maximum(bb.y0 - pts[:, 1], 0), pts[:, 1] - bb.y1)
    d = np.hypot(dx, dy)
    others = np.delete(d, i)
    return others.size == 0 or bool(d[i] < others.min())


def _first_free(ax, renderer, boxes, pts, i, xs, ys, texts, fontsize, steps):
    """The first candidate label position free of other labels and markers, preferring
    ones nearer their own point than any other; ``None`` when every one is taken."""
    for strict in (True, False):
        for radius in (1, 2, 3, 4.5, 6, 8):
            for dx, dy in steps:
                ha = "left" if dx > 0 else "right" if dx < 0 else "center"
                t = ax.annotate(
                    str(texts[i]), (xs[i], ys[i]), xytext=(dx * radius, dy * radius),
                    textcoords="offset points", fontsize=fontsize, ha=ha,
                    arrowprops={"arrowstyle": "-", "lw": 0.4, "color": "#555555"}
                    if radius > 1 else None,
                )  # fmt: skip
                bb = _text_box(t, renderer).expanded(1.08, 1.3)
                if not any(bb.overlaps(o) for o in boxes) and (
                    not strict or _nearest_is_own(bb, pts, i)
                ):
                    return t
                t.remove()
    return None


def place_labels(ax, xs, ys, texts, fontsize: float = 6.5, sizes=None) -> list:
    """Annotate points so that no two labels overlap each other or a point (greedy: each
    label takes the first free spot among offsets around its point, further out with a
    leader line when the near ones are taken)."""
    from matplotlib.transforms import Bbox

    fig = ax.figure
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    pts = ax.transData.transform(np.column_stack([xs, ys]))
    # marker radius in pixels from scatter sizes (points squared)
    area = np.full(len(pts), 36.0) if sizes is None else np.asarray(sizes, dtype=float)
    radius = np.sqrt(area) / 2 * fig.dpi / 72 + 6  # keep labels clear of other markers
    boxes: list = [
        Bbox([[px - r, py - r], [px + r, py + r]]) for (px, py), r in zip(pts, radius, strict=True)
    ]
    placed: list = []
    steps = [(5, 3), (5, -9), (-5, 3), (-5, -9), (0, 8), (0, -14), (8, 0), (-8, 0)]
    for i in np.argsort(xs):
        t = _first_free(ax, renderer, boxes, pts, i, xs, ys, texts, fontsize, steps)
        if t is None:  # no free spot: keep the label at its point (many sites in one place)
            t = ax.annotate(str(texts[i]), (xs[i], ys[i]), xytext=(4, 4),
                            textcoords="offset points", fontsize=fontsize)  # fmt: skip
        boxes.append(_text_box(t, renderer))
        placed.append(t)
    return placed


def region_map(
    region: Region,
    attack: pd.DataFrame | None,
    capacity: pd.DataFrame,
    baseline: str,
    path: Path,
    window: str = "all",
) -> Path | None:
    """Zones coloured by attack rate, sites sized by beds and coloured by days over beds."""
    zones = region.zones.copy()
    zones["zone_key"] = zones["zone_id"].astype(str)
    plt = _pyplot()
    fig, ax = plt.subplots(figsize=(11, 7.5))
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
        top = float(np.nanmax(zones["attack_pct"])) if zones["attack_pct"].notna().any() else 1
        zones.plot(
            column="attack_pct", ax=ax, cmap="Oranges", edgecolor="#555555", lw=0.4,
            vmin=0, vmax=max(top, 1e-9),
            legend=True, legend_kwds={"label": "attack rate, % (median)", "shrink": 0.6},
            missing_kwds={"color": "#eeeeee"},
        )  # fmt: skip
    else:
        zones.plot(ax=ax, color="#f0f0f0", edgecolor="#555555", lw=0.4)
    fac = region.facilities.copy()
    c = capacity[(capacity["scenario"] == baseline) & (capacity["unit"] == "total")]
    c = c[
        (c["open_days"] > 0) & (c["window"] == window)
    ]  # a site not open in this scenario is not drawn
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
        cbar.set_label("% of days over capacity (median)")
        place_labels(
            ax, fac["x"].to_numpy(), fac["y"].to_numpy(), fac["name"].tolist(), sizes=sizes
        )
    ax.set_axis_off()
    ax.set_title(
        f"{region.name}: attack rate by zone, sites by days over capacity ({baseline}, {window})"
    )
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
    ax.set_ylabel("residents infectious (people)")
    ax.set_ylim(bottom=0)
    ax.legend(fontsize=8)
    ax.set_title("Epidemic curve, region (median and 90% of replicates)")
    return _save(fig, path)
