"""Loading, validating and listing region folders; the broken-region corpus."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from shapely.geometry import Point

from popsim.cli import main
from popsim.core.ages import AGE_BANDS
from popsim.errors import RegionError, RegionProblems
from popsim.region.load import (
    ROLES,
    STATUSES,
    check_region,
    list_regions,
    load_region,
    regions_root,
)

BAD = Path(__file__).parent / "bad_regions"

#: case -> (file, field) of every problem `popsim regions check` must report, in any order.
EXPECTED: dict[str, list[tuple[str, str]]] = {
    "missing_file": [("age.csv", "missing file")],
    "missing_column": [("facilities.csv", "column icu_beds")],
    "wrong_type": [("zones.geojson", "population"), ("facilities.csv", "line 2, lon")],
    "duplicate_id": [("facilities.csv", "line 3, facility_id")],
    "negative_beds": [("facilities.csv", "line 2, ward_beds")],
    "non_integer_beds": [("facilities.csv", "line 2, icu_beds")],
    "zero_population": [("zones.geojson", "population")],
    "facility_outside": [("facilities.csv", "line 3, lon/lat")],
    "invalid_polygon": [("zones.geojson", "geometry")],
    "no_crs": [("zones.gpkg", "crs")],
    "age_sum": [("age.csv", "zone_id 'A'")],
    "unknown_zone": [("facilities.csv", "line 3, zone_id")],
    "bad_role_status": [("facilities.csv", "line 2, role"), ("facilities.csv", "line 3, status")],
    "bad_dates": [
        ("facilities.csv", "line 2, close_date"),
        ("facilities.csv", "line 3, open_date"),
    ],
    "bad_age_band": [("age.csv", "line 21, age_band")],
    "bad_toml": [("region.toml", "field crs"), ("region.toml", "field beds")],
    "duplicate_zone_id": [
        ("zones.geojson", "feature 2 (zone_id 'A'), zone_id"),
        # the second zone is gone, so rows naming it are reported once per file
        ("age.csv", "lines 12-21, zone_id"),
        ("facilities.csv", "line 3, zone_id"),
    ],
    "projected_geojson": [("zones.geojson", "geometry")],
    "toml_syntax": [("region.toml", "not valid TOML")],
    "bad_has_ed": [("facilities.csv", "line 2, has_ed")],
    "planned_without_date": [("facilities.csv", "line 3, open_date")],
    "wrong_zone": [("facilities.csv", "line 2, lon/lat")],
    "missing_age_band": [("age.csv", "zone_id 'B'")],
    "unreadable_files": [
        ("zones.geojson", "not a readable vector layer"),
        ("age.csv", "not a readable CSV"),
        ("facilities.csv", "not a readable CSV"),
    ],
    "huge_population": [("zones.geojson", "feature 1 (zone_id 'A'), population")],
    "huge_beds": [("facilities.csv", "line 2, ward_beds")],
    "huge_age_count": [("age.csv", "line 2, female")],
    "too_many_residents": [("zones.geojson", "population")],
    "gpkg_layers": [("zones.gpkg", "layers")],
    "unclosed_ring": [("zones.geojson", "not a readable vector layer")],
    "bad_routing": [
        ("zones.geojson", "feature 1 (zone_id 'A'), household_size"),
        ("facilities.csv", "line 2, p_refer"),
        ("facilities.csv", "line 3, refers_to"),
        ("facilities.csv", "line 3, surge_share"),
        ("facilities.csv", "line 2, refers_to"),
    ],
    "many_problems": [
        ("facilities.csv", "line 2, ward_beds"),
        ("facilities.csv", "line 3, facility_id"),
        ("age.csv", "zone_id 'A'"),
        ("facilities.csv", "line 2, role"),
        ("facilities.csv", "line 3, status"),
    ],
}


def test_corpus_has_a_folder_per_case():
    folders = {p.name for p in BAD.iterdir() if p.is_dir()}
    assert set(EXPECTED) | {"valid"} == folders


@pytest.mark.parametrize("case", sorted(EXPECTED))
def test_check_reports_every_problem_of_a_broken_region(case, capsys):
    code = main(["regions", "check", str(BAD / case)])
    out, err = capsys.readouterr()
    assert code == 2
    assert "Traceback" not in err and out == ""
    lines = err.strip().splitlines()
    assert len(lines) == len(EXPECTED[case]), err
    for filename, field in EXPECTED[case]:
        assert any(filename in line and field in line for line in lines), (filename, field, err)
    # check_region agrees with the CLI, and load_region refuses the folder
    assert len(check_region(BAD / case)) == len(lines)
    with pytest.raises(RegionProblems if len(lines) > 1 else RegionError):
        load_region(BAD / case)


def test_messages_say_what_was_expected():
    (problem,) = check_region(BAD / "negative_beds")
    assert "ward_beds" in str(problem) and "whole number from 0 to" in str(problem)
    assert problem.path.endswith("facilities.csv")
    (problem,) = check_region(BAD / "age_sum")
    assert "102" in str(problem) and "100" in str(problem)


def test_valid_corpus_region_loads(capsys):
    assert main(["regions", "check", str(BAD / "valid")]) == 0
    assert "ok" in capsys.readouterr().out
    region = load_region(BAD / "valid")
    assert region.n_zones == 2 and region.n_facilities == 2
    assert region.facilities["zone"].tolist() == [0, 1]
    assert region.facilities["status"].tolist() == ["open", "planned"]


def test_console_script_exits_2_without_traceback():
    proc = subprocess.run(
        [sys.executable, "-m", "popsim.cli", "regions", "check", str(BAD / "many_problems")],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert len(proc.stderr.strip().splitlines()) == len(EXPECTED["many_problems"])


def test_one_fix_leaves_the_other_problems(tmp_path):
    folder = shutil.copytree(BAD / "many_problems", tmp_path / "r")
    text = (folder / "facilities.csv").read_text().replace("huge", "tertiary")
    (folder / "facilities.csv").write_text(text)
    problems = check_region(folder)
    assert len(problems) == len(EXPECTED["many_problems"]) - 1
    assert not any("role" in str(p) for p in problems)


def test_missing_folder_and_unknown_name():
    assert "not a folder" in str(check_region("no/such/folder")[0])
    with pytest.raises(RegionError, match="no such region"):
        load_region("atlantis")


def test_cli_list(capsys):
    assert main(["regions", "list"]) == 0
    names = [line.split("\t")[0] for line in capsys.readouterr().out.splitlines()]
    assert "fraser" in names and "synthetic" in names


def test_shipped_regions_are_listed():
    names = [name for name, _ in list_regions()]
    assert "fraser" in names and "synthetic" in names
    assert regions_root().name == "regions"


def test_regions_root_env_override(tmp_path, monkeypatch):
    shutil.copytree(BAD / "valid", tmp_path / "tiny")
    monkeypatch.setenv("POPSIM_REGIONS", str(tmp_path))
    assert list_regions() == [("tiny", tmp_path / "tiny")]
    assert load_region("tiny").name == "tiny"


def test_fraser_region():
    region = load_region("fraser")
    assert region.n_zones == 13
    assert 1_850_000 <= region.total_population <= 2_000_000
    assert region.zones.crs.to_epsg() == 3005
    assert {"Surrey", "Burnaby", "New Westminster", "Hope"} <= set(region.zones["name"])
    assert set(region.zones["hsda"]) == {"Fraser East", "Fraser North", "Fraser South"}
    np.testing.assert_array_equal(region.age.sum(axis=(1, 2)), region.zones["population"])
    fac = region.facilities.set_index("facility_id")
    assert (fac["status"] == "open").sum() >= 12
    assert fac.loc["royal-columbian", "role"] == "tertiary"
    assert fac.loc["fraser-canyon", "role"] == "stabilisation"
    assert bool(fac.loc["fraser-canyon", "has_ed"])
    new = fac.loc["new-surrey-hospital"]
    assert new["status"] == "planned" and new["open_date"] == "2030-01-01"
    assert new["ward_beds"] + new["icu_beds"] == 168
    assert fac.loc["surrey-memorial", "zone_id"] == "surrey"
    # about 80 ICU beds across the open sites (estimate)
    assert 70 <= fac.loc[fac["status"] == "open", "icu_beds"].sum() <= 90
    # every estimate is labelled: the Surrey split, the age shape, the polygons
    assert "est" in region.zones.set_index("zone_id").loc["surrey", "source"]
    assert region.zones["note"].str.contains("approximate").all()


def test_region_invariants_on_shipped_regions():
    for name in ("fraser", "synthetic"):
        region = load_region(name)
        z, f = region.n_zones, region.n_facilities
        assert region.age.shape == (z, len(AGE_BANDS), 2) and (region.age >= 0).all()
        assert region.zone_facility_minutes.shape == (z, f)
        assert region.zone_zone_minutes.shape == (z, z)
        assert (region.zone_facility_minutes >= region.travel.base_minutes - 1e-3).all()
        np.testing.assert_allclose(np.diag(region.zone_zone_minutes), region.travel.base_minutes)
        assert set(region.facilities["role"]) <= set(ROLES)
        assert set(region.facilities["status"]) <= set(STATUSES)
        # each facility lies in (or on the edge of) the zone it names
        for row in region.facilities.itertuples():
            assert region.zones.geometry.iloc[row.zone].distance(Point(row.x, row.y)) < 1.0
        # the representative point of each zone is inside it
        for geom, x, y in zip(
            region.zones.geometry, region.zones["x"], region.zones["y"], strict=True
        ):
            assert geom.contains(Point(x, y))


# a bad value for each validated facilities.csv column (valid values are never in this list)
BAD_VALUES = {
    "ward_beds": ["-1", "2.5", "ten", ""],
    "icu_beds": ["-3", "1e3", "x"],
    "lon": ["abc", "200", ""],
    "lat": ["-91", "north"],
    "has_ed": ["maybe", "2"],
    "role": ["Tertiary ward", "hospice"],
    "status": ["OPEN", "soon"],
    "open_date": ["2030-02-30", "next year"],
    "zone_id": ["Q", "a"],
    "facility_id": [""],
}


@settings(max_examples=25, deadline=None)
@given(
    st.sampled_from(sorted(BAD_VALUES)).flatmap(
        lambda col: st.tuples(st.just(col), st.sampled_from(BAD_VALUES[col]), st.integers(0, 1))
    )
)
def test_any_bad_facility_value_is_reported_with_its_line_and_field(tmp_path_factory, case):
    column, value, row = case
    folder = shutil.copytree(BAD / "valid", tmp_path_factory.mktemp("r") / "r")
    table = pd.read_csv(folder / "facilities.csv", dtype=str, keep_default_na=False)
    table.loc[row, column] = value
    table.to_csv(folder / "facilities.csv", index=False)
    problems = check_region(folder)
    assert problems, (column, value)
    text = [str(p) for p in problems]
    assert any(f"line {row + 2}, {column}" in t and "facilities.csv" in t for t in text), text


def test_fraser_files_match_their_generator(tmp_path):
    """regions/fraser is reproducible from make_fraser.py (figures live in one place)."""
    root = Path(__file__).resolve().parents[1]
    spec = importlib.util.spec_from_file_location(
        "make_fraser", root / "regions/fraser/make_fraser.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    built = module.build_region()
    shipped = load_region("fraser")
    np.testing.assert_array_equal(built.age, shipped.age)
    assert built.facility_ids == shipped.facility_ids
    np.testing.assert_array_equal(built.facilities["ward_beds"], shipped.facilities["ward_beds"])
    np.testing.assert_array_equal(built.facilities["icu_beds"], shipped.facilities["icu_beds"])
    # polygons agree to within the 5-decimal (about 1 m) rounding of the GeoJSON
    sym = built.zones.geometry.symmetric_difference(shipped.zones.geometry, align=False).area
    assert (sym / built.zones.geometry.area < 1e-3).all()


def test_travel_parameters_out_of_range(tmp_path):
    folder = shutil.copytree(BAD / "valid", tmp_path / "r")
    with (folder / "region.toml").open("a") as f:
        f.write("\n[travel]\nspeed_kmh = 0\ndetour_factor = 0.5\n")
    text = sorted(str(p) for p in check_region(folder))
    assert len(text) == 2
    assert "field travel.detour_factor" in text[0] and "greater than or equal to 1" in text[0]
    assert "field travel.speed_kmh" in text[1] and "greater than 0" in text[1]


def test_travel_parameters_are_used(tmp_path):
    folder = shutil.copytree(BAD / "valid", tmp_path / "r")
    with (folder / "region.toml").open("a") as f:
        f.write("\n[travel]\nspeed_kmh = 25.0\nbase_minutes = 0.0\ndetour_factor = 1.0\n")
    slow = load_region(folder)
    fast = load_region(BAD / "valid")
    assert slow.travel.speed_kmh == 25.0
    # half the speed and no fixed minutes: twice the moving time of the default
    moving = (fast.zone_facility_minutes - fast.travel.base_minutes) / fast.travel.detour_factor
    # float32 minutes: compare to 0.001 minute
    np.testing.assert_allclose(slow.zone_facility_minutes, 2 * moving, rtol=1e-5, atol=1e-3)


def test_counts_beyond_integer_ranges_name_the_range():
    (problem,) = check_region(BAD / "huge_beds")
    assert "from 0 to 2147483647" in str(problem) and "99999999999999999999" in str(problem)
    (problem,) = check_region(BAD / "gpkg_layers")
    assert "lha, other" in str(problem)


def test_multi_layer_geopackage_reads_the_zones_layer(tmp_path):
    """A GeoPackage whose first layer is not the zones: the layer named zones is read."""
    import geopandas as gpd

    folder = shutil.copytree(BAD / "gpkg_layers", tmp_path / "r")
    layer = gpd.read_file(BAD / "gpkg_layers" / "zones.gpkg", layer="lha")
    decoy = layer.assign(zone_id=["X", "Y"])  # read first, these ids would break age.csv
    (folder / "zones.gpkg").unlink()
    decoy.to_file(folder / "zones.gpkg", driver="GPKG", layer="decoy")
    layer.to_file(folder / "zones.gpkg", driver="GPKG", layer="zones")
    assert check_region(folder) == []
    assert load_region(folder).zone_ids == ["A", "B"]


def test_two_zone_files_is_a_problem(tmp_path):
    folder = shutil.copytree(BAD / "valid", tmp_path / "r")
    shutil.copy(BAD / "no_crs" / "zones.gpkg", folder / "zones.gpkg")
    (problem,) = check_region(folder)
    assert "both zones.geojson and zones.gpkg" in str(problem)


def test_the_population_check_projects_the_region_to_the_start_year():
    """A deliberate future population is the region's own when its counts are grown to
    that year: Fraser's 2021 census (1.86 million) at 1.7% a year is about 2.05 million
    in 2027, so 2.05 million residents in 2027 are at its scale and in 2021 are not."""
    from popsim.region.load import load_region

    fraser = load_region("fraser")
    assert fraser.base_year == 2021
    assert not fraser.at_own_scale(2_050_000)
    assert fraser.at_own_scale(2_050_000, 2027, 0.017)
    assert not fraser.at_own_scale(1_600_000, 2027, 0.017)
    assert fraser.projected_population(2027, 0.017) > fraser.projected_population(2026, 0.017)
