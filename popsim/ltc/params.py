"""LtcParams: how long-term care (LTC) places are offered, who needs one, how long residents
stay, and how home support is used. Every default is a published figure or a labelled
assumption; the ``rel_`` multipliers and the shares are calibratable."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, field_validator

from popsim.core.ages import N_AGE_BANDS

#: Residents entering the LTC wait list from the community, per 1,000 a year, by age band
#: (0-9 ... 90+): an assumption rising steeply with age, sized so that the community wait
#: list stays about level through a default Fraser year while half of the LTC admissions
#: come from it (``hospital_priority_days``; calibration: about 600-650 waiting at home
#: through the year, see ``regions/README.md``).
COMMUNITY_NEED_PER_1000 = (0.0, 0.0, 0.0, 0.0, 0.023, 0.094, 0.42, 1.6, 6.5, 18.7)


class LtcParams(BaseModel):
    """Long-term care settings (spec section ``[ltc]``).

    Attributes:
        p_alc_needs_ltc: share of ALC patients who wait for an LTC place (0..1); the others
            wait for home support. Default 0.5 (calibration target: with half of the LTC
            admissions from hospital, ``hospital_priority_days``, the ALC share of acute
            bed-days at Fraser's beds is 12-16%, CIHI's about 1 in 7; those waiting for
            LTC hold most ALC days, as CIHI's Alternate level of care in Canada reports;
            see ``regions/README.md``).
        home_first_per_year: rate at which an ALC patient waiting for LTC is sent home
            with home support to wait there ("home first", as Fraser Health's Home First
            programme does), when a home-support place is free in its zone (per year,
            0..365; it keeps its place on the wait list, from home). Default 4: about one
            in nine such patients a month (calibrated with p_alc_needs_ltc, assumption).
        home_setup_days: days to arrange home support before an ALC patient can go home
            with it (0..60). Default 3 (assumption).
        hospital_priority_days: a free LTC bed goes to the waiting resident within reach
            whose need began first, an ALC patient in hospital counted this many days
            earlier (0..36500; 0: first come, first served; 36500: hospital first, BC's
            First Appropriate Bed policy applied to every bed, which leaves the community
            list to grow). Default 80 (calibration target: about half of the LTC
            admissions from hospital and half from the community, as in BC, Office of the
            Seniors Advocate BC, Monitoring Seniors' Services and Long-Term Care Quick
            Facts, approximate).
        max_offer_minutes: an LTC place is offered only in a home within this many
            minutes' travel of the waiting resident's zone (0..600). Default 60
            (assumption: BC aims at a place "within the community or accessible distance").
        los_mean_days: mean LTC length of stay (days; exit hazard ``1 / los_mean_days``
            a day, on top of the age-band mortality of demography when it is on). Default
            760 (calibration target: a realised stay of about 2 years, 2.03 measured):
            below the Office of the Seniors Advocate BC's Long-Term Care Directory (2021
            update, 2020/21: average stay 2.5 years, 900 days, 7% above the year before;
            median 555 days). An exponential exit cannot match both (median / mean 0.69
            against the source's 0.62): the median says about 800 days. Not raised: a
            longer stay moves the wait list, ALC share and median wait (measured in
            docs/validation.md), so the stay is recalibrated with them or not at all.
        p_death_at_exit: share of LTC exits that are deaths (0..1). Default 0.9
            (assumption: most residents leave LTC by dying).
        alc_death_per_year: death hazard of an ALC patient while waiting (per year,
            0..10). Default 0.5 (assumption: frail patients, about 4% die in a month's
            wait).
        community_withdraw_per_year: rate at which residents waiting at home leave the
            list otherwise (withdrawal, moving, a death beyond the age-band mortality;
            per year, 0..10). Default 0.5 (assumption).
        community_need_per_1000: entries to the wait list from the community per 1,000
            residents a year by age band (:data:`COMMUNITY_NEED_PER_1000`, assumption).
        community_wait_start_per_100_beds: residents on the community wait list at the
            start per 100 LTC beds (0..100). Default 12 (assumption: BC's wait list has
            held several thousand people for about 28,000 beds).
        occupancy_start: share of LTC beds filled at the start (0..1). Default 0.98 (BC
            LTC homes run near full: Office of the Seniors Advocate, Long-Term Care
            Directory, occupancy about 97-98%).
        bed_turnaround_days: days a bed stays empty after a resident leaves (readying the
            room, the offer and the move; 0..365). Default 14 (assumption, consistent
            with occupancy about 98% at about 10 exits a day for 8,000 beds).
        home_support_hours_per_client_week: home-support hours a client receives a week
            (0.5..40); a zone's client-hours divided by this are its client places.
            Default 4.5 (assumption, about 230 hours a client a year: OSA monitoring).
        home_support_episode_days: days a client coming home from hospital keeps a
            home-support place (1..3650). Default 60 (assumption: short-term support
            after a discharge, about two months; a zone's places turn over about six
            times a year, so its client-hours bound how many ALC patients go home).
        home_support_delay_days: a resident who needs LTC and gets home support first
            joins the LTC wait list this many days later (0..3650). Default 120
            (assumption).
        warm_alc_days: the ALC patients in hospital at the start are those whose ALC
            stay began in the last ``warm_alc_days`` days (0..365). Default 25: CADTH
            2024, about 25 ALC days per ALC stay among patients 65+ waiting for LTC.
        rel_beds: multiplies every home's beds (0..5).
        rel_home_support: multiplies every zone's home-support client-hours (0..10).
        rel_community_need: multiplies the community entry rates (0..10).
    """

    model_config = ConfigDict(extra="forbid")

    p_alc_needs_ltc: float = Field(0.5, ge=0.0, le=1.0)
    home_first_per_year: float = Field(4.0, ge=0.0, le=365.0)
    home_setup_days: int = Field(3, ge=0, le=60)
    hospital_priority_days: int = Field(80, ge=0, le=36500)
    max_offer_minutes: float = Field(60.0, ge=0.0, le=600.0)
    los_mean_days: float = Field(760.0, ge=30.0, le=10000.0)
    p_death_at_exit: float = Field(0.9, ge=0.0, le=1.0)
    alc_death_per_year: float = Field(0.5, ge=0.0, le=10.0)
    community_withdraw_per_year: float = Field(0.5, ge=0.0, le=10.0)
    community_need_per_1000: tuple[float, ...] = COMMUNITY_NEED_PER_1000
    community_wait_start_per_100_beds: float = Field(12.0, ge=0.0, le=100.0)
    occupancy_start: float = Field(0.98, ge=0.0, le=1.0)
    bed_turnaround_days: int = Field(14, ge=0, le=365)
    home_support_hours_per_client_week: float = Field(4.5, ge=0.5, le=40.0)
    home_support_episode_days: int = Field(60, ge=1, le=3650)
    home_support_delay_days: int = Field(120, ge=0, le=3650)
    warm_alc_days: int = Field(25, ge=0, le=365)
    rel_beds: float = Field(1.0, ge=0.0, le=5.0)
    rel_home_support: float = Field(1.0, ge=0.0, le=10.0)
    rel_community_need: float = Field(1.0, ge=0.0, le=10.0)

    @field_validator("community_need_per_1000")
    @classmethod
    def _per_band(cls, v: tuple[float, ...]) -> tuple[float, ...]:
        if len(v) != N_AGE_BANDS or any(x < 0 or x > 1000 for x in v):
            raise ValueError(f"expected {N_AGE_BANDS} rates (one per age band), each 0..1000")
        return tuple(float(x) for x in v)
