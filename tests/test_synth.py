"""Synthetic regions: in memory, written as a folder, read back."""

from __future__ import annotations

import contextlib
import io
import tempfile
from pathlib import Path

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from popsim.cli import main
from popsim.core.ages import AGE_BANDS
from popsim.errors import RegionError
from popsim.region.load import check_region, load_region
from popsim.region.synth import national_age_split, synthetic_region, write_region


def test_synthetic_region_shape():
    region = synthetic_region(n_zones=5, population=12_345, n_facilities=2, seed=3)
    assert region.n_zones == 5 and region.n_facilities == 2
    assert region.total_population == 12_345
    np.testing.assert_array_equal(region.age.sum(axis=(1, 2)), region.zones["population"])
    assert region.facilities["role"].iloc[0] == "tertiary"


def test_synthetic_region_rejects_bad_sizes():
    with pytest.raises(ValueError):
        synthetic_region(n_zones=2, n_facilities=3)


@pytest.mark.parametrize("fmt", ["geojson", "gpkg"])
def test_write_then_load_round_trip(tmp_path, fmt):
    region = synthetic_region(n_zones=4, population=8_000, n_facilities=3, seed=1)
    folder = write_region(region, tmp_path / "syn", zone_format=fmt)
    assert check_region(folder) == []
    back = load_region(folder)
    np.testing.assert_array_equal(back.age, region.age)
    assert back.zone_ids == region.zone_ids and back.facility_ids == region.facility_ids
    np.testing.assert_array_equal(back.facilities["zone"], region.facilities["zone"])
    np.testing.assert_array_equal(back.facilities["ward_beds"], region.facilities["ward_beds"])
    # coordinates are written to 5 decimals (about 1 m): travel minutes agree to 0.01 min
    np.testing.assert_allclose(back.zone_facility_minutes, region.zone_facility_minutes, atol=0.01)
    # the written layer is WGS84 lon/lat and reads back with geopandas
    layer = gpd.read_file(folder / f"zones.{fmt}")
    assert layer.crs.to_epsg() == 4326
    assert list(layer["zone_id"]) == region.zone_ids
    assert layer["population"].astype(int).tolist() == region.zones["population"].tolist()
    age = pd.read_csv(folder / "age.csv")
    assert len(age) == 4 * len(AGE_BANDS)


def test_cli_synth(tmp_path, capsys):
    out = tmp_path / "mini"
    args = ["regions", "synth", str(out), "--zones", "3", "--population", "3000"]
    assert main([*args, "--facilities", "2", "--seed", "5"]) == 0
    assert "wrote" in capsys.readouterr().out
    region = load_region(out)
    assert region.name == "mini" and region.n_zones == 3 and region.total_population == 3000


def test_shipped_synthetic_matches_the_generator():
    shipped = load_region("synthetic")
    fresh = synthetic_region()  # the defaults of `popsim regions synth`
    np.testing.assert_array_equal(shipped.age, fresh.age)
    assert shipped.facility_ids == fresh.facility_ids


@settings(max_examples=25, deadline=None)
@given(st.integers(min_value=0, max_value=3_000_000))
def test_national_age_split_sums_exactly(total):
    split = national_age_split(total)
    assert split.shape == (len(AGE_BANDS), 2)
    assert split.sum() == total and (split >= 0).all()


def _siblings(folder):
    """Everything beside ``folder`` (temporary folders left behind would show here)."""
    return sorted(p.name for p in folder.parent.iterdir())


def test_synth_refuses_an_existing_folder_without_force(tmp_path, capsys):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("mine", encoding="utf-8")
    assert main(["regions", "synth", str(out)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "--force" in err and str(out) in err
    # with --force too: popsim did not write this folder
    assert main(["regions", "synth", str(out), "--force"]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and "did not write it" in err
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    assert _siblings(out) == ["mine"]


def test_synth_force_replaces_a_folder_popsim_wrote_and_keeps_other_files(tmp_path, capsys):
    out = tmp_path / "syn"
    assert main(["regions", "synth", str(out), "--zones", "3", "--population", "900"]) == 0
    (out / "README.md").write_text("my notes", encoding="utf-8")
    assert main(["regions", "synth", str(out), "--zones", "5", "--population", "900"]) == 2
    assert load_region(out).n_zones == 3  # refused: unchanged
    argv = ["regions", "synth", str(out), "--zones", "5", "--population", "900", "--force"]
    assert main(argv) == 0
    assert load_region(out).n_zones == 5
    assert (out / "README.md").read_text(encoding="utf-8") == "my notes"
    assert _siblings(out) == ["syn"]  # no temporary or old folder left
    capsys.readouterr()


def test_synth_never_replaces_a_shipped_region(capsys):
    shipped = load_region("synthetic").path
    before = {p.name: p.read_bytes() for p in shipped.iterdir()}
    assert main(["regions", "synth", str(shipped), "--force"]) == 2
    err = capsys.readouterr().err
    assert "shipped" in err and len(err.strip().splitlines()) == 1
    assert {p.name: p.read_bytes() for p in shipped.iterdir()} == before


def test_synth_refuses_a_file(tmp_path, capsys):
    target = tmp_path / "file.txt"
    target.write_text("x", encoding="utf-8")
    assert main(["regions", "synth", str(target), "--force"]) == 2
    assert "not a folder" in capsys.readouterr().err
    assert target.read_text(encoding="utf-8") == "x"


def test_a_failed_write_leaves_nothing_behind(tmp_path):
    """The folder is checked before it is renamed into place: a failure leaves no folder."""
    region = synthetic_region(n_zones=2, population=500, n_facilities=1)
    seen = []

    def refuse(folder):
        seen.append(sorted(p.name for p in folder.iterdir()))
        raise RegionError(folder, None, "refused by the check")

    with pytest.raises(RegionError, match="refused"):
        write_region(region, tmp_path / "r", check=refuse)
    # the check saw the whole folder, and nothing is left
    assert seen == [[".popsim-region", "age.csv", "facilities.csv", "region.toml", "zones.geojson"]]
    assert list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "flag"),
    [
        (["--zones", "0"], "--zones"),
        (["--zones", "1001"], "--zones"),
        (["--zones", "four"], "--zones"),
        (["--zones", "2.5"], "--zones"),
        (["--population", "-1"], "--population"),
        (["--population", "3"], "--population"),  # fewer residents than zones
        (["--population", "99999999999999999999999"], "--population"),
        (["--facilities", "0"], "--facilities"),
        (["--facilities", "5"], "--facilities"),  # more than the 4 zones
        (["--seed", "-1"], "--seed"),
        (["--seed", str(2**64)], "--seed"),
        (["--seed", "1e3"], "--seed"),
    ],
)
def test_out_of_range_synth_arguments_exit_2_with_one_line(tmp_path, capsys, args, flag):
    out = tmp_path / "syn"
    assert main(["regions", "synth", str(out), *args]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 1 and flag in err and "Traceback" not in err
    assert not out.exists()


ARG_VALUES = st.one_of(
    st.integers(-5, 12).map(str),
    st.sampled_from(["", "abc", "2.5", "1e3", "+3", " 4 ", "99999999999999999999", str(2**63)]),
    st.text(max_size=6),
)


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(
        st.sampled_from(["--zones", "--population", "--facilities", "--seed"]),
        ARG_VALUES,
        max_size=4,
    )
)
def test_synth_fuzz_exit_0_or_one_line_and_writes_only_out(args):
    with tempfile.TemporaryDirectory() as tmp:
        root = Path(tmp)
        argv = ["regions", "synth", str(root / "out")]
        for flag, value in args.items():
            argv.append(f"{flag}={value}")  # "=": a value may start with "-"
        out, err = io.StringIO(), io.StringIO()
        with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
            code = main(argv)
        event(f"exit {code}")
        assert code in (0, 2), err.getvalue()
        if code == 0:
            assert [p.name for p in root.iterdir()] == ["out"]
            assert check_region(root / "out") == []
        else:
            assert list(root.iterdir()) == []
            (line,) = err.getvalue().strip().splitlines()
            assert any(flag in line for flag in args), line
