"""Fraser's ten-year demography, year by year: residents, 65+, 90+ and crude death rate.

Demography alone (deaths by the BC life table, ageing, births, net migration to the
growth target: ``DemographyParams`` defaults), from 2026, Fraser at 2.0 million. Each
year prints the residents on its anniversary (1 January of the next year, after the
year's ageing and migrants: everyone ages on that day, so a count on the eve would miss
a year of arrivals at 90), those aged 65+ and 90+ (also per 1,000 residents), and the
year's deaths per 1,000 person-years. With ``--projection FILE`` (CSV:
``year,measure,value,source`` with any of the measures ``residents_90_plus``,
``per_1000_90_plus`` and ``deaths_per_1000``) each year is compared with the projection
and passes within ``--tolerance`` (default 10%); the exit status is 1 when a year fails.
``regions/fraser/projection.csv`` holds the closest public projections found (Canada's
90+ share, British Columbia's crude death rate; see its sources and the region's README).

    .venv/bin/python bench/fraser_decade.py [--projection regions/fraser/projection.csv]
        [--years 10] [--population N] [--seed 10]
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from datetime import date
from pathlib import Path

from popsim.demography import DemographyParams
from popsim.model import ModelConfig, RegionModel
from popsim.region.load import load_region

MEASURES = ("residents_90_plus", "per_1000_90_plus", "deaths_per_1000")
COLUMNS = ("year", "measure", "value", "source")


def trajectories(population: int, years: int, seed: int) -> list[dict[str, float]]:
    """One row per simulated year (calendar year from 2026)."""
    cfg = ModelConfig(
        days=365 * years + 1,
        start=date(2026, 1, 1),
        population=population,
        demography=DemographyParams(),
        record_journeys=False,
    )
    model = RegionModel(load_region("fraser"), cfg, seed=seed)
    model.step()  # day 0; year y is then days 365y+1 .. 365(y+1), the last its anniversary
    rows = []
    for year in range(years):
        deaths0 = model.demography.n_deaths
        person_years = 0.0
        for _ in range(365):
            person_years += model.pop.n_alive / 365.0
            model.step()
        pop = model.pop
        age = pop.age[pop.alive]
        deaths = model.demography.n_deaths - deaths0
        rows.append(
            {
                "year": 2026 + year,
                "residents": int(age.size),
                "residents_65_plus": int((age >= 65).sum()),
                "residents_90_plus": int((age >= 90).sum()),
                "per_1000_90_plus": 1000.0 * int((age >= 90).sum()) / age.size,
                "deaths_per_1000": 1000.0 * deaths / person_years,
            }
        )
    return rows


def read_projection(path: Path) -> dict[tuple[int, str], float]:
    """``{(year, measure): value}``; raises ValueError with one line per problem."""
    out: dict[tuple[int, str], float] = {}
    problems = []
    try:
        with path.open(newline="", encoding="utf-8") as f:
            reader = csv.DictReader(f)
            missing = [c for c in COLUMNS if c not in (reader.fieldnames or [])]
            if missing:
                raise ValueError(f"{path}: columns {', '.join(missing)} missing (want {COLUMNS})")
            for line, rec in enumerate(reader, start=2):
                if rec["measure"] not in MEASURES:
                    problems.append(f"{path}:{line}: measure {rec['measure']!r}: want {MEASURES}")
                    continue
                try:
                    year, value = int(rec["year"]), float(rec["value"])
                except ValueError:
                    problems.append(f"{path}:{line}: year and value must be numbers")
                    continue
                if not value > 0:
                    problems.append(f"{path}:{line}: value must be positive")
                out[year, rec["measure"]] = value
    except OSError as e:
        raise ValueError(f"{path}: cannot read ({e.strerror})") from None
    if problems:
        raise ValueError("\n".join(problems))
    return out


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--population", type=int, default=2_000_000)
    ap.add_argument("--years", type=int, default=10)
    ap.add_argument("--seed", type=int, default=10)
    ap.add_argument("--projection", type=Path, default=None)
    ap.add_argument("--tolerance", type=float, default=0.10)
    args = ap.parse_args()
    try:
        proj = read_projection(args.projection) if args.projection else {}
    except ValueError as e:
        print(e, file=sys.stderr)
        return 2
    t0 = time.perf_counter()
    rows = trajectories(args.population, args.years, args.seed)
    failed = 0
    print(f"{'year':>6}{'residents':>12}{'65+':>10}{'90+':>9}{'90+/1000':>10}{'deaths/1000':>13}")
    for r in rows:
        line = (
            f"{r['year']:>6}{r['residents']:>12,}{r['residents_65_plus']:>10,}"
            f"{r['residents_90_plus']:>9,}{r['per_1000_90_plus']:>10.2f}"
            f"{r['deaths_per_1000']:>13.2f}"
        )
        for m in MEASURES:
            if (r["year"], m) in proj:
                want = proj[r["year"], m]
                ok = abs(r[m] / want - 1) <= args.tolerance
                failed += not ok
                line += f"  {m} {r[m] / want:.3f} x projection {'pass' if ok else 'FAIL'}"
        print(line)
    first, last = rows[0], rows[-1]
    print(
        f"90+ x{last['residents_90_plus'] / first['residents_90_plus']:.3f}, deaths per 1,000 "
        f"x{last['deaths_per_1000'] / first['deaths_per_1000']:.3f} from "
        f"{first['year']} to {last['year']} ({time.perf_counter() - t0:.0f} s)"
    )
    print(json.dumps({"rows": rows, "failed_years": failed}, default=float))
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
