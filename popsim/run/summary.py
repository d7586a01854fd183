"""The end-of-run summary: per replicate (kept in its manifest) the patients behind the
beds and the sites over capacity; per scenario, one screen for the console, patients
first.

Over capacity is :mod:`popsim.core.capacity`'s definition, the one the analysis tables
use.
"""

from __future__ import annotations

import textwrap
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np

from popsim.core import capacity
from popsim.errors import one_line

if TYPE_CHECKING:
    from popsim.model import RunResult
    from popsim.run.spec import RunSpec


#: ``facility_day`` columns the run's summary totals (patient-days or patients), and how
#: the console names them, in the order a planner reads them.
PATIENT_TOTALS: dict[str, str] = {
    "ed_boarding": "patient-days boarding in EDs",
    "icu_outside": "patient-days of critical care outside an ICU",
    "ward_surge": "patient-days in surge/hallway ward places",
    "capacity_transfers": "transfers for want of a bed",
    "diversions": "ambulance diversions",
    "deaths": "deaths in hospital",
}


def summarize(result: RunResult) -> dict[str, Any]:
    """Small per-replicate figures for the end-of-run summary: peak region census
    (ward + ICU + ALC over all sites), peak region bed demand (the same patients plus
    those boarding in EDs or held outside a full ICU: what the census would be without
    bed limits) and, per site, days over capacity and bed-days over.

    Over capacity is :mod:`popsim.core.capacity`'s definition, the one the analysis
    tables use: a unit's bed demand above its funded beds (a closed site has none). Bed
    demand is ``ward_demand``/``icu_demand`` when the care network records them, else
    ward census + ALC + ED boarding and ICU census.
    """
    metrics = list(result.facility_metrics)
    fd = result.facility_day

    def col(name: str) -> np.ndarray:
        return fd[:, :, metrics.index(name)].astype(np.int64)

    ward, icu, alc = col("ward_census"), col("icu_census"), col("alc_census")
    census = (ward + icu + alc).sum(axis=1)
    is_open = (col("open") > 0) if "open" in metrics else np.ones_like(ward, dtype=bool)
    ward_beds, icu_beds = col("ward_beds") * is_open, col("icu_beds") * is_open
    if "ward_demand" in metrics and "icu_demand" in metrics:
        ward_demand, icu_demand = col("ward_demand"), col("icu_demand")
    else:
        ward_demand, icu_demand = ward + alc + col("ed_boarding"), icu
    over = capacity.site_is_over(ward_demand, ward_beds, icu_demand, icu_beds)
    days_over = over.sum(axis=0)
    bed_days = capacity.site_excess(ward_demand, ward_beds, icu_demand, icu_beds).sum(axis=0)
    peak_day = int(np.argmax(census)) if len(census) else 0
    demand = (ward_demand + icu_demand).sum(axis=1)
    return {
        "peak_census": int(census[peak_day]) if len(census) else 0,
        "peak_demand": int(demand.max()) if len(census) else 0,
        "peak_day": peak_day,
        "funded_beds": int((ward_beds + icu_beds)[peak_day].sum()) if len(census) else 0,
        "days_over": {
            fid: int(n) for fid, n in zip(result.facility_ids, days_over, strict=True) if n
        },
        "bed_days_over": {
            fid: int(n) for fid, n in zip(result.facility_ids, bed_days, strict=True) if n
        },
        "ed_boarding_peak": int(col("ed_boarding").sum(axis=1).max()) if len(census) else 0,
        # the patients behind the beds: patient-days and counts over the run, region-wide
        "patients": {name: int(col(name).sum()) for name in PATIENT_TOTALS if name in metrics},
        "staffed_beds": (
            int((col("ward_staffed") + col("icu_staffed"))[peak_day].sum())
            if "ward_staffed" in metrics and "icu_staffed" in metrics and len(census)
            else None
        ),
        # needs that found no open site (counted, never dropped); None: not reported
        "unserved": int(col("unserved").sum()) if "unserved" in metrics else None,
    }


def format_summary(spec: RunSpec, found: list[dict[str, Any]], out: Path) -> str:
    """One screen: per scenario, peak census over replicates and the sites over capacity
    (bed demand above funded beds, :mod:`popsim.core.capacity`)."""

    lines = [f"outputs: {one_line(str(out))}  ({len(found)} replicates)"]
    for scenario in spec.scenarios:
        ms = [m for m in found if m.get("scenario") == scenario and "summary" in m]
        if not ms:
            lines.append(f"  {scenario}: no complete replicates")
            continue
        peaks = np.array([m["summary"]["peak_census"] for m in ms])
        board = np.array([m["summary"]["ed_boarding_peak"] for m in ms])
        beds = ms[0]["summary"]["funded_beds"]
        staffed = ms[0]["summary"].get("staffed_beds")
        lines.append(f"  {scenario} ({len(ms)} replicates)")
        lines.extend(_patient_lines(ms))
        staffed_text = f", {staffed:,} staffed" if staffed is not None and staffed != beds else ""
        lines.append(
            f"    peak region census {peaks.mean():,.0f} (range {peaks.min():,}-{peaks.max():,})"
            f" vs {beds:,} funded beds{staffed_text} that day; peak ED boarding "
            f"{board.mean():,.0f}"
        )
        demand = np.array([m["summary"].get("peak_demand", -1) for m in ms])
        if (demand > peaks).any():  # (run folders of earlier versions have no peak_demand)
            lines.append(
                f"    peak region bed demand {demand.mean():,.0f} (range {demand.min():,}-"
                f"{demand.max():,}): the census without bed limits, ED boarders and "
                "patients held outside a full ICU included"
            )
        unserved = [m["summary"].get("unserved") for m in ms]
        if any(u for u in unserved):
            total = np.array([u or 0 for u in unserved])
            lines.append(
                f"    UNSERVED: {total.mean():,.0f} needs per replicate found no open site"
                f" (range {total.min():,}-{total.max():,}; column facility_day.unserved)"
            )
        days: dict[str, list[int]] = {}
        for m in ms:
            for fid, n in m["summary"]["days_over"].items():
                days.setdefault(fid, []).append(n)
        if not days:
            lines.append("    no site over capacity (bed demand above funded beds)")
            continue
        ranked = sorted(days.items(), key=lambda kv: -sum(kv[1]))
        shown = ", ".join(
            f"{one_line(fid)} {sum(v) / len(ms):.0f}"
            + (f" ({len(v)}/{len(ms)} replicates)" if len(v) < len(ms) else "")
            for fid, v in ranked[:10]
        )
        more = f" and {len(ranked) - 10} more" if len(ranked) > 10 else ""
        text = (
            "sites over capacity (bed demand above funded beds; mean days of "
            f"{spec.days}): {shown}{more}"
        )
        lines.extend(
            textwrap.wrap(text, width=100, initial_indent="    ", subsequent_indent="      ")
        )
    return "\n".join(lines)


def _patient_lines(ms: list[dict[str, Any]]) -> list[str]:
    """The patients first: each total's mean over replicates, with its range."""

    parts = []
    for name, label in PATIENT_TOTALS.items():
        values = np.array([m["summary"].get("patients", {}).get(name, -1) for m in ms])
        if (values < 0).any():  # not reported (a run folder of an earlier version)
            continue
        spread = f" ({values.min():,}-{values.max():,})" if values.min() != values.max() else ""
        parts.append(f"{values.mean():,.0f}{spread} {label}")
    if not parts:
        return []
    text = "patients, mean per replicate (range): " + "; ".join(parts)
    return textwrap.wrap(
        text, width=100, initial_indent="    ", subsequent_indent="      ", break_on_hyphens=False
    )
