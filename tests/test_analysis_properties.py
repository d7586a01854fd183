"""Capacity SQL against a plain numpy reference on random small ensembles (hypothesis).

The queries run on an in-memory DuckDB view over a pandas frame (no files), so each
example is cheap; the reference is the numpy definition in ``popsim.core.capacity`` (the
one the run summary uses), so the SQL tables and the summary cannot drift apart.
"""

from __future__ import annotations

import duckdb
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.analysis import capacity, compare
from popsim.core import capacity as core


def _frame(
    census: np.ndarray, beds: np.ndarray, scenario: str, icu: np.ndarray | None = None
) -> pd.DataFrame:
    n_rep, n_days = census.shape
    r, d = np.meshgrid(range(n_rep), range(n_days), indexing="ij")
    return pd.DataFrame(
        {
            "scenario": scenario,
            "replicate": r.ravel(),
            "day": d.ravel(),
            "date": pd.Timestamp("2026-01-01") + pd.to_timedelta(d.ravel(), unit="D"),
            "facility": "S",
            "ward_census": census.ravel(),
            "ward_beds": np.broadcast_to(beds, census.shape).ravel(),
            "icu_census": 0 if icu is None else icu.ravel(),
            "icu_beds": 0 if icu is None else 3,
        }
    )


def _connect(df: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    con = duckdb.connect()
    con.register("fd_frame", df)
    con.execute("CREATE VIEW facility_day AS SELECT * FROM fd_frame")
    capacity.create_unit_census(con)
    return con


ensembles = st.integers(2, 6).flatmap(
    lambda n_rep: st.integers(3, 30).flatmap(
        lambda n_days: st.tuples(
            st.lists(st.integers(0, 40), min_size=n_rep * n_days, max_size=n_rep * n_days).map(
                lambda v: np.array(v).reshape(n_rep, n_days)
            ),
            st.integers(1, 35),
            st.lists(st.integers(-5, 5), min_size=n_rep * n_days, max_size=n_rep * n_days).map(
                lambda v: np.array(v).reshape(n_rep, n_days)
            ),
        )
    )
)


@pytest.mark.slow
@settings(max_examples=20, deadline=None)
@given(ensembles)
def test_capacity_matches_numpy_reference(data: tuple[np.ndarray, int, np.ndarray]) -> None:
    census, beds, shift = data
    other = np.maximum(census + shift, 0)
    df = pd.concat([_frame(census, beds, "baseline"), _frame(other, beds, "alt")])
    con = _connect(df)
    windows = [capacity.Window("all")]
    daily = capacity.census_daily(con)
    rep = capacity.site_replicate(con, windows)
    summ = capacity.capacity_summary(rep)
    need = capacity.beds_needed(con, windows)

    d = daily[(daily.scenario == "baseline") & (daily.facility == "S") & (daily.unit == "ward")]
    d = d.sort_values("day")
    for q, col in ((0.05, "p5"), (0.25, "p25"), (0.5, "p50"), (0.75, "p75"), (0.95, "p95")):
        assert d[f"census_{col}"].to_numpy() == pytest.approx(np.quantile(census, q, axis=0))
    assert d["p_over"].to_numpy() == pytest.approx((census > beds).mean(axis=0))

    r = rep[(rep.scenario == "baseline") & (rep.facility == "S") & (rep.unit == "ward")]
    r = r.sort_values("replicate")
    open_days = ((census > 0) | (beds > 0)).sum(axis=1)  # beds > 0: every day is open
    p_over = (census > beds).sum(axis=1) / open_days
    assert r["p_over"].to_numpy() == pytest.approx(p_over)
    assert r["days_above_85"].to_numpy().tolist() == (census > 0.85 * beds).sum(axis=1).tolist()
    assert r["bed_days_over"].to_numpy().tolist() == np.maximum(census - beds, 0).sum(1).tolist()
    assert r["days_over"].to_numpy().tolist() == core.days_over(census, beds, axis=1).tolist()
    assert r["peak_census"].to_numpy().tolist() == census.max(axis=1).tolist()

    s = summ[(summ.scenario == "baseline") & (summ.facility == "S") & (summ.unit == "ward")]
    assert s["p_over_p50"].iloc[0] == pytest.approx(np.quantile(p_over, 0.5))
    assert s["p_over_p95"].iloc[0] == pytest.approx(np.quantile(p_over, 0.95))

    n = need[(need.scenario == "baseline") & (need.facility == "S") & (need.unit == "ward")]
    flat = census.ravel()
    for level, col in ((5, "beds_needed_5"), (1, "beds_needed_1")):
        allowed = flat.size * level // 100
        b = n[col].iloc[0]
        if flat.max() == 0:  # nobody admitted: no need, not a negative one
            assert np.isnan(b) and np.isnan(n[f"extra_beds_{level}"].iloc[0])
            continue
        assert (flat > b).sum() <= allowed  # enough beds ...
        assert (flat > b - 1).sum() > allowed  # ... and one fewer would not be

    cmp = compare.paired_differences(rep, ["facility", "unit"], ["peak_census"], "baseline")
    assert core.beds_needed(census, 5) == (None if flat.max() == 0 else n["beds_needed_5"].iloc[0])
    c = cmp[(cmp.facility == "S") & (cmp.unit == "ward")].iloc[0]
    diffs = other.max(axis=1) - census.max(axis=1)  # replicate r against replicate r
    assert c["diff_p5"] == pytest.approx(np.quantile(diffs, 0.05))
    assert c["diff_p95"] == pytest.approx(np.quantile(diffs, 0.95))
    assert c["n_pairs"] == census.shape[0]


@settings(max_examples=20, deadline=None)
@given(ensembles, st.integers(0, 2**31 - 1))
def test_site_over_capacity_is_the_core_definition(
    data: tuple[np.ndarray, int, np.ndarray], seed: int
) -> None:
    """Site (ward + ICU) days over and bed-days over from SQL equal the core functions."""
    census, beds, _ = data
    icu = np.random.default_rng(seed).integers(0, 6, size=census.shape)
    con = _connect(_frame(census, beds, "baseline", icu))
    rep = capacity.site_replicate(con, [capacity.Window("all")])
    t = rep[(rep.facility == "S") & (rep.unit == "total")].sort_values("replicate")
    over = core.site_is_over(census, beds, icu, 3)
    assert t["days_over"].tolist() == over.sum(axis=1).tolist()
    assert t["bed_days_over"].tolist() == core.site_excess(census, beds, icu, 3).sum(1).tolist()
    allsites = rep[(rep.facility == capacity.ALL_SITES) & (rep.unit == "total")]
    assert allsites.sort_values("replicate")["days_over"].tolist() == over.sum(axis=1).tolist()
