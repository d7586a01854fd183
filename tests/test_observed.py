"""Observed data: a run's replicate is valid observed data; bad files list every problem."""

from __future__ import annotations

import datetime as dt

import numpy as np
import pandas as pd
import pytest

from popsim.region.load import load_region
from popsim.run.ensemble import run_spec
from popsim.twin.observed import ALL, ObservedProblems, load_observed, with_noise

START = dt.date(2026, 9, 1)
LAST = START + dt.timedelta(days=59)


@pytest.fixture(scope="module")
def region():
    return load_region("synthetic")


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory):
    folder = tmp_path_factory.mktemp("obs")
    spec = folder / "truth.toml"
    spec.write_text(
        'region = "synthetic"\nstart = 2026-09-01\ndays = 60\nseed = 3\n'
        "record_journeys = false\n[epidemic]\nr0 = 1.6\nstart_day = 5\n",
        encoding="utf-8",
    )
    run_spec(spec, workers=1, progress=False)
    return folder / "truth"


def write_csv(tmp_path, text: str, name: str = "obs.csv"):
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.cluster
def test_a_replicate_of_a_run_is_valid_observed_data(run_dir, region):
    part = run_dir / "facility_day" / "scenario=baseline" / "part-0000.parquet"
    obs = load_observed(part, region, START, LAST)
    raw = pd.read_parquet(part)
    assert len(obs.facility) == len(raw) == 60 * region.n_facilities
    assert "ward_census" in obs.metrics and "replicate" not in obs.facility.columns
    merged = obs.facility.merge(
        raw.assign(
            date=raw["date"].dt.date if hasattr(raw["date"], "dt") else raw["date"],
            facility=raw["facility"].astype(str),
        ),
        on=["date", "facility"],
        suffixes=("", "_raw"),
    )
    assert (merged["icu_census"] == merged["icu_census_raw"]).all()
    assert (merged["admissions"] == merged["admissions_raw"]).all()


def test_missing_days_blank_cells_and_regional_totals_are_allowed(tmp_path, region):
    path = write_csv(
        tmp_path,
        "date,facility,ward_census,admissions\n"
        "2026-09-01,F1,10,3\n2026-09-03,F1,,2\n2026-09-03,all,30,\n2026-09-10,F2,7,1\n",
    )
    obs = load_observed(path, region, START, LAST)
    assert obs.value(dt.date(2026, 9, 3), "F1", "ward_census") is None
    assert obs.value(dt.date(2026, 9, 3), ALL, "ward_census") == 30
    assert len(obs.long()) == 6  # two blank cells skipped
    assert obs.until(dt.date(2026, 9, 3)).dates == [dt.date(2026, 9, 1), dt.date(2026, 9, 3)]


def test_every_problem_is_listed_once_with_its_row(tmp_path, region):
    path = write_csv(
        tmp_path,
        "date,facility,ward_census,admissions\n"
        "2026-09-01,F1,10,3\n"  # ok
        "2026-09-01,F1,11,3\n"  # duplicate
        "2026-09-02,F9,4,1\n"  # unknown facility
        "2026-13-02,F2,4,1\n"  # bad date
        "2027-01-01,F2,4,1\n"  # outside the run
        "2026-09-04,F3,-2,1\n"  # negative
        "2026-09-05,F3,2.5,x\n",  # fractional, not a number
    )
    with pytest.raises(ObservedProblems) as err:
        load_observed(path, region, START, LAST)
    lines = str(err.value).splitlines()
    assert len(lines) == 7, lines
    text = "\n".join(lines)
    for needle in (
        "row 3: duplicate",
        "row 4: facility: unknown facility 'F9'",
        "row 5: date: expected YYYY-MM-DD",
        "row 6: date: 2027-01-01 is outside",
        "row 7: ward_census: expected a count in 0..",
        "row 8: ward_census: expected a whole count",
        "row 8: admissions: expected a count, got 'x'",
    ):
        assert needle in text, (needle, text)
    assert all(line.startswith(str(path)) for line in lines)


def test_unknown_column_and_missing_key_column(tmp_path, region):
    path = write_csv(tmp_path, "date,site,ward_censu\n2026-09-01,F1,3\n")
    with pytest.raises(ObservedProblems) as err:
        load_observed(path, region, START, LAST)
    text = str(err.value)
    assert "facility: missing column" in text and "ward_censu: unknown column" in text


def test_zone_table_checks_zones_and_age_bands(tmp_path, region):
    fac = write_csv(tmp_path, "date,facility,admissions\n2026-09-01,all,3\n")
    zones = write_csv(
        tmp_path,
        "date,zone,age_band,new_admissions\n2026-09-01,Z01,70-79,2\n2026-09-01,Z01,70-79,2\n"
        "2026-09-01,Z77,70-79,1\n2026-09-01,Z02,70-75,1\n",
        "zones.csv",
    )
    with pytest.raises(ObservedProblems) as err:
        load_observed(fac, region, START, LAST, zones_path=zones)
    lines = str(err.value).splitlines()
    assert len(lines) == 3
    ok = write_csv(tmp_path, "date,zone,cases\n2026-09-01,Z01,2\n2026-09-02,all,9\n", "z2.csv")
    obs = load_observed(fac, region, START, LAST, zones_path=ok)
    assert obs.zones is not None and obs.zones["cases"].sum() == 11


def test_noise_keeps_the_mean_and_adds_the_negative_binomial_variance():
    rng = np.random.default_rng(1)
    n, mu, k = 20_000, 40.0, 10.0
    table = pd.DataFrame({"x": np.full(n, mu)})
    noisy = with_noise(table, rng, k, ["x"])["x"].to_numpy()
    var = mu + mu**2 / k
    assert abs(noisy.mean() - mu) < 4 * np.sqrt(var / n)
    # the sample variance's standard error is about var * sqrt(2 / n) (near-normal counts)
    assert abs(noisy.var() - var) < 4 * var * np.sqrt(2 / n) * 1.5


def test_booleans_huge_counts_and_a_header_only_file_are_problems(tmp_path, region):
    """Issue 25 items 8, 12 and 18: booleans in Parquet, a count above the limit, and a
    file with no value at all are each one line naming the file."""
    frame = pd.DataFrame(
        {"date": [START, START], "facility": ["F1", "F2"], "ward_census": [True, False]}
    )
    frame.to_parquet(tmp_path / "bool.parquet")
    with pytest.raises(ObservedProblems, match="ward_census: expected counts, got booleans"):
        load_observed(tmp_path / "bool.parquet", region, START, LAST)
    huge = write_csv(tmp_path, "date,facility,ward_census\n2026-09-01,F1,1e9\n", "huge.csv")
    with pytest.raises(ObservedProblems, match=r"row 2: ward_census: expected a count in 0\.\."):
        load_observed(huge, region, START, LAST)
    empty = write_csv(tmp_path, "date,facility,ward_census\n", "empty.csv")
    with pytest.raises(ObservedProblems, match="no observed value"):
        load_observed(empty, region, START, LAST)


def test_files_over_the_limits_fail_before_parsing(tmp_path, region, monkeypatch):
    from popsim.twin import observed as ob

    rows = "".join(f"2026-09-{d:02d},F1,{d}\n" for d in range(1, 21))
    path = write_csv(tmp_path, "date,facility,ward_census\n" + rows)
    monkeypatch.setattr(ob, "MAX_ROWS", 10)
    with pytest.raises(ob.InputError, match="more than the limit of 10"):
        load_observed(path, region, START, LAST)
    monkeypatch.setattr(ob, "MAX_FILE_BYTES", 100)
    with pytest.raises(ob.InputError, match="larger than the limit of 100 bytes"):
        load_observed(path, region, START, LAST)


def test_outside_rows_ignored_scale_and_carried_over_values(tmp_path, region):
    """Rows outside the run are left out with one note; ``scale`` allows fractions;
    ``carried_over="missing"`` blanks a repeat of the day before (not a repeat after a
    gap)."""
    path = write_csv(
        tmp_path,
        "date,facility,ward_census\n"
        "2026-08-01,all,7\n2026-08-02,all,7\n"  # before the run
        "2026-09-01,all,10\n2026-09-02,all,10\n2026-09-03,all,12\n2026-09-05,all,12\n",
    )
    obs = load_observed(
        path, region, START, LAST, scale=0.5, carried_over="missing", outside="ignore"
    )
    got = obs.facility.set_index("date")["ward_census"]
    assert got[dt.date(2026, 9, 1)] == 5.0 and got[dt.date(2026, 9, 3)] == 6.0
    assert np.isnan(got[dt.date(2026, 9, 2)]) and got[dt.date(2026, 9, 5)] == 6.0
    assert len(obs.notes) == 3 and "2 rows dated outside the run" in obs.notes[0]
    with pytest.raises(ObservedProblems, match="outside the spec's run"):
        load_observed(path, region, START, LAST)
