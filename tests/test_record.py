"""Recorder: RunResult -> Arrow tables -> hive-partitioned Parquet, atomic files, manifest last."""

from __future__ import annotations

import json
from datetime import date

import duckdb
import numpy as np
import pyarrow as pa
import pyarrow.parquet as pq
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from popsim.model import ZONE_METRICS, RunResult
from popsim.run import folder as runfolder
from popsim.run import record

METRICS = (*record.FACILITY_COLUMNS[4:], "ward_capacity")
DICT16 = pa.dictionary(pa.int16(), pa.string())
DICT8 = pa.dictionary(pa.int8(), pa.string())


def fake_result(seed: int = 0, days: int = 12, n_journeys: int = 40) -> RunResult:
    rng = np.random.default_rng(seed)
    fac = rng.integers(0, 500, (days, 3, len(METRICS))).astype(np.int32)
    return RunResult(
        start=date(2026, 12, 30),
        zone_ids=["Z01", "Z02"],
        facility_ids=["F1", "F2", "F3"],
        facility_metrics=METRICS,
        facility_day=fac,
        zone_day=rng.integers(0, 10_000, (days, 2, 10, len(ZONE_METRICS))).astype(np.int32),
        journeys={
            "resident_id": rng.integers(0, 1000, n_journeys).astype(np.int32),
            "day": rng.integers(0, days, n_journeys).astype(np.int16),
            "event": rng.integers(0, 3, n_journeys).astype(np.uint8),
            "facility": rng.integers(-1, 3, n_journeys).astype(np.int16),
            "unit": rng.integers(0, 2, n_journeys).astype(np.uint8),
        },
        journey_codes={"event": ("arrive", "admit", "discharge"), "unit": ("ward", "icu")},
    )


def write_all(out, scenarios=("baseline", "other"), replicates=2):
    for s in scenarios:
        for r in range(replicates):
            record.write_replicate(
                out, fake_result(r), s, r, {"spec": '{"x":1}', "seed_entropy": "42"}, {}
            )


def test_schema_names_and_types():
    t = record.tables(fake_result(), 3)
    fd, zd, jr = t["facility_day"], t["zone_day"], t["journeys"]
    assert fd.column_names[:17] == list(record.FACILITY_COLUMNS)
    assert fd.schema.field("replicate").type == pa.int16()
    assert fd.schema.field("day").type == pa.int16()
    assert fd.schema.field("date").type == pa.date32()
    assert fd.schema.field("facility").type == DICT16
    assert all(fd.schema.field(m).type == pa.int32() for m in METRICS)
    assert zd.column_names == [
        "replicate", "day", "date", "zone", "age_band", *ZONE_METRICS
    ]  # fmt: skip
    assert zd.schema.field("age_band").type == DICT8
    assert jr.column_names == list(record.JOURNEY_COLUMNS)
    assert jr.schema.field("resident_id").type == pa.int32()
    assert jr.schema.field("event").type == DICT8
    assert (fd.num_rows, zd.num_rows) == (12 * 3, 12 * 2 * 10)


def test_values_land_in_the_right_rows():
    res = fake_result()
    fd = record.facility_table(res, 0).to_pandas()
    row = fd[(fd.day == 5) & (fd.facility == "F2")].iloc[0]
    assert row.ward_census == res.facility_day[5, 1, METRICS.index("ward_census")]
    assert row.date == date(2027, 1, 4)  # start 2026-12-30 + 5 days
    zd = record.zone_table(res, 0).to_pandas()
    row = zd[(zd.day == 7) & (zd.zone == "Z02") & (zd.age_band == "80-89")].iloc[0]
    assert row.recovered == res.zone_day[7, 1, 8, ZONE_METRICS.index("recovered")]
    jr = record.journey_table(res, 0)
    fac = jr.column("facility").to_pylist()
    codes = res.journeys["facility"]
    assert [f is None for f in fac] == list(codes < 0)  # -1 = no site -> null
    assert jr.column("event").to_pylist()[:3] == [
        ("arrive", "admit", "discharge")[c] for c in res.journeys["event"][:3]
    ]


def test_missing_required_metric_is_an_error():
    res = fake_result()
    res.facility_metrics = tuple(m for m in METRICS if m != "ed_boarding")
    res.facility_day = res.facility_day[:, :, :-1]
    with pytest.raises(ValueError, match="ed_boarding"):
        record.facility_table(res, 0)


def test_layout_metadata_and_manifest(tmp_path):
    write_all(tmp_path)
    path = tmp_path / "facility_day" / "scenario=other" / "part-0001.parquet"
    meta = pq.read_schema(path).metadata
    assert meta[b"popsim.spec"] == b'{"x":1}'
    assert meta[b"popsim.seed_entropy"] == b"42"
    assert meta[b"popsim.run.spec"] == b"other" and meta[b"popsim.replicate"] == b"1"
    m = json.loads((tmp_path / "manifest" / "scenario=other" / "replicate-0001.json").read_text())
    assert m["status"] == "complete"
    assert m["rows"] == {"facility_day": 36, "zone_day": 240, "journeys": 40}
    assert record.replicate_complete(tmp_path, "other", 1) is not None
    assert not list(tmp_path.rglob(".*.tmp"))


def test_pyarrow_reads_back_with_hive_partitioning(tmp_path):
    write_all(tmp_path)
    t = record.read_table(tmp_path, "facility_day")
    assert t.num_rows == 2 * 2 * 36
    assert t.schema.field("scenario").type == pa.dictionary(pa.int32(), pa.string())
    df = t.to_pandas()
    assert sorted(df.scenario.astype(str).unique()) == ["baseline", "other"]
    counts = df.groupby(["scenario", "replicate"], observed=True).size()
    assert set(counts) == {36}
    # the same data as written
    one = df[(df.scenario == "other") & (df.replicate == 1)].drop(columns="scenario")
    expect = record.facility_table(fake_result(1), 1).to_pandas()
    assert np.array_equal(one.ward_census.to_numpy(), expect.ward_census.to_numpy())


def test_duckdb_reads_back_with_hive_partitioning(tmp_path):
    write_all(tmp_path)
    con = duckdb.connect()
    glob = (tmp_path / "zone_day" / "*" / "*.parquet").as_posix()
    rows = con.sql(
        f"select scenario, replicate, count(*), sum(susceptible) from "
        f"read_parquet('{glob}', hive_partitioning=true) group by all order by all"
    ).fetchall()
    expect = int(fake_result(1).zone_counts("susceptible").sum())
    assert [r[:3] for r in rows] == [
        ("baseline", 0, 240), ("baseline", 1, 240), ("other", 0, 240), ("other", 1, 240)
    ]  # fmt: skip
    assert rows[3][3] == expect
    types = dict(
        con.sql(
            f"select column_name, column_type from (describe select * from "
            f"read_parquet('{glob}', hive_partitioning=true))"
        ).fetchall()
    )
    assert types["day"] == "SMALLINT" and types["date"] == "DATE" and types["zone"] == "VARCHAR"
    jglob = (tmp_path / "journeys" / "*" / "*.parquet").as_posix()
    n = con.sql(f"select count(*) from read_parquet('{jglob}', hive_partitioning=true)").fetchall()[
        0
    ]
    assert n[0] == 4 * 40


def test_crash_while_writing_leaves_no_file_and_no_manifest(tmp_path, monkeypatch):
    real = pq.write_table
    calls = []

    def failing(table, where, **kw):
        calls.append(where)
        if len(calls) == 2:  # die half-way through the second table
            with open(where, "wb") as fh:
                fh.write(b"PAR1 half")
            raise OSError("disk full")
        return real(table, where, **kw)

    monkeypatch.setattr(pq, "write_table", failing)
    with pytest.raises(OSError, match="disk full"):
        record.write_replicate(tmp_path, fake_result(), "s", 0, {}, {})
    assert record.read_manifest(tmp_path, "s", 0) is None
    assert record.replicate_complete(tmp_path, "s", 0) is None
    assert not list(tmp_path.rglob(".*.tmp"))  # the half file was removed
    assert not (tmp_path / "zone_day" / "scenario=s" / "part-0000.parquet").exists()


def test_incomplete_outputs_are_detected(tmp_path):
    write_all(tmp_path, scenarios=("s",), replicates=3)
    assert record.replicate_complete(tmp_path, "s", 0, config_hash=None) is not None
    (tmp_path / "journeys" / "scenario=s" / "part-0000.parquet").unlink()
    part = tmp_path / "zone_day" / "scenario=s" / "part-0001.parquet"
    part.write_bytes(part.read_bytes()[:100])  # truncated
    assert record.replicate_complete(tmp_path, "s", 0) is None
    assert record.replicate_complete(tmp_path, "s", 1) is None
    assert record.replicate_complete(tmp_path, "s", 2) is not None
    assert record.replicate_complete(tmp_path, "s", 2, config_hash="other") is None
    crashed = tmp_path / "zone_day" / "scenario=s" / ".part-0009.parquet.0123456789ab.tmp"
    crashed.write_bytes(b"x")
    assert runfolder.remove_own_temp_files(tmp_path) == 1
    assert not crashed.exists()


def test_same_result_gives_identical_bytes(tmp_path):
    a, b = tmp_path / "a", tmp_path / "b"
    for out in (a, b):
        record.write_replicate(out, fake_result(5), "s", 0, {"spec": "{}"}, {})
    for table in record.TABLES:
        rel = f"{table}/scenario=s/part-0000.parquet"
        assert (a / rel).read_bytes() == (b / rel).read_bytes()


@pytest.mark.filterwarnings("ignore:The inplace keyword")  # inside dask, not ours
def test_dask_dataframe_reads_back(tmp_path):
    dd = pytest.importorskip("dask.dataframe")
    write_all(tmp_path)
    df = dd.read_parquet(tmp_path / "journeys").compute()
    assert len(df) == 4 * 40
    assert sorted(df.scenario.astype(str).unique()) == ["baseline", "other"]


@settings(max_examples=20, deadline=None)
@given(
    days=st.integers(1, 15),
    n_fac=st.integers(1, 5),
    n_zones=st.integers(1, 4),
    seed=st.integers(0, 2**16),
)
def test_tables_round_trip_the_arrays(days, n_fac, n_zones, seed):
    """Every value of the result arrays comes back from the tables at its (day, site/zone, band)."""
    rng = np.random.default_rng(seed)
    res = RunResult(
        start=date(2026, 1, 1),
        zone_ids=[f"Z{i}" for i in range(n_zones)],
        facility_ids=[f"F{i}" for i in range(n_fac)],
        facility_metrics=METRICS,
        facility_day=rng.integers(0, 2**31 - 1, (days, n_fac, len(METRICS))).astype(np.int32),
        zone_day=rng.integers(0, 2**31 - 1, (days, n_zones, 10, len(ZONE_METRICS))).astype(
            np.int32
        ),
        journeys={},
        journey_codes={},
    )
    fd = record.facility_table(res, 7)
    day = np.asarray(fd.column("day"))
    fac = np.asarray(fd.column("facility").combine_chunks().indices)
    for j, name in enumerate(METRICS):
        assert np.array_equal(np.asarray(fd.column(name)), res.facility_day[day, fac, j])
    zd = record.zone_table(res, 7)
    zday = np.asarray(zd.column("day"))
    zone = np.asarray(zd.column("zone").combine_chunks().indices)
    band = np.asarray(zd.column("age_band").combine_chunks().indices)
    for j, name in enumerate(ZONE_METRICS):
        assert np.array_equal(np.asarray(zd.column(name)), res.zone_day[zday, zone, band, j])
    assert set(np.asarray(zd.column("replicate")).tolist()) == {7}
    assert record.journey_table(res, 7).num_rows == 0
