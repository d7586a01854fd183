"""Analysis tables against hand-computed values on tiny synthetic run directories.

Quantiles over replicates are linear (numpy's default): with three sorted values
``x0 <= x1 <= x2``, p5 = x0 + 0.1 (x1 - x0), p50 = x1, p95 = x1 + 0.9 (x2 - x1).
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from popsim.analysis import analyze, load
from popsim.analysis.capacity import ALL_SITES
from popsim.analysis.dataset import open_run
from popsim.cli import main
from popsim.errors import RunDirError
from popsim.model import FACILITY_METRICS, ZONE_METRICS

FAC_COUNTS = FACILITY_METRICS[FACILITY_METRICS.index("alc_census") :]
ZONE_FIELDS = ZONE_METRICS


def write_run(
    root: Path,
    fac: dict[str, dict[str, dict[str, object]]],
    zone: dict[str, dict[str, np.ndarray]] | None = None,
    replicates: dict[str, list[int]] | None = None,
    spec_replicates: int | None = None,
    manifest: bool = True,
    zone_ids: list[str] | None = None,
    spec_extra: dict | None = None,
    extra: tuple[str, ...] = (),
) -> Path:
    """Write a run directory in the popsim layout.

    ``fac[scenario][facility]`` maps facility_day columns to arrays ``(replicates, days)``
    or scalars (broadcast); missing count columns are zero. ``zone[scenario]`` maps
    zone_day fields to arrays ``(replicates, days, zones, bands)``. ``replicates`` limits
    which replicates are written per scenario.
    """
    scenarios = list(fac)
    spec = {
        "name": root.name,
        "replicates": spec_replicates,
        "scenarios": {s: {"description": f"scenario {s}"} for s in scenarios},
        **(spec_extra or {}),
    }
    for s in scenarios:
        first = next(iter(fac[s].values()))
        n_rep, n_days = np.asarray(first["ward_census"]).shape
        keep = (replicates or {}).get(s, list(range(n_rep)))
        for r in keep:
            cols: dict[str, list] = {}
            for f, data in fac[s].items():
                block = {"facility": [f] * n_days, "day": list(range(n_days))}
                for col in (
                    "ward_census",
                    "ward_beds",
                    "icu_census",
                    "icu_beds",
                    *FAC_COUNTS,
                    *extra,
                ):
                    v = np.broadcast_to(np.asarray(data.get(col, 0)), (n_rep, n_days))
                    block[col] = v[r].tolist()
                for k, v in block.items():
                    cols.setdefault(k, []).extend(v)
            n = len(cols["day"])
            table = {
                "replicate": pa.array([r] * n, pa.int16()),
                "day": pa.array(cols["day"], pa.int16()),
                "date": pa.array(
                    np.datetime64("2026-01-01") + np.array(cols["day"]).astype("timedelta64[D]")
                ),
                "facility": pa.array(cols["facility"]).dictionary_encode(),
            }
            for col in ("ward_census", "ward_beds", "icu_census", "icu_beds", *FAC_COUNTS, *extra):
                table[col] = pa.array(cols[col], pa.int32())
            meta = {b"popsim.spec": json.dumps(spec).encode()}
            _write(root / "facility_day", s, r, pa.table(table).replace_schema_metadata(meta))
            if zone is not None:
                z = zone[s]
                _, nd, nz, nb = z["infectious"].shape
                d, zi, b = np.meshgrid(range(nd), range(nz), range(nb), indexing="ij")
                zt = {
                    "replicate": pa.array([r] * d.size, pa.int16()),
                    "day": pa.array(d.ravel(), pa.int16()),
                    "zone": pa.array(
                        [(zone_ids or [f"Z{i}" for i in range(nz)])[i] for i in zi.ravel()]
                    ),
                    "age_band": pa.array([("0-9", "10-19", "20-29")[i] for i in b.ravel()]),
                }
                for k in ZONE_FIELDS:
                    zt[k] = pa.array(
                        np.asarray(z.get(k, np.zeros_like(z["infectious"])))[r].ravel()
                    )
                _write(root / "zone_day", s, r, pa.table(zt))
            if manifest:
                mdir = root / "manifest" / f"scenario={s}"
                mdir.mkdir(parents=True, exist_ok=True)
                doc = {"spec": spec, "status": "complete", "seconds": 1.0, "entropy": 1}
                (mdir / f"replicate-{r:04d}.json").write_text(json.dumps(doc))
    return root


def _write(table_dir: Path, scenario: str, r: int, table: pa.Table) -> None:
    d = table_dir / f"scenario={scenario}"
    d.mkdir(parents=True, exist_ok=True)
    pq.write_table(table, d / f"part-{r:04d}.parquet")


# Site A, ward (10 beds), three replicates, four days.
A_WARD = np.array([[8, 9, 10, 11], [10, 12, 12, 6], [5, 5, 5, 5]])
A_ICU = np.array([[0, 0, 0, 0], [0, 3, 0, 0], [0, 0, 0, 0]])


def tiny_fac() -> dict:
    base = {
        "A": {
            "ward_census": A_WARD,
            "ward_beds": 10,
            "icu_census": A_ICU,
            "icu_beds": 2,
            "ed_boarding": np.array([[0, 1, 2, 3]] * 3),
            "transfers_out": 1,
        },
        "B": {"ward_census": np.ones((3, 4), int), "ward_beds": 5, "icu_beds": 0},
    }
    # the scenario removes r + 1 ward patients each day of replicate r
    relief = np.array([[1], [2], [3]])
    new = {
        "A": {**base["A"], "ward_census": A_WARD - relief},
        "B": base["B"],
    }
    return {"baseline": base, "new_site": new}


def tiny_zone() -> dict:
    # 3 replicates, 4 days, 2 zones, 2 bands; 100 residents per zone and band
    shape = (3, 4, 2, 2)
    sus = np.full(shape, 100)
    new_inf = np.zeros(shape, int)
    new_inf[:, 1, 0, 0] = 10
    new_inf[:, 2, 0, 0] = 20
    new_inf *= np.array([1, 2, 3])[:, None, None, None]  # Z0 0-9 infections 30, 60, 90
    inf = np.zeros(shape, int)
    inf[:, :, 0, 0] = [0, 5, 8, 3]  # Z0 peaks on day 2
    inf[0, :, 1, 0] = [0, 9, 2, 1]  # Z1 peaks on days 1, 3, 1
    inf[1, :, 1, 0] = [0, 1, 2, 9]
    inf[2, :, 1, 0] = [0, 9, 2, 1]
    adm = np.zeros(shape, int)
    adm[:, 3, 1, 1] = [1, 2, 4]
    z = {"susceptible": sus, "infectious": inf, "new_infections": new_inf, "new_admissions": adm}
    return {"baseline": z, "new_site": z}


@pytest.fixture(scope="module")
def tiny(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("tiny") / "run"
    write_run(root, tiny_fac(), tiny_zone(), spec_replicates=3)
    analyze(root)
    return root


def _row(df: pd.DataFrame, **keys: object) -> pd.Series:
    mask = np.ones(len(df), bool)
    for k, v in keys.items():
        mask &= (df[k] == v).to_numpy()
    assert mask.sum() == 1, keys
    return df[mask].iloc[0]


def test_daily_census_quantiles(tiny: Path) -> None:
    df = load(tiny).census_daily
    # day 1 ward at A: census 9, 12, 5 -> sorted 5, 9, 12
    row = _row(df, scenario="baseline", facility="A", unit="ward", day=1)
    cols = ["census_p5", "census_p25", "census_p50", "census_p75", "census_p95"]
    assert row[cols].tolist() == pytest.approx([5.4, 7.0, 9.0, 10.5, 11.7])
    # no demand columns in this run: ward demand = census + ED boarding (1 on day 1)
    assert row["demand_p50"] == 10 and row["demand_p95"] == pytest.approx(10 + 0.9 * 3)
    assert row["p_over"] == pytest.approx(1 / 3)  # only 13 > 10 beds
    assert row["beds"] == 10 and row["boarding_p50"] == 1
    # total unit = ward + ICU: day 1 demand is 10, 16, 6 against 12 beds
    tot = _row(df, scenario="baseline", facility="A", unit="total", day=1)
    assert tot["demand_p50"] == 10 and tot["beds"] == 12 and tot["census_p50"] == 9
    assert tot["p_over"] == pytest.approx(1 / 3)
    # All sites adds B's one ward patient
    reg = _row(df, scenario="baseline", facility=ALL_SITES, unit="ward", day=1)
    assert reg["census_p50"] == 10 and reg["demand_p50"] == 11 and reg["beds"] == 15


def test_per_replicate_measures(tiny: Path) -> None:
    rep = load(tiny).site_replicate
    a = rep[(rep.scenario == "baseline") & (rep.facility == "A") & (rep.unit == "ward")]
    a = a[a.window == "all"].sort_values("replicate")
    # ward demand per replicate: [8, 10, 12, 14], [10, 13, 14, 9], [5, 6, 7, 8]; 10 beds
    assert a["peak_census"].tolist() == [11, 12, 5]
    assert a["peak_demand"].tolist() == [14, 14, 8]
    assert a["days_above_85"].tolist() == [3, 4, 0]  # demand > 8.5
    assert a["days_above_95"].tolist() == [3, 3, 0]  # demand > 9.5
    assert a["days_over"].tolist() == [2, 2, 0]  # demand > 10
    assert a["p_over"].tolist() == pytest.approx([0.5, 0.5, 0.0])
    assert a["bed_days_over"].tolist() == [6, 7, 0]
    assert a["mean_occupancy"].tolist() == pytest.approx([38 / 40, 40 / 40, 20 / 40])
    assert a["ed_boarding_days"].isna().all()  # flows belong to the site total only
    t = rep[(rep.scenario == "baseline") & (rep.facility == "A") & (rep.unit == "total")]
    t = t.sort_values("replicate")
    assert t["ed_boarding_days"].tolist() == [6, 6, 6]
    assert t["ed_boarding_per_day"].tolist() == pytest.approx([1.5] * 3)
    assert t["alc_bed_days"].tolist() == [0, 0, 0]
    assert t["transfers_out"].tolist() == [4, 4, 4]
    # the site: over when ward or ICU is (replicate 1 day 1 both: one day, not two);
    # excess = ward excess + ICU excess (3 ICU patients on 2 beds: 1)
    assert t["days_over"].tolist() == [2, 2, 0]
    assert t["bed_days_over"].tolist() == [6, 8, 0]


def test_capacity_summary(tiny: Path) -> None:
    cap = load(tiny).capacity
    row = _row(cap, window="all", scenario="baseline", facility="A", unit="ward")
    # p_over per replicate 0.5, 0.5, 0 -> sorted 0, 0.5, 0.5
    assert row["p_over_p50"] == pytest.approx(0.5)
    assert row["p_over_p5"] == pytest.approx(0.05)
    assert row["p_over_p95"] == pytest.approx(0.5)
    assert row["p_over_mean"] == pytest.approx(1 / 3)
    # peaks 11, 12, 5 -> sorted 5, 11, 12
    assert [row["peak_census_p5"], row["peak_census_p50"], row["peak_census_p95"]] == (
        pytest.approx([5.6, 11, 11.9])
    )
    assert row["n_replicates"] == 3 and row["funded_beds"] == 10
    icu = _row(cap, window="all", scenario="baseline", facility="A", unit="icu")
    # one replicate has 3 ICU patients against 2 beds on one day of four
    assert icu["days_over_p95"] == pytest.approx(0.9)
    assert icu["bed_days_over_mean"] == pytest.approx(1 / 3)
    b = _row(cap, window="all", scenario="baseline", facility="B", unit="icu")
    assert b["open_days"] == 0 and pd.isna(b["p_over_p50"])  # B has no ICU


def test_paired_comparison(tiny: Path) -> None:
    a = load(tiny)
    cmp = a.comparison
    assert a.meta["baseline_source"] == "the default: the scenario named baseline"
    p = _row(
        cmp, window="all", scenario="new_site", facility="A", unit="ward", measure="bed_days_over"
    )
    # new_site ward demand [7, 9, 11, 13], [8, 11, 12, 7], [2, 3, 4, 5]: excess 4, 3, 0
    # against 6, 7, 0: differences -2, -4, 0
    assert p["n_pairs"] == 3 and p["baseline"] == "baseline"
    assert [p["diff_p5"], p["diff_p50"], p["diff_p95"]] == pytest.approx([-3.8, -2, -0.2])
    assert p["p_lower"] == pytest.approx(2 / 3)
    pk = _row(
        cmp, window="all", scenario="new_site", facility="A", unit="ward", measure="peak_census"
    )
    # peaks 10, 10, 2 against 11, 12, 5: differences -1, -2, -3 (paired, not -1, -2, -6)
    assert [pk["diff_p5"], pk["diff_p50"], pk["diff_p95"]] == pytest.approx([-2.9, -2, -1.1])
    assert pk["diff_mean"] == pytest.approx(-2) and pk["p_lower"] == 1.0
    same = _row(
        cmp, window="all", scenario="new_site", facility="B", unit="ward", measure="peak_census"
    )
    assert same["diff_p5"] == same["diff_p95"] == 0
    assert "baseline" not in set(cmp["scenario"])


def test_epidemic_tables(tiny: Path) -> None:
    a = load(tiny)
    ar = a.attack_rate
    z0 = _row(ar, scenario="baseline", zone="Z0", age_band="0-9")
    # infections 30, 60, 90 out of 100 residents
    assert [z0["attack_rate_p5"], z0["attack_rate_p50"], z0["attack_rate_p95"]] == (
        pytest.approx([0.33, 0.6, 0.87])
    )
    z0all = _row(ar, scenario="baseline", zone="Z0", age_band="all")
    assert z0all["attack_rate_p50"] == pytest.approx(60 / 200)
    region = _row(ar, scenario="baseline", zone="All zones", age_band="all")
    assert region["population"] == 400 and region["infections_p50"] == 60
    pk = a.peak_day
    assert _row(pk, scenario="baseline", zone="Z0")["peak_day_p50"] == 2
    z1 = _row(pk, scenario="baseline", zone="Z1")  # peaks on days 1, 3, 1
    assert [z1["peak_day_p5"], z1["peak_day_p50"], z1["peak_day_p95"]] == pytest.approx([1, 1, 2.8])
    epi = a.epidemic
    adm = _row(epi, scenario="baseline", measure="hospital_admissions")
    assert [adm["p5"], adm["p50"], adm["p95"]] == pytest.approx([1.1, 2, 3.8])


def test_alc_holds_ward_beds_and_closed_sites_have_none(tmp_path: Path) -> None:
    # 3 ward + 2 ALC patients in 4 beds: over capacity every day; the site is closed on
    # days 0-1 (open = 0), so its 4 beds count only on days 2-3
    fac = {
        "baseline": {
            "C": {
                "ward_census": np.full((1, 4), 3),
                "alc_census": 2,
                "ward_beds": 4,
                "open": np.array([[0, 0, 1, 1]]),
            }
        }
    }
    root = write_run(tmp_path / "r", fac, extra=("open",))
    analyze(root)
    a = load(root)
    rep = _row(a.site_replicate, facility="C", unit="ward")
    assert rep["peak_census"] == 5 and pd.isna(rep["alc_bed_days"])
    assert rep["days_over"] == 4 and rep["bed_days_over"] == 5 + 5 + 1 + 1
    assert rep["mean_occupancy"] == pytest.approx(20 / 8)
    tot = _row(a.site_replicate, facility="C", unit="total")
    assert tot["alc_bed_days"] == 8
    allsites = _row(a.site_replicate, facility=ALL_SITES, unit="ward")
    assert allsites["bed_days_over"] == 12


def test_beds_needed_hand_values(tmp_path: Path) -> None:
    # census = day (0..19) against 10 beds in three identical replicates
    days = np.tile(np.arange(20), (3, 1))
    root = write_run(tmp_path / "r", {"baseline": {"C": {"ward_census": days, "ward_beds": 10}}})
    analyze(root)
    bn = load(root).beds_needed
    row = _row(bn, window="all", scenario="baseline", facility="C", unit="ward")
    # pooled N = 60, floor(0.05 N) = 3 days may be over: 19, 19, 19 > 18 -> 18 beds
    assert row["beds_needed_5"] == 18 and row["open_site_days"] == 60
    # floor(0.01 * 60) = 0: no day over -> 19 beds
    assert row["beds_needed_1"] == 19 and row["extra_beds_5"] == 8
    # one replicate: N = 20, one day may be over -> 18; none -> 19
    assert row["beds_needed_5_rep_p50"] == 18 and row["beds_needed_1_rep_p50"] == 19


def test_beds_needed_matches_definition(tmp_path: Path) -> None:
    rng = np.random.default_rng(7)
    census = rng.poisson(30, size=(5, 50))
    root = write_run(tmp_path / "r", {"baseline": {"C": {"ward_census": census, "ward_beds": 25}}})
    analyze(root)
    row = _row(load(root).beds_needed, window="all", scenario="baseline", facility="C", unit="ward")
    flat = census.ravel()
    for level, col in ((0.05, "beds_needed_5"), (0.01, "beds_needed_1")):
        allowed = int(np.floor(level * flat.size + 1e-9))
        smallest = next(b for b in range(flat.max() + 1) if (flat > b).sum() <= allowed)
        assert row[col] == smallest


def test_tables_written_as_parquet_and_csv(tiny: Path) -> None:
    out = tiny / "analysis"
    for name in ("capacity", "census_daily", "beds_needed", "comparison", "attack_rate"):
        assert (out / f"{name}.parquet").exists() and (out / f"{name}.csv").exists()
    a = load(tiny)
    n = a.sql("SELECT count(*) FROM facility_day WHERE scenario = 'new_site'").fetchall()[0][0]
    assert n == 3 * 4 * 2
    assert len(a.raw("facility_day", "new_site").df()) == n
    assert a.sql("SELECT count(*) FROM capacity").fetchall()[0][0] == len(a.capacity)


def test_missing_dir_is_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    with pytest.raises(RunDirError, match="does not exist"):
        analyze(tmp_path / "nope")
    assert main(["analyze", str(tmp_path / "nope")]) == 2
    err = capsys.readouterr().err
    assert "does not exist" in err and "Traceback" not in err


def test_empty_dir_is_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    (tmp_path / "empty").mkdir()
    assert main(["analyze", str(tmp_path / "empty")]) == 2
    assert "no facility_day data" in capsys.readouterr().err
    assert main(["report", str(tmp_path / "empty")]) == 2
    assert "no facility_day data" in capsys.readouterr().err


def test_scenario_without_replicates_is_error(
    tmp_path: Path, capsys: pytest.CaptureFixture
) -> None:
    root = write_run(tmp_path / "r", tiny_fac(), replicates={"new_site": []})
    assert main(["analyze", str(root)]) == 2
    err = capsys.readouterr().err
    assert "new_site" in err and "no complete replicates for scenario(s) new_site" in err


def test_lost_parquet_part_is_error(tmp_path: Path) -> None:
    root = write_run(tmp_path / "r", tiny_fac(), tiny_zone())
    (root / "zone_day" / "scenario=new_site" / "part-0001.parquet").unlink()
    with pytest.raises(RunDirError, match=r"new_site: zone_day is missing replicate\(s\) 1"):
        open_run(root, warn=False)
    (root / "facility_day" / "scenario=baseline" / "part-0002.parquet").unlink()
    with pytest.raises(RunDirError, match=r"replicate\(s\) 2 complete"):
        open_run(root, warn=False)


def test_part_without_manifest_is_ignored(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = write_run(tmp_path / "r", tiny_fac(), tiny_zone())
    (root / "manifest" / "scenario=new_site" / "replicate-0001.json").unlink()  # unfinished
    ds = open_run(root)
    assert ds.replicates("new_site") == [0, 2] and ds.replicates("baseline") == [0, 1, 2]
    assert ds.paths("zone_day", ["new_site"])[-1].endswith("part-0002.parquet")
    err = capsys.readouterr().err
    assert "ignored replicate(s) without a complete manifest" in err and "new_site 1" in err


def test_partial_ensemble_warns_with_counts(tmp_path: Path, capsys: pytest.CaptureFixture) -> None:
    root = write_run(
        tmp_path / "r", tiny_fac(), tiny_zone(), replicates={"new_site": [0, 2]}, spec_replicates=3
    )
    assert main(["analyze", str(root)]) == 0
    err = capsys.readouterr().err
    assert "partial ensemble" in err and "baseline 3/3, new_site 2/3" in err
    cmp = load(root).comparison
    pk = _row(cmp, scenario="new_site", facility="A", unit="ward", measure="peak_census")
    assert (
        pk["window"] == "all" and pk["n_pairs"] == 2 and pk["diff_mean"] == pytest.approx(-2)
    )  # pairs 0 and 2


def test_load_reanalyses_when_dataset_changes(tmp_path: Path) -> None:
    root = write_run(tmp_path / "r", tiny_fac())
    assert set(load(root).capacity["n_replicates"]) == {3}
    for s in ("baseline", "new_site"):  # drop replicate 2 everywhere: a smaller ensemble
        (root / "manifest" / f"scenario={s}" / "replicate-0002.json").unlink()
        (root / "facility_day" / f"scenario={s}" / "part-0002.parquet").unlink()
    a = load(root)
    assert set(a.capacity["n_replicates"]) == {2}
    assert a.meta["replicates"] == {"baseline": [0, 1], "new_site": [0, 1]}


def test_icu_entries_counted_from_journeys(tmp_path: Path) -> None:
    root = write_run(
        tmp_path / "r", {"baseline": tiny_fac()["baseline"]}, {"baseline": tiny_zone()["baseline"]}
    )
    events = ["arrive", "admit", "move_unit", "admit", "transfer", "discharge"]
    units = ["ed", "icu", "icu", "ward", "icu", "icu"]
    for r in range(3):  # replicate r has r + 1 copies: 2, 4, 6 ICU entries (admit, move_unit)
        n = len(events) * (r + 1)
        table = pa.table(
            {
                "replicate": pa.array([r] * n, pa.int16()),
                "resident_id": pa.array(range(n), pa.int32()),
                "day": pa.array([0] * n, pa.int16()),
                "event": pa.array(events * (r + 1)).dictionary_encode(),
                "facility": pa.array(["A"] * n).dictionary_encode(),
                "unit": pa.array(units * (r + 1)).dictionary_encode(),
            }
        )
        _write(root / "journeys", "baseline", r, table)
    analyze(root)
    icu = _row(load(root).epidemic, scenario="baseline", measure="icu_admissions")
    assert [icu["p5"], icu["p50"], icu["p95"]] == pytest.approx([2.2, 4, 5.8])


# ------------------------------------------------------------------ end to end
E2E_SPEC = """
region = "synthetic"
start = 2026-01-01
days = 20
population = 4000
replicates = 3
seed = 3
[epidemic]
r0 = 2.5
seed_infections = 20
[scenarios.baseline]
[scenarios.closed]
events = [{ day = 2, close = "F2" }]
"""


@pytest.mark.slow
@pytest.mark.cluster
def test_run_then_analyze_agrees_with_the_parquet_read_directly(tmp_path: Path) -> None:
    """`popsim run` then `popsim analyze` (the command line): the analysis figures equal
    the same figures computed here from the Parquet files with pyarrow and pandas."""
    spec = tmp_path / "e2e.toml"
    spec.write_text(E2E_SPEC, encoding="utf-8")
    out = tmp_path / "e2e"
    assert main(["run", str(spec), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    assert main(["analyze", str(out)]) == 0

    def read(table: str) -> pd.DataFrame:  # hive partitions: scenario comes from the folder
        frame = pq.read_table(out / table).to_pandas()
        for col in ("scenario", "facility", "zone", "event", "unit"):
            if col in frame:
                frame[col] = frame[col].astype(str)
        return frame

    fd, zd, jr = read("facility_day"), read("zone_day"), read("journeys")
    assert sorted(fd.scenario.unique()) == ["baseline", "closed"]
    assert sorted(fd.replicate.unique()) == [0, 1, 2]
    a = load(out)
    site = a.site_replicate[a.site_replicate.window == "all"].set_index(
        ["scenario", "replicate", "facility", "unit"]
    )

    # per replicate and site: ICU peak census, and the day's flows summed over the run
    by_site = fd.groupby(["scenario", "replicate", "facility"])
    for (scenario, replicate, facility), rows in by_site:
        icu = site.loc[(scenario, replicate, facility, "icu")]
        assert icu["peak_census"] == rows["icu_census"].max()
        total = site.loc[(scenario, replicate, facility, "total")]
        for flow in ("admissions", "discharges", "deaths", "ed_visits"):
            if flow in total.index:
                assert total[flow] == rows[flow].sum(), (scenario, replicate, facility, flow)
    assert fd["admissions"].sum() > 0  # the run did admit patients

    # the region's peak census over all sites and units, averaged over replicates
    daily = fd.assign(census=fd.ward_census + fd.alc_census + fd.icu_census)
    peak = daily.groupby(["scenario", "replicate", "day"]).census.sum().groupby(level=[0, 1]).max()
    cap = a.capacity[(a.capacity.window == "all") & (a.capacity.unit == "total")]
    for scenario, row in cap[cap.facility == ALL_SITES].set_index("scenario").iterrows():
        assert row["peak_census_mean"] == pytest.approx(peak[scenario].mean())
        assert row["n_replicates"] == 3

    # the epidemic: infections, residents on the first day, hospital admissions, deaths
    rep = zd.groupby(["scenario", "replicate"])
    first = zd[zd.day == 0].groupby(["scenario", "replicate"])
    direct = pd.DataFrame(
        {
            "infections": rep.new_infections.sum(),
            "population": first[["susceptible", "exposed", "infectious", "recovered"]]
            .sum()
            .sum(axis=1),
            "hospital_admissions": rep.new_admissions.sum(),
            "deaths": rep.deaths.sum(),
        }
    )
    assert (direct.infections > 20).all()  # the epidemic took off beyond its seeds
    epi = a.epidemic.set_index(["scenario", "measure"])
    for scenario in ("baseline", "closed"):
        for measure in direct.columns:
            values = direct.loc[scenario, measure]
            assert epi.loc[(scenario, measure), "mean"] == pytest.approx(values.mean()), measure
            assert epi.loc[(scenario, measure), "p50"] == pytest.approx(values.median()), measure

    # ICU entries: journey rows that put a patient into the ICU
    enters = jr[jr.event.isin(["admit", "move_unit"]) & (jr.unit == "icu")]
    icu_entries = enters.groupby(["scenario", "replicate"]).size()
    for scenario in ("baseline", "closed"):
        mean = icu_entries.get(scenario, pd.Series(dtype=float)).reindex(range(3), fill_value=0)
        assert epi.loc[(scenario, "icu_admissions"), "mean"] == pytest.approx(mean.mean())


STAFFED_SPEC = """
region = "synthetic"
start = 2026-12-01
days = 45
population = 20000
replicates = 3
seed = 3
[epidemic]
r0 = 2.0
seed_infections = 40
[staffing]
[scenarios.baseline]
[scenarios.beds]
events = [{ day = 0, facility = "F1", ward_beds = 10 }]
[scenarios.beds-nurses]
events = [
  { day = 0, facility = "F1", ward_beds = 10 },
  { day = 0, facility = "F1", unit = "ward", nurses = 3 },
]
"""


@pytest.mark.slow
@pytest.mark.cluster
def test_with_staffing_on_beds_without_nurses_are_not_credited(tmp_path: Path) -> None:
    """With staffing on a unit's capacity is its staffed beds: 10 ward beds at F1 without
    nurses to staff them cut the region's bed-days over by far less than the 10 x 45
    bed-days of the funded-bed arithmetic (overtime and agency staff a few of them on
    some days), and less than the same beds with 3 more nurses a shift do. The tables show
    funded and staffed beds side by side, and beds needed comes with the nurses."""
    spec = tmp_path / "staffed.toml"
    spec.write_text(STAFFED_SPEC, encoding="utf-8")
    out = tmp_path / "staffed"
    assert main(["run", str(spec), "--workers", "1", "--quiet", "--out", str(out)]) == 0
    a = load(out)
    site = a.site_replicate[(a.site_replicate.window == "all")]
    region = site[(site.facility == ALL_SITES) & (site.unit == "total")]
    by = region.set_index(["scenario", "replicate"])["bed_days_over"]
    cut_beds = by.loc["baseline"] - by.loc["beds"]
    cut_nurses = by.loc["baseline"] - by.loc["beds-nurses"]
    assert (cut_beds < 0.5 * 10 * 45).all(), cut_beds.tolist()
    assert cut_nurses.median() > cut_beds.median(), (cut_nurses.tolist(), cut_beds.tolist())
    ward = a.capacity[
        (a.capacity.window == "all") & (a.capacity.facility == "F1") & (a.capacity.unit == "ward")
    ].set_index("scenario")
    assert ward.loc["beds", "funded_beds"] == ward.loc["baseline", "funded_beds"] + 10
    assert ward.loc["beds", "staffed_beds"] < ward.loc["beds", "funded_beds"]
    need = a.beds_needed[(a.beds_needed.window == "all") & (a.beds_needed.unit == "ward")]
    f1 = need[need.facility == "F1"].iloc[0]
    assert f1["nurses_needed_5"] * f1["patients_per_nurse"] >= f1["beds_needed_5"] > 0


def test_population_table_medians_and_totals(tmp_path: Path) -> None:
    """The population analysis table: medians over replicates per year, zone, band and
    sex, and the totals over zones, bands and sexes."""
    from popsim.analysis.dataset import RunDataset
    from popsim.analysis.population import ALL_AGES, ALL_ZONES, BOTH, population

    for r, scale in enumerate((1, 2, 3)):
        frame = pd.DataFrame(
            {
                "replicate": np.int16(r),
                "year": np.int16(2036),
                "date": pd.Timestamp("2036-01-01").date(),
                "zone": ["Z1", "Z1", "Z2", "Z2"],
                "age_band": ["0-9", "0-9", "90+", "90+"],
                "sex": ["female", "male", "female", "male"],
                "residents": np.array([10, 20, 30, 40], dtype=np.int32) * scale,
            }
        )
        folder = tmp_path / "population" / "scenario=base"
        folder.mkdir(parents=True, exist_ok=True)
        frame.to_parquet(folder / f"part-{r:04d}.parquet", index=False)
    # a RunDataset over these hand-made parts (they have no manifest): its reader is the one
    # every analysis table uses
    folder = tmp_path / "population" / "scenario=base"
    files = {"population": {"base": {r: folder / f"part-{r:04d}.parquet" for r in range(3)}}}
    ds = RunDataset(run_dir=tmp_path, files=files, scenarios=["base"], baseline="base")
    out = population(ds).set_index(["zone", "age_band", "sex"])
    assert out.loc[("Z1", "0-9", "male"), "residents_p50"] == 40
    assert out.loc[(ALL_ZONES, ALL_AGES, BOTH), "residents_p50"] == 200
    assert out.loc[(ALL_ZONES, "90+", BOTH), "residents_p5"] == pytest.approx(70 + 0.1 * 70)
    assert out.loc[("Z2", ALL_AGES, "female"), "n_replicates"] == 3
