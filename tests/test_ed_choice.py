"""Fraser's distance-decay ED choice analysis (``regions/fraser/ed_choice.py``)."""

import importlib.util
import sys
from pathlib import Path

import numpy as np
import pytest

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("ed_choice", ROOT / "regions/fraser/ed_choice.py")
ed_choice = importlib.util.module_from_spec(SPEC)
sys.modules.setdefault("ed_choice", ed_choice)
SPEC.loader.exec_module(ed_choice)

#: two zones, three sites; site 2 has no open ED
MINUTES = np.array([[10.0, 20.0, 1.0], [30.0, 12.0, 1.0]])
OPEN = np.array([True, True, False])
PEOPLE = np.array([1000.0, 500.0])


def test_the_nearest_rule_sends_each_zone_to_its_nearest_open_ed():
    got = ed_choice.ed_shares(MINUTES, OPEN, PEOPLE, None)
    np.testing.assert_allclose(got, [1000.0, 500.0, 0.0])


def test_decay_splits_by_the_logit_of_extra_minutes_and_keeps_every_visit():
    beta = 0.1
    got = ed_choice.ed_shares(MINUTES, OPEN, PEOPLE, beta)
    far = np.exp(-beta * 10) / (1 + np.exp(-beta * 10))  # zone 0: site 1 is 10 min further
    far1 = np.exp(-beta * 18) / (1 + np.exp(-beta * 18))  # zone 1: site 0 is 18 further
    assert got[0] == pytest.approx(1000 * (1 - far) + 500 * far1)
    assert got.sum() == pytest.approx(PEOPLE.sum())
    assert got[2] == 0.0
    # a reach shorter than the gaps brings back the nearest rule
    np.testing.assert_allclose(
        ed_choice.ed_shares(MINUTES, OPEN, PEOPLE, beta, reach=5.0), [1000, 500, 0]
    )


def test_bad_arguments_exit_2(capsys):
    assert ed_choice.main(["--beta", "0"]) == 2
    assert "--beta" in capsys.readouterr().err
