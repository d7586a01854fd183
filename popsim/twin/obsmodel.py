"""The observation model: how each observed metric relates to the model's value, in one
place (a spec's ``[observation]`` table).

- **Census** (``ward_census``, ``icu_census``, ``alc_census``, ``ed_boarding``,
  ``epidemic_census``): observed exactly by default. A hospital counts its patients; a
  forecast's census intervals are the model's own spread, with no reporting noise on
  top, and the forecast starts from the observed census exactly. ``census_dispersion =
  K`` adds negative-binomial noise of size ``K`` (variance ``mu + mu^2 / K``) to
  forecast census values, for a census that is itself an estimate.
- **Flows** (admissions, ED visits, ``epidemic_admissions``, ...): reported with
  negative-binomial noise of size ``flow_dispersion`` (default 20: an assumption, a
  coefficient of variation of about 22% at large counts; as in
  :mod:`popsim.twin.likelihood`), added to forecast flows.
- **The filter's weights** (:mod:`popsim.twin.smc`): a negative binomial of size
  ``filter_dispersion`` (default 20, assumption) around the simulated value, for every
  metric: the model's discrepancy from the real system, not reporting noise.
- ``scale``: every value times ``scale`` when read, for a series reported for a larger
  area (a province's census times the region's share of its population); fractional
  values are then allowed.
- ``carried_over = "missing"``: a value equal to the same series' value the day before
  is taken as missing (dashboards carry the last value over weekends and holidays).
- ``rescale_infected = true`` (default): when the warm start sets the region's epidemic
  census (an ``all`` row of ``epidemic_census``), each particle's infected residents not
  yet in hospital are also multiplied by the ratio it imposed on the census (observed
  over the particle's own, bounded to 1/4-4; :mod:`popsim.epidemic.rescale`); ``false``:
  they stay the particle's own (see ``docs/twin.md`` for the measured effect).
- ``filter_census = "days"``: the filter weighs a census on every observed day of each
  knot's window (the mean of the days' log-likelihoods), not only on the window's last
  observed day (``"last"``, the default; see ``docs/twin.md`` for its measured effect).
- ``filter_anchor = true``: at the end of each knot's window the filter resets every
  particle's observed census to the observed and scales its infected by the same ratio
  (the forecast's warm start with ``rescale_infected``), so that particles are weighed
  on how their epidemic moves from the observed level rather than on a level that
  drifted. Off by default: the rescaled infected explain a change of transmission away
  (on a synthetic cut of transmission to half the filtered multiplier stays near 1),
  though it lowered the WIS on the fall-2020 waves (see ``docs/twin.md``).
- ``outside = "ignore"`` (default): rows dated outside the spec's run are left out, said
  in one line; ``"error"``: each is a problem.

Example::

    [observation]
    scale = 0.136            # Ontario's census, scaled to a region of 2.0 M residents
    carried_over = "missing"
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from popsim.errors import SpecError, SpecProblems
from popsim.twin.observed import Observed, load_observed
from popsim.twin.smc import Transmission

if TYPE_CHECKING:
    from popsim.run.spec import RunSpec


class Observation(BaseModel):
    """A spec's ``[observation]`` table (see the module docstring)."""

    model_config = ConfigDict(extra="forbid")

    census_dispersion: float | None = Field(None, gt=0, le=1e6)
    flow_dispersion: float = Field(20.0, gt=0, le=1e6)
    filter_dispersion: float = Field(20.0, gt=0, le=1e6)
    filter_temper_share: float = Field(0.5, ge=0, le=1)
    scale: float = Field(1.0, gt=0, le=1e6)
    carried_over: Literal["keep", "missing"] = "keep"
    outside: Literal["ignore", "error"] = "ignore"
    rescale_infected: bool = True
    filter_census: Literal["last", "days"] = "last"
    filter_anchor: bool = False


def _section(spec: RunSpec, name: str, cls: type[BaseModel]) -> Any:
    raw = getattr(spec, name, None) or {}
    try:
        return cls.model_validate(raw)
    except ValidationError as err:
        problems = []
        for e in err.errors():
            where = ".".join(str(p) for p in (name, *e["loc"]))
            got = f", got {e['input']!r}" if e["type"] != "missing" else ""
            problems.append(SpecError(spec.path, where, f"{e['msg']}{got}"))
        raise SpecProblems(problems) from None


def observation_of(spec: RunSpec) -> Observation:
    """The spec's ``[observation]`` table, checked (defaults without one)."""
    return _section(spec, "observation", Observation)


def transmission_of(spec: RunSpec) -> Transmission:
    """The spec's ``[transmission]`` table, checked (defaults without one)."""
    return _section(spec, "transmission", Transmission)


def observed_of(spec: RunSpec, path: str | Path, zones_path: str | Path | None = None) -> Observed:
    """Observed data checked against a spec's region and run, read as its
    ``[observation]`` table says."""
    obs = observation_of(spec)
    transmission_of(spec)  # checked before anything runs
    region = spec.load_region()
    last = spec.start + dt.timedelta(days=spec.days - 1)
    return load_observed(
        path,
        region,
        spec.start,
        last,
        zones_path,
        scale=obs.scale,
        carried_over=obs.carried_over,
        outside=obs.outside,
    )
