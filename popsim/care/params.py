"""CareParams: how the care network uses its beds, and which share of emergencies each
site role refers on (:class:`ReferralShares`).

Pydantic models (unknown fields and out-of-range values are rejected with the field's
name and range); :class:`popsim.care.network.CareNetwork` reads them. Also importable
from :mod:`popsim.care.network`.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator

from popsim.care.facility import ROLE_RANK


class ReferralShares(BaseModel):
    """Share of emergency admissions a site refers on, by the site's role (each 0..1).

    An emergency admitted at a site's ED is admitted at the nearest open regional or
    tertiary site of a higher role than the first with this probability (a transfer).
    Defaults: a stabilisation site transfers everyone (Fraser Canyon only stabilises);
    community hospitals refer 0.2 (calibrated, see below); regional hospitals refer 0.03
    of theirs to the tertiary site (an assumption); tertiary sites refer nobody (there is
    no higher role: a share for them changes nothing). With no higher-role site open the
    patient stays where it arrived. All zero: every admission stays at the site it arrived
    at (nearest-site routing).

    Calibration, measured at 2.0 million residents (every shipped spec's population; the
    region's 2021 census counts are 1.86 million) in a default Fraser year without an
    epidemic, seed 11, with CIHI's acute stays and ALC share (everyday demand's
    defaults) and ``surge_share`` 0.10: the 11 admitting sites at a mean 103-110% of
    funded ward beds, region-wide 108% (BC 103% in 2018-19; Chilliwack 123%, Abbotsford
    118%, news reports), Abbotsford Regional, which serves all of Fraser East, at 107%,
    Chilliwack 103%; ICU 87% full (Fraser: about 80 ICU beds, 90% in March 2020); 222
    admitted patients boarding in EDs a day region-wide (Fraser: about 222, target 165,
    news reports), the most at Delta (65 a day: 60 funded beds for about 108,000
    residents, and the model admits no one outside the region), Surrey Memorial (48)
    and Eagle Ridge (37). At the
    2021 population (1.86 million) the sites run at 94-110%, 75 boarders a day, Delta
    35. The referral shares were set at 1.86 million with shorter stays (sites at
    86-114%, Delta 5 a day); a higher community share (0.25-0.35) lowers Delta's
    boarding but empties Chilliwack, Langley and Peace Arch.
    Planned care is booked at the nearest site that admits (a site whose role refers
    everyone takes no bookings).
    """

    model_config = ConfigDict(extra="forbid")

    stabilisation: float = Field(1.0, ge=0.0, le=1.0)
    community: float = Field(0.2, ge=0.0, le=1.0)
    regional: float = Field(0.03, ge=0.0, le=1.0)
    tertiary: float = Field(0.0, ge=0.0, le=1.0)

    def of(self, role: str) -> float:
        """The share for a role (0 for a role without one)."""
        return float(getattr(self, role, 0.0)) if role in ROLE_RANK else 0.0


class CareParams(BaseModel):
    """How the care network uses its beds.

    Attributes:
        surge_share: surge and hallway beds as a share of funded ward beds (0..2); past
            funded plus surge beds new ward patients board in the ED. Default 0.10,
            calibrated on the default Fraser year at 2.0 million residents (seed 1, no
            epidemic) to the split between beds and the ED that Fraser reports: the
            region's ward occupancy 1.074 of funded beds (BC 103.2% in 2018-19;
            Chilliwack 123%, Abbotsford 118%) with 201 admitted patients boarding in
            EDs a day (Fraser: about 222, target 165; news reports). At 0.15 the same
            year ran at 1.10 with 136 boarders a day, at 0.05 at 1.04 with 294: the
            share moves patients between hallway beds and the ED, not bed demand.
        icu_surge_share: ICU surge beds as a share of funded ICU beds (0..2): the ICU
            census never exceeds ``int(icu_beds * (1 + icu_surge_share))``. Default 0.2,
            the contingency level of critical-care surge (expansion within the ICU and
            its adjacent areas with usual staff, before crisis care) in the Task Force
            for Mass Critical Care framework (Hick et al., Surge capacity principles,
            CHEST 2014;146(4 Suppl):e1S-e16S); the exact share for Fraser sites is a
            planning assumption.
        rel_death_outside_icu: relative risk of death of a critical-care patient held
            outside the ICU for want of a bed (1..10). Default 1.3, between the crude
            day-28 mortality of patients refused ICU because the unit was full against
            those admitted, 30.1% vs 24.3% (relative risk 1.24; Robert et al., Am J
            Respir Crit Care Med 2012;185:1081-7), and the adjusted odds ratio of ICU
            admission for 28-day mortality, 0.73 (1.37 for refusal; Iapichino et al.,
            Intensive Care Med 2010;36:1772-9); an assumption within that range.
        p_death_icu: risk of death of a critical-care patient admitted to an ICU, to
            which ``rel_death_outside_icu`` applies (0..1). Default 0.243, the day-28
            mortality of the admitted patients in Robert et al. 2012. A held patient
            whose need would have survived dies with probability
            ``(rel - 1) * p / (1 - p)`` (:attr:`p_die_held`), so that its risk of death
            is ``rel`` times ``p``.
        divert_at: ward occupancy of funded beds (ED boarders counted) at which a site
            diverts new emergency arrivals (0.5..10).
        max_divert_minutes: extra travel minutes a diversion may add (0..600).
        max_transfer_minutes: furthest inter-site transfer for a bed (0..1000).
        uncapped: ignore bed limits (no diversion, transfer or boarding); for checks
            against queueing theory and "unconstrained demand" runs.
        p_refer: share of emergency admissions referred on to a higher-role site, by
            the arrival site's role (:class:`ReferralShares`). A site whose role refers
            everyone (1.0) takes no planned care and no transfers.
    """

    model_config = ConfigDict(extra="forbid")

    surge_share: float = Field(0.10, ge=0.0, le=2.0)
    icu_surge_share: float = Field(0.2, ge=0.0, le=2.0)
    rel_death_outside_icu: float = Field(1.3, ge=1.0, le=10.0)
    p_death_icu: float = Field(0.243, gt=0.0, lt=1.0)
    divert_at: float = Field(1.10, ge=0.5, le=10.0)
    max_divert_minutes: float = Field(20.0, ge=0.0, le=600.0)
    max_transfer_minutes: float = Field(60.0, ge=0.0, le=1000.0)
    uncapped: bool = False
    p_refer: ReferralShares = Field(default_factory=ReferralShares)

    @model_validator(mode="after")
    def _risk_within_one(self) -> CareParams:
        if self.rel_death_outside_icu * self.p_death_icu > 1.0:
            raise ValueError(
                "rel_death_outside_icu x p_death_icu must be at most 1 (a probability), got "
                f"{self.rel_death_outside_icu} x {self.p_death_icu}"
            )
        return self

    @property
    def p_die_held(self) -> float:
        """Probability that a held patient whose need would have survived dies."""
        p = self.p_death_icu
        return (self.rel_death_outside_icu - 1.0) * p / (1.0 - p)
