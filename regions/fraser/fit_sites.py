"""Fit Fraser's routing shares to the calibration targets of ``targets.csv`` (re-runnable).

    .venv/bin/python regions/fraser/fit_sites.py             # fit, print, write nothing
    .venv/bin/python regions/fraser/fit_sites.py --write     # fit and write the shares
    .venv/bin/python regions/fraser/fit_sites.py --evaluate  # the current shares only

What is fitted: the referral share (``p_refer``) and surge share (``surge_share``) of the
sites named in :data:`FREE`, within their bounds, to the rows of ``targets.csv`` whose
``use`` is ``calibration`` (never to the held-out ``validation`` rows). Each evaluation
is the year ``popsim validate`` runs for its per-site rows (default year 2026, everyday
demand with its winter peak, no epidemic, the region's own modules such as long-term
care, 2.0 million residents), on each of ``--seeds`` (default 1, 2 and 3: one year's
mean occupancy of a 290-bed site differs by about 0.03 between seeds, so a fit to one
seed fits its noise; the same seeds in every evaluation: common random numbers).

Loss: the worst calibration target's distance from its value in half-bands (1 at the
edge of its band: minimising it keeps every target as far inside its band as the others
allow), on the worst of the seeds (a target must hold on every seed, not on their mean:
with the mean, a target at its band's edge on average failed on one seed), plus a penalty of 10 per boarder beyond 5 over a quarter of a site's funded
ward beds (the planning limit of :mod:`popsim.site_checks`).
The search is a coordinate search: each free parameter in turn is moved by its step up
and down, a move that lowers the loss is kept, and the steps halve when no move helps,
until ``--runs`` evaluations are spent (default 24, each a run per seed: 8 minutes with
two seeds on a shared 2-core machine, about 3 alone). Deterministic for given seeds and
starting point (the file's shares).

``--write`` writes the fitted shares to ``routing_fit.csv`` in this folder (read by
``make_fraser.py``) and to the ``p_refer`` and ``surge_share`` cells of
``facilities.csv`` (every other cell kept as it is), so a rebuild keeps the fit.
Re-run it after any change that moves bed-days (new admission types, long-term care
flows): it starts from the current shares.
"""

from __future__ import annotations

import argparse
import csv
import io
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from popsim.region.load import Region, load_region
from popsim.site_checks import MAX_BOARDERS_SHARE, Target, measure, read_targets
from popsim.validate.care import default_year

HERE = Path(__file__).resolve().parent
FIT_FILE = "routing_fit.csv"
FIT_COLUMNS = ("facility_id", "parameter", "value", "low", "high", "how")


@dataclass(frozen=True)
class Free:
    """A fitted parameter: a site's ``p_refer`` or ``surge_share``, its bounds and
    starting step, and why it is free."""

    facility_id: str
    parameter: str
    low: float
    high: float
    step: float
    why: str


#: The parameters the fit moves (the rest of ``facilities.csv`` is fixed). Fraser East's
#: two sites with calibration targets, and the shares that move patients between them:
#: Chilliwack refers on to Abbotsford Regional, Mission Memorial (30 beds) refers most of
#: its admissions there; the two targets' own surge beds decide how far over funded beds
#: they run before boarding in the ED.
FREE: tuple[Free, ...] = (
    Free("chilliwack-general", "p_refer", 0.0, 0.5, 0.05, "Chilliwack -> Abbotsford referrals"),
    Free("mission-memorial", "p_refer", 0.5, 0.95, 0.05, "Mission -> Abbotsford referrals"),
    Free("chilliwack-general", "surge_share", 0.10, 0.40, 0.05, "Chilliwack's surge beds"),
    Free("abbotsford-regional", "surge_share", 0.10, 0.40, 0.05, "Abbotsford's surge beds"),
)
#: Penalty per boarder over a site's limit (beyond a tolerance of 5), per unit of loss.
BOARDING_PENALTY = 10.0
BOARDING_TOLERANCE = 5.0


@dataclass(frozen=True)
class SiteFigures:
    """One evaluation: per site, funded ward beds, occupancy (ward + ALC census over
    funded ward beds), ED boarders a day, ED visits, transfers out and in a year."""

    ids: list[str]
    beds: np.ndarray
    occupancy: np.ndarray
    boarders: np.ndarray
    ed_visits: np.ndarray
    transfers_out: np.ndarray
    transfers_in: np.ndarray
    admissions: np.ndarray
    targets: list[tuple[Target, float]]
    region_occupancy: float
    region_boarders: float
    #: each target's value on each seed (one list per target; one value without seeds)
    target_seeds: tuple[tuple[float, ...], ...] = ()


def with_shares(region: Region, shares: dict[tuple[str, str], float]) -> Region:
    """A copy of ``region`` whose facilities have these ``(facility_id, column)`` values."""
    fac = region.facilities.copy()
    for (fid, col), value in shares.items():
        fac.loc[fac["facility_id"] == fid, col] = float(value)
    return Region(**{**region.__dict__, "facilities": fac})


def evaluate_mean(region: Region, population: int, seeds: tuple[int, ...]) -> SiteFigures:
    """:func:`evaluate` averaged over ``seeds`` (each site's figures and each target)."""
    figs = [evaluate(region, population, s) for s in seeds]
    if len(figs) == 1:
        return figs[0]

    def mean(name: str) -> np.ndarray:
        return np.mean([getattr(f, name) for f in figs], axis=0)

    return SiteFigures(
        ids=figs[0].ids,
        beds=mean("beds"),
        occupancy=mean("occupancy"),
        boarders=mean("boarders"),
        ed_visits=mean("ed_visits"),
        transfers_out=mean("transfers_out"),
        transfers_in=mean("transfers_in"),
        admissions=mean("admissions"),
        targets=[
            (t, float(np.mean([f.targets[i][1] for f in figs])))
            for i, (t, _) in enumerate(figs[0].targets)
        ],
        region_occupancy=float(mean("region_occupancy")),
        region_boarders=float(mean("region_boarders")),
        target_seeds=tuple(
            tuple(f.targets[i][1] for f in figs) for i in range(len(figs[0].targets))
        ),
    )


def evaluate(region: Region, population: int, seed: int) -> SiteFigures:
    """The default year ``popsim validate``'s per-site rows run, measured per site."""
    result = default_year(region, population, seed)
    metrics = list(result.facility_metrics)
    fd = result.facility_day.astype(np.float64)

    def col(c: str) -> np.ndarray:
        return fd[..., metrics.index(c)]

    ids = list(region.facilities["facility_id"])
    beds = col("ward_beds").mean(axis=0)
    census = (col("ward_census") + col("alc_census")).sum(axis=0)
    occ = census / np.maximum(col("ward_beds").sum(axis=0), 1.0)
    scale = 365.0 / fd.shape[0]
    targets = read_targets(region.path / "targets.csv", ids) if region.path else []
    measured = [
        (t, measure(result.facility_day, metrics, [ids.index(s) for s in t.sites], t.measure))
        for t in targets
    ]
    return SiteFigures(
        ids=ids,
        beds=beds,
        occupancy=occ,
        boarders=col("ed_boarding").mean(axis=0),
        ed_visits=col("ed_visits").sum(axis=0) * scale,
        transfers_out=col("transfers_out").sum(axis=0) * scale,
        transfers_in=col("transfers_in").sum(axis=0) * scale,
        admissions=col("admissions").sum(axis=0) * scale,
        targets=measured,
        region_occupancy=float(census.sum() / max(col("ward_beds").sum(), 1.0)),
        region_boarders=float(col("ed_boarding").sum(axis=1).mean()),
    )


def loss(fig: SiteFigures) -> float:
    """The worst calibration target's distance from its value in half-bands (0: on the
    value, 1: at the band's edge) on its worst seed, plus the boarding penalty."""
    total = 0.0
    for i, (t, got) in enumerate(fig.targets):
        if t.use == "calibration":
            half = max((t.high - t.low) / 2.0, 1e-9)
            values = fig.target_seeds[i] if fig.target_seeds else (got,)
            total = max(total, max(abs(v - t.value) for v in values) / half)
    excess = fig.boarders - MAX_BOARDERS_SHARE * fig.beds - BOARDING_TOLERANCE
    total += BOARDING_PENALTY * float(np.clip(excess[fig.beds > 0], 0.0, None).sum())
    return total


def table(fig: SiteFigures) -> str:
    """The per-site figures as text."""
    out = io.StringIO()
    out.write(
        f"{'site':<22}{'beds':>6}{'occ':>7}{'board/d':>9}{'ED visits':>11}"
        f"{'admits':>9}{'tr out':>8}{'tr in':>8}\n"
    )
    for i, fid in enumerate(fig.ids):
        if fig.beds[i] <= 0:
            continue
        out.write(
            f"{fid:<22}{fig.beds[i]:>6.0f}{fig.occupancy[i]:>7.3f}{fig.boarders[i]:>9.1f}"
            f"{fig.ed_visits[i]:>11,.0f}{fig.admissions[i]:>9,.0f}"
            f"{fig.transfers_out[i]:>8,.0f}{fig.transfers_in[i]:>8,.0f}\n"
        )
    out.write(
        f"region: occupancy {fig.region_occupancy:.3f}, ED boarders {fig.region_boarders:.0f}"
        " a day\n"
    )
    for t, got in fig.targets:
        ok = "pass" if t.low <= got <= t.high else "FAIL"
        shown = f"{got:.3f}" if got < 10 else f"{got:,.0f}"
        out.write(
            f"[{t.use}] {'+'.join(t.sites)} {t.measure}: {shown} (band {t.low:g}-{t.high:g}) {ok}\n"
        )
    return out.getvalue()


def current_shares(region: Region, free: tuple[Free, ...] = FREE) -> dict[tuple[str, str], float]:
    """The free parameters' values in the region (a missing share: the lower bound)."""
    fac = region.facilities.set_index("facility_id")
    out = {}
    for p in free:
        v = float(fac.loc[p.facility_id, p.parameter]) if p.parameter in fac else float("nan")
        out[p.facility_id, p.parameter] = p.low if v != v else min(max(v, p.low), p.high)
    return out


def fit(
    region: Region,
    population: int,
    seeds: tuple[int, ...],
    runs: int,
    free: tuple[Free, ...] = FREE,
) -> tuple[dict[tuple[str, str], float], SiteFigures, SiteFigures, int]:
    """Coordinate search from the region's shares; ``(shares, before, after, runs used)``.
    Only the calibration targets and the boarding limit enter (:func:`loss`)."""
    x = current_shares(region, free)
    steps = {(p.facility_id, p.parameter): p.step for p in free}
    bounds = {(p.facility_id, p.parameter): (p.low, p.high) for p in free}
    t0 = time.monotonic()
    before = best_fig = evaluate_mean(with_shares(region, x), population, seeds)
    best = loss(best_fig)
    used = 1
    print(f"run 1: loss {best:.3f} {fmt(x)} ({time.monotonic() - t0:.0f} s)", flush=True)
    while used < runs and max(steps.values()) > 0.004:
        improved = False
        for key in list(x):
            for sign in (+1, -1):
                if used >= runs:
                    break
                lo, hi = bounds[key]
                trial = round(min(max(x[key] + sign * steps[key], lo), hi), 4)
                if trial == x[key]:
                    continue
                cand = {**x, key: trial}
                fig = evaluate_mean(with_shares(region, cand), population, seeds)
                used += 1
                value = loss(fig)
                print(
                    f"run {used}: loss {value:.3f} {fmt(cand)} ({time.monotonic() - t0:.0f} s)",
                    flush=True,
                )
                if value < best - 1e-6:
                    x, best, best_fig, improved = cand, value, fig, True
                    break
        if not improved:
            steps = {k: s / 2 for k, s in steps.items()}
    return x, before, best_fig, used


def fmt(x: dict[tuple[str, str], float]) -> str:
    return ", ".join(f"{fid} {col}={v:g}" for (fid, col), v in x.items())


def write_fit(
    folder: Path, shares: dict[tuple[str, str], float], note: str, free: tuple[Free, ...] = FREE
) -> None:
    """``routing_fit.csv`` and the shares' cells of ``facilities.csv`` (others kept)."""
    lines = io.StringIO()
    w = csv.writer(lines, lineterminator="\n")
    w.writerow(FIT_COLUMNS)
    for p in free:
        w.writerow(
            [p.facility_id, p.parameter, f"{shares[p.facility_id, p.parameter]:g}", p.low,
             p.high, f"fitted ({p.why}); {note}"]
        )  # fmt: skip
    (folder / FIT_FILE).write_text(lines.getvalue(), encoding="utf-8")
    path = folder / "facilities.csv"
    with path.open(newline="", encoding="utf-8") as f:
        reader = csv.DictReader(f)
        fields = list(reader.fieldnames or [])
        rows = list(reader)
    for row in rows:
        for (fid, col), v in shares.items():
            if row["facility_id"] == fid:
                row[col] = f"{v:g}"
    out = io.StringIO()
    w2 = csv.DictWriter(out, fieldnames=fields, lineterminator="\n")
    w2.writeheader()
    w2.writerows(rows)
    path.write_text(out.getvalue(), encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--region", default=str(HERE), help="region folder (default: this one)")
    ap.add_argument("--population", type=int, default=2_000_000)
    ap.add_argument("--seeds", default="1,2,3", help="seeds of each evaluation (default 1,2,3)")
    ap.add_argument("--runs", type=int, default=24, help="evaluations at most (1-200)")
    ap.add_argument("--evaluate", action="store_true", help="the current shares only")
    ap.add_argument("--write", action="store_true", help="write the fitted shares")
    args = ap.parse_args(argv)
    if not 1 <= args.runs <= 200:
        print(f"--runs: expected 1-200, got {args.runs}", file=sys.stderr)
        return 2
    try:
        seeds = tuple(int(s) for s in args.seeds.split(","))
        if not seeds or min(seeds) < 0 or len(seeds) > 10:
            raise ValueError
    except ValueError:
        print(f"--seeds: expected 1-10 seeds >= 0 (e.g. 1,2), got {args.seeds!r}", file=sys.stderr)
        return 2
    region = load_region(args.region)
    t0 = time.monotonic()
    if args.evaluate:
        for seed in seeds:
            print(f"seed {seed}:\n" + table(evaluate(region, args.population, seed)))
        print(f"({time.monotonic() - t0:.0f} s)")
        return 0
    shares, before, after, used = fit(region, args.population, seeds, args.runs)
    print("\nbefore:\n" + table(before) + "\nafter:\n" + table(after), end="")
    print(f"fitted: {fmt(shares)}; loss {loss(before):.3f} -> {loss(after):.3f}")
    print(f"{used} runs, {time.monotonic() - t0:.0f} s")
    if args.write:
        note = (
            f"fit_sites.py, {args.population:,} residents, seeds {args.seeds}, {used} runs, "
            f"loss {loss(after):.3f}"
        )
        write_fit(Path(args.region), shares, note)
        print(f"wrote {Path(args.region) / FIT_FILE} and the shares in facilities.csv")
    return 0


if __name__ == "__main__":
    sys.exit(main())
