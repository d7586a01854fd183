"""staffing.csv: read with the region, validated line by line, optional."""

import shutil
from pathlib import Path

import pytest

from popsim.cli import main
from popsim.region.load import check_region, load_region
from popsim.staffing.files import STAFFING_FILE, estimate_staffing

SYNTHETIC = Path(__file__).resolve().parents[1] / "regions" / "synthetic"
HEADER = (
    "facility_id,unit,nurses_per_shift,shifts_per_day,patients_per_nurse,hourly_wage,"
    "overtime_multiplier,agency_hourly\n"
)


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "region"
    shutil.copytree(SYNTHETIC, out)
    return out


def test_shipped_regions_have_valid_staffing():
    for name in ("synthetic", "fraser"):
        region = load_region(name)
        assert region.staffing is not None
        table = region.staffing
        assert set(table["unit"]) <= {"ward", "icu", "ed"}
        # every site with ward beds has a ward roster, at the BC 1:4 ratio
        ward = table[table["unit"] == "ward"]
        with_beds = region.facilities[region.facilities["ward_beds"] > 0]
        assert set(ward["facility_id"]) == set(with_beds["facility_id"])
        assert (ward["patients_per_nurse"] == 4.0).all()


def test_a_region_without_the_file_loads_without_staffing(folder):
    (folder / STAFFING_FILE).unlink()
    assert check_region(folder) == []
    assert load_region(folder).staffing is None


def test_every_bad_line_is_reported_once(folder, capsys):
    (folder / STAFFING_FILE).write_text(
        HEADER
        + "F1,ward,4,2,4,45,2,75\n"  # fine
        + "F9,ward,4,2,4,45,2,75\n"  # unknown site
        + "F2,theatre,4,2,4,45,2,75\n"  # unknown unit
        + "F1,ward,4,2,4,45,2,75\n"  # duplicate of line 2
        + "F2,icu,-1,2,1,45,2,75\n"  # negative roster
        + "F3,icu,2,4,1,45,2,75\n"  # 4 shifts
        + "F3,ward,2,2,0,45,2,75\n"  # ratio 0
        + "F3,ed,2,2,3,45,0.5,75\n",  # overtime below straight time
        encoding="utf-8",
    )
    problems = [str(p) for p in check_region(folder)]
    assert len(problems) == 7
    for line, field in (
        (3, "facility_id"),
        (4, "unit"),
        (5, "unit"),
        (6, "nurses_per_shift"),
        (7, "shifts_per_day"),
        (8, "patients_per_nurse"),
        (9, "overtime_multiplier"),
    ):
        assert sum(f"line {line}, {field}" in p for p in problems) == 1, (line, problems)
    assert all(STAFFING_FILE in p for p in problems)
    # the command line: one line per problem, exit 2, no traceback
    assert main(["regions", "check", str(folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 7
    assert "Traceback" not in err


def test_missing_column_is_one_problem(folder):
    (folder / STAFFING_FILE).write_text("facility_id,unit\nF1,ward\n", encoding="utf-8")
    problems = [str(p) for p in check_region(folder)]
    assert len(problems) == 6  # one per missing column
    assert all("missing column" in p for p in problems)


def test_estimated_rosters_cover_funded_beds_at_the_ratio():
    region = load_region("fraser")
    table = estimate_staffing(region.facilities)
    merged = table.merge(region.facilities, on="facility_id")
    ward = merged[merged["unit"] == "ward"]
    # 4 patients per nurse: the roster covers every funded bed, with less than a nurse spare
    assert ((ward["nurses_per_shift"] * 4 >= ward["ward_beds"]).all()) and (
        (ward["nurses_per_shift"] * 4 - ward["ward_beds"] < 4).all()
    )
    assert all(str(n).startswith("est.") for n in table["note"])
