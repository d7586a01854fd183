"""Reading and validating a region's optional ``ltc.csv`` and ``home_support.csv``
(see ``regions/README.md``).

``ltc.csv``: one row per long-term care (LTC) home (or, where per-home counts are not
public, one row per zone labelled as an estimate): ``home_id, name, zone_id, beds`` (public
LTC beds), ``kind`` (``ltc`` or ``assisted_living``; assisted living is read and
reported but takes no ALC patients), ``source, note``. ``home_support.csv``: one row per
zone, ``zone_id, client_hours_per_week`` (home-support hours a week available to new
clients leaving hospital or deferring LTC), ``source, note``. A region without
``ltc.csv`` runs without long-term care (ALC stays are the need's drawn length); with
``ltc.csv`` and no ``home_support.csv`` there is no home support. Every problem names the
file, the line and the field.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from popsim.region.parse import Problems, parse_int, parse_real, read_csv

if TYPE_CHECKING:
    import pandas as pd

LTC_FILE = "ltc.csv"
HOME_SUPPORT_FILE = "home_support.csv"
LTC_COLUMNS: tuple[str, ...] = ("home_id", "name", "zone_id", "kind", "beds")
HOME_SUPPORT_COLUMNS: tuple[str, ...] = ("zone_id", "client_hours_per_week")
#: Kinds of home: LTC (publicly funded long-term care beds) and assisted living.
KINDS: tuple[str, ...] = ("ltc", "assisted_living")


def read_ltc(
    folder: Path, zone_ids: list[str] | None, problems: Problems
) -> tuple[pd.DataFrame | None, pd.DataFrame | None]:
    """The homes table and the home-support table of ``folder`` (None when absent or with
    problems). Homes: ``home_id, name, zone_id, zone`` (index), ``kind, beds, source,
    note``; home support: ``zone_id, zone, client_hours_per_week, source, note``."""
    import pandas as pd

    path = folder / LTC_FILE
    if not path.is_file():
        if (folder / HOME_SUPPORT_FILE).is_file():
            problems.add(folder / HOME_SUPPORT_FILE, None, f"needs {LTC_FILE} beside it")
        return None, None
    known = {z: i for i, z in enumerate(zone_ids)} if zone_ids is not None else None
    homes = None
    table = read_csv(path, problems, LTC_COLUMNS)
    if table is not None:
        if len(table) == 0:
            problems.add(path, None, "no rows; expected one row per LTC home (or no file)")
        rows = []
        seen: dict[str, int] = {}
        before = len(problems)
        for i, rec in enumerate(table.to_dict("records")):
            line = f"line {i + 2}"
            hid, zid, kind = rec["home_id"], rec["zone_id"], rec["kind"].lower()
            if not hid:
                problems.add(path, f"{line}, home_id", "empty; expected a home id")
            elif hid in seen:
                problems.add(path, f"{line}, home_id", f"duplicate {hid} (also line {seen[hid]})")
            seen.setdefault(hid, i + 2)
            if known is not None and zid not in known:
                problems.add(path, f"{line}, zone_id", f"unknown zone_id {zid!r}")
            if kind not in KINDS:
                problems.add(path, f"{line}, kind", f"got {rec['kind']!r}; expected one of {KINDS}")
            beds = parse_int(rec["beds"], problems, path, f"{line}, beds", 0)
            rows.append(
                {
                    "home_id": hid,
                    "name": rec["name"],
                    "zone_id": zid,
                    "zone": known.get(zid, -1) if known is not None else -1,
                    "kind": kind,
                    "beds": beds,
                    "source": rec.get("source", ""),
                    "note": rec.get("note", ""),
                }
            )
        if len(problems) == before and rows and known is not None:
            homes = pd.DataFrame(rows)
            for col in ("zone", "beds"):
                homes[col] = homes[col].astype(np.int64)
    support = _read_home_support(folder, known, problems)
    return homes, support


def _read_home_support(
    folder: Path, known: dict[str, int] | None, problems: Problems
) -> pd.DataFrame | None:
    import pandas as pd

    path = folder / HOME_SUPPORT_FILE
    if not path.is_file():
        return None
    table = read_csv(path, problems, HOME_SUPPORT_COLUMNS)
    if table is None:
        return None
    before = len(problems)
    rows = []
    seen: dict[str, int] = {}
    for i, rec in enumerate(table.to_dict("records")):
        line = f"line {i + 2}"
        zid = rec["zone_id"]
        if known is not None and zid not in known:
            problems.add(path, f"{line}, zone_id", f"unknown zone_id {zid!r}")
        elif zid in seen:
            problems.add(path, f"{line}, zone_id", f"duplicate {zid} (also line {seen[zid]})")
        seen.setdefault(zid, i + 2)
        hours = parse_real(
            rec["client_hours_per_week"], problems, path, f"{line}, client_hours_per_week", 0, 1e7
        )
        rows.append(
            {
                "zone_id": zid,
                "zone": known.get(zid, -1) if known is not None else -1,
                "client_hours_per_week": hours,
                "source": rec.get("source", ""),
                "note": rec.get("note", ""),
            }
        )
    if len(problems) > before or known is None:
        return None
    out = pd.DataFrame(rows)
    out["zone"] = out["zone"].astype(np.int64)
    return out
