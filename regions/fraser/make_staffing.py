"""Write ``staffing.csv`` for the shipped regions (run from the repo root).

    .venv/bin/python regions/fraser/make_staffing.py

Rosters are estimates; ratios and pay rates are sourced in :mod:`popsim.staffing.files`.
A planner with real rosters edits the CSV.

- Fraser: ward and ICU rostered to the beds the sites run, funded beds plus the care
  network's surge beds (``RUN_BEDS_SHARE``: 1.10 ward, 1.2 ICU; the sites run at 102-108%
  of funded ward beds), and each ED to the 90th centile of its census (patients boarding
  plus visits x 4 hours / 24) over a baseline year of the default spec run without
  staffing limits (replicate 0). Rosters at funded beds left the sites short every day
  and tripled ED boarding.
- synthetic (the test region): ward and ICU at funded beds, so that staffing binds in the
  tests; the ED as for Fraser, from a year of its own.
"""

from __future__ import annotations

import dataclasses
import sys
from pathlib import Path

import numpy as np
import pandas as pd

from popsim.core.seeds import replicate_seed
from popsim.model import RegionModel
from popsim.region.load import load_region
from popsim.run.spec import RunSpec, load_spec
from popsim.staffing.files import (
    ED_HOURS_PER_VISIT,
    RUN_BEDS_SHARE,
    STAFFING_FILE,
    estimate_staffing,
)

ROOT = Path(__file__).resolve().parents[1]
#: The centile of an ED's daily census its roster covers (assumption).
ED_CENTILE = 90.0


def ed_census(spec: RunSpec, folder: Path) -> dict[str, float]:
    """Each ED's ``ED_CENTILE`` centile of its daily census (start of day: boarders plus the
    previous day's visits x hours a visit / 24) in the spec's first scenario, replicate 0,
    without staffing limits."""
    region = load_region(folder)
    config = spec.model_config_for(next(iter(spec.scenarios)), region)
    config = dataclasses.replace(config, params={**config.params, "staffing": None})
    result = RegionModel(region, config, replicate_seed(spec.seed, 0)).run()
    cols = list(result.facility_metrics)
    fd = result.facility_day.astype(np.float64)
    visits = fd[:, :, cols.index("ed_visits")]
    previous = np.vstack([np.zeros((1, visits.shape[1])), visits[:-1]])
    census = fd[:, :, cols.index("ed_boarding")] + previous * ED_HOURS_PER_VISIT / 24.0
    return {
        f: float(np.percentile(census[:, i], ED_CENTILE)) for i, f in enumerate(region.facility_ids)
    }


def main() -> None:
    runs = {
        "fraser": (ROOT.parent / "runs" / "fraser.toml", RUN_BEDS_SHARE),
        "synthetic": (ROOT.parent / "tests" / "golden" / "spec.toml", None),
    }
    for name, (spec_path, share) in runs.items():
        folder = ROOT / name
        spec = load_spec(spec_path)
        if name == "synthetic":
            spec = spec.with_overrides(days=365)
        census = ed_census(spec, folder)
        facilities = pd.read_csv(folder / "facilities.csv", dtype=str, keep_default_na=False)
        table = estimate_staffing(facilities, beds_share=share, ed_census=census)
        table.to_csv(folder / STAFFING_FILE, index=False)
        print(f"wrote {folder / STAFFING_FILE} ({len(table)} rows)", file=sys.stderr)


if __name__ == "__main__":
    main()
