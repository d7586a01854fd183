"""``popsim validate``: the model against published figures, as a report anyone can rerun.

Runs a set of checks on the shipped region (Fraser by default; residents scaled to
``population``) and writes ``validation.csv`` (check, class, expected, source,
measured, verdict) and ``validation.html`` to the output folder. A check the model
fails is reported as failed, with the figures, never hidden. Every row names its class
(:class:`Check`'s ``kind``, required): *verification* (the code does what it says:
against its own inputs or an exact relation), *calibration target* (a figure a
parameter was set to, measured again on what was drawn), or *validation* (a figure no
parameter was set to: a test the model can fail). Expected ranges are central bands,
widened only by the chance of the drawn count (stated in the row). ``quick`` runs the same checks on a
small population (tests, CI); the full run is ``popsim validate`` (see runs/README.md).

Checks:

- **final size** (well mixed: one zone, no households, proportionate mixing): the
  attack rate against the SIR final-size relation ``z = 1 - exp(-R0 z)``;
- **early growth**: the growth rate of daily infections against the Wallinga-Lipsitch
  relation ``R = 1 / M(-r)`` with the model's own generation interval (latent period,
  then constant infectiousness over the infectious period, in whole days), well mixed,
  and on the region with households and age mixing;
- **influenza season** (the shipped profile, with Prem et al. 2021's contacts for
  Canada and their school layer): attack rates of children and adults (Somes et al.
  2018), hospitalisations per 10,000 (PHAC), ICU share of hospitalised, deaths per
  hospitalised (FluWatch), deaths in and out of hospital per 100,000 (PHAC), the
  season's shape (weeks at or above half the peak week, the peak's month), all drawn;
- **COVID-19** (ancestral profile): hospitalised, ICU and deaths per infection against
  the profile's table, ICU share of hospitalised (Canada);
- **everyday demand**: admissions and ED visits per 1,000 (CIHI, Ontario), acute length
  of stay (CIHI), ALC share of stays and of bed-days (CIHI);
- **long-term care** (Fraser at its own population, :mod:`popsim.ltc.checks`): the ALC
  share of bed-days emergent from LTC capacity (CIHI), LTC occupancy, median wait for a
  place and length of stay (Office of the Seniors Advocate BC), and every ALC stay
  ending by an LTC place, home or death;
- **beds** (Fraser at its own population, 90-110%: beds are never scaled):
  region-wide ward occupancy (BC's 103%) and ED boarders a day (Fraser's 222) in a
  default year, and the uncapped bed demand against occupancy plus boarders; per site,
  the region's ``targets.csv`` (calibration targets and held-out validation figures) and
  ED boarders at most a quarter of funded ward beds (:mod:`popsim.site_checks`);
- **demography**: crude death and birth rates (BC), the death rate with and without
  everyday demand (in-hospital deaths counted once), the share of deaths in hospital
  (Statistics Canada);
- **queueing**: Little's law on the uncapped care network, and the dispersion of the
  uncapped census (M/G/infinity: Poisson, variance / mean about 1).
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
