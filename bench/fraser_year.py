"""Benchmark: the Fraser region scaled to 2,000,000 residents for 365 days, epidemic on.

Everyday demand, demography, long-term care and the care network run too. Prints the figures; the last
line is one JSON object (``build_s``, ``run_s`` and the modules' seconds are wall-clock;
``build_cpu_s`` and ``run_cpu_s`` the process's CPU time, steadier on a shared machine). Run: ``python bench/fraser_year.py [residents] [--staffing]
[--profile cprofile|pyinstrument] [--top N]``.

``--staffing`` switches the staffing module on (default parameters). ``--profile``
profiles the run (not the build) and prints the profile's top entries by own time
before the figures: ``cprofile`` (the standard library, exact call counts, slows Python
code down) or ``pyinstrument`` (sampling, if installed; not a dependency of popsim).
"""

from __future__ import annotations

import argparse
import json
import resource
import time
from contextlib import AbstractContextManager, nullcontext

import numpy as np

from popsim.care.network import CareParams
from popsim.demand import DemandParams
from popsim.demography import DemographyParams
from popsim.epidemic.module import EpidemicParams
from popsim.ltc.params import LtcParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.load import load_region
from popsim.staffing.module import StaffingParams


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("residents", nargs="?", type=int, default=2_000_000)
    parser.add_argument("--staffing", action="store_true", help="switch staffing on")
    parser.add_argument("--profile", choices=("cprofile", "pyinstrument"), default=None)
    parser.add_argument("--top", type=int, default=15, help="profile entries to print")
    return parser.parse_args()


class Profile(AbstractContextManager):
    """Profiles the block; :meth:`report` prints the top entries by own time."""

    def __init__(self, kind: str, top: int) -> None:
        self.kind, self.top = kind, top
        if kind == "cprofile":
            import cProfile

            self.profiler = cProfile.Profile()
        else:
            from pyinstrument import Profiler

            self.profiler = Profiler(interval=0.0005)

    def __enter__(self) -> Profile:
        self.profiler.enable() if self.kind == "cprofile" else self.profiler.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.profiler.disable() if self.kind == "cprofile" else self.profiler.stop()

    def report(self) -> None:
        if self.kind == "cprofile":
            import pstats

            pstats.Stats(self.profiler).sort_stats("tottime").print_stats(self.top)
            return
        # own time per function, summed over the call tree (pyinstrument's tree shows
        # inclusive time; the flat view by own time is the comparable list)
        own: dict[str, float] = {}

        def walk(frame) -> None:  # noqa: ANN001 (pyinstrument's Frame)
            key = f"{frame.function} ({frame.file_path_short}:{frame.line_no})"
            own[key] = own.get(key, 0.0) + frame.total_self_time
            for child in frame.children:
                walk(child)

        session = self.profiler.last_session
        walk(session.root_frame())
        total = session.duration
        print(f"pyinstrument: {total:.3f} s sampled; top {self.top} by own time")
        for key, seconds in sorted(own.items(), key=lambda kv: -kv[1])[: self.top]:
            print(f"{seconds:8.3f} s {seconds / total:6.1%}  {key}")


def main() -> None:
    args = parse_args()
    residents = args.residents
    days = 365
    region = load_region("fraser")
    # r0 1.3 with 30% of transmission in households: a wave infecting about a third
    epidemic = EpidemicParams(r0=1.3, seed_zones=[], seed_infections=50)
    config = ModelConfig(
        days=days,
        population=residents,
        epidemic=epidemic,
        demand=DemandParams(),
        demography=DemographyParams(),
        care=CareParams(),
        ltc=LtcParams(),  # long-term care (regions/fraser/ltc.csv): on in Fraser's default
        staffing=StaffingParams() if args.staffing else None,
    )
    t0, c0 = time.perf_counter(), time.process_time()
    model = RegionModel(region, config, seed=np.random.SeedSequence(2026))
    build_s, build_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    profile = Profile(args.profile, args.top) if args.profile else None
    t0, c0 = time.perf_counter(), time.process_time()
    with profile if profile is not None else nullcontext():
        model.run()
    run_s, run_cpu_s = time.perf_counter() - t0, time.process_time() - c0
    peak_rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if profile is not None:
        profile.report()
    pop = model.pop
    modules = {f"{k}_s": round(v, 3) for k, v in model.seconds.items()}
    figures = {
        "residents": int(pop.n),
        "days": days,
        "region": region.name,
        "build_s": round(build_s, 3),
        "run_s": round(run_s, 3),
        "build_cpu_s": round(build_cpu_s, 3),
        "run_cpu_s": round(run_cpu_s, 3),
        "resident_days_per_s": round(pop.n * days / run_s),
        "epidemic_resident_days_per_s": round(pop.n * days / model.seconds["epidemic"]),
        "peak_rss_mb": round(peak_rss_mb, 1),
        "attack_rate": round(model.epidemic.n_infections_total / pop.n, 4),
        "bytes_per_resident": round(pop.nbytes_per_resident(), 1),
        "modules": [m.name for m in model.modules],
        "profile": args.profile,
        **modules,
    }
    for key, value in figures.items():
        print(f"{key:>30}: {value}")
    model.release()
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
