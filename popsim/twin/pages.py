"""The twin's pages: fit (calibration), forecast and backtest, each a PNG and an HTML file
that embeds it (self-contained, opens offline)."""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from popsim.files import atomic_write, write_text
from popsim.twin.observed import ALL, Observed

if TYPE_CHECKING:
    from popsim.run.spec import RunSpec


def _figure(n_rows: int, n_cols: int):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    # Not sharex, and no tight_layout at saving: with 14 sites x 7 metrics both cost
    # seconds each (sharing propagates every limit change to all 98 axes); fixed margins
    # in inches, and the same date range set on every axis by the page.
    width, height = 4.2 * n_cols, 2.6 * n_rows
    fig, axes = plt.subplots(n_rows, n_cols, figsize=(width, height), squeeze=False)
    fig.subplots_adjust(
        left=0.5 / width,
        right=1 - 0.15 / width,
        bottom=0.45 / height,
        top=1 - 0.35 / height,
        wspace=0.3,
        hspace=0.55,
    )
    return fig, axes


def _save(fig, png: Path) -> bytes:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    data = buf.getvalue()
    atomic_write(png, lambda p: p.write_bytes(data))
    return data


def _html(
    path: Path,
    title: str,
    png: bytes,
    tables: list[tuple[str, pd.DataFrame]],
    lead: str = "",
) -> None:
    img = base64.b64encode(png).decode("ascii")
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>{html.escape(title)}</title>",
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:2px 6px;text-align:right}</style></head><body>",
        f"<h1>{html.escape(title)}</h1>",
        f"<p><b>{html.escape(lead)}</b></p>" if lead else "",
        f"<img alt='{html.escape(title)}' src='data:image/png;base64,{img}' style='max-width:100%'>",
    ]
    for caption, frame in tables:
        parts.append(f"<h2>{html.escape(caption)}</h2>")
        parts.append(frame.to_html(index=False, float_format=lambda v: f"{v:.3g}"))
    parts.append("</body></html>")
    write_text(path, "\n".join(parts))


def _has_data(window: pd.DataFrame, fan: list, fac_ids: list[str], site: str, metrics) -> bool:
    """Whether a site has any non-zero observed or simulated value of the targets."""
    obs = window[window["facility"] == site]
    if any(obs[m].fillna(0).abs().sum() > 0 for m in metrics):
        return True
    fi = fac_ids.index(site)
    return any(fd[:, fi, names.index(m)].any() for fd, names in fan for m in metrics)


def _observed_series(
    window: pd.DataFrame, site: str, metric: str, fac_ids: list[str]
) -> tuple[list, np.ndarray]:
    """Observed dates and values of one site, or of the region: its ``all`` rows if
    reported, else the sum over the sites on days every site reported the metric."""
    if site != ALL or (window["facility"] == ALL).any():
        obs = window[window["facility"] == site].dropna(subset=[metric])
        return list(obs["date"]), obs[metric].to_numpy(dtype=float)
    sites = window[window["facility"].isin(fac_ids)]
    per_day = sites.groupby("date")[metric].agg(["sum", "count"])
    complete = per_day[per_day["count"] == sites["facility"].nunique()]
    return list(complete.index), complete["sum"].to_numpy(dtype=float)


def _dates_axis(ax) -> None:
    import matplotlib.dates as mdates

    locator = mdates.AutoDateLocator(maxticks=5)
    ax.xaxis.set_major_locator(locator)
    ax.xaxis.set_major_formatter(mdates.ConciseDateFormatter(locator))


def _series(fd: np.ndarray, names: list[str], fac: int, metric: str) -> np.ndarray:
    col = fd[:, :, names.index(metric)]
    return col.sum(axis=1) if fac < 0 else col[:, fac]


def fit_page(
    folder: Path,
    spec: RunSpec,
    observed: Observed,
    cal: Any,
    fan: list[tuple[np.ndarray, list[str]]],
    best: dict[str, Any],
    draws: pd.DataFrame,
    first: dt.date,
    last: dt.date,
) -> Path:
    """``fit.png`` and ``fit.html``: observed points against the 5-95% fan and median of
    the accepted draws' simulated series, per site and target; first the region's total
    (observed as ``all``, or the sum of the sites' values on days every site reported).
    Sites with nothing observed or simulated (a closed site) are left out."""
    fac_ids = list(spec.load_region().facility_ids)
    metrics = [m for m in cal.targets if m in observed.metrics]
    window = observed.between(first, last).facility
    sites = [ALL] + [f for f in fac_ids if _has_data(window, fan, fac_ids, f, metrics)]
    fig, axes = _figure(max(1, len(sites)), max(1, len(metrics)))
    for i, site in enumerate(sites):
        fi = -1 if site == ALL else fac_ids.index(site)
        for j, metric in enumerate(metrics):
            ax = axes[i][j]
            if fan:
                runs = np.array([_series(fd, names, fi, metric) for fd, names in fan], dtype=float)
                dates = [spec.start + dt.timedelta(days=d) for d in range(runs.shape[1])]
                lo, med, hi = np.percentile(runs, [5, 50, 95], axis=0)
                ax.fill_between(dates, lo, hi, alpha=0.3, color="tab:blue", label="5-95%")
                ax.plot(dates, med, color="tab:blue", lw=1, label="median")
            days, values = _observed_series(window, site, metric, fac_ids)
            ax.plot(days, values, ".", ms=3, color="black", label="observed")
            ax.set_title(f"{'all sites' if site == ALL else site}: {metric}", fontsize=9)
            ax.tick_params(labelsize=7)
            _dates_axis(ax)
    axes[0][0].legend(fontsize=7)
    png = _save(fig, folder / "fit.png")
    best_table = pd.DataFrame({"parameter": list(best), "best": list(best.values())})
    summary = draws.drop(columns=["state"], errors="ignore").head(20)
    _html(
        folder / "fit.html",
        f"{spec.name}: calibration fit",
        png,
        [("best parameters", best_table), ("accepted draws (best 20)", summary)],
    )
    return folder / "fit.html"


#: Days of observed history shown before a forecast's as-of date.
HISTORY_DAYS = 84


def forecast_sites(forecast: pd.DataFrame, observed: Observed) -> list[str]:
    """The sites of a forecast page: those with a value other than zero, forecast or
    observed (all of them when none has)."""
    every = sorted(set(forecast["facility"]), key=lambda f: (f != ALL, f))
    seen = observed.facility.drop(columns=["date"]).set_index("facility").abs().sum(axis=1)
    active = set(forecast.loc[forecast["value"] != 0, "facility"]) | set(seen[seen > 0].index)
    return [f for f in every if f in active] or every


def forecast_page(folder: Path, name: str, forecast: pd.DataFrame, observed: Observed) -> Path:
    """``forecast.png`` and ``forecast.html``: the 50% and 90% intervals and the median of
    the region's and each site's forecast on a date axis, with the observed history (up
    to :data:`HISTORY_DAYS` before the as-of date) and any value observed after; the
    summary line and the weekly table (:mod:`popsim.twin.tables`). Sites forecast and
    observed at zero throughout (a closed site) are left out."""
    from popsim.twin.tables import summary_line, weekly_table

    sites = forecast_sites(forecast, observed)
    metrics = sorted(set(forecast["metric"]))
    fig, axes = _figure(max(1, len(sites)), max(1, len(metrics)))
    as_of = pd.to_datetime(forecast["as_of"].iloc[0]).date() if len(forecast) else None
    last = pd.to_datetime(forecast["target_date"]).max().date() if len(forecast) else None
    for i, site in enumerate(sites):
        for j, metric in enumerate(metrics):
            ax = axes[i][j]
            f = forecast[(forecast["facility"] == site) & (forecast["metric"] == metric)]
            wide = f.pivot_table(index="target_date", columns="quantile", values="value")
            if len(wide):
                x = list(wide.index)
                ax.fill_between(x, wide[0.05], wide[0.95], alpha=0.25, color="tab:orange")
                ax.fill_between(x, wide[0.25], wide[0.75], alpha=0.4, color="tab:orange")
                ax.plot(x, wide[0.5], color="tab:orange", lw=1)
            obs = observed.facility[observed.facility["facility"] == site]
            if metric in obs.columns and as_of is not None:
                obs = obs[obs["date"] >= as_of - dt.timedelta(days=HISTORY_DAYS)]
                ax.plot(obs["date"], obs[metric], ".", ms=3, color="black")
            ax.set_title(f"{site} {metric}", fontsize=9)
            ax.tick_params(labelsize=7)
            if as_of is not None:
                ax.set_xlim(as_of - dt.timedelta(days=HISTORY_DAYS), last + dt.timedelta(days=1))
                ax.axvline(as_of, color="gray", lw=0.5)
            _dates_axis(ax)
    png = _save(fig, folder / "forecast.png")
    _html(
        folder / "forecast.html",
        f"{name}: forecast from {as_of}",
        png,
        [("by week: median, 50% and 90% intervals", weekly_table(forecast))],
        summary_line(forecast),
    )
    return folder / "forecast.html"


def backtest_page(folder: Path, name: str, summary: pd.DataFrame) -> Path:
    """``backtest.png`` and ``backtest.html``: WIS and 90% coverage by horizon for the
    model and the baselines."""
    metrics = sorted(summary["metric"].unique())
    fig, axes = _figure(2, max(1, len(metrics)))
    for j, metric in enumerate(metrics):
        s = summary[summary["metric"] == metric]
        for method, g in s.groupby("method"):
            axes[0][j].plot(g["horizon"], g["wis"], marker=".", label=method)
            if method == "model":
                axes[1][j].plot(g["horizon"], g["cover_90"], marker=".", label="90%")
                axes[1][j].plot(g["horizon"], g["cover_50"], marker=".", label="50%")
        axes[0][j].set_title(f"{metric}: mean WIS", fontsize=9)
        axes[1][j].set_title(f"{metric}: model interval coverage", fontsize=9)
        axes[1][j].axhline(0.9, color="gray", lw=0.5)
        axes[1][j].axhline(0.5, color="gray", lw=0.5)
        axes[1][j].set_xlabel("horizon (days)")
    axes[0][0].legend(fontsize=7)
    axes[1][0].legend(fontsize=7)
    png = _save(fig, folder / "backtest.png")
    _html(folder / "backtest.html", f"{name}: backtest", png, [("scores by horizon", summary)])
    return folder / "backtest.html"


def calibration_folder(run_dir: str | Path) -> Path | None:
    """The calibration folder that belongs to a run folder: ``RUN_DIR/calibration`` (the
    calibration of the spec whose runs are in RUN_DIR), or RUN_DIR's parent when RUN_DIR
    is the run of a calibrated spec (``calibration/calibrated.toml`` writes its run to
    ``calibration/calibrated/``). None if neither has a fit page."""
    run_dir = Path(run_dir)
    for folder in (run_dir / "calibration", run_dir.parent):
        if (folder / "fit.png").is_file() and (folder / "best.json").is_file():
            return folder
    return None


def fit_section(run_dir: str | Path) -> str:
    """The report's calibration section (HTML; empty without a calibration): the fit
    figure, the estimate and the accepted draws' ranges."""
    import json

    folder = calibration_folder(run_dir)
    if folder is None:
        return ""
    try:
        info = json.loads((folder / "best.json").read_text(encoding="utf-8"))
        png = (folder / "fit.png").read_bytes()
    except (OSError, ValueError):
        return ""
    ranges = info.get("accepted_range", {})
    rows = [
        {
            "parameter": name,
            "estimate": value,
            "accepted low": ranges.get(name, [None, None])[0],
            "accepted high": ranges.get(name, [None, None])[1],
        }
        for name, value in info.get("parameters", {}).items()
    ]
    table = pd.DataFrame(rows, columns=["parameter", "estimate", "accepted low", "accepted high"])
    img = base64.b64encode(png).decode("ascii")
    return "\n".join(
        [
            "<h2>Calibration fit</h2>",
            "<p class='note'>Observed values (points) against the 5-95% range and median of "
            "the simulated series of the calibration's accepted parameter draws, per site and "
            f"target ({html.escape(str(info.get('n_accepted', 0)))} accepted draws; estimate "
            f"by {html.escape(str(info.get('method', '')))}; files in "
            f"{html.escape(folder.name)}/).</p>",
            f"<figure><img alt='calibration fit' src='data:image/png;base64,{img}'>"
            "<figcaption>Observed against simulated, per site and target</figcaption></figure>",
            table.to_html(index=False, border=0, float_format=lambda v: f"{v:.4g}", na_rep=""),
        ]
    )
