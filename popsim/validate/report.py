"""``popsim validate``: every row on a region, and the report (CSV, HTML, Markdown)."""

from __future__ import annotations

import csv
import html
import os
import tempfile
from pathlib import Path

from popsim.ltc.checks import ltc_rows
from popsim.region.load import load_region
from popsim.validate.care import demand_checks
from popsim.validate.demography import demography_checks
from popsim.validate.epidemic import epidemic_checks
from popsim.validate.rows import COLUMNS, Check, classed

FULL_POPULATION = 2_000_000
QUICK_POPULATION = 40_000


def run_checks(
    region: str = "fraser", population: int | None = None, quick: bool = False, seed: int = 1
) -> list[Check]:
    """Every check, on ``region`` scaled to ``population`` residents."""
    reg = load_region(region)
    n = population or (QUICK_POPULATION if quick else FULL_POPULATION)
    checks: list[Check] = []
    checks += epidemic_checks(reg, n, seed)
    checks += demand_checks(reg, n, seed)
    checks += [classed(row) for row in ltc_rows(reg, n, seed)]
    checks += demography_checks(reg, n, seed)
    return checks


def write_report(checks: list[Check], out: str | os.PathLike[str], title: str) -> Path:
    """``validation.csv`` and ``validation.html`` in ``out`` (written to a temporary name
    and renamed: never half-written). Returns the HTML path."""
    folder = Path(out)
    folder.mkdir(parents=True, exist_ok=True)
    rows = [c.row() for c in checks]
    with tempfile.NamedTemporaryFile(
        "w", dir=folder, suffix=".tmp", delete=False, newline="", encoding="utf-8"
    ) as f:
        writer = csv.DictWriter(f, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
    os.replace(f.name, folder / "validation.csv")
    n_pass = sum(c.passed for c in checks)
    body = "".join(
        "<tr class='{}'>{}</tr>".format(
            "ok" if r["verdict"] == "pass" else "bad",
            "".join(f"<td>{html.escape(r[c])}</td>" for c in COLUMNS),
        )
        for r in rows
    )
    page = (
        "<!doctype html><html><head><meta charset='utf-8'><title>popsim validation</title>"
        "<style>body{font-family:sans-serif;margin:2em}table{border-collapse:collapse}"
        "td,th{border:1px solid #ccc;padding:4px 8px;text-align:left}"
        ".bad td:last-child{color:#b00;font-weight:bold}.ok td:last-child{color:#070}"
        "</style></head><body>"
        f"<h1>popsim validation</h1><p>{html.escape(title)}</p>"
        f"<p>{n_pass} of {len(checks)} checks pass.</p><table><tr>"
        + "".join(f"<th>{c}</th>" for c in COLUMNS)
        + f"</tr>{body}</table></body></html>"
    )
    with tempfile.NamedTemporaryFile(
        "w", dir=folder, suffix=".tmp", delete=False, encoding="utf-8"
    ) as f:
        f.write(page)
    os.replace(f.name, folder / "validation.html")
    return folder / "validation.html"


def table(checks: list[Check]) -> str:
    """The checks as a Markdown table."""
    lines = ["| " + " | ".join(COLUMNS) + " |", "|" + "---|" * len(COLUMNS)]
    for c in checks:
        r = c.row()
        lines.append("| " + " | ".join(r[k].replace("|", "/") for k in COLUMNS) + " |")
    return "\n".join(lines)
