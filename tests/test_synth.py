"""Synthetic regions: in memory, written as a folder, read back."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.cli import main
from popsim.region import AGE_BANDS, check_region, load_region
from popsim.synth import national_age_split, synthetic_region, write_region


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
