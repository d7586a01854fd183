"""A row of the validation report (:class:`Check`), its class, and the few ways a row's
band is built, in one place.

Every row names its class: *verification* (the code does what it says: against its own
inputs or an exact relation), *calibration target* (a figure a parameter was set to,
measured again on what was drawn), or *validation* (a figure no parameter was set to: a
test the model can fail). A band is central; it is widened only by the chance of the
drawn count (:func:`banded`'s ``chance``, stated in the row), or with its reason in the
row.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

COLUMNS = ("check", "class", "expected", "source", "measured", "verdict")
VERIFICATION, CALIBRATION, VALIDATION = "verification", "calibration target", "validation"
CLASSES = (VERIFICATION, CALIBRATION, VALIDATION)


@dataclass(frozen=True)
class Check:
    """One row of the report. ``kind`` (the ``class`` column) is one of
    :data:`CLASSES`, given by every row (keyword only)."""

    check: str
    expected: str
    source: str
    measured: str
    passed: bool
    kind: str = field(kw_only=True)

    def __post_init__(self) -> None:
        if self.kind not in CLASSES:
            raise ValueError(f"check {self.check!r}: class must be one of {CLASSES}")

    def row(self) -> dict[str, str]:
        return {
            "check": self.check,
            "class": self.kind,
            "expected": self.expected,
            "source": self.source,
            "measured": self.measured,
            "verdict": "pass" if self.passed else "FAIL",
        }


def classed(row: tuple[str, str, str, str, bool]) -> Check:
    """A row ``(check, expected, source, measured, passed)`` of another module's checks
    (per-site targets, long-term care) as a :class:`Check`, its class read from its own
    text, which names it ("calibration target", "validation" or "verification");
    ValueError if it names none."""
    text = row[0]
    found = [(text.find(k), k) for k in (CALIBRATION, VALIDATION, VERIFICATION) if k in text]
    if not found:
        raise ValueError(f"check {text!r} names no class ({', '.join(CLASSES)})")
    return Check(*row, kind=min(found)[1])


def within(x: float, lo: float, hi: float) -> bool:
    """``lo <= x <= hi`` (False for NaN)."""
    return lo <= x <= hi


def factor(x: float, target: float, by: float = 1.5) -> bool:
    """``x`` within a factor ``by`` of ``target``."""
    return target / by <= x <= target * by


def share_chance(share: float, n: float, z: float = 3.0) -> float:
    """``z`` binomial standard deviations of a share drawn from ``n`` (at least 1)."""
    return z * math.sqrt(max(share * (1 - share), 0.01) / max(n, 1.0))


def ratio_chance(a: float, b: float, z: float = 3.0) -> float:
    """``z`` relative standard deviations of a ratio of two Poisson counts ``a / b``
    (``sqrt(1/a + 1/b)``), as a share of the ratio."""
    return z * math.sqrt(1.0 / max(a, 1.0) + 1.0 / max(b, 1.0))


def banded(
    check: str,
    value: float,
    lo: float,
    hi: float,
    source: str,
    *,
    kind: str,
    chance: float = 0.0,
    fmt: str = ".3f",
    detail: str = "",
    note: str = "",
) -> Check:
    """A row passing when ``lo - chance <= value <= hi + chance``: the central band
    ``lo-hi``, widened by ``chance`` (the drawn count's own noise, stated when not 0);
    ``detail`` follows the measured value, ``note`` the band (a reason, a central
    figure)."""
    expected = f"{lo:{fmt}}-{hi:{fmt}}"
    if note:
        expected += f" {note}"
    if chance > 0:
        expected += f" (+/- {chance:{fmt}} for chance)"
    measured = f"{value:{fmt}}" + (f" ({detail})" if detail else "")
    ok = math.isfinite(value) and within(value, lo - chance, hi + chance)
    return Check(check, expected, source, measured, ok, kind=kind)
