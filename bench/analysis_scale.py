"""Analysis at ensemble scale: 100 Fraser-year replicates of facility_day and zone_day.

Writes a synthetic run directory in the popsim layout (13 facilities, 13 zones x 10 age
bands, 365 days, 1-3 scenarios; same schema and encodings as ``popsim.run.record``) into a
temporary folder, then runs ``popsim.analysis.analyze`` and the HTML report, each in a
fresh process, and prints wall seconds and peak RSS of each. Targets: analyze < 30 s
and < 2 GB. The last line is one JSON object.

    python bench/analysis_scale.py [--replicates 100] [--scenarios 3] [--days 365]
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq

from popsim.core.ages import AGE_BANDS
from popsim.model import FACILITY_METRICS

FAC_COUNTS = FACILITY_METRICS[FACILITY_METRICS.index("alc_census") :]
N_FAC = 13
N_ZONES = 13


def _dict(codes: np.ndarray, names: list[str], index: pa.DataType) -> pa.Array:
    return pa.DictionaryArray.from_arrays(
        pa.array(codes.astype(index.to_pandas_dtype()), type=index), pa.array(names)
    )


def generate(root: Path, n_rep: int, n_scen: int, days: int, seed: int = 1) -> int:
    """Write the dataset; returns the number of rows written."""
    rng = np.random.default_rng(seed)
    facilities = [f"site-{i:02d}" for i in range(N_FAC)]
    zones = [f"zone-{i:02d}" for i in range(N_ZONES)]
    ward_beds = rng.integers(40, 650, N_FAC)
    icu_beds = np.maximum(0, (ward_beds * 0.06).astype(int))
    pop = rng.integers(500, 30000, (N_ZONES, len(AGE_BANDS)))
    season = 1 + 0.12 * np.sin(np.arange(days) * 2 * np.pi / 365)
    dates = np.datetime64("2026-09-01") + np.arange(days).astype("timedelta64[D]")
    spec = {
        "name": "bench",
        "region": "fraser",
        "replicates": n_rep,
        "scenarios": {f"s{k}" if k else "baseline": {} for k in range(n_scen)},
    }
    meta = {b"popsim.spec": json.dumps(spec).encode()}
    rows = 0
    for k, scen in enumerate(spec["scenarios"]):
        relief = 1.0 - 0.05 * k
        for r in range(n_rep):
            rr = np.random.default_rng([seed, r])  # common random numbers across scenarios
            day = np.repeat(np.arange(days, dtype=np.int16), N_FAC)
            fac = np.tile(np.arange(N_FAC, dtype=np.int16), days)
            level = (0.95 * relief * season[:, None] * ward_beds[None, :]).ravel()
            noise = rr.normal(1, 0.05, level.size)
            cols = {
                "replicate": pa.array(np.full(day.size, r, np.int16)),
                "day": pa.array(day),
                "date": pa.array(np.repeat(dates, N_FAC)),
                "facility": _dict(fac, facilities, pa.int16()),
                "ward_census": pa.array((level * noise).astype(np.int32)),
                "ward_beds": pa.array(np.tile(ward_beds, days).astype(np.int32)),
                "icu_census": pa.array(
                    rr.poisson(np.tile(icu_beds * 0.9 * relief, days)).astype(np.int32)
                ),
                "icu_beds": pa.array(np.tile(icu_beds, days).astype(np.int32)),
            }
            for c in FAC_COUNTS:
                cols[c] = pa.array(rr.poisson(5, day.size).astype(np.int32))
            _write(root / "facility_day", scen, r, pa.table(cols).replace_schema_metadata(meta))
            rows += day.size

            per_day = N_ZONES * len(AGE_BANDS)
            zday = np.repeat(np.arange(days, dtype=np.int16), per_day)
            zone = np.tile(np.repeat(np.arange(N_ZONES, dtype=np.int16), len(AGE_BANDS)), days)
            band = np.tile(np.arange(len(AGE_BANDS), dtype=np.int8), days * N_ZONES)
            curve = np.exp(-(((np.arange(days) - 120 - 10 * rr.random()) / 30.0) ** 2))
            p = np.repeat(pop.ravel()[None, :], days, 0)
            inf = (0.02 * relief * curve[:, None] * p).astype(np.int32)
            new = rr.poisson(inf / 4.0).astype(np.int32)
            zc = {
                "replicate": pa.array(np.full(zday.size, r, np.int16)),
                "day": pa.array(zday),
                "date": pa.array(np.repeat(dates, per_day)),
                "zone": _dict(zone, zones, pa.int16()),
                "age_band": _dict(band, list(AGE_BANDS), pa.int8()),
                "susceptible": pa.array((p - inf).ravel().astype(np.int32)),
                "exposed": pa.array(np.zeros(zday.size, np.int32)),
                "infectious": pa.array(inf.ravel()),
                "recovered": pa.array(np.zeros(zday.size, np.int32)),
                "new_infections": pa.array(new.ravel()),
                "new_admissions": pa.array(rr.poisson(new.ravel() * 0.01).astype(np.int32)),
                "deaths": pa.array(rr.poisson(new.ravel() * 0.001).astype(np.int32)),
            }
            _write(root / "zone_day", scen, r, pa.table(zc).replace_schema_metadata(meta))
            rows += zday.size
            mdir = root / "manifest" / f"scenario={scen}"
            mdir.mkdir(parents=True, exist_ok=True)
            doc = {"spec": spec, "status": "complete", "seconds": {}}
            (mdir / f"replicate-{r:04d}.json").write_text(json.dumps(doc))
    return rows


def _write(table_dir: Path, scenario: str, r: int, table: pa.Table) -> None:
    d = table_dir / f"scenario={scenario}"
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, d / f"part-{r:04d}.parquet", compression="zstd")


def timed_child(code: str) -> tuple[float, float, float]:
    """Run ``code`` in a fresh Python; returns (wall seconds, CPU seconds, peak RSS in MB)
    of that process (CPU time is less sensitive than wall time to a busy machine)."""
    probe = (
        "\nimport resource\nu = resource.getrusage(resource.RUSAGE_SELF)\n"
        "print('PEAK_RSS_KB', u.ru_maxrss, u.ru_utime + u.ru_stime)"
    )
    started = time.perf_counter()
    done = subprocess.run(
        [sys.executable, "-c", code + probe], check=True, capture_output=True, text=True
    )
    seconds = time.perf_counter() - started
    line = next(ln for ln in done.stdout.splitlines() if ln.startswith("PEAK_RSS_KB"))
    _, kb, cpu = line.split()
    return seconds, float(cpu), int(kb) / 1024.0  # ru_maxrss is in KiB on Linux


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--replicates", type=int, default=100)
    ap.add_argument("--scenarios", type=int, default=3, choices=(1, 2, 3))
    ap.add_argument("--days", type=int, default=365)
    ap.add_argument("--no-report", action="store_true", help="time analyze only")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory(prefix="popsim-bench-") as tmp:
        root = Path(tmp) / "run"
        t0 = time.perf_counter()
        rows = generate(root, args.replicates, args.scenarios, args.days)
        gen_s = time.perf_counter() - t0
        size_mb = sum(f.stat().st_size for f in root.rglob("*.parquet")) / 1e6
        print(f"dataset: {rows:,} rows, {size_mb:.0f} MB Parquet, generated in {gen_s:.1f} s")
        run = json.dumps(str(root))
        load = os.getloadavg()[0]
        an_s, an_cpu, an_mb = timed_child(
            f"from popsim.analysis import analyze; analyze({run}, warn=False)"
        )
        print(
            f"analyze: {an_s:.1f} s wall ({an_cpu:.1f} s CPU, load average {load:.1f} on "
            f"{os.cpu_count()} cores), peak RSS {an_mb:.0f} MB (targets < 30 s, < 2048 MB)"
        )
        rep_s = rep_cpu = rep_mb = None
        if not args.no_report:
            rep_s, rep_cpu, rep_mb = timed_child(
                f"from popsim.analysis.report import write_report; write_report({run})"
            )
            print(
                f"report (tables present, figures + HTML): {rep_s:.1f} s, peak RSS {rep_mb:.0f} MB"
            )
        result = {
            "bench": "analysis_scale",
            "replicates": args.replicates,
            "scenarios": args.scenarios,
            "days": args.days,
            "rows": rows,
            "parquet_mb": round(size_mb, 1),
            "analyze_seconds": round(an_s, 2),
            "analyze_cpu_seconds": round(an_cpu, 2),
            "analyze_peak_rss_mb": round(an_mb, 1),
            "load_average": round(load, 2),
            "report_seconds": None if rep_s is None else round(rep_s, 2),
            "report_cpu_seconds": None if rep_cpu is None else round(rep_cpu, 2),
            "report_peak_rss_mb": None if rep_mb is None else round(rep_mb, 1),
            "ok": an_s < 30 and an_mb < 2048,
        }
        print(json.dumps(result))


if __name__ == "__main__":
    main()
