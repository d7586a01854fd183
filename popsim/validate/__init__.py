"""``popsim validate``: the model against published figures, as a report anyone can rerun.

Runs a set of checks on the shipped region (Fraser by default; residents scaled to
``population``) and writes ``validation.csv`` (check, class, expected, source,
measured, verdict) and ``validation.html`` to the output folder. A check the model
fails is reported as failed, with the figures, never hidden. Every row names its class
(:class:`Check`'s ``kind``, required): *verification* (the code does what it says:
against its own inputs or an exact relation), *calibration target* (a figure a
parameter was set to, measured again on what was drawn), or *validation* (a figure no
parameter was set to: a test the model can fail). Expected ranges are central bands,
widened only by the chance of the drawn count (stated in the row), or with the reason in
the row. ``quick`` runs the same checks on a small population (tests, CI); the full run
is ``popsim validate`` (see runs/README.md). Modules: :mod:`~popsim.validate.rows` (a
row, its class, its band), :mod:`~popsim.validate.epidemic`,
:mod:`~popsim.validate.care`, :mod:`~popsim.validate.demography`,
:mod:`~popsim.validate.outcomes` (the validation rows on drawn stays) and
:mod:`~popsim.validate.report` (every row, the CSV and HTML).

Checks:

- **final size** (well mixed: one zone, no households, proportionate mixing): the
  attack rate against the SIR final-size relation ``z = 1 - exp(-R0 z)``;
- **early growth**: well mixed, the reproduction number realised in the early phase by
  the renewal equation with the model's own generation interval (latent period, then
  constant infectiousness over the infectious period, in whole days), against R0 with
  its chance; on the region with households and age mixing, the fitted growth rate
  against the one ``r0`` implies with households (:mod:`popsim.epidemic.households`:
  ``r0`` is the next-generation matrix's radius counting housemates as susceptible;
  households saturate, so growth is slower than the Wallinga-Lipsitch relation says:
  at R0 1.8 the growth of R 1.76);
- **influenza season** (the shipped profile, with Prem et al. 2021's contacts for
  Canada and their school layer): attack rates of children and adults (Somes et al.
  2018), hospitalisations per 10,000 (PHAC), ICU share of hospitalised, deaths per
  hospitalised (FluWatch), deaths in and out of hospital per 100,000 (PHAC), the
  season's shape (weeks at or above half the peak week, the peak's month), all drawn;
  and, a validation, the share of the hospitalised aged 65+ (FluWatch);
- **COVID-19** (ancestral profile): hospitalised, ICU and deaths per infection against
  the profile's table, ICU share of hospitalised (Canada);
- **everyday demand**: admissions and ED visits per 1,000 (CIHI, Ontario), acute length
  of stay (CIHI), ALC share of stays and of bed-days (CIHI); validations on the drawn
  stays (age shapes assumed or, for adults' ICU, from another source): admission and ICU rate
  ratios 65+ / under 65 (Wilson et al. 2017), mean stay 65+ / 20-64 (CIHI), the spread
  of monthly admissions in a default year (Crighton et al. 2003);
- **long-term care** (Fraser at its own population, :mod:`popsim.ltc.checks`): the ALC
  share of bed-days emergent from LTC capacity (CIHI), LTC occupancy, median wait for a
  place, length of stay, the share of admissions from hospital and the community wait
  list's drift over the year (Office of the Seniors Advocate BC), and every ALC stay
  ending by an LTC place, home or death;
- **beds** (Fraser at its own population, 90-110%: beds are never scaled):
  region-wide ward occupancy (BC's 103%) and ED boarders a day (Fraser's 222) in a
  default year, and the uncapped bed demand against occupancy plus boarders; per site,
  the region's ``targets.csv`` (calibration targets and held-out validation figures) and
  ED boarders at most a quarter of funded ward beds (:mod:`popsim.site_checks`);
- **demography**: crude death and birth rates (BC), the death rate with and without
  everyday demand (in-hospital deaths counted once), where deaths happen (in hospital,
  in long-term care homes: BC Vital Statistics) and the decedents in hospital in their
  last 6 months (Ontario);
- **queueing**: Little's law on the uncapped care network, and the dispersion of the
  uncapped census (M/G/infinity: Poisson, variance / mean 1) over 300 replicates, the
  band from their number (3.29 sd of the index of dispersion, +/- 0.27): a census a
  third over- or under-dispersed fails.
"""

from popsim.validate.epidemic import final_size, generation_mgf, growth_rate
from popsim.validate.report import (
    FULL_POPULATION,
    QUICK_POPULATION,
    run_checks,
    table,
    write_report,
)
from popsim.validate.rows import (
    CALIBRATION,
    CLASSES,
    COLUMNS,
    VALIDATION,
    VERIFICATION,
    Check,
    classed,
)

__all__ = [
    "CALIBRATION",
    "CLASSES",
    "COLUMNS",
    "FULL_POPULATION",
    "QUICK_POPULATION",
    "VALIDATION",
    "VERIFICATION",
    "Check",
    "classed",
    "final_size",
    "generation_mgf",
    "growth_rate",
    "run_checks",
    "table",
    "write_report",
]
