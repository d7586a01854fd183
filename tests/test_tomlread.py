"""TOML input with its nesting bounded: arrays, inline tables, dotted keys and table
headers thousands of levels deep end in one line naming the file, exit 2, never a
RecursionError; what popsim's own files need reads as before."""

from __future__ import annotations

import shutil
import tomllib

import pytest
from hypothesis import given
from hypothesis import strategies as st

from popsim import tomlread
from popsim.cli import main
from popsim.region.load import resolve_region

DEEP = 3000
FORMS = {
    "array": lambda n: "x = " + "[" * n + "1" + "]" * n,
    "inline table": lambda n: "x = " + "{a = " * n + "1" + "}" * n,
    "dotted key": lambda n: ".".join(["a"] * n) + " = 1",
    "table header": lambda n: "[" + ".".join(["a"] * n) + "]\nk = 1",
}


@pytest.mark.parametrize("form", sorted(FORMS))
def test_deep_nesting_is_refused_in_one_line_before_it_recurses(form):
    with pytest.raises(tomlread.TooDeep, match=f"at most {tomlread.MAX_DEPTH}|more than"):
        tomlread.loads(FORMS[form](DEEP))


@given(
    form=st.sampled_from(sorted(FORMS)),
    depth=st.integers(1, tomlread.MAX_DEPTH - 1),
)
def test_nesting_within_the_bound_reads_as_tomllib_does(form, depth):
    text = FORMS[form](depth)
    assert tomlread.loads(text) == tomllib.loads(text)


def test_brackets_inside_strings_and_comments_are_not_nesting():
    text = 'a = "[[[[{{{{"\nb = \'[[[\'\nc = """\n[[[[[\n"""\n# [[[[[[[[\nd = [[1], [2]]\n'
    assert tomlread.bracket_depth(text) == 2
    assert tomlread.loads(text)["d"] == [[1], [2]]


@pytest.mark.parametrize("form", ["array", "table header"])
def test_a_deep_spec_exits_2_with_one_line(form, tmp_path, capsys):
    spec = tmp_path / "deep.toml"
    spec.write_text('region = "synthetic"\n' + FORMS[form](DEEP) + "\n", encoding="utf-8")
    assert main(["run", str(spec), "--check", "--quiet", "--out", str(tmp_path / "o")]) == 2
    err = capsys.readouterr().err
    assert err.startswith(f"popsim: error: {spec}: ") and "nested" in err
    assert err.count("\n") == 1 and "Traceback" not in err
    assert not (tmp_path / "o").exists()


@pytest.mark.parametrize("form", ["inline table", "dotted key"])
def test_a_deep_region_toml_is_one_problem_of_regions_check(form, tmp_path, capsys):
    folder = tmp_path / "region"
    shutil.copytree(resolve_region("synthetic"), folder)
    meta = folder / "region.toml"
    meta.write_text(meta.read_text(encoding="utf-8") + FORMS[form](DEEP) + "\n", encoding="utf-8")
    assert main(["regions", "check", str(folder)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and f"{meta}: " in err and "nested" in err
