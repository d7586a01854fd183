"""Windows and comparators: --from/--to, --baseline, the spec's [analysis] section."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from test_analysis import tiny_fac, write_run

from popsim.analysis import Options, analyze, load
from popsim.cli import main
from popsim.errors import SpecError
from popsim.run.spec import RunSpec

# two sites over 20 days from 2026-01-01: A is crowded on days 10-19 only
DAYS = 20


def _fac() -> dict:
    ward = np.tile(np.where(np.arange(DAYS) >= 10, 14, 6), (3, 1))
    base = {"A": {"ward_census": ward, "ward_beds": 10}, "B": {"ward_census": 2, "ward_beds": 5}}
    relief = {"A": {"ward_census": ward - 2, "ward_beds": 10}, "B": base["B"]}
    return {"baseline": base, "relief": relief}


def _row(df, **keys):
    m = np.ones(len(df), bool)
    for k, v in keys.items():
        m &= (df[k] == v).to_numpy()
    assert m.sum() == 1, keys
    return df[m].iloc[0]


def test_named_window_is_not_diluted(tmp_path: Path) -> None:
    spec = {"analysis": {"windows": {"late": ["2026-01-11", "2026-01-20"]}}}
    root = write_run(tmp_path / "r", _fac(), spec_extra=spec)
    a = load(root)
    assert a.windows == ["all", "late"]
    whole = _row(a.capacity, window="all", scenario="baseline", facility="A", unit="ward")
    late = _row(a.capacity, window="late", scenario="baseline", facility="A", unit="ward")
    assert whole["days_over_p50"] == 10 and whole["p_over_p50"] == pytest.approx(0.5)
    assert late["days_over_p50"] == 10 and late["p_over_p50"] == 1.0 and late["days"] == 10
    need = _row(a.beds_needed, window="late", scenario="baseline", facility="A", unit="ward")
    assert need["beds_needed_5"] == 14 and need["extra_beds_5"] == 4
    cmp = _row(
        a.comparison, window="late", scenario="relief", facility="A", unit="ward",
        measure="bed_days_over",
    )  # fmt: skip
    assert cmp["diff_p50"] == -20  # 2 fewer patients on 10 crowded days
    monthly = a.capacity_monthly
    assert set(monthly["month"]) == {"2026-01"}


def test_from_to_is_the_main_window(tmp_path: Path, capsys) -> None:
    root = write_run(tmp_path / "r", _fac())
    assert main(["analyze", str(root), "--from", "2026-01-01", "--to", "2026-01-10"]) == 0
    a = load(root)
    assert a.windows == ["2026-01-01..2026-01-10"]
    row = _row(a.capacity, scenario="baseline", facility="A", unit="ward")
    assert row["days_over_p50"] == 0 and row["days"] == 10
    # a report without options keeps the analysis it was made with
    assert main(["report", str(root)]) == 0
    assert load(root).windows == ["2026-01-01..2026-01-10"]


def test_baseline_choice_is_recorded_and_stated(tmp_path: Path, capsys) -> None:
    root = write_run(tmp_path / "r", _fac(), spec_extra={"analysis": {"baseline": "relief"}})
    analyze(root)
    a = load(root)
    assert a.baseline == "relief"
    assert a.meta["baseline_source"] == "set by the run spec's [analysis] baseline"
    assert set(a.comparison["scenario"]) == {"baseline"}
    analyze(root, options=Options(baseline="baseline"))
    a = load(root)
    assert a.baseline == "baseline" and a.meta["baseline_source"] == "chosen with --baseline"
    root2 = write_run(
        tmp_path / "r2", {"first": tiny_fac()["baseline"], "second": tiny_fac()["new_site"]}
    )
    assert "the first scenario" in load(root2).meta["baseline_source"]


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (
            ["--baseline", "nope"],
            "--baseline: no scenario 'nope' in this run; have baseline, relief",
        ),
        (["--from", "2026-02-30"], "--from: expected a date YYYY-MM-DD, got '2026-02-30'"),
        (["--from", "2026-01-10", "--to", "2026-01-05"], "--to 2026-01-05 is before --from"),
        (["--from", "2027-01-01"], "does not overlap the run (2026-01-01 to 2026-01-20)"),
    ],
)
def test_bad_options_exit_2_with_one_line(tmp_path: Path, capsys, argv, message) -> None:
    root = write_run(tmp_path / "r", _fac())
    assert main(["analyze", str(root), *argv]) == 2
    err = capsys.readouterr().err
    assert message in err and err.count("\n") == 1 and "Traceback" not in err
    assert not (root / "analysis").exists()  # nothing half-written


def test_spec_analysis_section_is_validated() -> None:
    base = {"name": "x", "region": "synthetic", "scenarios": {"baseline": {}, "b": {}}}
    spec = RunSpec.from_dict(
        {**base, "analysis": {"baseline": "b", "windows": {"winter": ["2026-12-01", "2027-02-28"]}}}
    )
    assert spec.analysis.windows["winter"][0].isoformat() == "2026-12-01"
    assert '"analysis"' not in RunSpec.from_dict(base).to_json()  # absent: outputs unchanged
    with pytest.raises(SpecError, match="analysis.baseline: no scenario 'c'"):
        RunSpec.from_dict({**base, "analysis": {"baseline": "c"}})
    with pytest.raises(SpecError, match=r"analysis.windows.w: ends \(2026-01-01\) before"):
        RunSpec.from_dict({**base, "analysis": {"windows": {"w": ["2026-02-01", "2026-01-01"]}}})
    with pytest.raises(SpecError, match="analysis"):
        RunSpec.from_dict({**base, "analysis": {"window": {}}})
