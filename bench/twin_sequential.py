"""The backtest's filter: one sequential pass against one filter per origin.

A backtest of ``--origins`` origins every ``--every`` days from ``--first`` (``--days``
ahead, ``--replicates`` replicates) is run once as the backtest runs it (one pass of the
filter, the forecasts branched at each origin: :func:`popsim.twin.forecast.run_forecasts`)
and, for ``--restart`` of its origins (default: the first and the last), as a filter from
the spec's start to that origin alone (:func:`popsim.twin.forecast.run_forecast`, what the
backtest did before). A restart's cost is close to linear in its origin's day (filtering
from the start, then the same forecast), so the cost of restarting at every origin is
estimated from those measured by a straight line through them (stated as an estimate).
The forecasts of the restarted origins are checked equal to the pass's.

    python bench/twin_sequential.py SPEC OBSERVED --first 2020-10-20 --every 14 \\
        --origins 8 --days 28 --replicates 50 --workers 2

Last line: one JSON object. Timings on a shared machine are noisy: run both in one
sitting, or ``--workers 0`` (everything in this process, timed in CPU seconds: the work,
whatever the machine's load; two idle cores take about half of it in wall time when the
particles make two islands, as 50 replicates do).
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import time
from contextlib import nullcontext

import numpy as np
import pandas as pd


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("spec")
    ap.add_argument("observed")
    ap.add_argument("--first", type=dt.date.fromisoformat, required=True)
    ap.add_argument("--every", type=int, default=14)
    ap.add_argument("--origins", type=int, default=8)
    ap.add_argument("--days", type=int, default=28)
    ap.add_argument("--replicates", type=int, default=50)
    ap.add_argument("--workers", type=int, default=2, help="0: in this process, timed in CPU s")
    ap.add_argument("--restart", type=int, nargs="*", default=None, help="origin indices")
    args = ap.parse_args()

    from popsim.run.spec import load_spec
    from popsim.twin import obsmodel, sim
    from popsim.twin.forecast import run_forecast, run_forecasts

    spec = load_spec(args.spec)
    observed = obsmodel.observed_of(spec, args.observed)
    as_ofs = [args.first + dt.timedelta(days=args.every * i) for i in range(args.origins)]
    days = [args.days] * len(as_ofs)
    restart = args.restart if args.restart is not None else [0, len(as_ofs) - 1]
    out: dict = {"origins": [str(a) for a in as_ofs], "replicates": args.replicates,
                 "population": spec.population, "workers": args.workers}  # fmt: skip
    clock = time.process_time if args.workers == 0 else time.perf_counter
    out["clock"] = "cpu" if args.workers == 0 else "wall"
    with sim.client(args.workers or None, None) if args.workers else nullcontext() as c:
        t0 = clock()
        seq = run_forecasts(spec, observed, as_ofs, days, args.replicates, c)
        out["sequential_s"] = round(clock() - t0, 1)
        print(f"one pass over {len(as_ofs)} origins: {out['sequential_s']} s", flush=True)
        each = {}
        for i in restart:
            t0 = clock()
            alone = run_forecast(spec, observed, as_ofs[i], args.days, args.replicates, c)
            each[i] = round(clock() - t0, 1)
            pd.testing.assert_frame_equal(seq[i], alone)
            print(f"origin {as_ofs[i]} alone: {each[i]} s (the same forecast)", flush=True)
    out["restart_s"] = {str(as_ofs[i]): s for i, s in each.items()}
    if len(each) >= 2:
        x = np.array([(as_ofs[i] - spec.start).days for i in each], dtype=float)
        slope, icpt = np.polyfit(x, np.array(list(each.values())), 1)
        allx = np.array([(a - spec.start).days for a in as_ofs], dtype=float)
        out["restart_all_estimate_s"] = round(float((slope * allx + icpt).sum()), 1)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
