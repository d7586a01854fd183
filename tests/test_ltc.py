"""Long-term care: the region files, the ALC hand-over (every ALC stay ends by an LTC
place, home or death), LTC capacity as a lever on ALC days (paired runs), the events,
the ltc_day table and its analysis."""

from __future__ import annotations

import shutil
from datetime import date
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from popsim.analysis.ltc import ltc_comparison
from popsim.care.network import CareParams
from popsim.cli import main
from popsim.core.config import ModelConfig
from popsim.core.requests import ALC_END_NAMES, ALC_OPEN_DAYS, ALC_OTHER
from popsim.core.schema import LTC_KEYS, LTC_METRICS
from popsim.demand import DemandParams
from popsim.ltc.events import ChangeHomeSupport, ChangeLtcBeds
from popsim.ltc.files import HOME_SUPPORT_FILE, LTC_FILE
from popsim.ltc.params import LtcParams
from popsim.ltc.waitlist import IdArray
from popsim.model import RegionModel
from popsim.region.load import check_region, load_region
from popsim.run.record import ltc_table

SYNTHETIC = Path(__file__).resolve().parents[1] / "regions" / "synthetic"
HEADER = "home_id,name,zone_id,kind,beds\n"


@pytest.fixture
def folder(tmp_path):
    out = tmp_path / "region"
    shutil.copytree(SYNTHETIC, out)
    return out


def _config(days: int = 240, ltc: LtcParams | None = None, events=(), **kw) -> ModelConfig:
    return ModelConfig(
        days=days,
        start=date(2026, 1, 1),
        demand=DemandParams(),
        care=CareParams(),
        ltc=ltc or LtcParams(),
        events=tuple(events),
        **kw,
    )


def _col(result, name: str) -> np.ndarray:
    return result.ltc_day[..., LTC_METRICS.index(name)]


def _alc_days(result) -> int:
    return int(result.facility_day[..., result.facility_metrics.index("alc_census")].sum())


# ------------------------------------------------------------------------ files
def test_shipped_regions_have_ltc_files():
    for name in ("synthetic", "fraser"):
        region = load_region(name)
        assert region.ltc is not None and region.home_support is not None
        assert (region.ltc["beds"] > 0).all()
        assert set(region.ltc["zone_id"]) <= set(region.zone_ids)
    fraser = load_region("fraser")
    beds = fraser.ltc[fraser.ltc["kind"] == "ltc"]["beds"].sum()
    assert 6000 <= beds <= 10000  # about 8,000 public LTC beds (an estimate, labelled)
    assert fraser.ltc["source"].str.startswith("est.").all()


def test_every_bad_line_is_reported_once(folder, capsys):
    (folder / LTC_FILE).write_text(
        HEADER
        + "H1,Home 1,Z01,ltc,20\n"  # fine
        + "H2,Home 2,Z99,ltc,20\n"  # unknown zone
        + "H3,Home 3,Z02,hospice,20\n"  # unknown kind
        + "H1,Home 1 again,Z03,ltc,20\n"  # duplicate id
        + "H4,Home 4,Z04,ltc,-3\n",  # negative beds
        encoding="utf-8",
    )
    (folder / HOME_SUPPORT_FILE).write_text(
        "zone_id,client_hours_per_week\nZ01,10\nZ77,5\nZ02,lots\n", encoding="utf-8"
    )
    problems = [str(p) for p in check_region(folder)]
    for path, line, field in (
        (LTC_FILE, 3, "zone_id"),
        (LTC_FILE, 4, "kind"),
        (LTC_FILE, 5, "home_id"),
        (LTC_FILE, 6, "beds"),
        (HOME_SUPPORT_FILE, 3, "zone_id"),
        (HOME_SUPPORT_FILE, 4, "client_hours_per_week"),
    ):
        hits = [p for p in problems if path in p and f"line {line}, {field}" in p]
        assert len(hits) == 1, (path, line, field, problems)
    assert len(problems) == 6
    assert main(["regions", "check", str(folder)]) == 2
    err = capsys.readouterr().err
    assert len(err.strip().splitlines()) == 6
    assert "Traceback" not in err


def test_home_support_without_homes_is_a_problem(folder):
    (folder / LTC_FILE).unlink()
    problems = [str(p) for p in check_region(folder)]
    assert len(problems) == 1 and HOME_SUPPORT_FILE in problems[0]


def test_a_region_without_the_file_keeps_drawn_alc_stays(folder):
    (folder / LTC_FILE).unlink()
    (folder / HOME_SUPPORT_FILE).unlink()
    region = load_region(folder)
    model = RegionModel(region, _config(days=60), seed=1)
    result = model.run()
    assert region.ltc is None and not model.ltc.takes_alc and result.ltc_day is None
    assert model.demand.totals["alc_stays"] > 0
    # drawn lengths: the ALC patients leave by themselves
    assert 0 < model.demand.totals["alc_days"] < ALC_OPEN_DAYS * model.demand.totals["alc_stays"]


# ------------------------------------------------------------- the hand-over
@settings(
    max_examples=4, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    seed=st.integers(0, 10_000),
    p_ltc=st.floats(0.0, 1.0),
    rel_beds=st.floats(0.0, 2.0),
    rel_support=st.floats(0.0, 3.0),
    first_come=st.booleans(),
)
def test_every_alc_patient_leaves_by_ltc_home_or_death(
    synthetic, seed, p_ltc, rel_beds, rel_support, first_come
):
    params = LtcParams(
        p_alc_needs_ltc=p_ltc,
        rel_beds=rel_beds,
        rel_home_support=rel_support,
        hospital_priority_days=0 if first_come else 60,
        alc_death_per_year=2.0,
    )
    model = RegionModel(synthetic, _config(days=150, ltc=params), seed=seed)
    result = model.run()
    ltc = model.ltc
    ltc.settle(model)  # the last day's hand-over
    ends = dict(ltc.alc_ends)
    assert ltc.n_alc_started > 0
    assert ends.get(ALC_OTHER, 0) == 0  # no ALC stay ends otherwise
    assert ltc.n_alc_started == sum(ends.values()) + len(ltc.alc)
    # every patient the module still counts as ALC is an ALC patient in hospital
    in_alc = model.care.place.in_alc
    assert set(ltc.alc) == in_alc
    # the journeys agree: each ALC stay is followed by its discharge or death, or is open
    j = result.journey_frame()
    alc_rows = j[j["event"] == "alc"]
    ended = j[j["event"].isin(["discharge", "death"])]
    for r in alc_rows["resident_id"].unique()[:200].tolist():
        left = (ended["resident_id"] == r).any()
        assert left or r in in_alc, r
    # LTC never holds more residents than beds (a bed cut aside: none here)
    assert (_col(result, "ltc_residents") <= _col(result, "ltc_beds")).all()
    assert set(ends) <= set(range(len(ALC_END_NAMES)))


def test_an_ltc_resident_in_hospital_goes_back_to_its_home(synthetic):
    model = RegionModel(synthetic, _config(days=200), seed=5)
    model.run()
    # residents admitted to LTC stay there: none of them waits for a place again
    assert not set(model.ltc.res_home) & set(model.ltc.wl.entry)


# --------------------------------------------------------------- the lever
def test_more_ltc_beds_mean_fewer_alc_days_and_fewer_mean_more(synthetic):
    """Paired runs (same seeds, common random numbers): LTC capacity moves ALC days and
    ED boarding, summed over three seeds (the synthetic region has 80 LTC beds and 34
    ward beds: one seed's year is noisy; on Fraser every pair moved the same way)."""
    days, boarding = {}, {}
    for rel in (0.25, 1.0, 3.0):
        days[rel] = boarding[rel] = 0
        for seed in (2, 3, 4):
            params = LtcParams(rel_beds=rel)
            result = RegionModel(synthetic, _config(ltc=params), seed=seed).run()
            days[rel] += _alc_days(result)
            metrics = result.facility_metrics
            boarding[rel] += int(result.facility_day[..., metrics.index("ed_boarding")].sum())
    assert days[3.0] < days[1.0] < days[0.25], days
    assert boarding[3.0] < boarding[1.0] < boarding[0.25], boarding


def _alc_and_boarding(synthetic, seed: int, days: int, events=(), **ltc) -> tuple[int, int]:
    cfg = _config(days=days, ltc=LtcParams(**ltc), events=events, record_journeys=False)
    result = RegionModel(synthetic, cfg, seed=seed).run()
    metrics = result.facility_metrics
    boarding = int(result.facility_day[..., metrics.index("ed_boarding")].sum())
    return _alc_days(result), boarding


@pytest.mark.slow
@settings(
    max_examples=6, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(seed=st.integers(0, 100_000), beds=st.integers(1, 20), zone=st.integers(0, 3))
@example(seed=23585, beds=1, zone=1)
def test_adding_ltc_beds_never_increases_alc_days_in_a_pair(synthetic, seed, beds, zone):
    """One replicate with and without ``beds`` more LTC beds in one zone (common random
    numbers: every LTC decision is keyed by what it decides): ALC days never rise with
    more beds and never fall with fewer. ED boarding, a queue downstream of the ward
    beds, is compared across the whole gap (more against fewer): one bed apart it can
    cross by a patient-day as freed beds reach other patients in another order (seed
    23585, 1 bed, zone 1: boarding 44 with more, 45 at base, 44 with fewer)."""
    base = _alc_and_boarding(synthetic, seed, 150)
    more = _alc_and_boarding(synthetic, seed, 150, (ChangeLtcBeds(0, beds, (zone,)),))
    fewer = _alc_and_boarding(synthetic, seed, 150, (ChangeLtcBeds(0, -beds, (zone,)),))
    assert more[0] <= base[0] <= fewer[0], (more, base, fewer)
    assert more[1] <= fewer[1], (more, base, fewer)


def test_home_support_shortens_alc_waits(synthetic):
    days = {}
    for rel in (0.0, 3.0):
        params = LtcParams(rel_home_support=rel, p_alc_needs_ltc=0.3)
        days[rel] = _alc_days(RegionModel(synthetic, _config(ltc=params), seed=4).run())
    assert days[3.0] < days[0.0], days


# ----------------------------------------------------------------- events
def test_events_open_close_and_resize(synthetic):
    z = [synthetic.zone_index("Z01"), synthetic.zone_index("Z02")]
    events = (
        ChangeLtcBeds(5, 30, (z[0], z[1])),
        ChangeLtcBeds(10, -50, (z[0],)),
        ChangeHomeSupport(10, 1.0, (z[1],)),
    )
    result = RegionModel(synthetic, _config(days=12, events=events), seed=1).run()
    beds = _col(result, "ltc_beds")
    slots = _col(result, "home_support_slots")
    assert beds[4, z[0]] == 20 and beds[5, z[0]] == 35 and beds[5, z[1]] == 35
    assert beds[10, z[0]] == 0  # 35 beds less 50: every bed of the zone closed
    assert slots[10, z[1]] >= 2 * slots[9, z[1]] - 1
    assert (slots[10, [z[0], 2, 3]] == slots[9, [z[0], 2, 3]]).all()


def test_events_from_a_spec(tmp_path, synthetic):
    from popsim.run.spec import load_spec

    spec = tmp_path / "s.toml"
    spec.write_text(
        f'name = "t"\nregion = "{SYNTHETIC.as_posix()}"\ndays = 5\nreplicates = 1\n'
        "[scenarios.more]\n"
        'events = [{ day = 1, ltc_beds = 10, zones = ["Z01"] }, '
        "{ day = 2, home_support = 0.2 }]\n",
        encoding="utf-8",
    )
    loaded = load_spec(spec)
    events = loaded.model_config_for("more", loaded.load_region()).events
    assert ChangeLtcBeds(1, 10, (0,)) in events and ChangeHomeSupport(2, 0.2, ()) in events


# ----------------------------------------------------------- table, analysis
def test_ltc_day_table(synthetic):
    result = RegionModel(synthetic, _config(days=20), seed=1).run()
    table = ltc_table(result, replicate=3)
    assert tuple(table.column_names) == (*LTC_KEYS, *LTC_METRICS)
    assert table.num_rows == 20 * synthetic.n_zones
    assert set(table["replicate"].to_pylist()) == {3}


def test_paired_interval_of_a_constant_effect_is_that_effect():
    rows = []
    for r in range(8):
        noise = float(r * r)
        for scenario, shift in (("baseline", 0.0), ("more", -5.0)):
            rows.append({"scenario": scenario, "replicate": r, "window": "all"})
            rows[-1].update({m: noise + shift for m in ("alc_days", "ed_boarding_days")})
    frame = pd.DataFrame(rows)
    for m in ("ltc_occupancy", "admit_hospital", "admit_community", "wait_hospital_days",
              "wait_community_days", "waitlist_hospital", "waitlist_community"):  # fmt: skip
        frame[m] = 1.0
    comp = ltc_comparison(frame, "baseline")
    alc = comp[comp["measure"] == "alc_days"].iloc[0]
    assert alc["diff_mean"] == -5.0 and alc["ci90_low"] == -5.0 and alc["ci90_high"] == -5.0


def test_ltc_parameters_are_calibratable(tmp_path):
    """A calibration names them as section.parameter; a value out of range is refused."""
    from popsim.run.spec import SpecError, load_spec
    from popsim.twin.sim import with_parameters

    path = tmp_path / "s.toml"
    path.write_text(
        f'name = "t"\nregion = "{SYNTHETIC.as_posix()}"\ndays = 5\nreplicates = 1\n[ltc]\n',
        encoding="utf-8",
    )
    spec = load_spec(path)
    scenario = next(iter(spec.scenarios))
    new = with_parameters(spec, {"ltc.p_alc_needs_ltc": 0.6, "ltc.rel_beds": 1.2})
    params = new.params("ltc", scenario)
    assert (params.p_alc_needs_ltc, params.rel_beds) == (0.6, 1.2)
    with pytest.raises(SpecError, match="p_alc_needs_ltc"):
        with_parameters(spec, {"ltc.p_alc_needs_ltc": 1.5})


def test_validation_rows(synthetic, small_region):
    """At the region's own population: seven labelled rows, the hand-over conserved;
    none for a region without long-term care or away from its population."""
    from popsim.ltc.checks import ltc_rows

    rows = ltc_rows(synthetic, synthetic.total_population, seed=1)
    assert len(rows) == 7
    labels = ("calibration target", "calibration target", "validation")
    labels += ("calibration target",) * 3
    for (check, *_), label in zip(rows, labels, strict=False):
        assert f"({label}" in check or f"; {label}" in check, check
    assert "verification" in rows[6][0] and rows[6][4] is True
    assert ltc_rows(synthetic, 2 * synthetic.total_population, seed=1) == []
    assert ltc_rows(small_region, small_region.total_population, seed=1) == []


@given(st.lists(st.tuples(st.booleans(), st.integers(0, 600)), max_size=400))
def test_id_array_is_the_set_of_its_ids(ops):
    """Adds and removals in any order (repeats, removals of absent ids, growth past the
    first buffer): the array holds each id of the set once, and ``in`` and ``len`` agree."""
    ids, want = IdArray(), set()
    for add, r in ops:
        if add:
            ids.add(r)
            want.add(r)
        else:
            ids.discard(r)
            want.discard(r)
        assert len(ids) == len(want)
    arr = ids.array()
    assert sorted(arr.tolist()) == sorted(want)
    assert all(r in ids for r in want) and not any(r in ids for r in range(601) if r not in want)
