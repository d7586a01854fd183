"""Run specs: TOML -> RunSpec -> ModelConfig per scenario; every spec error names its key."""

from __future__ import annotations

import tomllib
from datetime import date, timedelta
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popsim.core import event_types as ev
from popsim.errors import SpecError
from popsim.run.spec import RunSpec, load_spec
from popsim.run.specerrors import dotted

BAD_SPECS = sorted((Path(__file__).parent / "bad_specs").glob("*.toml"))


@pytest.fixture
def region(synthetic):
    return synthetic


def write(tmp_path: Path, text: str, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_minimal_spec(tmp_path, region):
    spec = load_spec(write(tmp_path, 'region = "synthetic"\n', "minimal.toml"))
    assert spec.name == "minimal"  # from the file name
    assert list(spec.scenarios) == ["baseline"]
    cfg = spec.model_config_for("baseline", region)
    assert cfg.days == 365 and cfg.start == date(2026, 1, 1)
    assert cfg.epidemic is None and cfg.demography is None  # off unless given
    assert cfg.demand is not None and cfg.care is not None  # on by default
    assert cfg.events == ()


def test_events_resolve_to_indices_and_days(tmp_path, region):
    text = """
region = "synthetic"
start = 2026-09-01
days = 100
[epidemic]
r0 = 1.5
seed_zones = ["Z02", "zone 3"]
[scenarios.all]
events = [
  { date = 2026-09-11, open = "F2" },
  { day = 5, close = "hospital 3" },
  { day = 1, facility = "F1", ward_beds = -4, icu_beds = 1 },
  { day = 20, contact_reduction = 0.3, zones = ["Z01"], setting = "community" },
  { day = 30, vaccinate = 0.6, efficacy = 0.7, ages = [65, 120] },
  { day = 40, electives = "pause" },
  { day = 50, electives = "resume" },
]
"""
    spec = load_spec(write(tmp_path, text))
    cfg = spec.model_config_for("all", region)
    assert cfg.events == (
        ev.ChangeBeds(1, 0, ward_beds=-4, icu_beds=1),
        ev.CloseFacility(5, 2),
        ev.OpenFacility(10, 1),
        ev.ContactReduction(20, 0.3, zones=(0,), setting="community"),
        ev.Vaccinate(30, 0.6, 0.7, min_age=65, max_age=120),
        ev.Electives(40, paused=True),
        ev.Electives(50, paused=False),
    )
    assert list(cfg.epidemic.seed_zones) == [1, 2]
    assert cfg.epidemic.r0 == 1.5


def test_scenario_overrides_and_switches(tmp_path, region):
    text = """
region = "synthetic"
[epidemic]
r0 = 1.5
start_day = 3
[scenarios.base]
[scenarios.worse]
epidemic = { r0 = 2.0 }
[scenarios.no-demand]
demand = { enabled = false }
"""
    spec = load_spec(write(tmp_path, text))
    base = spec.model_config_for("base", region)
    worse = spec.model_config_for("worse", region)
    assert (base.epidemic.r0, worse.epidemic.r0) == (1.5, 2.0)
    assert worse.epidemic.start_day == 3  # merged over the base section
    assert spec.model_config_for("no-demand", region).demand is None
    assert base.demand is not None


def test_overrides_shorten_the_run_and_drop_late_events(tmp_path, region):
    text = """
region = "synthetic"
days = 100
[scenarios.a]
events = [{ day = 5, close = "F2" }, { day = 60, open = "F2" }]
"""
    spec = load_spec(write(tmp_path, text)).with_overrides(days=10, population=3000, replicates=2)
    cfg = spec.model_config_for("a", region)
    assert (cfg.days, cfg.population, spec.replicates) == (10, 3000, 2)
    assert cfg.events == (ev.CloseFacility(5, 1),)
    with pytest.raises(SpecError, match="replicates"):
        spec.with_overrides(replicates=0)


def test_spec_round_trips_through_json(tmp_path):
    spec = load_spec(write(tmp_path, 'region = "synthetic"\n[epidemic]\nr0 = 2.0\n'))
    again = RunSpec.from_dict(__import__("json").loads(spec.to_json()))
    assert again.to_json() == spec.to_json()


def test_dotted_paths():
    assert dotted(("scenarios", "a-b", "events", 3, "day")) == "scenarios.a-b.events[3].day"
    assert dotted(("days",)) == "days"


@pytest.mark.parametrize("path", BAD_SPECS, ids=[p.stem for p in BAD_SPECS])
def test_bad_spec_names_file_and_key(path):
    expect = path.read_text(encoding="utf-8").splitlines()[0].removeprefix("# expect: ")
    with pytest.raises(SpecError) as info:
        load_spec(path, check_region=True)
    message = str(info.value)
    assert message.startswith(f"{path}: {expect}"), message
    assert "\n" not in message


def test_bad_spec_corpus_is_not_empty():
    assert len(BAD_SPECS) >= 15


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(offset=st.integers(0, 99), start=st.dates(date(2000, 1, 1), date(2090, 1, 1)))
def test_date_and_day_give_the_same_event(offset, start, region):
    when = start + timedelta(days=offset)
    text = f"""
name = "t"
region = "synthetic"
start = {start.isoformat()}
days = 100
[scenarios.by-day]
events = [{{ day = {offset}, close = "F2" }}]
[scenarios.by-date]
events = [{{ date = {when.isoformat()}, close = "F2" }}]
"""
    spec = RunSpec.from_dict(tomllib.loads(text))
    by_day = spec.model_config_for("by-day", region).events
    assert (
        by_day == spec.model_config_for("by-date", region).events == (ev.CloseFacility(offset, 1),)
    )


def test_every_problem_of_a_spec_is_reported_one_line_each(tmp_path):
    """Defect: only the first problem was shown ("and 2 more problems")."""
    text = (
        'region = "synthetic"\ndays = true\nrecord_journeys = "yes"\n'
        "[epidemic]\nr0 = -1\nseed_infections = 1.5\n[demand]\nfoo = 1\n"
        '[scenarios.a]\nevents = [{ day = 1, close = "nowhere" }, { day = 2 }]\n'
    )
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text), check_region=True)
    lines = str(info.value).splitlines()
    keys = [line.split(": ")[1] for line in lines]
    assert keys == ["days", "record_journeys"]  # the top level fails first: sections wait
    text = text.replace("days = true\n", "").replace('record_journeys = "yes"\n', "")
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text), check_region=True)
    keys = [line.split(": ")[1] for line in str(info.value).splitlines()]
    assert keys == ["epidemic.r0", "epidemic.seed_infections", "demand.foo"]
    text = text.replace("r0 = -1\nseed_infections = 1.5\n", "").replace("foo = 1\n", "")
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text), check_region=True)
    keys = [line.split(": ")[1] for line in str(info.value).splitlines()]
    assert keys == ["scenarios.a.events[0].close", "scenarios.a.events[1]"]


def test_problems_against_the_region_all_come_in_one_pass(tmp_path):
    """Before: a bad seed zone, an event on day 500, an unknown site, a bed cut larger
    than the site and inverted ages took three runs to see; the cut was clamped to 0
    beds without a word, also under --check."""
    text = (
        'region = "synthetic"\ndays = 30\n[epidemic]\nseed_zones = ["nowhere"]\n'
        "[scenarios.a]\nevents = [\n"
        '  { day = 500, close = "F1" },\n  { day = 1, close = "NOPE" },\n'
        '  { day = 2, facility = "F1", ward_beds = -1000 },\n'
        "  { day = 3, vaccinate = 0.5, efficacy = 0.5, ages = [80, 20] },\n]\n"
    )
    with pytest.raises(SpecError) as info:
        load_spec(write(tmp_path, text), check_region=True)
    keys = sorted(line.split(": ")[1] for line in str(info.value).splitlines())
    assert keys == [
        "epidemic.seed_zones[0]",
        "scenarios.a.events[0].day",
        "scenarios.a.events[1].close",
        "scenarios.a.events[2].ward_beds",
        "scenarios.a.events[3].ages",
    ]


def test_a_bed_cut_larger_than_the_site_is_reported_with_what_it_has(tmp_path, region):
    beds = int(region.facilities["ward_beds"].iloc[0])
    cut = 'region = "synthetic"\n[scenarios.a]\nevents = [{ day = 1, facility = "F1", '
    spec = load_spec(write(tmp_path, cut + f"ward_beds = -{beds} }}]\n"))
    spec.check(region)  # down to zero: allowed
    grow = '{ day = 0, facility = "F1", ward_beds = 5 }, '
    spec = load_spec(
        write(tmp_path, cut.replace("[{", "[" + grow + "{") + f"ward_beds = -{beds + 5} }}]\n")
    )
    spec.check(region)  # the scenario's earlier beds count
    spec = load_spec(write(tmp_path, cut + f"ward_beds = -{beds + 1} }}]\n"))
    with pytest.raises(SpecError, match=f"which has {beds} on day 1; .*clamped"):
        spec.check(region)


def test_strict_types_still_take_an_integer_for_a_real_number(tmp_path, region):
    spec = load_spec(write(tmp_path, 'region = "synthetic"\n[epidemic]\nr0 = 2\n'))
    assert spec.params("epidemic", "baseline").r0 == 2.0
    ages = 'region = "synthetic"\n[scenarios.v]\nevents = [{ day = 0, vaccinate = 0.5, '
    spec = load_spec(write(tmp_path, ages + "efficacy = 0.6, ages = [65, 120] }]\n"))
    (event,) = spec.model_config_for("v", region).events
    assert (event.min_age, event.max_age) == (65, 120)


def test_draws_outside_the_parameters_range_are_refused_before_the_run(tmp_path, region):
    """Before: r0 = { dist = "normal", mean = 1.5, sd = 100 } passed --check (validated
    at its mean) and the replicates drawing r0 <= 0 or > 30 failed on their workers."""
    text = 'region = "synthetic"\nreplicates = 8\n[epidemic]\nr0 = {{ dist = "normal", {} }}\n'
    with pytest.raises(SpecError) as info:  # its support (on reading), else its draws
        load_spec(write(tmp_path, text.format("mean = 1.5, sd = 100"))).check(region)
    (line,) = str(info.value).splitlines()
    assert "epidemic.r0: " in line and "Input should be greater than 0" in line
    narrow = load_spec(write(tmp_path, text.format("mean = 1.5, sd = 0.1")))
    narrow.check(region)
    from popsim.run.speccheck import draw_problems

    # each replicate's own draw, checked as it will run: none out of range
    assert draw_problems(narrow) == []
