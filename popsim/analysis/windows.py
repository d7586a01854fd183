"""What an analysis compares: its date windows and its comparator (baseline scenario).

Sources, in order: the command line (``--from/--to``, ``--baseline``), then the run
spec's ``[analysis]`` section (``baseline``, named ``windows``), then the defaults (the
whole run; the scenario named ``baseline``, else the first scenario). Which one chose
the comparator is kept (``baseline_source``) so that the report states it.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import asdict, dataclass, field
from typing import Any

from pydantic import ValidationError

from popsim.analysis.capacity import ALL_WINDOW, Window
from popsim.errors import PopsimError
from popsim.run.spec import AnalysisSpec


class AnalysisOptionError(PopsimError):
    """A window or comparator asked for that this run cannot give."""


@dataclass
class Options:
    """What the caller asked for (``None`` = not given)."""

    first: str | None = None
    last: str | None = None
    baseline: str | None = None

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Plan:
    """Resolved windows (the main one first) and comparator, with notes for the report."""

    windows: list[Window]
    baseline: str
    baseline_source: str
    notes: list[str] = field(default_factory=list)

    @property
    def main(self) -> Window:
        return self.windows[0]


def parse_date(text: str, what: str) -> str:
    """An ISO date string, or :class:`AnalysisOptionError` naming the option."""
    try:
        return dt.date.fromisoformat(str(text)).isoformat()
    except ValueError:
        raise AnalysisOptionError(f"{what}: expected a date YYYY-MM-DD, got {text!r}") from None


def resolve(
    options: Options,
    spec: dict[str, Any],
    scenarios: list[str],
    run_first: str | None,
    run_last: str | None,
) -> Plan:
    """Check the options against the run and return the analysis plan."""
    raw = spec.get("analysis") or {}
    try:
        section = AnalysisSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise AnalysisOptionError(
            f"run spec [analysis] {where}: {first['msg']} (got {raw!r})"
        ) from None
    notes: list[str] = []
    if options.baseline is not None:
        baseline, source = options.baseline, "chosen with --baseline"
        where = "--baseline"
    elif section.baseline is not None:
        baseline, source = section.baseline, "set by the run spec's [analysis] baseline"
        where = "[analysis] baseline"
    elif "baseline" in scenarios:
        baseline, source = "baseline", "the default: the scenario named baseline"
        where = ""
    else:
        baseline = scenarios[0]
        source = "the default: the first scenario (no scenario is named baseline)"
        where = ""
    if baseline not in scenarios:
        raise AnalysisOptionError(
            f"{where}: no scenario {baseline!r} in this run; have {', '.join(scenarios)}"
        )

    first = parse_date(options.first, "--from") if options.first else None
    last = parse_date(options.last, "--to") if options.last else None
    if first and last and last < first:
        raise AnalysisOptionError(f"--to {last} is before --from {first}")
    windows: list[Window] = []
    if first or last:
        _check_inside("--from/--to", first or run_first, last or run_last, run_first, run_last)
        name = f"{first or run_first}..{last or run_last}"
        windows.append(Window(name, first, last))
    else:
        windows.append(Window(ALL_WINDOW, None, None))
    for name, (lo, hi) in section.windows.items():
        if name == ALL_WINDOW:
            raise AnalysisOptionError(
                f"[analysis] windows.{name}: {ALL_WINDOW!r} is the whole run; pick another name"
            )
        lo_s, hi_s = lo.isoformat(), hi.isoformat()
        _check_inside(f"[analysis] windows.{name}", lo_s, hi_s, run_first, run_last)
        if run_first and lo_s < run_first or run_last and hi_s > run_last:
            notes.append(
                f"window {name} ({lo_s} to {hi_s}) extends beyond the run ({run_first} to "
                f"{run_last}); its measures cover only the days inside the run"
            )
        windows.append(Window(name, lo_s, hi_s))
    return Plan(windows=windows, baseline=baseline, baseline_source=source, notes=notes)


def _check_inside(
    what: str, lo: str | None, hi: str | None, run_first: str | None, run_last: str | None
) -> None:
    if run_first is None or run_last is None or lo is None or hi is None:
        return
    if hi < run_first or lo > run_last:
        raise AnalysisOptionError(
            f"{what}: {lo} to {hi} does not overlap the run ({run_first} to {run_last})"
        )
