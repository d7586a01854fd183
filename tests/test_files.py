"""Atomic writes: a failed writer leaves neither a half file nor a temp file."""

import pytest

from popsim.files import atomic_write, remove_temp_files, write_text


def test_write_text_creates_folders_and_replaces_whole(tmp_path):
    path = tmp_path / "a" / "b" / "x.json"
    write_text(path, "first")
    write_text(path, "second")
    assert path.read_text() == "second"
    assert [p.name for p in path.parent.iterdir()] == ["x.json"]


def test_a_writer_that_fails_leaves_the_old_file_and_no_temp(tmp_path):
    path = tmp_path / "table.csv"
    write_text(path, "old")

    def half_then_crash(tmp):
        tmp.write_text("half")
        raise RuntimeError("disk gone")

    with pytest.raises(RuntimeError):
        atomic_write(path, half_then_crash)
    assert path.read_text() == "old"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["table.csv"]


def test_remove_temp_files_counts_only_hidden_temps(tmp_path):
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / ".part-0001.parquet.abc.tmp").write_text("x")
    (tmp_path / "keep.tmp").write_text("visible: not ours")
    assert remove_temp_files(tmp_path) == 1
    assert (tmp_path / "keep.tmp").exists()
    assert remove_temp_files(tmp_path / "missing") == 0
