"""Fuzzing the region validators: generated region folders, valid and mutated.

Hypothesis writes region folders from the small valid corpus region with mutations of
CSV cells, GeoJSON properties and geometries, TOML values, dropped columns and damaged
bytes, then runs ``popsim regions check``. Whatever the input: exit 0 (and the folder
loads) or exit 2 with one line per problem, each naming a file of the folder; never a
traceback, and nothing written anywhere.
"""

from __future__ import annotations

import contextlib
import csv
import io
import json
import math
import tempfile
import tomllib
from pathlib import Path

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from popsim.cli import main
from popsim.errors import PopsimError
from popsim.region.load import load_region

VALID = Path(__file__).parent / "bad_regions" / "valid"
TOML_KEYS = ("name", "description", "crs", "base_year", "single_ages", "travel", "beds")
TRAVEL_KEYS = ("detour_factor", "speed_kmh", "base_minutes")
ZONE_PROPS = ("zone_id", "name", "hsda", "population", "source")

#: Cells that have broken parsers before: signs, decimals, exponents, huge integers,
#: spreadsheet formulas, padding, words for numbers and booleans, impossible dates.
NASTY = st.sampled_from(
    ["", "-1", "0", "2.5", "1e3", "+5", "0x10", "NaN", "inf", "-inf", " 12 ", "1,000",
     "99999999999999999999", "9" * 60, str(2**31), str(2**63), "=1+1", "@SUM(A1)",
     "true", "yes", "maybe", "2030-02-30", "2030-01-01", "tertiary", "open", "planned",
     "A", "B", "f1", '"', "\x00", "\u00e9\u00e8", "\ufeff"]
)  # fmt: skip
CELLS = st.one_of(
    NASTY,
    st.integers(-(2**70), 2**70).map(str),
    st.text(st.characters(codec="utf-8"), max_size=12),
)
JSON_VALUES = st.recursive(
    st.one_of(
        st.none(),
        st.booleans(),
        st.integers(-(10**30), 10**30),
        st.floats(allow_nan=False, allow_infinity=False),
        st.text(max_size=12),
        NASTY,
    ),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=4), inner, max_size=2)
    ),
    max_leaves=4,
)
TOML_VALUES = st.one_of(
    st.integers(-(2**70), 2**70),
    st.floats(),
    st.booleans(),
    st.text(max_size=20),
    st.sampled_from(["EPSG:3005", "EPSG:4326", "EPSG:999999", "+proj=longlat", ""]),
    st.lists(st.integers(-5, 5), max_size=3),
)
GEOMETRIES = st.sampled_from(
    [
        None,
        {"type": "Point", "coordinates": [-122.85, 49.15]},
        {"type": "Polygon", "coordinates": []},
        {"type": "Polygon", "coordinates": [[[0, 0], [1, 1], [1, 0], [0, 1], [0, 0]]]},
        {"type": "Polygon", "coordinates": [[[500, 0], [501, 0], [501, 1], [500, 0]]]},
        {"type": "Polygon", "coordinates": [[[-122.9, 49.1], [-122.8, 49.1]]]},
    ]
)

MUTATIONS = st.one_of(
    st.tuples(st.just("toml"), st.sampled_from(TOML_KEYS), TOML_VALUES),
    st.tuples(st.just("travel"), st.sampled_from(TRAVEL_KEYS), TOML_VALUES),
    st.tuples(st.just("zone"), st.integers(0, 1), st.sampled_from(ZONE_PROPS), JSON_VALUES),
    st.tuples(st.just("geometry"), st.integers(0, 1), GEOMETRIES),
    st.tuples(st.just("age.csv"), st.integers(0, 20), st.integers(0, 3), CELLS),
    st.tuples(st.just("facilities.csv"), st.integers(0, 2), st.integers(0, 11), CELLS),
    st.tuples(st.just("drop"), st.sampled_from(["age.csv", "facilities.csv"]), st.integers(0, 11)),
    st.tuples(
        st.just("bytes"),
        st.sampled_from(["region.toml", "zones.geojson", "age.csv", "facilities.csv"]),
        st.floats(0, 1),
        st.binary(max_size=20),
    ),
)


def _toml(value: object) -> str:
    """A TOML value (strings as JSON strings: a TOML basic string for these)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        return (
            "nan"
            if math.isnan(value)
            else ("inf" if value > 0 else "-inf")
            if math.isinf(value)
            else repr(value)
        )
    if isinstance(value, list):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    if isinstance(value, int):
        return str(value)
    return json.dumps(value)


def _read_rows(path: Path) -> list[list[str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.reader(f))


def write_folder(folder: Path, mutations: list[tuple]) -> None:
    """The valid corpus region, mutated, written to ``folder``."""
    meta = tomllib.loads((VALID / "region.toml").read_text(encoding="utf-8"))
    meta.setdefault("travel", {})
    zones = json.loads((VALID / "zones.geojson").read_text(encoding="utf-8"))
    tables = {name: _read_rows(VALID / name) for name in ("age.csv", "facilities.csv")}
    damage: dict[str, tuple[float, bytes]] = {}
    for m in mutations:
        kind = m[0]
        if kind == "toml":
            meta[m[1]] = m[2]
        elif kind == "travel":
            if isinstance(meta.get("travel"), dict):
                meta["travel"][m[1]] = m[2]
        elif kind == "zone":
            zones["features"][m[1]]["properties"][m[2]] = m[3]
        elif kind == "geometry":
            zones["features"][m[1]]["geometry"] = m[2]
        elif kind in tables:
            rows = tables[kind]
            row = rows[min(m[1], len(rows) - 1)]
            if row:
                row[min(m[2], len(row) - 1)] = m[3]
        elif kind == "drop":
            for row in tables[m[1]]:
                if row:
                    del row[min(m[2], len(row) - 1)]
        elif kind == "bytes":
            damage[m[1]] = (m[2], m[3])
    folder.mkdir()
    lines = []
    for key, value in meta.items():
        if isinstance(value, dict):
            continue
        lines.append(f"{key} = {_toml(value)}")
    if isinstance(meta.get("travel"), dict):
        lines.append("[travel]")
        lines += [f"{k} = {_toml(v)}" for k, v in meta["travel"].items()]
    (folder / "region.toml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    (folder / "zones.geojson").write_text(json.dumps(zones), encoding="utf-8")
    for name, rows in tables.items():
        buf = io.StringIO()
        csv.writer(buf, lineterminator="\n").writerows(rows)
        (folder / name).write_text(buf.getvalue(), encoding="utf-8")
    for name, (cut, junk) in damage.items():
        data = (folder / name).read_bytes()
        (folder / name).write_bytes(data[: int(len(data) * cut)] + junk)


def _snapshot(root: Path) -> dict[str, bytes]:
    return {str(p.relative_to(root)): p.read_bytes() for p in root.rglob("*") if p.is_file()}


def _check(folder: Path) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(["regions", "check", str(folder)])
    return code, out.getvalue(), err.getvalue()


@pytest.mark.slow
@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)
@given(st.lists(MUTATIONS, max_size=3))
def test_check_gives_ok_or_one_line_per_problem_and_writes_nothing(mutations):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        folder = root / "region"
        write_folder(folder, mutations)
        before = _snapshot(root)
        code, out, err = _check(folder)  # any exception fails the test: no traceback
        assert _snapshot(root) == before  # nothing written, moved or deleted
        event(f"exit {code}")
        assert code in (0, 2), (code, err)
        if code == 0:
            assert err == "" and out.strip() == f"{folder}: ok"
            assert load_region(folder).n_zones == 2
            return
        lines = err.strip().splitlines()
        assert lines and out == ""
        for line in lines:
            # each problem names the folder or one of its files, then says what is wrong
            assert line.removeprefix("popsim: error: ").startswith(str(folder)), line
        try:
            load_region(folder)
        except PopsimError:
            pass
        else:
            raise AssertionError(f"check found problems but the folder loads: {err}")


def test_the_unmutated_folder_is_valid(tmp_path):
    write_folder(tmp_path / "r", [])
    assert _check(tmp_path / "r")[0] == 0


def test_a_region_names_a_shipped_age_table_or_gets_one_line(tmp_path):
    write_folder(tmp_path / "ok", [("toml", "single_ages", "canada_2026")])
    assert _check(tmp_path / "ok")[0] == 0
    assert load_region(tmp_path / "ok").single_ages == "canada_2026"
    assert load_region(VALID).single_ages is None  # none named: the life table's survivors
    write_folder(tmp_path / "bad", [("toml", "single_ages", "mars_2026")])
    code, out, err = _check(tmp_path / "bad")
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert "single_ages" in err and "canada_2026" in err


@pytest.mark.parametrize(
    "char", ["\x1b[31m", "\x00", "\u200b", "\n", "\u202e"], ids=["ESC", "NUL", "ZWSP", "LF", "RLO"]
)
def test_control_and_invisible_characters_in_ids_and_names_are_problems(char, tmp_path, capsys):
    """Before: they passed `regions check`, and the run summary printed ESC raw."""
    import shutil

    folder = tmp_path / "region"
    shutil.copytree(VALID, folder)
    path = folder / "facilities.csv"
    with path.open(newline="", encoding="utf-8") as fh:
        rows = list(csv.DictReader(fh))
    rows[0]["facility_id"] = "F" + char + "1"
    rows[1]["name"] = "Hospital" + char + "2"
    with path.open("w", newline="", encoding="utf-8") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    assert main(["regions", "check", str(folder)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    hidden = [line for line in lines if "control or invisible characters" in line]
    assert len(hidden) == 2, lines
    assert any("line 2, facility_id" in line for line in hidden)
    assert any("line 3, name" in line for line in hidden)
    assert all("\x1b" not in line and "\x00" not in line for line in lines)
