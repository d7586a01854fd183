"""Planner exports: the analysis tables as one Excel workbook, and CSV text made safe.

Spreadsheet programs run a cell that starts with ``=``, ``+``, ``-`` or ``@`` (and tab or
carriage return) as a formula ("CSV injection"). Text from the run, such as a facility
id or a scenario name, must never become one:

- in the workbook every text cell is stored as a string cell (never a formula cell),
  with its text unchanged;
- in CSV files (which carry no cell types) such text is written with a leading ``'``,
  the usual neutraliser, so ``=1+1`` is written as ``'=1+1``. Numbers are never changed.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pandas as pd

from popsim.analysis.capacity import ALL_SITES
from popsim.core.schema import ALL_TABLES, ANALYSIS_DIR, MANIFEST_DIR, RUN_INFO_FILE
from popsim.errors import OutputError
from popsim.files import LOCK_NAME, atomic_write, output_path

#: A :class:`popsim.analysis.RunAnalysis` (not imported here: the package imports this module).
RunAnalysis = Any

#: First characters that make a spreadsheet treat text as a formula.
FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
#: Excel's limit on sheet names.
SHEET_NAME_MAX = 31


def csv_safe(df: pd.DataFrame) -> pd.DataFrame:
    """A copy whose text cells starting like a formula get a leading ``'``."""
    out = df.copy()
    for col in out.columns:
        if out[col].dtype == object or isinstance(out[col].dtype, pd.StringDtype):
            out[col] = out[col].map(_neutral)
    out.columns = [_neutral(c) if isinstance(c, str) else c for c in out.columns]
    return out


def _neutral(v: Any) -> Any:
    return "'" + v if isinstance(v, str) and v.startswith(FORMULA_START) else v


def write_csv(df: pd.DataFrame, path: Path, root: Path | None = None) -> Path:
    """Write ``df`` as CSV (atomically), formula-like text neutralised (``root``: the
    output folder ``path`` must stay in, see :func:`popsim.files.output_path`)."""
    safe = csv_safe(df)
    return atomic_write(path, lambda tmp: safe.to_csv(tmp, index=False), root=root)


def _sheet_name(name: str, used: set[str]) -> str:
    bad = "[]:*?/\\"
    base = "".join("_" if ch in bad else ch for ch in name)[:SHEET_NAME_MAX] or "sheet"
    base = base.strip("'") or "sheet"
    cand, i = base, 2
    while cand.lower() in used:
        tail = f" ({i})"
        cand = base[: SHEET_NAME_MAX - len(tail)] + tail
        i += 1
    used.add(cand.lower())
    return cand


def _wide(daily: pd.DataFrame, scenario: str, value: str, names: dict[str, str]) -> pd.DataFrame:
    """A scenario's daily median (``value``) for unit ``total``: a row per day, a column
    per site (``All sites`` first)."""
    d = daily[(daily["scenario"] == scenario) & (daily["unit"] == "total")]
    wide = d.pivot_table(index=["day", "date"], columns="facility", values=value, aggfunc="first")
    sites = [ALL_SITES] + sorted(c for c in wide.columns if c != ALL_SITES)
    wide = wide.reindex(columns=[s for s in sites if s in wide.columns])
    wide.columns = [names.get(c, c) for c in wide.columns]
    return wide.reset_index()


#: Readable names, with units, of the measures and columns the tables share.
LABELS: dict[str, str] = {
    "window": "window",
    "scenario": "scenario",
    "comparator": "comparator scenario",
    "facility": "site",
    "unit": "unit (ward with ALC, icu, total)",
    "replicate": "replicate",
    "day": "day of the run (0 = first)",
    "date": "date",
    "month": "month",
    "year": "year",
    "zone": "zone",
    "age_band": "age band (years)",
    "sex": "sex",
    "measure": "measure",
    "n_replicates": "replicates",
    "n_pairs": "replicate pairs",
    "days": "days in the window",
    "open_days": "open days",
    "open_site_days": "open unit-days (all replicates)",
    "funded_beds": "funded beds",
    "staffed_beds": "staffed beds",
    "beds": "beds (staffed when staffing is on)",
    "peak_census": "peak census (patients)",
    "peak_demand": "peak bed demand (patients)",
    "mean_demand": "mean bed demand (patients)",
    "mean_bed_demand": "mean bed demand (patients)",
    "demand_p95": "bed demand on the 95th-centile day (patients)",
    "bed_demand_p95": "bed demand on the 95th-centile day (patients)",
    "max_demand": "largest bed demand (patients)",
    "mean_occupancy": "mean occupancy (census / beds)",
    "days_above_85": "days with demand above 85% of beds",
    "days_above_95": "days with demand above 95% of beds",
    "days_over": "days over capacity (days)",
    "p_over": "share of open days over capacity",
    "bed_days_over": "bed-days over the beds (bed-days)",
    "ed_boarding_days": "ED boarding (patient-days)",
    "ed_boarding_per_day": "ED boarding (patients a day)",
    "alc_bed_days": "ALC bed-days",
    "admissions": "admissions (patients)",
    "transfers_in": "transfers in (patients)",
    "transfers_out": "transfers out (patients)",
    "capacity_transfers": "transfers for want of a bed (patients)",
    "diversions": "diversions past the nearest site (patients)",
    "deaths": "deaths in hospital",
    "ed_visits": "ED visits",
    "surge_bed_days": "in surge or hallway beds (patient-days)",
    "icu_outside_days": "critical care outside an ICU (patient-days)",
    "unserved": "unserved needs (patients)",
    "epidemic_admissions": "epidemic admissions (patients)",
    "beds_needed_5": "beds needed, at most 5% of days over",
    "beds_needed_1": "beds needed, at most 1% of days over",
    "extra_beds_5": "beds needed minus funded (5%)",
    "extra_beds_1": "beds needed minus funded (1%)",
    "nurses_needed_5": "nurses a shift to staff the beds needed (5%)",
    "nurses_needed_1": "nurses a shift to staff the beds needed (1%)",
    "file_nurses_per_shift": "nurses a shift in the staffing file",
    "patients_per_nurse": "patients per nurse (ratio)",
    "short_shifts": "unit-shifts worked short",
    "short_nurse_shifts": "short nurse-shifts",
    "overtime_shifts": "overtime nurse-shifts",
    "overtime_hours": "overtime hours",
    "agency_shifts": "agency nurse-shifts",
    "absent_shifts": "absent nurse-shifts",
    "labour_cost": "nurses' labour cost (CAD)",
    "residents": "residents",
    "census": "census (patients)",
    "demand": "bed demand (patients)",
    "baseline": "comparator scenario",
    "baseline_p50": "comparator, median",
    "scenario_p50": "scenario, median",
    "diff_mean": "paired change, mean",
    "diff_p5": "paired change, 5th centile",
    "diff_p50": "paired change, median",
    "diff_p95": "paired change, 95th centile",
    "p_lower": "share of replicates lower",
    "ci_low": "95% interval of the mean change, low",
    "ci_high": "95% interval of the mean change, high",
    "change": "median paired change",
    "option": "option, median",
}
#: Suffixes of summary columns: suffix -> how the header says it.
SUFFIXES: tuple[tuple[str, str], ...] = (
    ("_change_p5", "change vs comparator, 5th centile"),
    ("_change_p95", "change vs comparator, 95th centile"),
    ("_change", "change vs comparator, median"),
    ("_better", "share of replicates better"),
    ("_rep_p5", "per replicate, 5th centile"),
    ("_rep_p50", "per replicate, median"),
    ("_rep_p95", "per replicate, 95th centile"),
    ("_p5", "5th centile"),
    ("_p25", "25th centile"),
    ("_p50", "median"),
    ("_p75", "75th centile"),
    ("_p95", "95th centile"),
    ("_mean", "mean"),
)
#: Tables written as one sheet per window (the rest once).
BY_WINDOW = (
    "options",
    "key_findings",
    "diversion_shifts",
    "capacity",
    "beds_needed",
    "comparison",
    "staff_site",
    "staff_comparison",
    "site_replicate",
)


def header(col: str) -> str:
    """A column's readable header, with its unit (the code itself when unknown)."""
    if col in LABELS:
        return LABELS[col]
    for suffix, said in SUFFIXES:
        if col.endswith(suffix) and col[: -len(suffix)] in LABELS:
            return f"{LABELS[col[: -len(suffix)]]}: {said}"
    return col


def _readable(df: pd.DataFrame, names: dict[str, str]) -> pd.DataFrame:
    out = df.copy()
    if "facility" in out:
        out["facility"] = out["facility"].map(lambda f: names.get(f, f))
    for col in out.columns:
        if col in ("date", "week_start") or col.endswith("_date"):
            out[col] = pd.to_datetime(out[col], errors="coerce").dt.date
    return out


def sheets(a: RunAnalysis, names: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Every analysis table (one sheet per window for :data:`BY_WINDOW`, window first),
    plus the daily census and bed demand wide per scenario; codes kept as columns."""
    names = names or {}
    out: dict[str, pd.DataFrame] = {}
    windows = list(a.windows)
    for name in a.tables:
        df = _readable(a.table(name), names)
        if name in BY_WINDOW and "window" in df and df["window"].nunique() > 1:
            for w in [w for w in windows if w in set(df["window"])]:
                out[f"{name} {w}"] = df[df["window"] == w].reset_index(drop=True)
        else:
            out[name] = df
    daily = a.census_daily
    for sc in a.scenarios:
        out[f"census {sc}"] = _readable(_wide(daily, sc, "census_p50", names), {})
        out[f"demand {sc}"] = _readable(_wide(daily, sc, "demand_p50", names), {})
    return out


#: Names in a run folder that belong to the run (never a workbook's place, even with --force).
_RUN_NAMES = (*ALL_TABLES, MANIFEST_DIR, ANALYSIS_DIR, RUN_INFO_FILE, LOCK_NAME)


def xlsx_target(path: str | Path, run_dir: str | Path, force: bool = False) -> Path:
    """Check where ``--xlsx`` may write, before anything is computed; one-line
    :class:`popsim.errors.OutputError` naming ``--xlsx`` and the path given.

    The name ends in ``.xlsx``; its folder exists; it is not one of the run's own files
    (a part, a manifest, the analysis, ``run.json``: never, even with ``force``); an
    existing file is replaced only with ``force``, and only a regular file (not a folder,
    a link or a special file: :func:`popsim.files.output_path`).
    """
    given = Path(path)
    label = f"--xlsx {path}"
    if given.suffix.lower() != ".xlsx":
        raise OutputError(f"{label}: expected a file name ending in .xlsx")
    folder = given.parent
    if not folder.is_dir():
        raise OutputError(f"{label}: no such folder {folder}")
    run = Path(run_dir).resolve()
    where = folder.resolve() / given.name
    if where.is_relative_to(run) and where != run:
        first = where.relative_to(run).parts[0]
        if first in _RUN_NAMES:
            raise OutputError(
                f"{label}: inside the run's own {first} (its outputs are never replaced); "
                "write the workbook elsewhere"
            )
    return output_path(
        folder, given.name, replace=force, flag="--xlsx", make_dirs=False, shown=path
    )


def write_xlsx(
    a: RunAnalysis, path: str | Path, names: dict[str, str] | None = None, force: bool = False
) -> Path:
    """Write the workbook (atomically): an ``about`` sheet, a ``dictionary`` sheet (each
    sheet's columns: header, code, meaning), then the tables with readable headers and
    units, site names, real dates, column widths, filters and frozen headers. Text cells
    are string cells, never formulas. ``path`` is checked by :func:`xlsx_target` (an
    existing file is replaced only with ``force``); a failure names ``--xlsx`` and
    ``path``, never a temporary name."""
    import datetime as dt

    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    target = xlsx_target(path, a.run_dir, force)

    wb = Workbook(write_only=False)
    wb.remove(wb.active)
    used: set[str] = set()
    readme = wb.create_sheet(_sheet_name("about", used))
    for row in (
        ["popsim analysis export"],
        ["run", str(a.run_dir.name)],
        ["comparator", f"{a.baseline} ({a.meta.get('baseline_source', '')})"],
        ["windows", ", ".join(a.windows)],
        ["bed demand from", str(a.meta.get("demand_source", ""))],
        ["census/demand sheets", "median over replicates per day, ward + ICU, a column per site"],
        ["dictionary", "the dictionary sheet gives each sheet's columns and their codes"],
    ):
        readme.append(row)
    readme.column_dimensions["A"].width = 22
    readme.column_dimensions["B"].width = 80
    dictionary = wb.create_sheet(_sheet_name("dictionary", used))
    dictionary.append(["sheet", "column", "code (CSV and Parquet)", "meaning"])
    for name, df in sheets(a, names).items():
        sheet = _sheet_name(name, used)
        ws = wb.create_sheet(sheet)
        heads = [header(str(c)) for c in df.columns]
        ws.append(heads)
        for code, head in zip(df.columns, heads, strict=True):
            dictionary.append([sheet, head, str(code), _meaning(str(code))])
        for rec in df.itertuples(index=False):
            ws.append([_cell(v) for v in rec])
        widths = [len(h) for h in heads]
        for col_cells in ws.iter_cols(min_row=2, max_row=min(ws.max_row, 200)):
            for cell in col_cells:
                if isinstance(cell.value, (dt.date, dt.datetime)):
                    cell.number_format = "yyyy-mm-dd"
                i = cell.column - 1
                shown = 10 if isinstance(cell.value, dt.date) else len(_shown(cell.value))
                widths[i] = max(widths[i], shown)
        for row in ws.iter_rows():
            for cell in row:
                _as_text(cell)
        ws.freeze_panes = "A2"
        if ws.max_row > 1:
            ws.auto_filter.ref = ws.dimensions
        for i, w in enumerate(widths, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(45, max(8, w + 2))
    for row in dictionary.iter_rows():
        for cell in row:
            _as_text(cell)
    dictionary.freeze_panes = "A2"
    dictionary.auto_filter.ref = dictionary.dimensions
    for letter, width in zip("ABCD", (24, 45, 30, 70), strict=True):
        dictionary.column_dimensions[letter].width = width
    try:
        return atomic_write(target, lambda tmp: wb.save(tmp))
    except OSError as err:
        raise OutputError(f"--xlsx {path}: cannot write ({err.strerror or err})") from None


def _meaning(code: str) -> str:
    said = header(code)
    return "" if said == code else said


def _shown(v: Any) -> str:
    if isinstance(v, float):
        return f"{v:,.2f}"
    return "" if v is None else str(v)


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime().date() if v == v.normalize() else v.to_pydatetime()
    if pd.api.types.is_scalar(v) and pd.isna(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _as_text(cell: Any) -> None:
    """A string that openpyxl took for a formula becomes a string cell again."""
    if isinstance(cell.value, str) and cell.data_type != "s":
        cell.data_type = "s"
