"""Per-site checks: reading a region's targets.csv, and its rows against a run."""

import numpy as np
import pytest

from popsim.site_checks import TargetsError, read_targets, site_rows

HEADER = "facility_id,measure,value,band_low,band_high,year,use,source\n"
METRICS = ["ward_census", "ward_beds", "alc_census", "ed_boarding", "ed_visits", "admissions"]


def test_bad_targets_are_reported_one_line_each(tmp_path):
    path = tmp_path / "targets.csv"
    path.write_text(
        HEADER + "a,occupancy,1.2,1.1,1.3,2019,calibration,x\n"
        "zz,occupancy,1.2,1.1,1.3,2019,calibration,x\n"
        "a,beds,1.2,1.3,1.1,2019,guess,x\n"
    )
    with pytest.raises(TargetsError) as err:
        read_targets(path, ["a", "b"])
    lines = str(err.value).splitlines()
    assert any("line 3, facility_id" in s for s in lines)
    assert any("line 4, measure" in s for s in lines)
    assert any("line 4, use" in s for s in lines)
    assert any("line 4, band" in s for s in lines)
    assert read_targets(tmp_path / "none.csv", ["a"]) == []


def test_site_rows_pass_inside_the_band_and_fail_outside(tmp_path):
    days = np.zeros((10, 2, len(METRICS)))
    days[..., METRICS.index("ward_beds")] = 100
    days[:, 0, METRICS.index("ward_census")] = 120  # site a at 1.2
    days[:, 1, METRICS.index("ward_census")] = 90
    days[:, 1, METRICS.index("ed_boarding")] = 30  # site b boards 30 > 25
    path = tmp_path / "targets.csv"
    path.write_text(
        HEADER + "a,occupancy,1.2,1.1,1.3,2019,calibration,x\n"
        "b,occupancy,1.2,1.1,1.3,2019,validation,x\n"
    )
    rows = site_rows(read_targets(path, ["a", "b"]), ["a", "b"], days, METRICS, [True, True])
    verdicts = {r[0]: r[4] for r in rows}
    assert verdicts["[calibration target] a: occupancy (default year)"]
    assert not verdicts["[validation] b: occupancy (default year)"]
    boarding = [r for r in rows if "quarter" in r[0]]
    assert [r[4] for r in boarding] == [True, False]
