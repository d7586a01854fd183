"""What rostering to the predicted census does at Fraser, against a fixed roster.

Runs the baseline scenario of ``runs/fraser.toml`` (2.0 million residents, a year with the
influenza wave, staffing on) under two rostering policies as two scenarios with the same
seeds, so each replicate is a pair: ``fixed`` (the rosters of ``staffing.csv``) and
``predicted`` (each roster set every week to the 90th centile of the unit's predicted
census: the persistence forecast, or with ``--forecast FILE`` a ``forecast.parquet`` of
``popsim forecast`` where it covers the week). Prints per site, for each policy, the
median over replicates of short-staffed unit-shifts, overtime hours, labour cost (CAD)
and ED boarding (patient-days), then the mean paired difference (predicted - fixed) with
its 95% t-interval; the last line is one JSON object.

Run: ``python bench/fraser_rostering.py [--replicates 5] [--workers 2] [--days 365]
[--population N] [--forecast FILE] [--out DIR]`` (several minutes a replicate pair).
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
import tomllib
from pathlib import Path

import pandas as pd

import popsim
from popsim.analysis.staffing import tables
from popsim.run.spec import RunSpec

ROOT = Path(__file__).resolve().parents[1]
SHOWN = ("short_shifts", "overtime_hours", "labour_cost", "ed_boarding_days")


def spec_for(args: argparse.Namespace) -> RunSpec:
    path = ROOT / "runs" / "fraser.toml"
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    base = data["scenarios"]["baseline"]
    predicted: dict[str, object] = {"policy": "predicted"}
    if args.forecast:
        predicted = {"policy": "forecast", "forecast_file": str(Path(args.forecast).resolve())}
    data["name"] = "fraser-rostering"
    data["scenarios"] = {
        "fixed": {**base, "staffing": {"policy": "fixed"}},
        "predicted": {**base, "staffing": predicted},
    }
    data.pop("analysis", None)
    data["analysis"] = {"baseline": "fixed"}
    return RunSpec.from_dict(data, path=str(path), base_dir=path.parent)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=5)
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--days", type=int, default=None)
    parser.add_argument("--population", type=int, default=None)
    parser.add_argument("--forecast", default=None)
    parser.add_argument("--out", default=None)
    args = parser.parse_args()
    spec = spec_for(args)
    with tempfile.TemporaryDirectory(prefix="popsim-rostering-") as tmp:
        out = Path(args.out) if args.out else Path(tmp) / "run"
        t0 = time.perf_counter()
        popsim.run_spec(
            spec,
            replicates=args.replicates,
            workers=args.workers,
            days=args.days,
            population=args.population,
            out=out,
        )
        seconds = time.perf_counter() - t0
        t = tables(out, "fixed")
    site: pd.DataFrame = t["staff_site"]
    comp: pd.DataFrame = t["staff_comparison"]
    med = site.groupby(["facility", "scenario"])[list(SHOWN)].median().unstack("scenario")
    pd.set_option("display.width", 200)
    pd.set_option("display.max_columns", 20)
    print(f"{args.replicates} replicates x 2 policies in {seconds:.0f} s")
    print("\nmedian over replicates, per policy:")
    print(med.round(0).astype("int64").to_string())
    c = comp[comp["measure"].isin(SHOWN)]
    c = c[["facility", "measure", "diff_mean", "ci_low", "ci_high", "n_pairs"]]
    print("\npredicted - fixed, mean paired difference and 95% interval:")
    print(c.round(1).to_string(index=False))
    figures = {
        "replicates": args.replicates,
        "seconds": round(seconds, 1),
        "median": {f"{k[0]}|{k[1]}": v for k, v in med.stack("scenario").to_dict("index").items()},
        "paired": c.to_dict("records"),
    }
    print(json.dumps(figures, default=float))


if __name__ == "__main__":
    main()
