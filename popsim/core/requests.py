"""The request API: what modules hand to the model instead of changing shared state.

- care needs: :class:`NeedBatch`, residents who need a hospital bed today (the model's
  ``request_care``); a module decides the clinical path (how long in ICU, on the ward, as
  ALC, and whether the stay ends in death), the care module decides where it happens;
- ED visits that end in the ED: counts per zone (the model's ``request_ed_visits``);
- deaths: resident ids (the model's ``kill``, which tells every module);
- a raised infection hazard: resident ids and a relative hazard (the model's
  ``request_exposure``; staffing asks it for the nurses at work, the epidemic applies it
  at its next community draw).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

# Kinds of need (uint8 codes) and their names in outputs.
MEDICAL, SURGICAL, MATERNITY, MENTAL, EPI_SEVERE, EPI_CRITICAL = range(6)
KIND_NAMES: tuple[str, ...] = (
    "medical",
    "surgical",
    "maternity",
    "mental_health",
    "epidemic_severe",
    "epidemic_critical",
)


@dataclass
class NeedBatch:
    """Columns of today's needs, one entry per resident.

    ``icu_days`` come first (0 = no ICU), then ``ward_days`` on the ward, then
    ``alc_days`` as alternate level of care; ``dies`` ends the stay in death at the
    end of its last unit. ``tertiary`` needs go to a tertiary site. ``elective``
    needs are planned surgery (a scenario can pause them). ``prevalent`` needs are
    residents already in hospital when the run starts (a warm start): the care network
    places them without counting an arrival or an admission.
    """

    resident: np.ndarray  # int32
    kind: np.ndarray  # uint8, one of the codes above
    icu_days: np.ndarray  # int16
    ward_days: np.ndarray  # int16
    alc_days: np.ndarray  # int16
    dies: np.ndarray  # bool
    tertiary: np.ndarray  # bool
    elective: np.ndarray  # bool
    prevalent: np.ndarray | None = None  # bool; None: all False

    def __post_init__(self) -> None:
        if self.prevalent is None:
            self.prevalent = np.zeros(len(self.resident), dtype=bool)

    def __len__(self) -> int:
        return len(self.resident)

    @classmethod
    def empty(cls) -> NeedBatch:
        return cls.build(np.empty(0, np.int32), 0)

    @classmethod
    def build(
        cls,
        resident: np.ndarray,
        kind: int | np.ndarray,
        icu_days: int | np.ndarray = 0,
        ward_days: int | np.ndarray = 1,
        alc_days: int | np.ndarray = 0,
        dies: bool | np.ndarray = False,
        tertiary: bool | np.ndarray = False,
        elective: bool | np.ndarray = False,
        prevalent: bool | np.ndarray = False,
    ) -> NeedBatch:
        """Build a batch, broadcasting scalars to the number of residents."""
        n = len(resident)

        def col(value: object, dtype: str) -> np.ndarray:
            return np.broadcast_to(np.asarray(value, dtype=dtype), (n,)).copy()

        return cls(
            resident=np.asarray(resident, dtype=np.int32),
            kind=col(kind, "uint8"),
            icu_days=col(icu_days, "int16"),
            ward_days=col(ward_days, "int16"),
            alc_days=col(alc_days, "int16"),
            dies=col(dies, "bool"),
            tertiary=col(tertiary, "bool"),
            elective=col(elective, "bool"),
            prevalent=col(prevalent, "bool"),
        )

    @classmethod
    def concat(cls, batches: list[NeedBatch]) -> NeedBatch:
        batches = [b for b in batches if len(b)]
        if not batches:
            return cls.empty()
        names = cls.__dataclass_fields__
        return cls(**{k: np.concatenate([getattr(b, k) for b in batches]) for k in names})


#: How an alternate-level-of-care (ALC) stay ends (codes of the ALC hand-over between the
#: care network and whoever takes ALC patients, :mod:`popsim.ltc`): placed in long-term
#: care, home with home support, home without it, death (the model kills the resident),
#: died already (another module killed it), or another end of the stay (a path that ends
#: by itself, a census replaced).
ALC_TO_LTC, ALC_HOME_SUPPORT, ALC_HOME, ALC_DEATH, ALC_DIED, ALC_OTHER = range(6)
ALC_END_NAMES: tuple[str, ...] = ("ltc", "home_support", "home", "death", "died", "other")
#: ALC days of a stay whose ALC phase lasts until someone ends it (an ALC wait, not a
#: drawn length): longer than any run, within int16.
ALC_OPEN_DAYS = 20000
