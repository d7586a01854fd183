"""A provincial COVID-19 hospital census as the twin's observed data, and its backtest.

Data: the COVID-19 Canada Open Data Working Group's CovidTimelineCanada
(https://github.com/ccodwg/CovidTimelineCanada, CC BY 4.0), ``data/pt/hospitalizations_pt.csv``
(``name, region, date, value, value_daily``: COVID-19 patients in hospital, by province).
Nothing is downloaded here: pass the path of that file from a clone of the repository.
``--admissions data/pt/hosp_admissions_pt.csv`` (same columns; Alberta and Ontario
report new COVID-19 admissions once a week, the week's count in ``value_daily`` on the
report day and 0 between) adds ``epidemic_admissions``: each report spread evenly over
the days since the previous one (the week it counts), so a window's sum is the
admissions of its days (fractional values: the spec's ``scale`` is not 1 anyway).

    python bench/twin_realdata.py convert HOSP_CSV AB 2020-08-01 2021-03-15 OUT.csv \\
        [--admissions ADM_CSV]
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
# The provinces' COVID-19 census-days per admission (CovidTimelineCanada hospitalizations
# and hosp_admissions): 12.8 (AB) and 11.3 (ON) over 2020-10-01..2021-02-27, 10.2 and
# 7.6 over 2020-08-01..10-17 (growing, so below the stay); the profile's, over a growing
# epidemic at this spec, 15.5. 0.7 (calibration, a figure between the two periods'):
# stays as long as the profile's hold the census up after a wave turns.
rel_stay = 0.7

[care]
uncapped = true          # the province's census is not the region's beds

[observation]
scale = {scale:.6f}
# At each knot the particles' census is reset to the observed and their infected scaled
# with it: on the fall-2020 waves this kept the filter at the observed level (without
# it the particles drifted to 0.5-5.9 times the observed census) and lowered the WIS;
# the filtered multiplier is then less informative (docs/twin.md).
filter_anchor = true
"""


def weekly_spread(src: Path, prov: str, first: str, last: str) -> pd.Series:
    """Daily admissions from a once-a-week report: each report's count spread evenly over
    the days since the previous report (days before the first report in range: none)."""
    frame = pd.read_csv(src)
    rows = frame[(frame["region"] == prov) & (frame["name"] == "hosp_admissions")]
    rows = rows[rows["value_daily"] > 0].sort_values("date")
    dates = pd.to_datetime(rows["date"]).tolist()
    values = rows["value_daily"].astype(float).tolist()
    out = {}
    for prev, day, value in zip(dates[:-1], dates[1:], values[1:], strict=True):
        gap = (day - prev).days
        for k in range(gap):
            out[day - pd.Timedelta(days=k)] = value / gap
    daily = pd.Series(out, dtype=float).sort_index()
    return daily[(daily.index >= pd.Timestamp(first)) & (daily.index <= pd.Timestamp(last))]


def convert(
    src: Path, prov: str, first: str, last: str, out: Path, admissions: Path | None = None
) -> None:
    if prov.upper() == "BC":
        sys.exit("British Columbia's series are held out for acceptance: use another province")
    frame = pd.read_csv(src)
    rows = frame[(frame["region"] == prov) & (frame["name"] == "hospitalizations")]
    rows = rows[(rows["date"] >= first) & (rows["date"] <= last)]
    table = pd.DataFrame(
        {"date": rows["date"], "facility": "all", "epidemic_census": rows["value"]}
    )
    if admissions is not None:
        daily = weekly_spread(admissions, prov, first, last)
        by_date = {d.strftime("%Y-%m-%d"): v for d, v in daily.items()}
        table["epidemic_admissions"] = table["date"].map(by_date).round(4)
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
    c.add_argument("--admissions", type=Path, default=None)
    s = sub.add_parser("spec")
    s.add_argument("prov", choices=sorted(POPULATION))
    s.add_argument("out", type=Path)
    args = ap.parse_args()
    if args.cmd == "convert":
        convert(args.src, args.prov.upper(), args.first, args.last, args.out, args.admissions)
    else:
        spec(args.prov, args.out)


if __name__ == "__main__":
    main()
