"""Fuzzing the spec validators: hypothesis specs (valid, and mutated in their values, keys,
scenario names, events and raw text) go through ``popsim run --check`` in-process. Each
must end with exit 0 ("ok"), or exit 2 and one line per problem naming the spec or the
argument; never a traceback (nesting thousands deep included), never a write outside the
output folder."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from popsim.cli import main
from popsim.twin import tomlw

TOP_KEYS = (
    "name",
    "description",
    "region",
    "start",
    "days",
    "population",
    "replicates",
    "seed",
    "record_journeys",
    "bogus",
)
SECTION_KEYS = {
    "epidemic": (
        "r0",
        "seed_infections",
        "seed_zones",
        "start_day",
        "importations",
        "dur_latent",
        "p_severe",
        "household_share",
        "mixing",
        "enabled",
        "bogus",
    ),
    "demand": ("rel_admissions", "winter_amplitude", "electives_paused", "enabled", "bogus"),
    "care": ("surge_share", "divert_at", "uncapped", "p_refer", "enabled", "bogus"),
    "demography": ("enabled", "bogus"),
}
EVENT_KINDS = ("open", "close", "facility", "contact_reduction", "vaccinate", "electives")
NAMES = ("F1", "F2", "Z01", "nowhere", "", "=1+1", "../../etc/passwd", "x" * 300)

text = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
hostile = st.one_of(
    st.integers(min_value=-(2**70), max_value=2**70),
    st.integers(min_value=-3, max_value=400),
    st.booleans(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1, max_value=3),
    text,
    st.sampled_from(NAMES),
    st.dates(),
    st.lists(st.one_of(st.integers(-5, 130), st.sampled_from(NAMES)), max_size=3),
    st.dictionaries(
        st.sampled_from(["dist", "low", "high", "mean", "sd", "day", "count"]),
        st.one_of(st.integers(-3, 40), st.floats(-2, 2), st.sampled_from(["uniform", "x"])),
        max_size=3,
    ),
)


@st.composite
def events(draw) -> dict:
    kind = draw(st.sampled_from(EVENT_KINDS))
    event: dict[str, Any] = {}
    when = draw(st.sampled_from(["day", "date", "both", "none"]))
    if when in ("day", "both"):
        event["day"] = draw(st.one_of(st.integers(0, 4), hostile))
    if when in ("date", "both"):
        event["date"] = draw(st.one_of(st.dates(), hostile))
    value = {
        "open": st.sampled_from(NAMES),
        "close": st.sampled_from(NAMES),
        "facility": st.sampled_from(NAMES),
        "contact_reduction": st.floats(0, 1),
        "vaccinate": st.floats(0, 1),
        "electives": st.sampled_from(["pause", "resume", "no"]),
    }[kind]
    event[kind] = draw(st.one_of(value, hostile))
    extra = {
        "facility": ("ward_beds", "icu_beds"),
        "vaccinate": ("efficacy", "ages", "zones"),
        "contact_reduction": ("zones", "setting"),
    }.get(kind, ())
    for key in draw(st.lists(st.sampled_from((*extra, "bogus")), max_size=2, unique=True)):
        event[key] = draw(hostile)
    return event


@st.composite
def spec_texts(draw) -> str:
    top: dict[str, Any] = {
        "region": "synthetic",
        "days": draw(st.integers(1, 5)),
        "population": 1000,
        "replicates": draw(st.integers(1, 3)),
    }
    sections: dict[str, dict] = {}
    scenarios: dict[str, dict] = {"baseline": {}}
    for _ in range(draw(st.integers(0, 4))):
        target = draw(st.sampled_from(["top", "section", "scenario"]))
        if target == "top":
            top[draw(st.sampled_from(TOP_KEYS))] = draw(hostile)
        elif target == "section":
            section = draw(st.sampled_from(sorted(SECTION_KEYS)))
            key = draw(st.sampled_from(SECTION_KEYS[section]))
            sections.setdefault(section, {})[key] = draw(hostile)
        else:
            name = draw(st.one_of(st.sampled_from(["a", "b-1", "x" * 150, "../up", "=x"]), text))
            scenarios[name] = {"events": draw(st.lists(events(), min_size=1, max_size=3))}
    doc = tomlw.dumps({**top, **sections, "scenarios": scenarios})
    if draw(st.integers(0, 4)) == 0:  # damage the text itself
        pos = draw(st.integers(0, len(doc)))
        doc = (
            doc[:pos]
            + draw(st.sampled_from(["", "=", "[", '"', "\x00", "]]", "\n["]))
            + doc[pos + 1 :]
        )
    if draw(st.integers(0, 4)) == 0:  # nesting: within the bound, or thousands deep
        doc = nested(
            doc,
            draw(st.sampled_from(["array", "inline", "dotted", "header"])),
            draw(st.one_of(st.integers(1, 40), st.integers(1000, 5000))),
        )
    return doc


def nested(doc: str, form: str, depth: int) -> str:
    """``doc`` with a value nested ``depth`` deep: an array, an inline table, a dotted key
    (these first) or a table header (last)."""
    if form == "header":
        return doc + "\n[" + ".".join(["n"] * depth) + "]\nk = 1\n"
    value = {
        "array": "x = " + "[" * depth + "1" + "]" * depth,
        "inline": "x = " + "{a = " * depth + "1" + "}" * depth,
        "dotted": ".".join(["n"] * depth) + " = 1",
    }[form]
    return value + "\n" + doc


def snapshot(root: Path, skip: Path) -> dict[str, bytes]:
    return {
        str(p): p.read_bytes() for p in root.rglob("*") if p.is_file() and skip not in p.parents
    }


@settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(doc=spec_texts())
def test_fuzzed_specs_end_in_ok_or_one_line_per_problem(doc, tmp_path_factory, capsys):
    root = tmp_path_factory.mktemp("fuzz")
    spec = root / "fuzz.toml"
    spec.write_text(doc, encoding="utf-8")
    out = root / "out"
    before = snapshot(root, out)
    code = main(["run", str(spec), "--check", "--quiet", "--out", str(out)])
    printed = capsys.readouterr()
    assert "Traceback" not in printed.err
    assert code in (0, 2), printed.err
    if code == 0:
        assert "ok" in printed.out and printed.err == ""
    else:
        lines = printed.err.splitlines()
        assert lines and all(line.startswith(("popsim: error: ", str(spec))) for line in lines), (
            printed.err
        )
    assert snapshot(root, out) == before
