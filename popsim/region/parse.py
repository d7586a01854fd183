"""The one parsing layer for region files: reading, validation and import all use it.

Region files are untrusted input. Everything here reads text and turns it into checked
values, recording a problem (file, row or field, what was expected) instead of raising,
so that a whole folder can be checked and every problem listed at once:

- :class:`Problems` collects :class:`popsim.errors.RegionError` and raises them at the end;
- :func:`read_csv` is the one CSV reader (strings only, never evaluated);
- :func:`parse_int`, :func:`parse_bool`, :func:`parse_real`, :func:`parse_date` are the
  value parsers; each returns None after recording why the value is unusable;
- :func:`read_layer` reads a vector layer, choosing the layer of a multi-layer file;
- :func:`largest_remainder` rounds shares to counts that keep their exact total;
- :data:`POINT_TOLERANCE_M` is the one geometric tolerance.

This module imports nothing of popsim's but :mod:`popsim.errors`.
"""

from __future__ import annotations

import re
import warnings
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np

from popsim.errors import RegionError, RegionProblems

if TYPE_CHECKING:
    import geopandas as gpd
    import pandas as pd

#: Largest count a region file may hold (bed counts, populations): the model records
#: counts, resident ids and households in 32-bit integers.
INT32_MAX = 2**31 - 1
#: Largest number of zones or facilities: zone and facility indexes are 16-bit integers.
INT16_MAX = 2**15 - 1
#: Tolerance (metres) when testing that a point lies in a polygon (a facility in its zone).
POINT_TOLERANCE_M = 1.0
#: Words read as true / false (case-insensitive).
TRUE_WORDS = frozenset({"true", "yes", "1", "y", "t"})
FALSE_WORDS = frozenset({"false", "no", "0", "n", "f"})
#: The layer read from a multi-layer file (a GeoPackage) when it holds several.
ZONE_LAYER = "zones"

_INTEGER = re.compile(r"[+-]?\d+")
_THOUSANDS = re.compile(r"[+-]?\d{1,3}(,\d{3})+")


class Problems:
    """Collects every problem found; reading stops only where nothing further can be checked."""

    def __init__(self) -> None:
        self.items: list[RegionError] = []

    def add(self, path: object, where: str | None, problem: str) -> None:
        self.items.append(RegionError(path, where, problem))

    def __len__(self) -> int:
        return len(self.items)

    def raise_if_any(self) -> None:
        """Raise the one problem (:class:`RegionError`) or all of them (:class:`RegionProblems`)."""
        if len(self.items) == 1:
            raise self.items[0]
        if self.items:
            raise RegionProblems(self.items)


def text(value: object) -> str:
    """A value as stripped text; missing values (None, NaN) are empty."""
    if value is None or (isinstance(value, float | np.floating) and not np.isfinite(value)):
        return ""
    return str(value).strip()


#: Unicode categories never allowed in an id or a name: control characters (ESC, NUL,
#: newline), format characters (zero-width space, direction marks), surrogates, private
#: use, unassigned, and line and paragraph separators. They hide in a terminal or a
#: spreadsheet, make two ids look alike, or (ESC) drive the terminal that prints them.
HIDDEN_CATEGORIES = frozenset({"Cc", "Cf", "Cs", "Co", "Cn", "Zl", "Zp"})


def hidden_characters(value: str) -> str | None:
    """A problem line for text holding control or invisible characters (None if clean)."""
    import unicodedata

    found = sorted({c for c in value if unicodedata.category(c) in HIDDEN_CATEGORIES})
    if not found:
        return None
    codes = ", ".join(f"U+{ord(c):04X}" for c in found[:5])
    return f"contains control or invisible characters ({codes}); expected printable text"


def _shown(value: object) -> str:
    """A bad value for a message: quoted, and cut short if long."""
    shown = repr(text(value) if not isinstance(value, int | float) else value)
    return shown if len(shown) <= 40 else shown[:37] + "..."


def parse_int(
    value: object,
    problems: Problems,
    path: object,
    where: str,
    minimum: int = 0,
    maximum: int = INT32_MAX,
    thousands: bool = False,
) -> int | None:
    """A whole number in ``[minimum, maximum]``, or None after recording the problem.

    Accepts an integer, an integer-valued float (GeoJSON numbers) or text of digits with an
    optional sign. ``thousands=True`` (official tables) also accepts ``1,234`` and ``12.0``.
    """
    number: int | None = None
    if isinstance(value, bool | np.bool_):
        number = None
    elif isinstance(value, float | np.floating):
        if np.isfinite(value) and float(value).is_integer():
            number = int(value)
    elif isinstance(value, int | np.integer):
        number = int(value)
    else:
        t = text(value)
        if thousands:
            if _THOUSANDS.fullmatch(t):
                t = t.replace(",", "")
            t = re.sub(r"\.0+$", "", t)
        if _INTEGER.fullmatch(t) and len(t) <= 40:
            number = int(t)
    expected = f"expected a whole number from {minimum} to {maximum}"
    if number is None:
        problems.add(path, where, f"{expected}, got {_shown(value)}")
        return None
    if not minimum <= number <= maximum:
        problems.add(path, where, f"{expected}, got {number}")
        return None
    return number


def parse_bool(
    value: object, problems: Problems, path: object, where: str, default: bool | None = None
) -> bool | None:
    """true/yes/1/y/t or false/no/0/n/f (any case); empty gives ``default`` if there is one."""
    t = text(value).casefold()
    if t == "" and default is not None:
        return default
    if t in TRUE_WORDS:
        return True
    if t in FALSE_WORDS:
        return False
    problems.add(path, where, f"expected true or false, got {_shown(value)}")
    return None


def parse_real(
    value: object, problems: Problems, path: object, where: str, lo: float, hi: float
) -> float | None:
    """A finite number in ``[lo, hi]``, or None after recording the problem."""
    try:
        number = float(text(value))
    except ValueError:
        number = float("nan")
    if not np.isfinite(number) or not lo <= number <= hi:
        problems.add(
            path, where, f"expected a number between {lo:g} and {hi:g}, got {_shown(value)}"
        )
        return None
    return number


def parse_date(value: object, problems: Problems, path: object, where: str) -> date | None:
    """An ISO date ``YYYY-MM-DD``; empty text is no date (None, no problem)."""
    t = text(value)
    if t == "":
        return None
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", t):
        try:
            return date.fromisoformat(t)
        except ValueError:
            pass
    problems.add(path, where, f"expected a date YYYY-MM-DD or empty, got {_shown(value)}")
    return None


def read_csv(path: Path, problems: Problems, required: tuple[str, ...] = ()) -> pd.DataFrame | None:
    """A CSV as stripped strings (never evaluated), or None after recording why it cannot
    be used (missing, unreadable, or lacking a ``required`` column)."""
    import pandas as pd

    if not path.is_file():
        problems.add(path, None, "missing file")
        return None
    try:
        table = pd.read_csv(
            path, dtype=str, keep_default_na=False, skipinitialspace=True, encoding="utf-8-sig"
        )
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as err:
        reason = str(err).strip().splitlines()[0] if str(err).strip() else type(err).__name__
        problems.add(path, None, f"not a readable CSV table ({reason})")
        return None
    table.columns = [str(c).strip() for c in table.columns]
    if len(set(table.columns)) < len(table.columns):
        problems.add(path, "header", "a column name appears twice; expected unique names")
        return None
    missing = [c for c in required if c not in table.columns]
    for col in missing:
        problems.add(path, f"column {col}", "missing column; expected " + ", ".join(required))
    if missing:
        return None
    return table.apply(lambda s: s.str.strip())


def read_layer(path: Path, problems: Problems, layer: str | None = None) -> gpd.GeoDataFrame | None:
    """A vector layer read through GDAL, or None after recording why it cannot be used.

    The layer named ``layer`` if given; otherwise, of a file with several layers (a
    GeoPackage), the one named ``zones``, and of a file with one layer, that one. Several
    layers and none named ``zones``, or no layer named ``layer``, is a problem listing them.
    """
    import geopandas as gpd
    import pyogrio
    from shapely.errors import ShapelyError

    if not path.exists():
        problems.add(path, None, "missing file")
        return None
    try:
        with warnings.catch_warnings():  # GDAL warnings: the values are checked one by one
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)
            layers = [str(name) for name, _ in pyogrio.list_layers(path)]
            if len(layers) == 0:
                problems.add(path, None, "no layer; expected a polygon layer")
                return None
            if layer is not None and layer not in layers:
                problems.add(path, f"layer {layer}", f"no such layer; has {', '.join(layers)}")
                return None
            if layer is None and len(layers) > 1:
                if ZONE_LAYER not in layers:
                    problems.add(
                        path,
                        "layers",
                        f"{len(layers)} layers ({', '.join(layers)}) and none named "
                        f"{ZONE_LAYER!r}; expected one layer or one named {ZONE_LAYER!r}",
                    )
                    return None
                layer = ZONE_LAYER
            return gpd.read_file(path, layer=layer)
    except (RuntimeError, OSError, ValueError, pyogrio.errors.DataSourceError, ShapelyError) as err:
        # pyogrio errors are RuntimeErrors, GEOS ones (an unclosed ring) ShapelyErrors
        reason = str(err).strip().splitlines()[0].split("; It might help")[0][:200]
        problems.add(path, None, f"not a readable vector layer ({reason})")
        return None


def largest_remainder(exact: np.ndarray, total: int | None = None) -> np.ndarray:
    """Whole counts (int64, same shape) close to ``exact`` that sum to ``total``.

    Each value is rounded down, then the values with the largest remainders (ties in
    order) get one more until the counts reach ``total`` (default: ``exact``'s sum,
    rounded). A tiny margin keeps a value such as ``2.9999999999`` from rounding to 2.
    """
    flat = np.asarray(exact, dtype=np.float64).ravel()
    want = int(round(float(flat.sum()))) if total is None else int(total)
    counts = np.floor(flat + 1e-9).astype(np.int64)
    short = max(want - int(counts.sum()), 0)
    counts[np.argsort(-(flat - counts), kind="stable")[:short]] += 1
    return counts.reshape(np.shape(exact))
