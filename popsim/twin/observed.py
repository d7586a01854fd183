"""Observed data: what a health system reports, checked and lined up with the model's outputs.

Two tables, CSV or Parquet (chosen by the file's suffix):

- **facility table** (required): ``date, facility`` and any subset of the metric columns
  of the model's ``facility_day`` table (``ward_census, icu_census, alc_census,
  admissions, ed_visits, ed_boarding, ...``, and the epidemic's share
  ``epidemic_census, epidemic_admissions`` where the model reports it). ``facility`` is a
  facility id of the region or ``"all"`` for the region's total (public data is often
  only that). The names are the outputs' names, so one replicate of a run
  (``facility_day/scenario=<s>/part-<r>.parquet``) is itself valid observed data; its
  bookkeeping columns (``replicate``, ``day``, ``scenario``) are ignored.
- **zone table** (optional): ``date, zone[, age_band]`` with ``new_admissions`` and/or
  ``cases``; ``zone`` is a zone id of the region or ``"all"``.

Real data has gaps: a missing day (no row) or a blank cell is a missing value, allowed
and skipped by the likelihood and the scores. Everything else that is wrong is reported,
one line per problem (file, row, column, what was expected), and loading stops with
:class:`ObservedProblems` (exit status 2 on the command line): an unknown column,
facility, zone or age band; a date that does not parse or lies outside the spec's run;
a duplicate (date, facility) or (date, zone, age band); a count that is negative,
fractional (unless the series is scaled), a boolean, larger than :data:`MAX_COUNT` or
not a number; a file with no observed value at all.

Limits, checked before anything is parsed: a file of at most :data:`MAX_FILE_BYTES`
and :data:`MAX_ROWS` rows (ten years of daily rows for 270 sites; an assumption well
above any region's reporting, which keeps loading within seconds and about a gigabyte).

Options (a spec's ``[observation]`` table, :mod:`popsim.twin.obsmodel`): ``scale``
multiplies every value (a series reported for a larger area, e.g. a province's census
scaled to a region by population share; fractional values are then allowed);
``carried_over = "missing"`` blanks a value equal to the same series' value of the day
before (values carried over weekends and holidays by a dashboard); ``outside="ignore"``
drops rows dated outside the run, said in one line of :attr:`Observed.notes`.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from popsim.care.network import METRICS
from popsim.core.ages import AGE_BANDS
from popsim.errors import InputError, PopsimError

if TYPE_CHECKING:
    from popsim.region.load import Region

#: facility_day columns that are the sites' settings (beds, open), not observations.
_SETTINGS = frozenset({"ward_beds", "icu_beds", "ward_capacity", "open"})
#: The region's total in the ``facility`` (or ``zone``) column.
ALL = "all"
#: Metric columns the facility table may hold (the care network's ``facility_day`` columns
#: and the epidemic's share of census and admissions).
FACILITY_OBSERVABLES: tuple[str, ...] = tuple(m for m in METRICS if m not in _SETTINGS)
#: Columns of a run's ``facility_day`` that are not observations (ignored when read).
IGNORED: tuple[str, ...] = (
    "replicate",
    "day",
    "scenario",
    "ward_beds",
    "icu_beds",
    "ward_capacity",
    "open",
)
ZONE_OBSERVABLES: tuple[str, ...] = ("new_admissions", "cases")
#: Most problems listed before loading stops (the count of the rest is given).
MAX_PROBLEMS = 50
#: Largest observed file read (bytes) and most rows (see the module docstring).
MAX_FILE_BYTES = 64 * 1024 * 1024
MAX_ROWS = 1_000_000
#: Largest observed count (before scaling): ten million, more than the residents of any
#: region (a census or a day's admissions cannot be more).
MAX_COUNT = 10_000_000


class ObservedProblems(PopsimError):
    """Problems found in observed data files; ``problems`` holds one line each."""

    def __init__(self, problems: list[InputError], more: int = 0) -> None:
        self.problems = list(problems)
        lines = [str(p) for p in self.problems]
        if more:
            lines.append(f"... and {more} more problems")
        super().__init__("\n".join(lines))


@dataclass
class Observed:
    """Checked observed data.

    Attributes:
        facility: one row per (date, facility) with ``date`` (datetime.date), ``facility``
            (str: a facility id or ``"all"``) and float metric columns (NaN = missing).
        zones: the zone table in the same form (``zone``, ``age_band`` or None).
        path: where the facility table came from.
    """

    facility: pd.DataFrame
    zones: pd.DataFrame | None = None
    path: str = "<observed>"
    notes: tuple[str, ...] = ()

    @property
    def metrics(self) -> list[str]:
        """Metric columns present in the facility table."""
        return [c for c in self.facility.columns if c in FACILITY_OBSERVABLES]

    @property
    def dates(self) -> list[dt.date]:
        return sorted(set(self.facility["date"]))

    def until(self, last: dt.date) -> Observed:
        """Only the data up to and including ``last`` (what was known on that day)."""
        fac = self.facility[self.facility["date"] <= last].reset_index(drop=True)
        zones = None
        if self.zones is not None:
            zones = self.zones[self.zones["date"] <= last].reset_index(drop=True)
        return Observed(fac, zones, self.path, self.notes)

    def between(self, first: dt.date, last: dt.date) -> Observed:
        """Only the data of days ``first`` .. ``last`` (inclusive)."""
        keep = (self.facility["date"] >= first) & (self.facility["date"] <= last)
        return Observed(self.facility[keep].reset_index(drop=True), None, self.path, self.notes)

    def long(self, metrics: list[str] | None = None) -> pd.DataFrame:
        """``date, facility, metric, value`` rows of the non-missing observations."""
        use = [m for m in (metrics or self.metrics) if m in self.facility.columns]
        frame = self.facility.melt(
            id_vars=["date", "facility"], value_vars=use, var_name="metric", value_name="value"
        )
        return frame.dropna(subset=["value"]).reset_index(drop=True)

    def value(self, when: dt.date, facility: str, metric: str) -> float | None:
        """One observed value (None if not observed)."""
        f = self.facility
        rows = f[(f["date"] == when) & (f["facility"] == facility)]
        if rows.empty or metric not in f.columns or pd.isna(rows[metric].iloc[0]):
            return None
        return float(rows[metric].iloc[0])


# ------------------------------------------------------------------ loading
def _read(path: Path) -> pd.DataFrame:
    if not path.is_file():
        raise InputError(path, None, "file not found")
    suffix = path.suffix.lower()
    size = path.stat().st_size
    if size > MAX_FILE_BYTES:
        raise InputError(
            path, None, f"{size:,} bytes: larger than the limit of {MAX_FILE_BYTES:,} bytes"
        )
    try:
        if suffix == ".parquet":
            import pyarrow.parquet as pq

            rows = pq.ParquetFile(path).metadata.num_rows
            if rows > MAX_ROWS:
                raise InputError(path, None, f"{rows:,} rows: more than the limit of {MAX_ROWS:,}")
            return pd.read_parquet(path)
        if suffix in (".csv", ".txt"):
            with path.open("rb") as fh:
                lines = sum(chunk.count(b"\n") for chunk in iter(lambda: fh.read(1 << 20), b""))
            if lines > MAX_ROWS + 1:
                raise InputError(
                    path, None, f"about {lines - 1:,} rows: more than the limit of {MAX_ROWS:,}"
                )
            return pd.read_csv(path, dtype=str, keep_default_na=False)
    except (OSError, ValueError, pd.errors.ParserError) as err:
        raise InputError(path, None, f"cannot be read: {err}") from None
    raise InputError(path, None, f"expected a .csv or .parquet file, got {suffix or 'no suffix'}")


def _dates(
    path: Path,
    column: pd.Series,
    first: dt.date | None,
    last: dt.date | None,
    out: list,
    outside: list | None = None,
) -> pd.Series:
    """Dates of a column (None where bad); a date outside ``first..last`` is a problem,
    or, with ``outside`` a list, its row index is appended there."""
    values = []
    for i, raw in enumerate(column.tolist()):
        row = i + 2  # CSV line: header is line 1
        if isinstance(raw, pd.Timestamp | dt.datetime):
            day = raw.date()
        elif isinstance(raw, dt.date):
            day = raw
        else:
            try:
                day = dt.date.fromisoformat(str(raw).strip())
            except ValueError:
                out.append(
                    InputError(path, f"row {row}: date", f"expected YYYY-MM-DD, got {raw!r}")
                )
                values.append(None)
                continue
        if first is not None and last is not None and not first <= day <= last:
            if outside is not None:
                outside.append(i)
                values.append(None)
                continue
            out.append(
                InputError(
                    path, f"row {row}: date", f"{day} is outside the spec's run ({first}..{last})"
                )
            )
            values.append(None)
            continue
        values.append(day)
    return pd.Series(values, index=column.index, dtype=object)


def _counts(
    path: Path, frame: pd.DataFrame, metric: str, out: list, whole: bool = True
) -> pd.Series:
    """A metric column as floats (NaN = blank); bad values are problems (``whole``:
    fractional values are too)."""
    raw = frame[metric]
    if pd.api.types.is_bool_dtype(raw.dtype) or (
        raw.dtype == object and raw.map(lambda v: isinstance(v, bool | np.bool_)).any()
    ):
        out.append(InputError(path, metric, "expected counts, got booleans (true/false)"))
        return pd.Series(np.nan, index=raw.index)
    if not pd.api.types.is_numeric_dtype(raw.dtype):
        text = raw.astype(str).str.strip()
        blank = raw.isna() | text.eq("") | text.str.lower().isin(("na", "nan", "null", "none"))
        numbers = pd.to_numeric(text.where(~blank), errors="coerce")
        bad = numbers.isna() & ~blank
    else:
        numbers = pd.to_numeric(raw, errors="coerce").astype(float)
        bad = pd.Series(False, index=raw.index)
    values = numbers.astype(float)
    for i in np.flatnonzero(bad.to_numpy()):
        out.append(
            InputError(path, f"row {i + 2}: {metric}", f"expected a count, got {raw.iloc[i]!r}")
        )
    arr = values.to_numpy()
    for i in np.flatnonzero(np.isinf(arr) | (arr < 0) | (arr > MAX_COUNT)):
        out.append(
            InputError(
                path,
                f"row {i + 2}: {metric}",
                f"expected a count in 0..{MAX_COUNT:,}, got {arr[i]:g}",
            )
        )
    finite = np.isfinite(arr)
    for i in np.flatnonzero(finite & (arr != np.round(arr)) & whole):
        out.append(
            InputError(path, f"row {i + 2}: {metric}", f"expected a whole count, got {arr[i]:g}")
        )
    values[bad] = np.nan
    return values


def _names(path: Path, column: pd.Series, known: set[str], what: str, out: list) -> pd.Series:
    names = column.astype(str).str.strip()
    for i, name in enumerate(names.tolist()):
        if name not in known:
            shown = ", ".join(sorted(known - {ALL})[:12])
            out.append(
                InputError(
                    path,
                    f"row {i + 2}: {what}",
                    f"unknown {what} {name!r} (have {shown}, or 'all')",
                )
            )
    return names


def _check_columns(path: Path, frame: pd.DataFrame, keys: tuple[str, ...], allowed, out) -> bool:
    columns = [str(c) for c in frame.columns]
    ok = True
    for key in keys:
        if key not in columns:
            out.append(InputError(path, key, f"missing column (columns: {', '.join(columns)})"))
            ok = False
    for c in columns:
        if c not in keys and c not in allowed and c not in IGNORED and c != "age_band":
            out.append(
                InputError(path, c, f"unknown column (expected any of {', '.join(allowed)})")
            )
    return ok


def _duplicates(path: Path, frame: pd.DataFrame, keys: list[str], out: list) -> None:
    valid = frame[keys].notna().all(axis=1)
    dup = frame[valid].duplicated(subset=keys, keep="first")
    for i in np.flatnonzero(valid.to_numpy())[dup.to_numpy()]:
        what = ", ".join(str(frame[k].iloc[i]) for k in keys)
        out.append(InputError(path, f"row {i + 2}", f"duplicate ({', '.join(keys)}) = ({what})"))


def _raise(problems: list[InputError]) -> None:
    if problems:
        raise ObservedProblems(problems[:MAX_PROBLEMS], max(0, len(problems) - MAX_PROBLEMS))


def load_observed(
    path: str | Path,
    region: Region,
    first: dt.date | None = None,
    last: dt.date | None = None,
    zones_path: str | Path | None = None,
    scale: float = 1.0,
    carried_over: str = "keep",
    outside: str = "error",
) -> Observed:
    """Read and check observed data against ``region`` and the run's days ``first..last``
    (options: see the module docstring).

    Raises :class:`ObservedProblems` listing every problem found (see the module docstring).
    """
    path = Path(path)
    frame = _read(path)
    if "scenario" in frame.columns and frame["scenario"].nunique() > 1:
        raise ObservedProblems([InputError(path, "scenario", "holds several scenarios; pick one")])
    if "replicate" in frame.columns and frame["replicate"].nunique() > 1:
        raise ObservedProblems(
            [InputError(path, "replicate", "holds several replicates; pick one")]
        )
    problems: list[InputError] = []
    if not _check_columns(path, frame, ("date", "facility"), FACILITY_OBSERVABLES, problems):
        _raise(problems)
    metrics = [c for c in FACILITY_OBSERVABLES if c in frame.columns]
    if not metrics:
        problems.append(
            InputError(path, None, f"no metric column (any of {', '.join(FACILITY_OBSERVABLES)})")
        )
    dropped: list[int] | None = [] if outside == "ignore" else None
    out = pd.DataFrame(
        {
            "date": _dates(path, frame["date"], first, last, problems, dropped),
            "facility": _names(
                path, frame["facility"], {*region.facility_ids, ALL}, "facility", problems
            ),
        }
    )
    for m in metrics:
        out[m] = _counts(path, frame, m, problems, whole=scale == 1.0)
    _duplicates(path, out, ["date", "facility"], problems)
    notes: list[str] = []
    if dropped:
        out = out.drop(index=dropped)
        notes.append(
            f"{path}: {len(dropped):,} rows dated outside the run ({first}..{last}) ignored"
        )
    zones = None
    if zones_path is not None:
        zones = _load_zones(Path(zones_path), region, first, last, problems)
    if not problems and metrics and not out[metrics].notna().to_numpy().any():
        problems.append(
            InputError(path, None, "no observed value (no row, or every value blank, in the run)")
        )
    _raise(problems)
    out = out.sort_values(["date", "facility"], kind="stable").reset_index(drop=True)
    if carried_over == "missing":
        blanked = 0
        for m in metrics:
            prev = out.groupby("facility")[m].shift(1)
            gap = out.groupby("facility")["date"].diff().map(lambda d: getattr(d, "days", None))
            same = (out[m] == prev) & (gap == 1)
            blanked += int(same.sum())
            out.loc[same, m] = np.nan
        notes.append(f"{path}: {blanked:,} values equal to the day before's taken as missing")
    if scale != 1.0:
        out[metrics] = out[metrics] * scale
        notes.append(f"{path}: values scaled by {scale:g}")
    return Observed(out, zones, str(path), tuple(notes))


def _load_zones(
    path: Path, region: Region, first: dt.date | None, last: dt.date | None, problems: list
) -> pd.DataFrame | None:
    try:
        frame = _read(path)
    except InputError as err:
        problems.append(err)
        return None
    if not _check_columns(path, frame, ("date", "zone"), ZONE_OBSERVABLES, problems):
        return None
    metrics = [c for c in ZONE_OBSERVABLES if c in frame.columns]
    if not metrics:
        problems.append(InputError(path, None, "no metric column (new_admissions or cases)"))
    out = pd.DataFrame(
        {
            "date": _dates(path, frame["date"], first, last, problems),
            "zone": _names(path, frame["zone"], {*region.zone_ids, ALL}, "zone", problems),
        }
    )
    keys = ["date", "zone"]
    if "age_band" in frame.columns:
        out["age_band"] = _names(path, frame["age_band"], set(AGE_BANDS), "age_band", problems)
        keys.append("age_band")
    for m in metrics:
        out[m] = _counts(path, frame, m, problems)
    _duplicates(path, out, keys, problems)
    return out.sort_values(keys, kind="stable").reset_index(drop=True)


# ------------------------------------------------------- model <-> observed
def simulated_value(
    facility_day: np.ndarray, metrics: list[str], facility_ids: list[str], fac: str, metric: str
) -> np.ndarray:
    """The simulated daily series of ``metric`` at ``fac`` (or the region's total, ``"all"``)
    from a ``(days, n_facilities, n_metrics)`` array."""
    column = facility_day[:, :, metrics.index(metric)]
    if fac == ALL:
        return column.sum(axis=1)
    return column[:, facility_ids.index(fac)]


def with_noise(
    table: pd.DataFrame, rng: np.random.Generator, dispersion: float, metrics: list[str]
) -> pd.DataFrame:
    """Reporting noise on counts: each value replaced by a negative-binomial draw with the
    value as its mean and size ``dispersion`` (variance ``mu + mu^2 / dispersion``)."""
    out = table.copy()
    for m in metrics:
        mu = out[m].to_numpy(dtype=float)
        ok = np.isfinite(mu)
        noisy = np.full(len(mu), np.nan)
        p = dispersion / (dispersion + np.maximum(mu[ok], 1e-9))
        noisy[ok] = rng.negative_binomial(dispersion, p)
        out[m] = noisy
    return out
