"""Excel export and CSV outputs: tables as sheets, text never becomes a formula."""

from __future__ import annotations

import csv
from pathlib import Path

import numpy as np
import openpyxl
import pandas as pd
from test_analysis import tiny_fac, write_run

from popsim.analysis import TABLE_NAMES, analyze, load
from popsim.analysis.export import csv_safe
from popsim.cli import main

EVIL = '=HYPERLINK("http://x","y")'


def _evil_run(root: Path) -> Path:
    fac = tiny_fac()
    fac = {
        s: {EVIL: f["A"], "+plus": f["B"], "@at": f["B"], "-minus": f["B"]} for s, f in fac.items()
    }
    return write_run(root, fac)


def test_xlsx_has_a_sheet_per_table_and_text_stays_text(tmp_path: Path, capsys) -> None:
    root = _evil_run(tmp_path / "run")
    out = tmp_path / "out.xlsx"
    assert main(["export", str(root), "--xlsx", str(out)]) == 0
    assert f"workbook: {out}" in capsys.readouterr().out
    wb = openpyxl.load_workbook(out)
    tables = [n for n in TABLE_NAMES if (root / "analysis" / f"{n}.parquet").exists()]
    assert set(tables) <= set(wb.sheetnames)
    assert {"census baseline", "demand new_site"} <= set(wb.sheetnames)
    # the daily census wide: a row per day, a column per site
    ws = wb["census baseline"]
    header = [c.value for c in ws[1]]
    assert header[:3] == ["day of the run (0 = first)", "date", "All sites"]
    assert EVIL in header and "+plus" in header
    first = ws.cell(row=2, column=2)  # a real date, shown as one
    assert (
        type(first.value).__name__ in ("date", "datetime") and first.number_format == "yyyy-mm-dd"
    )
    assert ws.freeze_panes == "A2" and ws.auto_filter.ref
    assert ws.max_row == 1 + 4
    a = load(root)
    d = a.census_daily
    want = d[(d.scenario == "baseline") & (d.unit == "total") & (d.facility == EVIL)]
    col = header.index(EVIL)
    got = [ws.cell(row=r, column=col + 1).value for r in range(2, 6)]
    assert got == want.sort_values("day")["census_p50"].tolist()
    # every cell holding the facility ids is a string cell with the text unchanged
    cap = wb["capacity"]
    fcol = [c.value for c in cap[1]].index("site") + 1
    cells = [cap.cell(row=r, column=fcol) for r in range(2, cap.max_row + 1)]
    texts = {c.value for c in cells}
    assert {EVIL, "+plus", "@at", "-minus"} <= texts
    assert all(c.data_type == "s" for c in cells)
    for ws in wb.worksheets:  # no formula anywhere in the workbook
        for row in ws.iter_rows():
            assert all(c.data_type != "f" for c in row)
    # numbers stay numbers
    ncol = [c.value for c in cap[1]].index("replicates") + 1
    assert cap.cell(row=2, column=ncol).value == 3
    # readable headers with units, each found in the dictionary with its code
    heads = [c.value for c in cap[1]]
    assert "bed-days over the beds (bed-days): median" in heads
    rows = [[c.value for c in r] for r in wb["dictionary"].iter_rows(min_row=2)]
    codes = {(r[0], r[2]): r[1] for r in rows}
    assert codes[("capacity", "bed_days_over_p50")] == "bed-days over the beds (bed-days): median"
    assert codes[("capacity", "n_replicates")] == "replicates"


def test_analysis_csv_neutralises_formula_text(tmp_path: Path) -> None:
    root = _evil_run(tmp_path / "run")
    analyze(root, warn=False)
    with open(root / "analysis" / "capacity.csv", newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    fac = {r["facility"] for r in rows}
    assert "'" + EVIL in fac and "'+plus" in fac and "'@at" in fac and "'-minus" in fac
    assert not any(f.startswith(("=", "+", "-", "@")) for f in fac)
    # numbers are untouched (negative numbers included)
    cmp = pd.read_csv(root / "analysis" / "comparison.csv")
    assert (pd.to_numeric(cmp["diff_p50"]) < 0).any()
    # the Parquet tables keep the real ids
    assert EVIL in set(pd.read_parquet(root / "analysis" / "capacity.parquet")["facility"])


def test_csv_safe_leaves_other_text_and_numbers() -> None:
    df = pd.DataFrame({"a": ["ok", "=1+1", "\tx", None], "n": [-1.0, 2.0, np.nan, 3.0]})
    out = csv_safe(df)
    assert out["a"].tolist()[:3] == ["ok", "'=1+1", "'\tx"] and out["a"].isna().iloc[3]
    assert out["n"].tolist()[:2] == [-1.0, 2.0]
    assert df["a"].tolist()[1] == "=1+1"  # the input is not modified


def test_xlsx_never_replaces_a_file_without_force_nor_a_run_file_at_all(
    tmp_path: Path, capsys
) -> None:
    """Before: the workbook replaced anything at --xlsx, the run's own parts included, and
    errors named a hidden temp file."""
    root = write_run(tmp_path / "run", tiny_fac())
    part = next((root / "facility_day").rglob("part-*.parquet"))
    mine = tmp_path / "mine.xlsx"
    mine.write_bytes(b"the user's workbook")
    (tmp_path / "folder.xlsx").mkdir()
    before = part.read_bytes()

    def refused(argv: list[str], expected: str) -> None:
        assert main(["export", str(root), *argv]) == 2
        err = capsys.readouterr().err
        assert err.count("\n") == 1 and "Traceback" not in err, err
        assert expected in err and ".tmp" not in err, err

    refused(["--xlsx", str(mine)], f"--xlsx {mine}: exists; use --force to replace it")
    refused(["--xlsx", str(part)], "ending in .xlsx")
    inside = part.with_name("part-0000.xlsx")
    refused(["--xlsx", str(inside), "--force"], "inside the run's own facility_day")
    refused(["--xlsx", str(tmp_path / "folder.xlsx"), "--force"], "is a folder")
    refused(["--xlsx", str(tmp_path / "no" / "x.xlsx")], "no such folder")
    assert mine.read_bytes() == b"the user's workbook" and part.read_bytes() == before
    assert main(["export", str(root), "--xlsx", str(mine), "--force"]) == 0
    assert "about" in openpyxl.load_workbook(mine).sheetnames
