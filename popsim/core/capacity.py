"""The one definition of "over capacity" (pure functions; numpy arrays or plain numbers).

A *unit* is a site's ward (ALC patients included: they hold acute ward beds) or its ICU.
On a day, the unit's *bed demand* is the number of patients the site is responsible for
who need that unit, wherever they are (a funded bed, a surge bed, boarding in the ED,
critical care outside an ICU); its *beds* are the beds open that day (0 while the site is
closed): the beds, funded or surge, the day's nurses staffed when staffing is on (a bed
nobody can staff is not capacity), the funded beds otherwise. Then:

- the unit is **over capacity** on the day when ``demand > beds``;
- its **excess** that day is ``max(demand - beds, 0)``; **bed-days over** is the
  excess summed over days (and, for a site or a region, over its units and sites: beds
  are never pooled between units or sites, so a full ward is not hidden by an empty ICU);
- a **site** is over capacity on a day when any of its units is;
- **beds needed** at level ``a`` (5% or 1%) for a unit: the smallest whole number of
  funded beds ``B`` at which the unit would be over capacity (``demand > B``) on at most
  ``floor(a N)`` of its ``N`` open days, i.e. the ``(N - floor(a N))``-th smallest daily
  demand. It comes from demand, not census, so it can exceed today's beds. A unit with no
  demand on any day (a site that admits nobody) has no need: ``None``, not a negative one.

The analysis tables (DuckDB SQL) use :func:`sql_excess` and :func:`sql_is_over`, which
write the same two formulas as SQL; the end-of-run summary and the plots use the numpy
functions. This module imports nothing of popsim.
"""

from __future__ import annotations

from typing import Any

import numpy as np

#: Levels of "beds needed", in whole percent of days allowed over capacity.
LEVELS_PCT: tuple[int, ...] = (5, 1)


def is_over(demand: Any, beds: Any) -> np.ndarray:
    """True where bed demand exceeds funded beds (elementwise)."""
    return np.asarray(demand) > np.asarray(beds)


def excess(demand: Any, beds: Any) -> np.ndarray:
    """Patients above funded beds, ``max(demand - beds, 0)`` (elementwise)."""
    d = np.asarray(demand, dtype=np.int64)
    return np.maximum(d - np.asarray(beds, dtype=np.int64), 0)


def site_is_over(ward_demand: Any, ward_beds: Any, icu_demand: Any, icu_beds: Any) -> np.ndarray:
    """A site is over capacity on a day when its ward or its ICU is."""
    return is_over(ward_demand, ward_beds) | is_over(icu_demand, icu_beds)


def site_excess(ward_demand: Any, ward_beds: Any, icu_demand: Any, icu_beds: Any) -> np.ndarray:
    """A site's excess on a day: the ward's plus the ICU's (beds are not pooled)."""
    return excess(ward_demand, ward_beds) + excess(icu_demand, icu_beds)


def days_over(demand: Any, beds: Any, axis: int | None = None) -> Any:
    """Days over capacity (count of ``demand > beds``), along ``axis``."""
    return is_over(demand, beds).sum(axis=axis)


def bed_days_over(demand: Any, beds: Any, axis: int | None = None) -> Any:
    """Bed-days over capacity: the excess summed along ``axis``."""
    return excess(demand, beds).sum(axis=axis)


def allowed_days(n_days: int, level_pct: int) -> int:
    """Days a unit may be over capacity at ``level_pct`` percent: ``floor(level N)``."""
    return (int(n_days) * int(level_pct)) // 100


def beds_needed_from_counts(values: Any, counts: Any, level_pct: int) -> int | None:
    """Beds needed from a histogram of daily demand (``counts[i]`` days at ``values[i]``).

    ``None`` when there are no days or the demand is zero on every day (no need).
    """
    v = np.asarray(values, dtype=np.int64)
    c = np.asarray(counts, dtype=np.int64)
    keep = c > 0
    v, c = v[keep], c[keep]
    n = int(c.sum())
    if n == 0 or int(v.max()) <= 0:
        return None
    order = np.argsort(v, kind="stable")
    v, c = v[order], c[order]
    k = n - allowed_days(n, level_pct)  # the k-th smallest demand
    return int(v[np.searchsorted(np.cumsum(c), k)])


def beds_needed(demand: Any, level_pct: int) -> int | None:
    """Beds needed from the daily demand of a unit's open days (any shape, pooled)."""
    d = np.asarray(demand, dtype=np.int64).ravel()
    if d.size == 0:
        return None
    values, counts = np.unique(d, return_counts=True)
    return beds_needed_from_counts(values, counts, level_pct)


def sql_excess(demand: str, beds: str) -> str:
    """:func:`excess` as a SQL expression over two column expressions."""
    return f"greatest(({demand}) - ({beds}), 0)"


def sql_is_over(demand: str, beds: str) -> str:
    """:func:`is_over` as a SQL boolean expression over two column expressions."""
    return f"(({demand}) > ({beds}))"
