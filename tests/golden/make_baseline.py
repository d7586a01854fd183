"""Regenerate the golden baseline: ``python tests/golden/make_baseline.py`` (``make golden``).

Runs ``tests/golden/spec.toml`` through the command line (as a user would), reads the
Parquet back and stores per-replicate summary figures in ``baseline.json``. Only
regenerate when a change is meant to alter outputs, and bump the model version in the
same commit (``tests/test_golden.py`` fails if one changes without the other).
"""

from __future__ import annotations

import json
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent
SPEC = HERE / "spec.toml"
BASELINE = HERE / "baseline.json"


def run(out: Path) -> None:
    from popsim.cli import main

    code = main(["run", str(SPEC), "--out", str(out), "--workers", "1", "--quiet"])
    if code != 0:
        raise SystemExit(f"golden run failed with exit {code}")


def summarize(out: Path) -> dict[str, dict[str, list[float]]]:
    """``{scenario: {figure: [value per replicate]}}`` from the run folder's Parquet."""
    import pyarrow.dataset as ds

    def table(name: str):
        return ds.dataset(out / name, format="parquet", partitioning="hive").to_table()

    figures: dict[str, dict[str, list[float]]] = {}

    def put(scenario: str, key: str, replicate: int, value: float) -> None:
        per = figures.setdefault(scenario, {}).setdefault(key, [])
        while len(per) <= replicate:
            per.append(0.0)
        per[replicate] = float(value)

    fd = table("facility_day").to_pandas()
    metrics = [
        c for c in fd.columns if c not in ("scenario", "replicate", "day", "date", "facility")
    ]
    for (scenario, rep, fac), g in fd.groupby(["scenario", "replicate", "facility"], observed=True):
        for m in metrics:
            if not str(g[m].dtype).startswith(("int", "uint", "float")):
                continue
            put(str(scenario), f"facility_day.{fac}.{m}.sum", int(rep), g[m].sum())
            put(str(scenario), f"facility_day.{fac}.{m}.max", int(rep), g[m].max())
    zd = table("zone_day").to_pandas()
    zmetrics = [
        c
        for c in zd.columns
        if c not in ("scenario", "replicate", "day", "date", "zone", "age_band")
        and str(zd[c].dtype).startswith(("int", "uint", "float"))
    ]
    for (scenario, rep), g in zd.groupby(["scenario", "replicate"], observed=True):
        daily = g.groupby("day")[zmetrics].sum()
        for m in zmetrics:
            put(str(scenario), f"zone_day.{m}.sum", int(rep), daily[m].sum())
            put(str(scenario), f"zone_day.{m}.max", int(rep), daily[m].max())
        last = g[g["day"] == g["day"].max()]
        for band, gb in last.groupby("age_band", observed=True):
            alive = sum(gb[c].sum() for c in ("susceptible", "exposed", "infectious", "recovered"))
            put(str(scenario), f"zone_day.last_day.alive.{band}", int(rep), alive)
    jt = table("journeys")
    counts = jt.group_by(["scenario", "replicate", "event"]).aggregate([("day", "count")])
    for row in counts.to_pylist():
        put(
            str(row["scenario"]),
            f"journeys.{row['event']}.count",
            int(row["replicate"]),
            row["day_count"],
        )
    return figures


def model_version() -> str:
    try:
        from popsim.core import MODEL_VERSION
    except ImportError:  # before the core package existed
        from popsim import __version__ as MODEL_VERSION
    return str(MODEL_VERSION)


def main() -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "golden"
        run(out)
        figures = summarize(out)
    data = {"model_version": model_version(), "figures": figures}
    BASELINE.write_text(json.dumps(data, indent=1, sort_keys=True) + "\n", encoding="utf-8")
    n = sum(len(v) for v in figures.values())
    print(f"wrote {BASELINE.name}: {n} figures, model version {data['model_version']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
