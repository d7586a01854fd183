"""``popsim regions show``: text tables and the PNG map."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from popsim.cli import main
from popsim.region.load import load_region
from popsim.region.maps import facility_table, show_region, zone_table

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def _is_png(path: Path) -> bool:
    return path.is_file() and path.read_bytes()[:8] == PNG_MAGIC and path.stat().st_size > 5_000


def test_show_synthetic_writes_map_and_tables(tmp_path):
    region = load_region("synthetic")
    out = tmp_path / "maps" / "syn.png"
    text = show_region(region, out)
    assert text.splitlines()[-1] == f"map: {out}"
    assert _is_png(out)
    for zid in region.zone_ids:
        assert zid in text
    for fid in region.facility_ids:
        assert fid in text


def test_default_map_path_is_in_the_current_folder(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    text = show_region(load_region("synthetic"), None)
    assert text.endswith("map: synthetic-map.png")
    assert _is_png(tmp_path / "synthetic-map.png")


def test_cli_show_fraser(tmp_path, capsys):
    out = tmp_path / "fraser.png"
    assert main(["regions", "show", "fraser", "--map", str(out)]) == 0
    text = capsys.readouterr().out
    assert "zones (13, 1,855,696 residents)" in text
    for name in ("Surrey", "Burnaby", "Royal Columbian Hospital", "planned"):
        assert name in text
    assert _is_png(out)


def test_tables_density():
    region = load_region("synthetic")
    zt = zone_table(region)
    # synthetic zones are 15 km squares: 225 km2 each
    np.testing.assert_allclose(zt["area_km2"], 225.0, atol=0.1)
    # per_km2 is rounded to 0.1 and the area to 0.1 km2 (round trip through lon/lat)
    np.testing.assert_allclose(zt["per_km2"], zt["population"] / 225.0, atol=0.1)
    assert zt["population"].sum() == region.total_population
    ft = facility_table(region)
    assert list(ft["facility_id"]) == region.facility_ids


def test_show_unknown_region_exits_2(capsys):
    assert main(["regions", "show", "atlantis"]) == 2
    assert "no such region" in capsys.readouterr().err
