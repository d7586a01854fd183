"""The one parsing layer of region files: value parsers, the CSV reader, the rounding."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.region.parse import (
    INT32_MAX,
    Problems,
    largest_remainder,
    parse_bool,
    parse_int,
    read_csv,
)

#: Integers around every boundary that matters: int16, int32, int64 and beyond.
EDGES = st.sampled_from([0, 1, -1, 2**15, 2**31 - 1, 2**31, 2**63 - 1, 2**63, 10**30])
INTEGERS = st.one_of(st.integers(-(10**25), 10**25), EDGES, EDGES.map(lambda v: -v))


@settings(max_examples=200, deadline=None)
@given(INTEGERS, st.integers(-5, 5), st.sampled_from(["int", "float", "text", "padded"]))
def test_parse_int_accepts_exactly_the_range(n, minimum, form):
    value = {"int": n, "float": float(n), "text": str(n), "padded": f"  {n} "}[form]
    problems = Problems()
    got = parse_int(value, problems, "f.csv", "line 2, ward_beds", minimum)
    exact = int(float(n)) if form == "float" else n  # a float holds n only approximately
    if minimum <= exact <= INT32_MAX:
        assert got == exact and len(problems) == 0
    else:
        assert got is None
        (problem,) = problems.items
        assert str(problem).startswith("f.csv: line 2, ward_beds: expected a whole number")
        assert f"from {minimum} to {INT32_MAX}" in str(problem) and "\n" not in str(problem)


@settings(max_examples=200, deadline=None)
@given(st.one_of(st.text(max_size=60), st.floats(), st.none(), st.booleans()))
def test_parse_int_never_raises_and_returns_a_value_in_range(value):
    problems = Problems()
    got = parse_int(value, problems, "f.csv", "x", 0)
    assert (got is None) == (len(problems) == 1)
    assert got is None or 0 <= got <= INT32_MAX
    if isinstance(value, bool):
        assert got is None  # true is not a count


def test_thousands_separators_only_where_asked():
    problems = Problems()
    assert parse_int("1,234", problems, "p.csv", "x", thousands=True) == 1234
    assert parse_int("12.0", problems, "p.csv", "x", thousands=True) == 12
    assert len(problems) == 0
    assert parse_int("1,234", problems, "p.csv", "x") is None
    assert parse_int("12,34", problems, "p.csv", "x", thousands=True) is None
    assert len(problems) == 2


@settings(max_examples=100, deadline=None)
@given(st.text(max_size=10))
def test_parse_bool(text):
    problems = Problems()
    got = parse_bool(text, problems, "f.csv", "has_ed")
    word = text.strip().casefold()
    if word in {"true", "yes", "1", "y", "t"}:
        assert got is True
    elif word in {"false", "no", "0", "n", "f"}:
        assert got is False
    else:
        assert got is None and len(problems) == 1


@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.floats(0, 1e6, allow_nan=False), min_size=1, max_size=30),
    st.integers(0, 10**6),
)
def test_largest_remainder_keeps_the_total_and_stays_within_one(shares, total):
    w = np.asarray(shares)
    exact = w / w.sum() * total if w.sum() > 0 else np.zeros_like(w)
    counts = largest_remainder(exact, total if w.sum() > 0 else 0)
    assert counts.shape == exact.shape and counts.dtype == np.int64
    assert counts.sum() == (total if w.sum() > 0 else 0)
    assert (np.abs(counts - exact) < 1 + 1e-6).all() and (counts >= 0).all()


@settings(max_examples=100, deadline=None)
@given(st.binary(max_size=300))
def test_read_csv_never_raises(tmp_path_factory, data):
    path = tmp_path_factory.mktemp("csv") / "t.csv"
    path.write_bytes(data)
    problems = Problems()
    table = read_csv(path, problems, ("a",))
    assert (table is None) == (len(problems) > 0)
    for problem in problems.items:
        assert "\n" not in str(problem) and str(problem).startswith(str(path))
