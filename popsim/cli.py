"""The ``popsim`` command: ``regions``, ``run``, ``analyze``, ``report``, ``export``.

Bad input (any :class:`popsim.errors.PopsimError`) prints one line per problem on
stderr and exits with status 2; no traceback.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

from popsim.core import __version__
from popsim.errors import PopsimError, RegionProblems


def _regions(args: argparse.Namespace) -> int:
    from popsim.region import load as reg

    if args.regions_cmd == "list":
        for name, path in reg.list_regions():
            print(f"{name}\t{path}")
        return 0
    if args.regions_cmd == "show":
        from popsim.region.maps import show_region

        region = reg.load_region(args.name)
        out = Path(args.map) if args.map else None
        print(show_region(region, out))
        return 0
    if args.regions_cmd == "check":
        problems = reg.check_region(args.path)
        if problems:
            raise RegionProblems(problems)
        print(f"{args.path}: ok")
        return 0
    if args.regions_cmd == "synth":
        from popsim.region.synth import check_synth_args, synthetic_region, write_region

        values = {
            "n_zones": args.zones,
            "population": args.population,
            "n_facilities": args.facilities,
            "seed": args.seed,
        }
        flags = {"n_zones": "--zones", "n_facilities": "--facilities"}
        check_synth_args(
            names={k: flags.get(k, f"--{k}") for k in values},
            **values,
        )
        _refuse_shipped_region(args.out)
        region = synthetic_region(
            **{k: int(v) for k, v in values.items()},
            name=Path(os.path.abspath(args.out)).name,
        )
        path = write_region(region, args.out, force=args.force)
        print(f"wrote {path}")
        return 0
    if args.regions_cmd == "import":
        from popsim.region.importer import import_region

        _refuse_shipped_region(args.out)
        path = import_region(
            boundaries=args.boundaries,
            population=args.population,
            facilities=args.facilities,
            out=args.out,
            name_field=args.name_field,
            id_field=args.id_field,
            hsda_field=args.hsda_field,
            force=args.force,
            layer=args.layer,
        )
        print(f"wrote {path}")
        return 0
    raise AssertionError(args.regions_cmd)


def _refuse_shipped_region(out: str) -> None:
    """A region shipped with popsim is never replaced by ``regions synth``/``import``."""
    from popsim.errors import RegionError
    from popsim.region.load import shipped_regions_root

    target = Path(os.path.abspath(out))
    root = shipped_regions_root()
    if target.is_dir() and root.is_dir() and target.resolve().parent == root.resolve():
        raise RegionError(
            out, None, "a region shipped with popsim; never replaced, even with --force"
        )


def _run(args: argparse.Namespace) -> int:
    from popsim.run.ensemble import EnsembleError, run_spec

    try:
        run_spec(
            args.spec,
            replicates=args.replicates,
            workers=args.workers,
            scheduler=args.scheduler,
            days=args.days,
            population=args.population,
            out=args.out,
            force=args.force,
            progress=not args.quiet,
            check_only=args.check,
            report=_say,
        )
    except EnsembleError as err:
        print(f"popsim: {err}", file=sys.stderr)
        return 1
    return 0


def _analysis_options(args: argparse.Namespace):
    from popsim.analysis import Options

    return Options(first=args.date_from, last=args.date_to, baseline=args.baseline)


def _analyze(args: argparse.Namespace) -> int:
    from popsim.analysis import analyze

    out = analyze(args.run_dir, options=_analysis_options(args), allow_mixed=args.allow_mixed)
    print(f"analysis tables in {out}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from popsim.analysis.report import write_report

    given = args.date_from or args.date_to or args.baseline
    path = write_report(args.run_dir, options=_analysis_options(args) if given else None)
    print(f"report: {path}")
    return 0


def _export(args: argparse.Namespace) -> int:
    from popsim.analysis import load
    from popsim.analysis.export import write_xlsx, xlsx_target
    from popsim.analysis.report import run_region, site_names

    xlsx_target(args.xlsx, args.run_dir, args.force)  # before the analysis runs
    a = load(args.run_dir)
    region, _ = run_region(a)
    path = write_xlsx(a, args.xlsx, site_names(region), force=args.force)
    a.con.close()
    print(f"workbook: {path}")
    return 0


def _add_analysis_options(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--from", dest="date_from", default=None, metavar="DATE",
        help="first day of the main window, YYYY-MM-DD (default: the run's first day)",
    )  # fmt: skip
    p.add_argument(
        "--to", dest="date_to", default=None, metavar="DATE",
        help="last day of the main window, YYYY-MM-DD (default: the run's last day)",
    )  # fmt: skip
    p.add_argument(
        "--baseline", default=None, metavar="SCENARIO",
        help="scenario the others are compared with (default: the spec's [analysis] "
        "baseline, else the scenario named baseline, else the first)",
    )  # fmt: skip


def _twin_arguments(args: argparse.Namespace) -> dict:
    """The arguments every twin command passes on (see :func:`_twin_common`)."""
    return {
        "workers": args.workers,
        "scheduler": args.scheduler,
        "out": args.out,
        "zones_path": args.observed_zones,
        "progress": not args.quiet,
    }


def _calibrate(args: argparse.Namespace) -> int:
    from popsim.twin.calibrate import calibrate

    calibrate(
        args.spec,
        args.observed,
        trials=args.trials,
        force=args.force,
        check=args.check,
        **_twin_arguments(args),
    )
    return 0


def _date(text: str):
    import datetime as dt

    try:
        return dt.date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected YYYY-MM-DD, got {text!r}") from None


def _forecast(args: argparse.Namespace) -> int:
    from popsim.twin.forecast import forecast

    forecast(
        args.spec,
        args.observed,
        args.as_of,
        days=args.days,
        replicates=args.replicates,
        **_twin_arguments(args),
    )
    return 0


def _backtest(args: argparse.Namespace) -> int:
    from popsim.twin.backtest import backtest

    backtest(
        args.spec,
        args.observed,
        every=args.every,
        days=args.days,
        replicates=args.replicates,
        first=args.first,
        refit=args.refit,
        trials=args.trials,
        **_twin_arguments(args),
    )
    return 0


def _cluster_options(p: argparse.ArgumentParser) -> None:
    """Where replicates run: ``--workers N`` local processes or ``--scheduler ADDRESS``."""
    group = p.add_mutually_exclusive_group()
    group.add_argument("--workers", type=int, default=None, help="local worker processes")
    group.add_argument("--scheduler", default=None, help="address of an existing Dask scheduler")


def _twin_common(
    p: argparse.ArgumentParser, out_default: str, spec_help: str = "run spec (TOML)"
) -> None:
    """The arguments of every twin command (passed on by :func:`_twin_arguments`)."""
    p.add_argument("spec", help=spec_help)
    p.add_argument("--observed", required=True, help="observed facility table (CSV or Parquet)")
    p.add_argument("--observed-zones", default=None, help="observed zone table (optional)")
    _cluster_options(p)
    p.add_argument("--out", default=None, help=f"folder (default: {out_default})")
    p.add_argument("--quiet", action="store_true", help="no progress bar")


def _twin_parsers(sub: argparse._SubParsersAction) -> None:
    """The twin's subcommands: calibrate, forecast, backtest."""
    fc = sub.add_parser("forecast", help="forecast each site from the observed state on a date")
    _twin_common(fc, "runs/<name>/forecast/as_of=<date>")
    fc.add_argument("--as-of", required=True, type=_date, help="forecast origin (YYYY-MM-DD)")
    fc.add_argument("--days", type=int, default=28, help="days ahead (default 28)")
    fc.add_argument("--replicates", type=int, default=100, help="replicates (default 100)")
    fc.set_defaults(func=_forecast)
    bt = sub.add_parser("backtest", help="score forecasts from rolling origins vs baselines")
    _twin_common(bt, "runs/<name>/backtest")
    bt.add_argument("--every", type=int, default=7, help="days between origins (default 7)")
    bt.add_argument("--days", type=int, default=28, help="days ahead (default 28)")
    bt.add_argument("--replicates", type=int, default=50, help="replicates per origin")
    bt.add_argument("--first", type=_date, default=None, help="first origin (default: start+28)")
    bt.add_argument(
        "--refit",
        action="store_true",
        help="recalibrate the spec's [calibration] on the data up to each origin",
    )
    bt.add_argument(
        "--trials", type=int, default=40, help="trials of each --refit calibration (default 40)"
    )
    bt.set_defaults(func=_backtest)
    cal = sub.add_parser("calibrate", help="fit a spec's [calibration] parameters to observed data")
    _twin_common(cal, "runs/<name>/calibration", "run spec (TOML) with a [calibration] section")
    cal.add_argument(
        "--trials", type=int, default=100, help="total trials, 1..5000 (resumes to this)"
    )
    cal.add_argument(
        "--force", action="store_true", help="discard a stored study and outputs, start over"
    )
    cal.add_argument(
        "--check", action="store_true", help="check spec, data, folder, memory; run nothing"
    )
    cal.set_defaults(func=_calibrate)


def _validate(args: argparse.Namespace) -> int:
    from popsim.validate import FULL_POPULATION, QUICK_POPULATION, run_checks, write_report

    if args.population is not None and args.population < 1000:
        raise PopsimError(f"--population: expected at least 1000 residents, got {args.population}")
    n = args.population or (QUICK_POPULATION if args.quick else FULL_POPULATION)
    checks = run_checks(args.region, population=n, quick=args.quick, seed=args.seed)
    title = f"region {args.region}, {n:,} residents, seed {args.seed}"
    path = write_report(checks, args.out, title)
    for c in checks:
        print(f"{'pass' if c.passed else 'FAIL'}  {c.check}: {c.measured} (expected {c.expected})")
    print(f"{sum(c.passed for c in checks)} of {len(checks)} checks pass; report: {path}")
    return 0


def _region_force(p: argparse.ArgumentParser, target: str) -> None:
    p.add_argument(
        "--force",
        action="store_true",
        help=f"replace {target} if popsim wrote it (never a shipped one)",
    )


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="popsim", description="Population-health agent-based model of a health region."
    )
    parser.add_argument("--version", action="version", version=f"popsim {__version__}")
    sub = parser.add_subparsers(dest="command", required=True)

    regions = sub.add_parser("regions", help="list, show, check, synthesise or import regions")
    rsub = regions.add_subparsers(dest="regions_cmd", required=True)
    rsub.add_parser("list", help="regions shipped under regions/")
    show = rsub.add_parser("show", help="print zones and facilities, write a map (PNG)")
    show.add_argument("name", help="a region name under regions/ or a folder path")
    show.add_argument("--map", help="where to write the map (default: <region>-map.png here)")
    check = rsub.add_parser("check", help="validate a region folder, report every problem")
    check.add_argument("path")
    synth = rsub.add_parser("synth", help="write a small synthetic region folder")
    synth.add_argument("out", help="folder to write")
    synth.add_argument("--zones", default="4", help="number of zones (1-1000)")
    synth.add_argument("--population", default="20000", help="residents (zones to 2**31-1)")
    synth.add_argument("--facilities", default="3", help="facilities (1 to the zones)")
    synth.add_argument("--seed", default="0", help="random seed (0 to 2**63-1)")
    _region_force(synth, "OUT")
    imp = rsub.add_parser("import", help="build a region folder from official files")
    imp.add_argument("--boundaries", required=True, help="polygon layer (any format GDAL reads)")
    imp.add_argument("--population", required=True, help="CSV: population per zone (and band)")
    imp.add_argument("--facilities", required=True, help="CSV: acute-care facilities")
    imp.add_argument("--out", required=True, help="region folder to write")
    imp.add_argument("--name-field", default=None, help="zone name column (auto-detected)")
    imp.add_argument("--id-field", default=None, help="zone id column (auto-detected)")
    imp.add_argument("--hsda-field", default=None, help="HSDA column (auto-detected)")
    imp.add_argument("--layer", default=None, help="layer of a multi-layer file (default: zones)")
    _region_force(imp, "--out")
    regions.set_defaults(func=_regions)

    run = sub.add_parser("run", help="run a spec's scenarios x replicates on Dask")
    run.add_argument("spec", help="run spec (TOML)")
    run.add_argument("--replicates", type=int, default=None)
    _cluster_options(run)
    run.add_argument("--days", type=int, default=None)
    run.add_argument(
        "--population",
        type=int,
        default=None,
        help="scale the residents (beds are not scaled: rates stay valid, occupancy does not)",
    )
    run.add_argument("--out", default=None, help="output folder (default: beside the spec)")
    run.add_argument("--force", action="store_true", help="rerun complete replicates too")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument(
        "--check", action="store_true", help="check spec, arguments, folder, memory; run nothing"
    )
    run.set_defaults(func=_run)

    analyze = sub.add_parser("analyze", help="capacity tables from a run's Parquet dataset")
    analyze.add_argument("run_dir")
    _add_analysis_options(analyze)
    analyze.add_argument(
        "--allow-mixed",
        action="store_true",
        help="pool replicates of different configurations or model versions (with a warning)",
    )
    analyze.set_defaults(func=_analyze)

    report = sub.add_parser("report", help="self-contained HTML report of a run")
    report.add_argument("run_dir")
    _add_analysis_options(report)
    report.set_defaults(func=_report)

    validate = sub.add_parser(
        "validate", help="check the model against published figures; CSV and HTML report"
    )
    validate.add_argument(
        "--out", default="validation", help="report folder (default: ./validation)"
    )
    validate.add_argument("--quick", action="store_true", help="a small population (minutes)")
    validate.add_argument(
        "--population", type=int, default=None, help="residents (default 2,000,000; --quick 40,000)"
    )
    validate.add_argument("--region", default="fraser", help="a shipped region name or folder")
    validate.add_argument("--seed", type=int, default=1)
    validate.set_defaults(func=_validate)

    export = sub.add_parser("export", help="the analysis tables as an Excel workbook")
    export.add_argument("run_dir")
    export.add_argument("--xlsx", required=True, metavar="FILE", help="workbook to write")
    export.add_argument("--force", action="store_true", help="replace an existing workbook")
    export.set_defaults(func=_export)
    _twin_parsers(sub)
    return parser


def main(argv: list[str] | None = None) -> int:
    """Entry point of the ``popsim`` console script.

    Exit status: 0 done; 1 some replicates failed (a model error); 2 bad input or an
    unusable environment (one line per problem on stderr, no traceback); 130 interrupted.
    A closed standard output (``popsim run ... | head -1``) ends the command quietly.
    """
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except PopsimError as err:
        text = str(err)
        print(f"popsim: error: {text}" if "\n" not in text else text, file=sys.stderr)
        return 2
    except BrokenPipeError:
        _quiet_stdout()
        return 0
    except OSError as err:  # the file system refused (full disk, name too long, ...)
        where = f"{err.filename}: " if err.filename else ""
        print(f"popsim: error: {where}{err.strerror or err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("popsim: interrupted", file=sys.stderr)
        return 130


def _say(text: str) -> None:
    """Print a line of a run's report; if the reader of stdout went away (``popsim run
    ... | head -1``), say the rest to nobody and let the run go on to complete its
    outputs (a warning before the run must not end it)."""
    try:
        print(text, flush=True)
    except BrokenPipeError:
        _quiet_stdout()


def _quiet_stdout() -> None:
    """The reader of stdout went away: send the rest to /dev/null (no error at exit)."""
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):
        pass


if __name__ == "__main__":
    sys.exit(main())
