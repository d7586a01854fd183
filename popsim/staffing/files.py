"""Reading and validating a region's optional ``staffing.csv`` (see ``regions/README.md``).

One row per site and unit (``ward``, ``icu``, ``ed``): the nurses rostered on each shift,
the shifts a day, the minimum nurse-to-patient ratio (patients per nurse), the straight-time
hourly wage, the overtime multiplier and the agency hourly rate. A region without the file
runs without staffing limits. Like every region file it is read as text and checked value
by value; every problem names the file, the line and the field.
"""

from __future__ import annotations

import math
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from popsim.region.parse import Problems, parse_int, parse_real, read_csv

if TYPE_CHECKING:
    import pandas as pd

STAFFING_FILE = "staffing.csv"
#: Units a staffing row may name, in post order (ward includes ALC patients).
STAFF_UNITS: tuple[str, ...] = ("ward", "icu", "ed")
STAFFING_COLUMNS: tuple[str, ...] = (
    "facility_id",
    "unit",
    "nurses_per_shift",
    "shifts_per_day",
    "patients_per_nurse",
    "hourly_wage",
    "overtime_multiplier",
    "agency_hourly",
)
STAFFING_OPTIONAL: tuple[str, ...] = ("source", "note")


def read_staffing(
    folder: Path, facilities: pd.DataFrame | None, problems: Problems
) -> pd.DataFrame | None:
    """The staffing table of ``folder`` (None when the file is absent or has problems).

    Columns: ``facility_id, facility`` (index into the facilities table), ``unit``,
    ``nurses_per_shift, shifts_per_day`` (int), ``patients_per_nurse, hourly_wage,
    overtime_multiplier, agency_hourly`` (float), ``source, note``.
    """
    import pandas as pd

    path = folder / STAFFING_FILE
    if not path.is_file():
        return None
    table = read_csv(path, problems, STAFFING_COLUMNS)
    if table is None:
        return None
    if len(table) == 0:
        problems.add(path, None, "no rows; expected one row per site and unit (or no file)")
        return None
    known = (
        {str(f): i for i, f in enumerate(facilities["facility_id"])}
        if facilities is not None
        else None
    )
    rows: list[dict[str, object]] = []
    seen: dict[tuple[str, str], int] = {}
    ok = True
    for i, rec in enumerate(table.to_dict("records")):
        line = f"line {i + 2}"
        before = len(problems)
        fid, unit = rec["facility_id"], rec["unit"].lower()
        if known is not None and fid not in known:
            problems.add(path, f"{line}, facility_id", f"unknown facility_id {fid!r}")
        if unit not in STAFF_UNITS:
            problems.add(
                path, f"{line}, unit", f"got {rec['unit']!r}; expected one of {STAFF_UNITS}"
            )
        elif (fid, unit) in seen:
            problems.add(
                path, f"{line}, unit", f"duplicate {fid} {unit} (also line {seen[fid, unit]})"
            )
        else:
            seen[fid, unit] = i + 2
        nurses = parse_int(rec["nurses_per_shift"], problems, path, f"{line}, nurses_per_shift", 0)
        shifts = parse_int(rec["shifts_per_day"], problems, path, f"{line}, shifts_per_day", 1)
        if shifts is not None and shifts not in (1, 2, 3):
            problems.add(path, f"{line}, shifts_per_day", f"expected 1, 2 or 3, got {shifts}")
        ratio = parse_real(
            rec["patients_per_nurse"], problems, path, f"{line}, patients_per_nurse", 0.25, 20
        )
        wage = parse_real(rec["hourly_wage"], problems, path, f"{line}, hourly_wage", 0, 1000)
        mult = parse_real(
            rec["overtime_multiplier"], problems, path, f"{line}, overtime_multiplier", 1, 5
        )
        agency = parse_real(rec["agency_hourly"], problems, path, f"{line}, agency_hourly", 0, 2000)
        if len(problems) > before:
            ok = False
            continue
        rows.append(
            {
                "facility_id": fid,
                "facility": known[fid] if known is not None else -1,
                "unit": unit,
                "nurses_per_shift": nurses,
                "shifts_per_day": shifts,
                "patients_per_nurse": ratio,
                "hourly_wage": wage,
                "overtime_multiplier": mult,
                "agency_hourly": agency,
                "source": rec.get("source", ""),
                "note": rec.get("note", ""),
            }
        )
    if not ok or known is None:
        return None
    out = pd.DataFrame(rows)
    for col in ("facility", "nurses_per_shift", "shifts_per_day"):
        out[col] = out[col].astype(np.int64)
    return out


# -- estimated staffing for a region without published rosters -------------------------

#: BC minimum nurse-to-patient ratios (patients per nurse). Ward and ICU: BC Ministry of
#: Health policy directive, 1 March 2024 (general medical/surgical inpatient 1:4 24/7,
#: intensive care 1:1 24/7; bcnu.org, "Minimum Nurse-to-Patient Ratios"). ED: 1:3 for
#: general emergency care, announced September 2024 (B.C. Ministry of Health).
BC_RATIOS: dict[str, float] = {"ward": 4.0, "icu": 1.0, "ed": 3.0}
#: Straight-time RN wage, CAD an hour: "roughly $45" base for a unionized RN in the first
#: 10 years (CTV News, 2023, on B.C. health authorities' agency contracts).
RN_HOURLY_WAGE = 45.0
#: Agency rate, CAD an hour, charged to B.C. health authorities for a nurse (same source:
#: $75.62 an hour in the 2022 contracts, travel extra).
AGENCY_HOURLY = 75.62
#: Assumption: overtime paid at double time (as under the B.C. nurses' provincial
#: agreement; not verified against the current text).
OVERTIME_MULTIPLIER = 2.0
#: Estimate: ED visits a year per funded ward bed (Surrey Memorial: >158,000 visits and
#: 630 ward beds; Langley Memorial: >44,000 visits and 196 beds; about 250 for both).
ED_VISITS_PER_WARD_BED = 250.0
#: Assumption: hours an ED visit occupies a space (about 4).
ED_HOURS_PER_VISIT = 4.0


#: Estimate: the beds Fraser sites run, as a share of funded beds, that rosters cover:
#: funded plus the care network's default surge beds (``CareParams.surge_share`` 0.10,
#: ``icu_surge_share`` 0.2). The sites run at 102-108% of funded ward beds (BC 103% in
#: 2018-19; Chilliwack 123%, Abbotsford 118%, news reports; see ``CareParams``) and ICU
#: surge is "contingency" care with usual staff (Hick et al., CHEST 2014).
RUN_BEDS_SHARE: dict[str, float] = {"ward": 1.10, "icu": 1.2}


def estimate_staffing(
    facilities: pd.DataFrame,
    shifts_per_day: int = 2,
    beds_share: dict[str, float] | None = None,
    ed_census: dict[str, float] | None = None,
) -> pd.DataFrame:
    """A ``staffing.csv`` table estimated from a facilities table, every row saying it is
    an estimate: ward and ICU rostered to their funded beds times ``beds_share`` (default
    1: funded beds) at the BC minimum ratio; the ED to ``ed_census[facility_id]`` (a
    census to staff for, e.g. a centile of the ED's census in a model run) or, without
    it (or 0: a site closed in that run), to its estimated mean census (``ED_VISITS_PER_WARD_BED`` visits a bed a year,
    ``ED_HOURS_PER_VISIT`` hours each); 12-hour shifts; the pay rates above."""
    import pandas as pd

    share = {"ward": 1.0, "icu": 1.0, **(beds_share or {})}
    rows = []
    for fac in facilities.to_dict("records"):
        ward, icu = int(fac["ward_beds"]), int(fac["icu_beds"])
        units: dict[str, tuple[float, str]] = {}
        for unit, beds in (("ward", ward), ("icu", icu)):
            if beds > 0:
                what = "funded beds" if share[unit] == 1.0 else f"funded beds x {share[unit]:g}"
                units[unit] = (beds * share[unit], f"{what} ({beds})")
        if str(fac["has_ed"]).lower() in ("true", "1", "yes"):
            if ed_census is not None and ed_census.get(fac["facility_id"], 0.0) > 0:
                census = float(ed_census[fac["facility_id"]])
                units["ed"] = (census, f"90th centile of the model's ED census ({census:.0f})")
            else:
                census = round(ED_VISITS_PER_WARD_BED * ward / 365.0 * ED_HOURS_PER_VISIT / 24.0)
                units["ed"] = (census, f"mean ED census ({census})")
        for unit, (census, what) in units.items():
            if census <= 0:
                continue
            rows.append(
                {
                    "facility_id": fac["facility_id"],
                    "unit": unit,
                    "nurses_per_shift": max(1, math.ceil(census / BC_RATIOS[unit] - 1e-9)),
                    "shifts_per_day": shifts_per_day,
                    "patients_per_nurse": BC_RATIOS[unit],
                    "hourly_wage": RN_HOURLY_WAGE,
                    "overtime_multiplier": OVERTIME_MULTIPLIER,
                    "agency_hourly": AGENCY_HOURLY,
                    "source": "ratio: BC minimum nurse-patient ratios (2024); wage and agency "
                    "rate: CTV News (2023); overtime double time: assumption",
                    "note": f"est.: roster = {what} at the minimum ratio; 12-hour shifts "
                    "(assumption)",
                }
            )
    return pd.DataFrame(rows)
