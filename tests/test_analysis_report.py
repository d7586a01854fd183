"""The HTML report: self-contained, every figure embedded and saved as a valid PNG."""

from __future__ import annotations

import base64
import re
from pathlib import Path

import matplotlib.image
import numpy as np
import pytest
from test_analysis import tiny_fac, tiny_zone, write_run

from popsim.analysis.report import write_report
from popsim.cli import main

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def report(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = write_run(tmp_path_factory.mktemp("rep") / "run", tiny_fac(), tiny_zone())
    assert not (root / "analysis").exists()
    return write_report(root)  # analyses first: no analysis folder yet


def test_report_is_self_contained(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    assert report.name == "report.html" and text.startswith("<!DOCTYPE html>")
    assert not re.search(r"https?://", text)  # no external resources of any kind
    sources = re.findall(r'src="([^"]*)"', text)
    assert sources and all(s.startswith("data:image/png;base64,") for s in sources)
    assert "<link" not in text and "<script" not in text
    for src in sources:  # each embedded image decodes to a PNG
        assert base64.b64decode(src.split(",", 1)[1]).startswith(PNG_SIGNATURE)


def test_every_plot_saved_as_valid_png(report: Path) -> None:
    pngs = sorted((report.parent / "plots").glob("*.png"))
    names = {p.name for p in pngs}
    # 2 scenarios x (total, ICU) fan charts, 2 heat maps, bars, epidemic curve
    assert {"fan_baseline_total.png", "fan_new_site_icu.png", "heatmap_new_site.png"} <= names
    assert {"days_over_capacity.png", "epidemic_curve.png"} <= names
    text = report.read_text(encoding="utf-8")
    assert text.count("data:image/png;base64,") == len(pngs)
    for p in pngs:
        assert p.read_bytes().startswith(PNG_SIGNATURE)
        img = matplotlib.image.imread(p)
        assert img.ndim == 3 and min(img.shape[:2]) > 50 and np.ptp(img) > 0  # not blank


def test_summary_sentence_and_map_note(report: Path) -> None:
    text = report.read_text(encoding="utf-8")
    # site A (ward + ICU, 12 beds) is over on 0, 1, 0 of 4 days: 0%, 25%, 0%
    # -> median 0%, p95 = 0 + 0.9 * 25% = 22.5%
    assert "A exceeds funded beds on 0% of days in the baseline (90% interval 0-22%)" in text
    assert "with scenario new_site (new_site), 0% (0-22%)" in text
    assert "No region map: the run&#x27;s spec names no region" in text


@pytest.mark.slow
def test_report_with_region_map(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    from popsim.synth import synthetic_region, write_region

    region = synthetic_region(n_zones=2, population=2000, n_facilities=2, seed=3, name="mini")
    reg_path = write_region(region, tmp_path / "mini")
    fac = tiny_fac()
    fac = {s: {"F1": f["A"], "F2": f["B"]} for s, f in fac.items()}
    root = write_run(
        tmp_path / "run",
        fac,
        tiny_zone(),
        zone_ids=region.zone_ids,
        spec_extra={"region": str(reg_path)},
    )
    assert main(["report", str(root)]) == 0
    out = capsys.readouterr().out
    path = Path(out.strip().split("report: ", 1)[1])
    assert (path.parent / "plots" / "region_map.png").exists()
    text = path.read_text(encoding="utf-8")
    assert "No region map" not in text and "Hospital 1" in text
