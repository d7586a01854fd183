"""Write ``staffing.csv`` for the shipped regions (run from the repo root).

    .venv/bin/python regions/fraser/make_staffing.py

Rosters are estimates (each unit staffed to its funded beds at the BC minimum
nurse-to-patient ratio; the ED to its estimated mean census); ratios and pay rates are
sourced in :mod:`popsim.staffing_files`. A planner with real rosters edits the CSV.
"""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from popsim.staffing_files import STAFFING_FILE, estimate_staffing

ROOT = Path(__file__).resolve().parents[1]


def main() -> None:
    for name in ("fraser", "synthetic"):
        folder = ROOT / name
        facilities = pd.read_csv(folder / "facilities.csv", dtype=str, keep_default_na=False)
        table = estimate_staffing(facilities)
        table.to_csv(folder / STAFFING_FILE, index=False)
        print(f"wrote {folder / STAFFING_FILE} ({len(table)} rows)")


if __name__ == "__main__":
    main()
