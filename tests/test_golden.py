"""The golden baseline: a small stored run that every change must reproduce.

``tests/golden/spec.toml`` (three scenarios, every module on, 4 replicates of 400 days
on the synthetic region) is run through the command line and summarised per replicate
(facility sums and peaks, zone totals, journey event counts). Each figure's mean over
replicates must agree with ``tests/golden/baseline.json`` within four standard errors
of the difference of two means (from both sets' between-replicate spread); a figure
that does not vary between replicates must match exactly. A refactor reproduces it;
a change in behaviour (a new rule, a changed parameter) moves some figures well past
that.

When outputs are meant to change: bump the model version and run ``make golden``;
this test fails when the figures change but the version did not, and when the version
changed but the baseline was not regenerated.
"""

from __future__ import annotations

import json
import math
import sys
from pathlib import Path

import pytest

GOLDEN = Path(__file__).resolve().parent / "golden"
sys.path.insert(0, str(GOLDEN))

import make_baseline  # noqa: E402

pytestmark = [pytest.mark.slow, pytest.mark.cluster]


@pytest.fixture(scope="module")
def current(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, list[float]]]:
    out = tmp_path_factory.mktemp("golden") / "golden"
    make_baseline.run(out)
    return make_baseline.summarize(out)


@pytest.fixture(scope="module")
def stored() -> dict:
    return json.loads(make_baseline.BASELINE.read_text(encoding="utf-8"))


def _mean_sd(values: list[float]) -> tuple[float, float]:
    n = len(values)
    mean = sum(values) / n
    var = sum((v - mean) ** 2 for v in values) / (n - 1) if n > 1 else 0.0
    return mean, math.sqrt(var)


def differences(stored: dict, current: dict) -> tuple[list[str], int]:
    """Figures outside tolerance (as lines) and how many matched to the digit."""
    problems: list[str] = []
    identical = 0
    for scenario, figures in stored.items():
        now = current.get(scenario)
        if now is None:
            problems.append(f"{scenario}: scenario missing from the current run")
            continue
        for key in sorted(set(figures) | set(now)):
            if key not in now or key not in figures:
                problems.append(f"{scenario} {key}: present in only one of baseline and run")
                continue
            old, new = figures[key], now[key]
            if old == new:
                identical += 1
                continue
            m_old, s_old = _mean_sd(old)
            m_new, s_new = _mean_sd(new)
            se = math.sqrt(s_old**2 / len(old) + s_new**2 / len(new))
            if abs(m_new - m_old) > 4 * se:
                problems.append(
                    f"{scenario} {key}: baseline mean {m_old:.2f}, now {m_new:.2f} "
                    f"(tolerance {4 * se:.2f})"
                )
    return problems, identical


def test_outputs_match_the_golden_baseline_unless_the_version_moved(stored, current):
    version = make_baseline.model_version()
    problems, identical = differences(stored["figures"], current)
    if stored["model_version"] != version:
        pytest.fail(
            f"model version is {version} but the baseline was made with "
            f"{stored['model_version']}: run `make golden` and commit the new baseline"
        )
    assert not problems, (
        f"outputs changed ({len(problems)} figures; {identical} identical) but the model "
        f"version is still {version}: bump it, run `make golden` and say why in the "
        "commit.\n  " + "\n  ".join(problems[:20])
    )


def test_the_tolerance_catches_a_real_change(stored):
    """A 10% rise in one scenario's admissions is a behaviour change the check must see."""
    figures = stored["figures"]
    moved = {s: dict(f) for s, f in figures.items()}
    # (the admissions figure that varies least between replicates, relative to its mean)
    keys = [k for k in moved["baseline"] if k.endswith("admissions.sum")]
    key = min(
        keys,
        key=lambda k: _mean_sd(figures["baseline"][k])[1] / _mean_sd(figures["baseline"][k])[0],
    )
    moved["baseline"][key] = [v * 1.10 for v in moved["baseline"][key]]
    problems, _ = differences(figures, moved)
    assert any(key in p for p in problems)
