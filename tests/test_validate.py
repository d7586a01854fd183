"""popsim validate: the quick report on the shipped region (real runs, real files)."""

import csv

import numpy as np
import pytest

from popsim.cli import main
from popsim.epidemic.households import generation_pmf
from popsim.epidemic.params import EpidemicParams
from popsim.validate import CLASSES, VERIFICATION, Check, final_size, generation_mgf
from popsim.validate.care import dispersion_tolerance
from popsim.validate.epidemic import realised_r0

#: Rows the model fails today, each with its reason (reported, not hidden):
KNOWN_FAILURES = {
    # 5.3 against Wilson et al.'s 4.0 at 2.0 M (passes by chance when small): their
    # count is every special care unit stay from birth (neonatal ICUs, coronary care,
    # step-down), about 11 per 1,000 residents a year against Ontario's 4.9 ICU
    # admissions, so not like-for-like (docs/validation.md); no adult-only Canadian
    # figure by age was found to replace it
    "ICU admission rate ratio, 65+ / under 65 (drawn stays that entered an ICU)",
    # (full report only, long-term care on) deaths in care homes 0.210 at 2.0 M against
    # BC's 0.29 of 2004-2008, at the edge of chance: Fraser has fewer LTC beds per death
    # than BC, and the Seniors Advocate's longer stays would give fewer deaths still
    "share of all deaths that happen in a long-term care home (default year)",
}


@pytest.mark.slow
def test_quick_validation_writes_the_report_and_every_check_passes(tmp_path, capsys):
    out = tmp_path / "report"
    assert main(["validate", "--quick", "--out", str(out)]) == 0
    with open(out / "validation.csv", newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    assert rows and list(rows[0]) == [
        "check",
        "class",
        "expected",
        "source",
        "measured",
        "verdict",
    ]
    assert all(r["class"] in CLASSES for r in rows)
    assert {r["class"] for r in rows} == set(CLASSES)
    names = " ".join(r["check"] for r in rows)
    for topic in (
        "final size",
        "early growth",
        "attack rate, children",
        "influenza season: hospitalisations per 10,000",
        "ICU share",
        "COVID-19 ancestral",
        "admissions per 1,000",
        "ED visits",
        "acute length of stay",
        "ALC share of stays",
        "ALC share of acute bed-days",
        "crude death rate",
        "crude birth rate",
        "Little's law",
        "dispersion",
        "weeks at or above half the peak week",
        "month of the peak week",
        "deaths per 100,000, in and out of hospital",
        "share of deaths in hospital",
        "decedents in hospital in their last 6 months",
        "share of hospitalisations aged 65+",
        "admission rate ratio, 65+ / under 65",
        "ICU admission rate ratio",
        "mean length of stay, 65+ / 20-64",
        "monthly admissions",
    ):
        assert topic in names, topic
    assert all(r["source"] and r["measured"] for r in rows)
    assert sum(r["class"] == "validation" for r in rows) >= 6
    failed = [r for r in rows if r["verdict"] != "pass" and r["check"] not in KNOWN_FAILURES]
    assert not failed, failed
    page = (out / "validation.html").read_text(encoding="utf-8")
    assert page.count("<tr") == len(rows) + 1
    n_pass = sum(r["verdict"] == "pass" for r in rows)
    assert f"{n_pass} of {len(rows)} checks pass" in capsys.readouterr().out


def test_every_row_names_its_class():
    with pytest.raises(TypeError):
        Check("a", "b", "c", "d", True)  # type: ignore[call-arg]
    with pytest.raises(ValueError, match="class must be one of"):
        Check("a", "b", "c", "d", True, kind="validated")
    assert Check("a", "b", "c", "d", True, kind=VERIFICATION).row()["class"] == VERIFICATION


def test_a_bad_population_is_one_line_and_exit_2(tmp_path, capsys):
    assert main(["validate", "--population", "10", "--out", str(tmp_path)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "--population" in err[0]
    assert not any(tmp_path.iterdir())


def test_final_size_and_the_generation_interval_relations():
    # z = 1 - exp(-R0 z): R0 2 gives about 0.797 (a textbook figure); none below 1
    assert abs(final_size(2.0) - 0.7968) < 1e-3 and final_size(0.9) == 0.0
    from popsim.epidemic.params import EpidemicParams

    p = EpidemicParams(dur_latent={"mean": 3, "sd": 0}, dur_infectious={"mean": 1, "sd": 0})
    # a fixed generation interval of 3 days: M(-r) = exp(-3 r) exactly
    assert abs(generation_mgf(p, 0.1) - 2.718281828**-0.3) < 1e-9


def test_the_realised_r0_of_a_renewal_process_is_its_r0():
    # a stochastic renewal process written here (Poisson each day, given the past), with
    # the model's generation interval: the estimator finds its R within its own chance
    p = EpidemicParams(r0=1.8)
    g = generation_pmf(p)
    rng = np.random.default_rng(7)
    n, days = 1_000_000, 160
    for big_r in (1.4, 1.8):
        d = np.zeros(days)
        d[0] = 50
        for t in range(1, days):
            force = (g[1 : t + 1] * d[t - 1 :: -1][:t]).sum()
            d[t] = rng.poisson(big_r * (1 - d[:t].sum() / n) * force)
        got, chance, a, b = realised_r0(d, n, p)
        assert b - a >= 5 and abs(got - big_r) <= chance, (big_r, got, chance)


def test_the_dispersion_band_tells_poisson_from_overdispersed():
    # 300 replicates: Poisson censuses pass (all but about 1 in 1,000), a census with a
    # variance 1.5 times its mean fails
    rng = np.random.default_rng(3)
    tol = dispersion_tolerance(300)

    def index(x: np.ndarray) -> float:
        return float(x.var(ddof=1) / x.mean())

    poisson = [abs(index(rng.poisson(50, 300)) - 1) <= tol for _ in range(200)]
    assert sum(poisson) >= 197
    # negative binomial with mean 50 and variance 75: n = 50**2 / 25 = 100
    over = [abs(index(rng.negative_binomial(100, 100 / 150, 300)) - 1) <= tol for _ in range(200)]
    assert sum(over) <= 60


def test_stays_pair_each_arrival_with_its_end():
    from types import SimpleNamespace

    from popsim.core.schema import EVENT_NAMES
    from popsim.validate.outcomes import stays

    ev = {name: i for i, name in enumerate(EVENT_NAMES)}
    units = ("ed", "ward", "icu", "alc", "icu_outside")
    # resident 0: in hospital at the start (not counted), then a stay of 5 days through
    # ICU; resident 1: two stays of 2 and 3 days; resident 2: still in at the end
    rows = [
        (0, 0, "start", "ward"),
        (1, 1, "arrive", "ed"),
        (1, 1, "admit", "ward"),
        (0, 2, "discharge", "ward"),
        (1, 3, "discharge", "ward"),
        (0, 4, "arrive", "ed"),
        (0, 4, "admit", "icu"),
        (1, 5, "arrive", "ed"),
        (2, 6, "arrive", "ed"),
        (1, 8, "death", "ward"),
        (0, 9, "discharge", "ward"),
    ]
    journeys = {
        "resident_id": np.array([r[0] for r in rows], dtype=np.int32),
        "day": np.array([r[1] for r in rows], dtype=np.int16),
        "event": np.array([ev[r[2]] for r in rows], dtype=np.uint8),
        "unit": np.array([units.index(r[3]) for r in rows], dtype=np.uint8),
    }
    result = SimpleNamespace(journeys=journeys, journey_codes={"event": EVENT_NAMES, "unit": units})
    s = stays(result, np.array([70, 30, 50]))
    got = sorted(zip(s.age.tolist(), s.begin.tolist(), s.end.tolist(), s.icu.tolist(), strict=True))
    assert got == [(30, 1, 3, False), (30, 5, 8, False), (50, 6, -1, False), (70, 4, 9, True)]


def test_the_monthly_spread_of_admissions():
    from datetime import date

    from popsim.validate.outcomes import winter_row

    # a year of flat daily admissions: the months differ by their days alone (28 to
    # 31: a spread of 3 / 30.4), too little (no winter); a winter peak of +/- 20% is
    # too much
    flat = winter_row(np.full(365, 1000.0), date(2026, 1, 1))
    assert abs(float(flat.measured.split()[0]) - 3 / (365 / 12)) < 0.002 and not flat.passed
    day = np.arange(365)
    peaked = winter_row(
        1000.0 * (1 + 0.2 * np.cos(2 * np.pi * (day - 20) / 365.25)), date(2026, 1, 1)
    )
    assert float(peaked.measured.split()[0]) > 0.3 and not peaked.passed


def test_the_icu_age_shape_row_fails_a_flat_or_too_steep_profile():
    from popsim.validate.outcomes import Stays, icu_shape_row

    # 10,000 residents of each age; ICU stays at 55 and 85 with the given counts
    age = np.repeat([55, 85], 10_000)

    def row(k50: int, k80: int):
        ages = np.repeat([55, 85], [k50, k80])
        s = Stays(age=ages, begin=np.zeros(len(ages)), end=np.zeros(len(ages)), icu=ages > 0)
        return icu_shape_row(s, age)

    assert row(400, 1800).passed  # 4.5: the source's shape
    assert not row(400, 400).passed  # flat
    assert not row(200, 1800).passed  # 9: twice too steep
    assert float(row(400, 1800).measured.split()[0]) == 4.5
