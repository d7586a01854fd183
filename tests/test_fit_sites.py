"""Fraser's routing fit (``regions/fraser/fit_sites.py``): what enters its loss, what it
writes, and a short fit on a small synthetic region."""

import csv
import importlib.util
import shutil
import sys
from pathlib import Path

import numpy as np
import pytest

from popsim.region.load import load_region
from popsim.site_checks import Target

ROOT = Path(__file__).resolve().parents[1]
SPEC = importlib.util.spec_from_file_location("fit_sites", ROOT / "regions/fraser/fit_sites.py")
fit_sites = importlib.util.module_from_spec(SPEC)
sys.modules.setdefault("fit_sites", fit_sites)  # (its dataclasses look their module up)
SPEC.loader.exec_module(fit_sites)


def figures(targets, beds=(100.0, 40.0), boarders=(0.0, 0.0)):
    n = len(beds)
    zero = np.zeros(n)
    return fit_sites.SiteFigures(
        ids=[f"s{i}" for i in range(n)],
        beds=np.asarray(beds),
        occupancy=zero,
        boarders=np.asarray(boarders),
        ed_visits=zero,
        transfers_out=zero,
        transfers_in=zero,
        admissions=zero,
        targets=targets,
        region_occupancy=1.0,
        region_boarders=float(sum(boarders)),
    )


def target(use, value=1.2, low=1.1, high=1.3):
    return Target(("s0",), "occupancy", value, low, high, "2019", use, "x")


def test_only_calibration_targets_and_the_boarding_limit_enter_the_loss():
    # a held-out row far outside its band changes nothing
    assert fit_sites.loss(figures([(target("validation"), 5.0)])) == 0.0
    # a calibration target at its band's edge costs 1, a band's width off 2; of two
    # targets the worse one counts
    assert fit_sites.loss(figures([(target("calibration"), 1.3)])) == pytest.approx(1.0)
    assert fit_sites.loss(figures([(target("calibration"), 1.0)])) == pytest.approx(2.0)
    both = [(target("calibration"), 1.25), (target("calibration"), 1.0)]
    assert fit_sites.loss(figures(both)) == pytest.approx(2.0)
    # boarders within a quarter of the beds plus the tolerance cost nothing; beyond it,
    # the penalty grows with each boarder
    limit = 0.25 * 40 + fit_sites.BOARDING_TOLERANCE
    assert fit_sites.loss(figures([], boarders=(0.0, limit))) == 0.0
    one = fit_sites.loss(figures([], boarders=(0.0, limit + 1)))
    two = fit_sites.loss(figures([], boarders=(0.0, limit + 2)))
    assert 0 < one < two


def test_a_target_counts_on_its_worst_seed_not_on_the_mean():
    # mean 1.2 (on the value), but one seed at the band's edge: the loss is that seed's
    fig = figures([(target("calibration"), 1.2)])
    spread = fit_sites.SiteFigures(**{**fig.__dict__, "target_seeds": ((1.1, 1.2, 1.3),)})
    assert fit_sites.loss(fig) == pytest.approx(0.0)
    assert fit_sites.loss(spread) == pytest.approx(1.0)
    # a held-out row's seeds never enter
    held = figures([(target("validation"), 1.2)])
    held = fit_sites.SiteFigures(**{**held.__dict__, "target_seeds": ((0.0, 9.0),)})
    assert fit_sites.loss(held) == 0.0


def test_write_fit_changes_the_shares_and_keeps_every_other_cell(tmp_path):
    folder = tmp_path / "fraser"
    shutil.copytree(ROOT / "regions/fraser", folder, ignore=shutil.ignore_patterns("*.py"))
    before = list(csv.DictReader((folder / "facilities.csv").open(encoding="utf-8")))
    shares = {(p.facility_id, p.parameter): p.low for p in fit_sites.FREE}
    fit_sites.write_fit(folder, shares, "test")
    after = list(csv.DictReader((folder / "facilities.csv").open(encoding="utf-8")))
    assert [r["facility_id"] for r in after] == [r["facility_id"] for r in before]
    for old, new in zip(before, after, strict=True):
        for col in old:
            if (old["facility_id"], col) in shares:
                assert float(new[col]) == shares[old["facility_id"], col]
            else:
                assert new[col] == old[col]
    fac = load_region(folder).facilities.set_index("facility_id")
    for (fid, col), value in shares.items():
        assert fac.loc[fid, col] == pytest.approx(value)
    rows = list(csv.DictReader((folder / fit_sites.FIT_FILE).open(encoding="utf-8")))
    assert {(r["facility_id"], r["parameter"]) for r in rows} == set(shares)


def test_a_short_fit_on_a_small_region_never_ends_worse_than_it_started(tmp_path):
    folder = tmp_path / "synthetic"
    shutil.copytree(ROOT / "regions/synthetic", folder)
    (folder / "targets.csv").write_text(
        "facility_id,measure,value,band_low,band_high,year,use,source\n"
        "F2,occupancy,1.2,1.1,1.3,2019,calibration,test\n"
        "F3,occupancy,0.1,0.0,0.2,2019,validation,test (held out: must not pull the fit)\n",
        encoding="utf-8",
    )
    free = (fit_sites.Free("F2", "surge_share", 0.0, 0.5, 0.25, "test"),)
    region = load_region(folder)
    shares, before, after, used = fit_sites.fit(region, 20_000, (1, 2), 3, free)
    assert used <= 3
    assert fit_sites.loss(after) <= fit_sites.loss(before)
    assert 0.0 <= shares["F2", "surge_share"] <= 0.5
    assert [t.use for t, _ in after.targets] == ["calibration", "validation"]


def test_the_mean_over_seeds_lies_between_the_seeds(tmp_path):
    folder = tmp_path / "synthetic"
    shutil.copytree(ROOT / "regions/synthetic", folder)
    region = load_region(folder)
    one, two = (fit_sites.evaluate(region, 20_000, s) for s in (1, 2))
    mean = fit_sites.evaluate_mean(region, 20_000, (1, 2))
    low = np.minimum(one.occupancy, two.occupancy)
    high = np.maximum(one.occupancy, two.occupancy)
    assert np.all((low - 1e-12 <= mean.occupancy) & (mean.occupancy <= high + 1e-12))
    assert not np.array_equal(one.occupancy, two.occupancy)  # the seeds do differ
