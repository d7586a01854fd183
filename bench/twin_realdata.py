"""A provincial COVID-19 hospital census as the twin's observed data, and its backtest.

Data: the COVID-19 Canada Open Data Working Group's CovidTimelineCanada
(https://github.com/ccodwg/CovidTimelineCanada, CC BY 4.0), ``data/pt/hospitalizations_pt.csv``
(``name, region, date, value, value_daily``: COVID-19 patients in hospital, by province).
Nothing is downloaded here: pass the path of that file from a clone of the repository.

    python bench/twin_realdata.py convert HOSP_CSV AB 2020-08-01 2021-03-15 OUT.csv
    python bench/twin_realdata.py spec AB OUT.toml         # the walkthrough's spec
    popsim backtest OUT.toml --observed OUT.csv --first 2020-10-06 --every 14 --days 28 \\
        --replicates 50 --workers 2

British Columbia's series are held out for acceptance: this script refuses them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

#: Provincial populations, 1 July 2020 (Statistics Canada, table 17-10-0009-01).
POPULATION = {"AB": 4_421_876, "ON": 14_734_014}
#: The walkthrough's region and its residents: Fraser's zones and sites scaled to 500,000
#: residents (a quarter of the region: four times quicker, the care network uncapped so
#: the beds do not matter).
REGION, RESIDENTS = "fraser", 500_000
#: Seed infections on the spec's first day: set once, from one run, so that the model's
#: epidemic census is of the order of the scaled series in early September 2020
#: (assumption; the filter corrects the transmission from there, not the seeding).
SEEDS = {"AB": 50, "ON": 20}

SPEC = """\
# A public provincial series (CovidTimelineCanada, CC BY 4.0) as a region's own: {prov}'s
# COVID-19 hospital census, scaled to {region} by population ({scale:.4f} = {residents:,} /
# {pop:,}). The ancestral COVID-19 profile; r0 1.3 (an assumption for fall 2020 with
# distancing in place: the filter's transmission multiplier takes it from there).
name = "{name}"
region = "{region}"
start = 2020-08-01
days = 240
population = {residents}
seed = 2020
record_journeys = false

[epidemic]
pathogen = "covid19-ancestral"
r0 = 1.3
seed_infections = {seeds}
start_day = 0

[care]
uncapped = true          # the province's census is not the region's beds

[observation]
scale = {scale:.6f}
"""


def convert(src: Path, prov: str, first: str, last: str, out: Path) -> None:
    if prov.upper() == "BC":
        sys.exit("British Columbia's series are held out for acceptance: use another province")
    frame = pd.read_csv(src)
    rows = frame[(frame["region"] == prov) & (frame["name"] == "hospitalizations")]
    rows = rows[(rows["date"] >= first) & (rows["date"] <= last)]
    table = pd.DataFrame(
        {"date": rows["date"], "facility": "all", "epidemic_census": rows["value"]}
    )
    table.to_csv(out, index=False)
    print(f"{out}: {len(table)} days of {prov} from {first} to {last}")


def spec(prov: str, out: Path) -> None:
    pop = POPULATION[prov]
    out.write_text(
        SPEC.format(
            prov=prov,
            name=f"covid-{prov.lower()}",
            region=REGION,
            residents=RESIDENTS,
            pop=pop,
            scale=RESIDENTS / pop,
            seeds=SEEDS[prov],
        ),
        encoding="utf-8",
    )
    print(out)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)
    c = sub.add_parser("convert")
    c.add_argument("src", type=Path)
    c.add_argument("prov")
    c.add_argument("first")
    c.add_argument("last")
    c.add_argument("out", type=Path)
    s = sub.add_parser("spec")
    s.add_argument("prov", choices=sorted(POPULATION))
    s.add_argument("out", type=Path)
    args = ap.parse_args()
    if args.cmd == "convert":
        convert(args.src, args.prov.upper(), args.first, args.last, args.out)
    else:
        spec(args.prov, args.out)


if __name__ == "__main__":
    main()
