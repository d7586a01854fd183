"""``popsim regions import``: official-style layers and tables -> a region folder."""

from __future__ import annotations

import contextlib
import csv
import io
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from shapely.geometry import box

from popsim.cli import main
from popsim.core.ages import AGE_BANDS
from popsim.errors import RegionError, RegionProblems
from popsim.region.importer import band_index, import_region, slug
from popsim.region.load import check_region, load_region
from popsim.region.synth import synthetic_region


@pytest.fixture(scope="module")
def official(tmp_path_factory):
    """A boundary layer shaped like the BC LHA layer: 4 zones of interest plus one other."""
    folder = tmp_path_factory.mktemp("official")
    syn = synthetic_region(n_zones=4, population=10_000, n_facilities=2, seed=2)
    extra = box(1_100_000, 450_000, 1_110_000, 460_000)  # a zone outside the table
    layer = gpd.GeoDataFrame(
        {
            "LOCAL_HLTH_AREA_CODE": [211, 212, 213, 214, 999],
            "LOCAL_HLTH_AREA_NAME": ["Alpha", "Beta", "Gamma Valley", "Delta/Epsilon", "Other"],
            "HLTH_SERVICE_DLVR_AREA_NAME": ["North", "North", "South", "South", "Elsewhere"],
            "HLTH_AUTHORITY_NAME": ["Fraser"] * 4 + ["Other"],
        },
        geometry=[*syn.zones.geometry, extra],
        crs="EPSG:3005",
    )
    layer.to_file(folder / "lha.gpkg", driver="GPKG")
    layer.to_crs("EPSG:4326").to_file(folder / "lha.geojson", driver="GeoJSON")
    fac = syn.facilities
    pd.DataFrame(
        {
            "name": ["Alpha General", "Gamma Hospital"],
            "lon": fac["lon"],
            "lat": fac["lat"],
            "beds": [120, 40],
            "icu_beds": [10, 0],
            "role": ["regional", ""],
        }
    ).to_csv(folder / "facilities.csv", index=False)
    return folder, syn


def _totals(folder, pops):
    names = ["Alpha", "Beta", "Gamma Valley", "Delta/Epsilon"]
    path = folder / "pop_totals.csv"
    pd.DataFrame({"zone": names, "population": pops}).to_csv(path, index=False)
    return path


def test_import_official_gpkg_with_totals(official, tmp_path):
    folder, syn = official
    pop = _totals(folder, [5000, 3000, 1500, 500])
    out = import_region(folder / "lha.gpkg", pop, folder / "facilities.csv", tmp_path / "imp")
    assert check_region(out) == []
    region = load_region(out)
    assert region.zone_ids == ["211", "212", "213", "214"]  # the zone outside the table is dropped
    assert list(region.zones["hsda"]) == ["North", "North", "South", "South"]
    assert region.zones.crs.to_epsg() == 3005
    np.testing.assert_array_equal(region.zones["population"], [5000, 3000, 1500, 500])
    assert region.total_population == 10_000
    assert (region.age > 0).sum() >= 30  # the national shape fills every band of big zones
    fac = region.facilities.set_index("facility_id")
    assert list(fac.index) == ["alpha-general", "gamma-hospital"]
    assert fac.loc["alpha-general", "ward_beds"] == 110  # beds - ICU beds
    assert fac.loc["gamma-hospital", "role"] == "community"  # default
    # facilities without a zone_id are placed by point-in-polygon
    expected = [region.zone_ids[z] for z in syn.facilities["zone"]]
    assert list(fac["zone_id"]) == expected
    age = pd.read_csv(out / "age.csv")
    assert age["source"].str.contains("national-shape stand-in").all()


def test_import_geojson_with_bands_and_sex(official, tmp_path):
    folder, _ = official
    rows = []
    for name, scale in [("Alpha", 3), ("beta", 2), ("gamma-valley", 1), ("213", 0), ("214", 1)]:
        for lo in range(0, 90, 5):
            for sex in ("F", "M", "T"):
                rows.append((name, f"{lo}-{lo + 4}", sex, scale * (10 if sex != "T" else 20)))
        rows.append((name, "90+", "F", scale * 7))
    table = pd.DataFrame(rows, columns=["zone", "age_band", "sex", "population"])
    table.to_csv(tmp_path / "pop.csv", index=False)
    out = import_region(
        folder / "lha.geojson", tmp_path / "pop.csv", folder / "facilities.csv", tmp_path / "r"
    )
    region = load_region(out)
    alpha = region.age[region.zone_index("Alpha")]
    # 5-year bands fold into 10-year bands: two 5-year rows of 30 per sex -> 60
    assert alpha[0].tolist() == [60, 60]
    assert alpha[9].tolist() == [21, 0]  # 90+ women only
    # keys match ids, names or slugs: "gamma-valley" (scale 1) and "213" (scale 0) are one zone
    gamma = region.zone_index("Gamma Valley")
    assert region.zones["population"].iloc[gamma] == 18 * 2 * 10 + 7


def test_cli_import(official, tmp_path, capsys):
    folder, _ = official
    pop = _totals(folder, [100, 200, 300, 400])
    code = main(
        [
            "regions", "import", "--boundaries", str(folder / "lha.gpkg"),
            "--population", str(pop), "--facilities", str(folder / "facilities.csv"),
            "--out", str(tmp_path / "cli"), "--name-field", "LOCAL_HLTH_AREA_NAME",
        ]
    )  # fmt: skip
    assert code == 0, capsys.readouterr().err
    assert load_region(tmp_path / "cli").total_population == 1000


def test_import_bad_inputs(official, tmp_path, capsys):
    folder, _ = official
    bad = tmp_path / "bad.csv"
    pd.DataFrame({"zone": ["Atlantis"], "population": [5]}).to_csv(bad, index=False)
    with pytest.raises(RegionError, match="Atlantis"):
        import_region(folder / "lha.gpkg", bad, folder / "facilities.csv", tmp_path / "x")
    pd.DataFrame({"zone": ["Alpha"], "population": ["lots"]}).to_csv(bad, index=False)
    with pytest.raises(RegionError, match="population"):
        import_region(folder / "lha.gpkg", bad, folder / "facilities.csv", tmp_path / "x")
    code = main(
        [
            "regions", "import", "--boundaries", str(folder / "lha.gpkg"), "--population",
            str(bad), "--facilities", str(folder / "facilities.csv"), "--out",
            str(tmp_path / "y"), "--name-field", "NOPE",
        ]
    )  # fmt: skip
    assert code == 2
    err = capsys.readouterr().err
    assert "lha.gpkg" in err and "NOPE" in err and "Traceback" not in err


@pytest.mark.parametrize(
    ("label", "band"),
    [
        ("0-9", 0),
        ("35-39", 3),
        ("90+", 9),
        ("85-89", 8),
        ("100+", 9),
        ("85+", None),
        ("5-14", None),
    ],
)
def test_band_index(label, band):
    assert band_index(label) == band


def test_slug():
    assert slug("Maple Ridge/Pitt Meadows") == "maple-ridge-pitt-meadows"
    assert len(AGE_BANDS) == 10


def test_import_refuses_an_existing_folder_and_force_replaces_its_own(official, tmp_path, capsys):
    folder, _ = official
    pop = _totals(folder, [100, 200, 300, 400])
    out = tmp_path / "imp"
    argv = [
        "regions", "import", "--boundaries", str(folder / "lha.gpkg"), "--population", str(pop),
        "--facilities", str(folder / "facilities.csv"), "--out", str(out),
    ]  # fmt: skip
    assert main(argv) == 0
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "already exists" in err and "--force" in err
    pop = _totals(folder, [1, 2, 3, 4])
    assert main([*argv, "--force"]) == 0
    assert load_region(out).total_population == 10
    assert sorted(p.name for p in tmp_path.iterdir()) == ["imp"]


def test_import_counts_beyond_int32_and_thousands_separators(official, tmp_path):
    folder, _ = official
    path = tmp_path / "pop.csv"
    path.write_text('zone,population\nAlpha,"1,234"\nBeta,99999999999999999999\n')
    with pytest.raises(RegionError) as err:
        import_region(folder / "lha.gpkg", path, folder / "facilities.csv", tmp_path / "x")
    text = str(err.value)
    assert "line 3, population" in text and "from 0 to 2147483647" in text
    assert "\n" not in text  # the "1,234" on line 2 is fine: one problem only
    assert not (tmp_path / "x").exists()


def test_import_checks_facilities_as_region_files_do(official, tmp_path):
    """The same checks as facilities.csv, naming the input file and line: not the output."""
    folder, _ = official
    pop = _totals(folder, [100, 200, 300, 400])
    fac = pd.read_csv(folder / "facilities.csv", dtype=str, keep_default_na=False)
    fac["has_ed"] = ["maybe", "yes"]
    fac["status"] = ["open", "planned"]  # planned without an opening date
    fac.to_csv(tmp_path / "fac.csv", index=False)
    with pytest.raises(RegionProblems) as err:
        import_region(folder / "lha.gpkg", pop, tmp_path / "fac.csv", tmp_path / "x")
    lines = str(err.value).splitlines()
    assert len(lines) == 2
    assert all("fac.csv" in line for line in lines)
    assert "line 2, has_ed" in lines[0] and "line 3, open_date" in lines[1]
    assert not (tmp_path / "x").exists()


def test_import_multi_layer_boundaries(official, tmp_path):
    folder, _ = official
    pop = _totals(folder, [100, 200, 300, 400])
    layers = tmp_path / "layers.gpkg"
    lha = gpd.read_file(folder / "lha.gpkg")
    lha.to_file(layers, driver="GPKG", layer="lha")
    lha.iloc[:1].to_file(layers, driver="GPKG", layer="outline")
    with pytest.raises(RegionError, match=r"2 layers \(lha, outline\)"):
        import_region(layers, pop, folder / "facilities.csv", tmp_path / "x")
    out = import_region(layers, pop, folder / "facilities.csv", tmp_path / "y", layer="lha")
    assert load_region(out).n_zones == 4


#: Cells that have broken parsers before (signs, decimals, huge integers, formulas...).
NASTY_CELLS = st.sampled_from(
    ["", "-1", "0", "2.5", "1e3", "12.0", "1,234", "99999999999999999999", str(2**31),
     "=1+1", "maybe", "T", "F", "total", "90+", "85+", "5-14", "Alpha", "beta", "214",
     "Atlantis", "\x00", '"', "2030-02-30"]
)  # fmt: skip
CELLS = st.one_of(NASTY_CELLS, st.integers(-(2**70), 2**70).map(str), st.text(max_size=8))


VALID_POP = [["Alpha", "100"], ["Beta", "200"], ["Gamma Valley", "300"], ["Delta/Epsilon", "400"]]


def _mutated(rows, cells):
    rows = [list(r) for r in rows]
    for r, c, value in cells:
        rows[r][c] = value
    return rows


def _write_csv(path, header, rows):
    buf = io.StringIO()
    csv.writer(buf, lineterminator="\n").writerows([header, *rows])
    path.write_text(buf.getvalue(), encoding="utf-8")


@pytest.mark.slow
@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    pop=st.one_of(
        # a valid totals table with a few cells changed
        st.lists(st.tuples(st.integers(0, 3), st.integers(0, 1), CELLS), max_size=2).map(
            lambda cells: (["zone", "population"], _mutated(VALID_POP, cells))
        ),
        # anything shaped like a population table
        st.tuples(
            st.sampled_from(
                [
                    ["zone", "population"],
                    ["zone", "age_band", "sex", "population"],
                    ["zone_id", "female", "male"],
                    ["name", "count"],
                    ["place", "value"],
                ]
            ),  # fmt: skip
            st.lists(st.lists(CELLS, min_size=4, max_size=4), max_size=5),
        ),
    ),
    fac_cells=st.lists(st.tuples(st.integers(0, 1), st.integers(0, 5), CELLS), max_size=2),
)
def test_import_fuzz_exit_0_or_one_line_per_problem(official, pop, fac_cells):
    """Mutated population and facilities tables: exit 0 with a loadable folder, or exit 2
    with one line per problem naming an input (or the output) and nothing written."""
    folder, _ = official
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        header, rows = pop
        _write_csv(root / "pop.csv", header, [r[: len(header)] for r in rows])
        fac = pd.read_csv(folder / "facilities.csv", dtype=str, keep_default_na=False)
        for row, col, value in fac_cells:
            fac.iloc[row, col] = value
        _write_csv(root / "fac.csv", list(fac.columns), fac.to_numpy().tolist())
        before = {p.name: p.read_bytes() for p in root.iterdir()}
        out, err = io.StringIO(), io.StringIO()
        argv = [
            "regions", "import", "--boundaries", str(folder / "lha.gpkg"), "--population",
            str(root / "pop.csv"), "--facilities", str(root / "fac.csv"), "--out",
            str(root / "out"),
        ]  # fmt: skip
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        after = {p.name: p.read_bytes() for p in root.iterdir() if p.name != "out"}
        assert after == before  # inputs untouched, no temporary folder left beside out
        event(f"exit {code}")
        assert code in (0, 2), err.getvalue()
        if code == 0:
            assert load_region(root / "out").n_zones >= 1
            return
        assert not (root / "out").exists()
        lines = err.getvalue().strip().splitlines()
        assert lines
        named = (str(root / "pop.csv"), str(root / "fac.csv"), str(folder / "lha.gpkg"))
        for line in lines:
            assert line.removeprefix("popsim: error: ").startswith(named), line


def test_import_never_replaces_a_shipped_region(official, capsys):
    folder, _ = official
    shipped = load_region("fraser").path
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    argv = [
        "regions", "import", "--boundaries", str(folder / "lha.gpkg"), "--population",
        str(_totals(folder, [1, 2, 3, 4])), "--facilities", str(folder / "facilities.csv"),
        "--out", str(shipped), "--force",
    ]  # fmt: skip
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "shipped" in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before
