"""``popsim regions show``: a region as text tables and a PNG map.

The map shades each zone by population density (residents per km², log scale) and marks
each facility (filled: open, hollow: planned or closed), sized by its beds.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd

from popsim.region.types import Region


def zone_table(region: Region) -> pd.DataFrame:
    """One row per zone: id, name, HSDA, population, area (km²), density (per km²)."""
    area_km2 = region.zones.geometry.area.to_numpy() / 1e6
    pop = region.age.sum(axis=(1, 2))
    return pd.DataFrame(
        {
            "zone_id": region.zones["zone_id"].to_numpy(),
            "name": region.zones["name"].to_numpy(),
            "hsda": region.zones["hsda"].to_numpy(),
            "population": pop,
            "area_km2": np.round(area_km2, 1),
            "per_km2": np.round(pop / np.maximum(area_km2, 1e-9), 1),
        }
    )


def facility_table(region: Region) -> pd.DataFrame:
    """One row per facility: id, name, zone, beds, ED, role, status, dates."""
    fac = region.facilities
    return pd.DataFrame(
        {
            "facility_id": fac["facility_id"],
            "name": fac["name"],
            "zone": fac["zone_id"],
            "ward_beds": fac["ward_beds"],
            "icu_beds": fac["icu_beds"],
            "ed": np.where(fac["has_ed"], "yes", "no"),
            "role": fac["role"],
            "status": fac["status"],
            "open_date": fac["open_date"],
            "close_date": fac["close_date"],
        }
    )


def write_map(region: Region, out_png: Path) -> Path:
    """Draw the zones shaded by density and the facilities; write a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    from matplotlib.colors import LogNorm

    table = zone_table(region)
    zones = region.zones.assign(per_km2=np.maximum(table["per_km2"].to_numpy(), 0.1))
    fig, ax = plt.subplots(figsize=(9, 7), dpi=110)
    try:
        lo, hi = float(zones["per_km2"].min()), float(zones["per_km2"].max())
        zones.plot(
            ax=ax,
            column="per_km2",
            cmap="YlOrRd",
            norm=LogNorm(vmin=lo, vmax=max(hi, lo * 1.01)),
            edgecolor="0.3",
            linewidth=0.6,
            legend=True,
            legend_kwds={"label": "residents per km² (log scale)", "shrink": 0.7},
        )
        for x, y, name in zip(zones["x"], zones["y"], zones["name"], strict=True):
            ax.annotate(str(name), (x, y), fontsize=7, ha="center", va="center", color="0.15")
        fac = region.facilities
        beds = (fac["ward_beds"] + fac["icu_beds"]).to_numpy(dtype=float)
        size = 20 + 180 * np.sqrt(beds / max(beds.max(), 1.0))
        is_open = (fac["status"] == "open").to_numpy()
        ax.scatter(
            fac["x"][is_open], fac["y"][is_open], s=size[is_open], marker="^",
            color="navy", edgecolor="white", linewidth=0.7, label="facility (open)", zorder=3,
        )  # fmt: skip
        if (~is_open).any():
            ax.scatter(
                fac["x"][~is_open], fac["y"][~is_open], s=size[~is_open], marker="^",
                facecolor="none", edgecolor="navy", linewidth=1.2,
                label="facility (planned/closed)", zorder=3,
            )  # fmt: skip
        ax.legend(loc="upper left", fontsize=8)
        ax.set_title(
            f"{region.name}: {region.n_zones} zones, {region.total_population:,} residents, "
            f"{region.n_facilities} facilities",
            fontsize=10,
        )
        ax.set_axis_off()
        ax.set_aspect("equal")
        out_png.parent.mkdir(parents=True, exist_ok=True)
        fig.savefig(out_png, bbox_inches="tight")
    finally:
        plt.close(fig)
    return out_png


def show_region(region: Region, out_png: Path | None = None) -> str:
    """Text tables of zones and facilities; writes the map (default ``<name>-map.png`` here).

    Returns the text, whose last line names the map file.
    """
    path = Path(out_png) if out_png is not None else Path(f"{region.name}-map.png")
    zt = zone_table(region)
    ft = facility_table(region)
    with pd.option_context("display.width", 200, "display.max_columns", 20):
        zones_txt = zt.to_string(index=False)
        fac_txt = ft.to_string(index=False)
    open_fac = ft[ft["status"] == "open"]
    lines = [
        f"region {region.name}: {region.description}".rstrip(": "),
        f"crs {region.zones.crs.to_string()}, base year {region.base_year}, travel "
        f"{region.travel.base_minutes:g} min + {region.travel.detour_factor:g} x km "
        f"at {region.travel.speed_kmh:g} km/h",
        "",
        f"zones ({region.n_zones}, {region.total_population:,} residents):",
        zones_txt,
        "",
        f"facilities ({region.n_facilities}; {len(open_fac)} open with "
        f"{int(open_fac['ward_beds'].sum()):,} ward and {int(open_fac['icu_beds'].sum()):,} "
        "ICU beds):",
        fac_txt,
        "",
    ]
    write_map(region, path)
    lines.append(f"map: {path}")
    return "\n".join(lines)
