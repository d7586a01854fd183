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


def sheets(a: RunAnalysis, names: dict[str, str] | None = None) -> dict[str, pd.DataFrame]:
    """Every analysis table, plus the daily census and bed demand wide per scenario."""
    names = names or {}
    out: dict[str, pd.DataFrame] = {}
    daily = a.census_daily
    for sc in a.scenarios:
        out[f"census {sc}"] = _wide(daily, sc, "census_p50", names)
        out[f"demand {sc}"] = _wide(daily, sc, "demand_p50", names)
    for name in a.tables:
        out[name] = a.table(name)
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
    """Write the workbook (atomically); text cells are string cells, never formulas.
    ``path`` is checked by :func:`xlsx_target` (an existing file is replaced only with
    ``force``); a failure names ``--xlsx`` and ``path``, never a temporary name."""
    from openpyxl import Workbook
    from openpyxl.utils import get_column_letter

    target = xlsx_target(path, a.run_dir, force)

    wb = Workbook(write_only=False)
    wb.remove(wb.active)
    used: set[str] = set()
    readme = wb.create_sheet(_sheet_name("about", used))
    readme.append(["popsim analysis export"])
    readme.append(["run", str(a.run_dir.name)])
    readme.append(["comparator", f"{a.baseline} ({a.meta.get('baseline_source', '')})"])
    readme.append(["bed demand from", str(a.meta.get("demand_source", ""))])
    readme.append(
        ["census/demand sheets", "median over replicates per day, ward + ICU, a column per site"]
    )
    for row in readme.iter_rows():
        for cell in row:
            _as_text(cell)
    for name, df in sheets(a, names).items():
        ws = wb.create_sheet(_sheet_name(name, used))
        ws.append([str(c) for c in df.columns])
        for rec in df.itertuples(index=False):
            ws.append([_cell(v) for v in rec])
        for row in ws.iter_rows():
            for cell in row:
                _as_text(cell)
        ws.freeze_panes = "A2"
        for i, col in enumerate(df.columns, start=1):
            ws.column_dimensions[get_column_letter(i)].width = min(40, max(10, len(str(col)) + 2))
    try:
        return atomic_write(target, lambda tmp: wb.save(tmp))
    except OSError as err:
        raise OutputError(f"--xlsx {path}: cannot write ({err.strerror or err})") from None


def _cell(v: Any) -> Any:
    if v is None:
        return None
    if isinstance(v, float) and v != v:
        return None
    if isinstance(v, pd.Timestamp):
        return v.to_pydatetime()
    if pd.api.types.is_scalar(v) and pd.isna(v):
        return None
    if hasattr(v, "item"):  # numpy scalars
        return v.item()
    return v


def _as_text(cell: Any) -> None:
    """A string that openpyxl took for a formula becomes a string cell again."""
    if isinstance(cell.value, str) and cell.data_type != "s":
        cell.data_type = "s"
