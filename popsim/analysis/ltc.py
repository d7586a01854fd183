"""Long-term care tables and the report's section, from ``ltc_day`` (if the run has it).

Tables (written by :func:`popsim.analysis.analyze` beside the others):

- ``ltc_replicate``: per scenario, replicate and window: ALC patient-days in hospital
  (``alc_days``, from ``facility_day``), admitted patients' ED boarding (patient-days),
  LTC occupancy, LTC admissions from hospital and from the community, their mean waits
  (days from the need to the place), and the mean wait lists (in hospital, at home);
- ``ltc_comparison``: each scenario against the baseline, paired by replicate (common
  random numbers), with the paired differences' mean, 5th-95th percentiles
  (:func:`popsim.analysis.compare.paired_differences`) and a 90% t-interval of the mean
  (``ci90_low``, ``ci90_high``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from popsim.analysis.compare import paired_differences, with_mean_interval
from popsim.core.schema import FACILITY_DAY, LTC_DAY

if TYPE_CHECKING:
    from popsim.analysis.capacity import Window
    from popsim.analysis.dataset import RunDataset

#: Per-replicate measures of ``ltc_replicate`` (patients first).
MEASURES: tuple[str, ...] = (
    "alc_days",
    "ed_boarding_days",
    "ltc_occupancy",
    "admit_hospital",
    "admit_community",
    "wait_hospital_days",
    "wait_community_days",
    "waitlist_hospital",
    "waitlist_community",
)


def _in(frame: pd.DataFrame, window: Window) -> pd.DataFrame:
    dates = pd.to_datetime(frame["date"])
    keep = np.ones(len(frame), dtype=bool)
    if window.first:
        keep &= dates >= pd.Timestamp(window.first)
    if window.last:
        keep &= dates <= pd.Timestamp(window.last)
    return frame[keep]


def ltc_replicate(ltc: pd.DataFrame, fd: pd.DataFrame, windows: list[Window]) -> pd.DataFrame:
    """Per scenario, replicate and window: the measures of :data:`MEASURES`."""
    keys = ["scenario", "replicate"]
    out = []
    for w in windows:
        lw, fw = _in(ltc, w), _in(fd, w)
        g = lw.groupby(keys)
        per = g[["admit_hospital", "admit_community", "wait_days_hospital", "wait_days_community"]]
        rep = per.sum()
        daily = lw.groupby([*keys, "day"])[
            ["ltc_residents", "ltc_beds", "wait_hospital", "wait_community"]
        ].sum()
        means = daily.groupby(level=keys).mean()
        hosp = fw.groupby(keys)[["alc_census", "ed_boarding"]].sum()
        rep = rep.join(means).join(hosp)
        frame = pd.DataFrame(
            {
                "alc_days": rep["alc_census"],
                "ed_boarding_days": rep["ed_boarding"],
                "ltc_occupancy": rep["ltc_residents"] / rep["ltc_beds"].where(rep["ltc_beds"] > 0),
                "admit_hospital": rep["admit_hospital"],
                "admit_community": rep["admit_community"],
                "wait_hospital_days": rep["wait_days_hospital"]
                / rep["admit_hospital"].where(rep["admit_hospital"] > 0),
                "wait_community_days": rep["wait_days_community"]
                / rep["admit_community"].where(rep["admit_community"] > 0),
                "waitlist_hospital": rep["wait_hospital"],
                "waitlist_community": rep["wait_community"],
            }
        ).reset_index()
        frame.insert(2, "window", w.name)
        out.append(frame)
    return pd.concat(out, ignore_index=True) if out else pd.DataFrame()


def ltc_comparison(rep: pd.DataFrame, baseline: str) -> pd.DataFrame:
    """Scenario minus baseline per replicate and window, with a 90% t-interval of the mean
    paired difference."""
    out = paired_differences(rep, ["window"], list(MEASURES), baseline)
    return with_mean_interval(out, rep, ["window"], baseline, 0.90, ("ci90_low", "ci90_high"))


def tables(ds: RunDataset, windows: list[Window], baseline: str) -> dict[str, pd.DataFrame]:
    """The long-term care tables of a run ({} when it has no ``ltc_day``)."""
    ltc = ds.read(
        LTC_DAY,
        [
            "replicate",
            "day",
            "date",
            "zone",
            "ltc_residents",
            "ltc_beds",
            "wait_hospital",
            "wait_community",
            "admit_hospital",
            "admit_community",
            "wait_days_hospital",
            "wait_days_community",
        ],
    )
    fd = ds.read(FACILITY_DAY, ["replicate", "day", "date", "alc_census", "ed_boarding"])
    if ltc is None or fd is None:
        return {}
    rep = ltc_replicate(ltc, fd, windows)
    return {"ltc_replicate": rep, "ltc_comparison": ltc_comparison(rep, baseline)}


def section(a, _table) -> str:
    """The report's long-term care section (empty when the run has no ``ltc_day``); the
    report passes its HTML table helper."""
    if "ltc_replicate" not in a.tables:
        return ""
    rep = a["ltc_replicate"]
    med = rep.groupby(["scenario", "window"])[list(MEASURES)].median().reset_index()
    fmt = dict.fromkeys(MEASURES, "num")
    fmt.update({"alc_days": "int", "ed_boarding_days": "int"})
    parts = [
        "<h2>Long-term care and ALC</h2>",
        "<p class='note'>Medians over replicates, by window: ALC patient-days in hospital "
        "(patients waiting for long-term care or home support), admitted patients' ED "
        "boarding (patient-days), LTC occupancy, LTC admissions from hospital and the "
        "community and their mean waits (days from the need to the place), and the mean "
        "wait lists.</p>",
        _table(med, fmt),
    ]
    comp = a["ltc_comparison"] if "ltc_comparison" in a.tables else None
    if comp is not None and len(comp):
        keep = ["alc_days", "ed_boarding_days", "wait_hospital_days", "ltc_occupancy"]
        c = comp[comp["measure"].isin(keep)]
        c = c[["scenario", "window", "measure", "diff_mean", "ci90_low", "ci90_high", "n_pairs"]]
        parts += [
            f"<h3>Against {a.baseline}, paired by replicate</h3>",
            "<p class='note'>Mean paired difference and its 90% interval.</p>",
            _table(c, {"diff_mean": "num", "ci90_low": "num", "ci90_high": "num"}),
        ]
    return "\n".join(parts)
