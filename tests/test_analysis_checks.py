"""Cautions on the console and in the report: few replicates, a growing epidemic, a site
over capacity on every day."""

from __future__ import annotations

from pathlib import Path

import numpy as np
from test_analysis import write_run

from popsim.analysis.report import write_report
from popsim.cli import main


def _run(root: Path, growing: bool, replicates: int) -> Path:
    days = 20
    fac = {"baseline": {
        "Full": {"ward_census": np.full((replicates, days), 12), "ward_beds": 10},  # always over
        "Calm": {"ward_census": 3, "ward_beds": 10},
    }}  # fmt: skip
    shape = (replicates, days, 1, 1)
    new = np.zeros(shape, int)
    curve = np.arange(days) if growing else np.r_[np.arange(10), np.arange(10)[::-1]]
    new[:, :, 0, 0] = curve
    zone = {"baseline": {"susceptible": np.full(shape, 1000), "infectious": new,
                         "new_infections": new}}  # fmt: skip
    return write_run(root, fac, zone, spec_replicates=replicates)


def test_cautions_on_console_and_in_report(tmp_path: Path, capsys) -> None:
    root = _run(tmp_path / "r", growing=True, replicates=3)
    assert main(["analyze", str(root)]) == 0
    err = capsys.readouterr().err
    assert "fewer than 20 replicates (baseline: 3)" in err
    assert "the epidemic is still growing on the last day in scenario baseline" in err
    assert "Full ward is over capacity on every day in scenario baseline" in err
    assert "its answer is its bed demand (95th percentile day 12 against 10 funded beds)" in err
    assert "Calm" not in err
    text = write_report(root).read_text(encoding="utf-8")
    assert "class='warn'" in text and "still growing on the last day" in text


def test_no_cautions_when_none_apply(tmp_path: Path, capsys) -> None:
    root = _run(tmp_path / "r", growing=False, replicates=20)
    assert main(["analyze", str(root)]) == 0
    err = capsys.readouterr().err
    assert "fewer than 20" not in err and "still growing" not in err
    assert "Full ward is over capacity on every day" in err  # still full
