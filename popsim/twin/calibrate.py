"""``popsim calibrate``: fit a spec's parameters to observed data, trials on Dask.

The spec declares what to fit and against what::

    [calibration]
    parameters = { "demand.rel_admissions" = [0.5, 2.0], "epidemic.r0" = [1.1, 2.2] }
    targets = ["admissions", "ward_census", "icu_census"]
    from = 2026-09-01
    to = 2026-12-31

Each trial sets the parameters (by dotted name, in the spec's base sections), runs
``replicates_per_trial`` replicates in memory on a Dask worker (the same seeds in every
trial: common random numbers) and scores the observed targets with the likelihood of
:mod:`popsim.twin.likelihood` against the replicates' mean (flows as sums over
``flow_block_days`` days, census every ``census_every_days``-th day). The sampler is
Optuna's TPE (multivariate, with the constant liar for trials in flight); two trials per
worker are in flight at any time (one running, one queued), and each finished trial is
told and replaced by a newly asked one, so no worker waits for a batch to finish. The study is
kept in Optuna's journal file (``runs/<name>/calibration/study.journal``), so an
interrupted calibration resumes where it stopped and ``--trials`` is the total wanted.

Outputs in ``runs/<name>/calibration/``: ``trials.parquet`` (every trial: parameters,
log-likelihood, state), ``best.json``, ``calibrated.toml`` (the spec with the best
parameters; ``popsim run`` takes it as is), ``draws.parquet`` (the accepted draws: the
trials within the 95% likelihood-ratio region, ``ll >= best - chi2_p(0.95) / 2`` with
``p`` parameters; ``calibrated.toml`` ends with two commented lines that make a run take
them instead, one per replicate, see :mod:`popsim.twin.uncertainty`) and the fit page
``fit.html`` + ``fit.png`` (observed points against the fan of simulated series of the
accepted draws, per site and target).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import math
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from popsim.errors import PopsimError, SpecError
from popsim.files import atomic_write, write_text
from popsim.run.spec import RunSpec, load_spec
from popsim.twin import likelihood as lk
from popsim.twin import sim, tomlw
from popsim.twin.observed import FACILITY_OBSERVABLES, Observed, load_observed

if TYPE_CHECKING:
    import optuna

#: 95% quantiles of the chi-square distribution with 1..10 degrees of freedom (tables).
CHI2_95 = (3.841, 5.991, 7.815, 9.488, 11.070, 12.592, 14.067, 15.507, 16.919, 18.307)
#: Most accepted draws kept (the best by log-likelihood).
MAX_DRAWS = 200
#: The end of ``calibrated.toml``: how to run with the accepted draws instead of the
#: estimate (``draws.parquet`` is beside it).
DRAWS_NOTE = """
# The parameters above are the estimate. To carry the calibration's parameter
# uncertainty into a run instead (each replicate takes one accepted draw, all its
# parameters together), uncomment these two lines:
# [parameters]
# draws = "draws.parquet"
"""


class CalibrationSpec(BaseModel):
    """The ``[calibration]`` section of a spec."""

    model_config = ConfigDict(extra="forbid", populate_by_name=True)

    parameters: dict[str, tuple[float, float]] = Field(min_length=1)
    targets: list[str] = Field(default_factory=lambda: ["admissions", "ward_census", "icu_census"])
    from_: dt.date | None = Field(None, alias="from")
    to: dt.date | None = None
    scenario: str = "baseline"
    replicates_per_trial: int = Field(2, ge=1, le=100)
    likelihood: str = Field("negbin", pattern="^(negbin|poisson)$")
    dispersion: float = Field(20.0, gt=0, description="negative-binomial size k (assumption)")
    census_every_days: int = Field(7, ge=1, le=60)
    flow_block_days: int = Field(7, ge=1, le=60)

    @field_validator("parameters")
    @classmethod
    def _ranges(cls, v: dict[str, tuple[float, float]]) -> dict[str, tuple[float, float]]:
        for name, (lo, hi) in v.items():
            if not lo < hi:
                raise ValueError(f"{name}: range [{lo}, {hi}] needs low < high")
        if len(v) > len(CHI2_95):
            raise ValueError(f"at most {len(CHI2_95)} parameters")
        return v

    @field_validator("targets")
    @classmethod
    def _targets(cls, v: list[str]) -> list[str]:
        for t in v:
            if t not in FACILITY_OBSERVABLES:
                raise ValueError(f"unknown target {t!r} (any of {', '.join(FACILITY_OBSERVABLES)})")
        return v

    @property
    def k(self) -> float:
        return math.inf if self.likelihood == "poisson" else self.dispersion


def calibration_of(spec: RunSpec) -> CalibrationSpec:
    """The spec's validated ``[calibration]`` section (SpecError if missing or invalid)."""
    raw = getattr(spec, "calibration", None)
    if not raw:
        raise SpecError(
            spec.path, "calibration", "missing section [calibration] (see runs/README.md)"
        )
    try:
        cal = CalibrationSpec.model_validate(raw)
    except ValidationError as err:
        first = err.errors()[0]
        where = ".".join(str(p) for p in ("calibration", *first["loc"]))
        raise SpecError(spec.path, where, first["msg"]) from None
    if spec.parameters is not None:
        raise SpecError(
            spec.path,
            "parameters.draws",
            "a calibration fits the spec's own values: remove the [parameters] section",
        )
    if cal.scenario not in spec.scenarios:
        raise SpecError(spec.path, "calibration.scenario", f"no scenario {cal.scenario!r}")
    last = spec.start + dt.timedelta(days=spec.days - 1)
    for key, day in (("from", cal.from_), ("to", cal.to)):
        if day is not None and not spec.start <= day <= last:
            raise SpecError(
                spec.path, f"calibration.{key}", f"{day} is outside the run ({spec.start}..{last})"
            )
    for name in cal.parameters:
        section, key = sim.split_name(spec, name, f"calibration.parameters.{name}")
        params = spec.params(section, cal.scenario)
        if params is None:
            raise SpecError(
                spec.path, f"calibration.parameters.{name}", f"section [{section}] is off"
            )
        if not hasattr(params, key):
            raise SpecError(spec.path, f"calibration.parameters.{name}", f"no parameter {key!r}")
    return cal


def _is_int(spec: RunSpec, name: str, scenario: str) -> bool:
    section, key = name.split(".", 1)
    value = getattr(spec.params(section, scenario), key)
    return isinstance(value, int) and not isinstance(value, bool)


# ------------------------------------------------------------------ trials
def run_trial(
    spec: RunSpec,
    values: dict[str, Any],
    scenario: str,
    replicates: int,
    days: int,
    t: lk.Targets,
    k: float,
) -> float:
    """One trial on a worker: the log-likelihood of the targets under ``values``."""
    trial_spec = sim.with_parameters(spec, values)
    sims = []
    for r in range(replicates):
        fd, names = sim.simulate(trial_spec, scenario, r, days)
        sims.append(lk.simulated_at(t, fd, names))
    return lk.replicate_log_likelihood(t, np.array(sims), k)


def fan_task(spec: RunSpec, values: dict[str, Any], scenario: str, replicate: int, days: int):
    """One replicate of a draw for the fit page: ``(facility_day, metric names)``."""
    return sim.simulate(sim.with_parameters(spec, values), scenario, replicate, days)


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found and wrote."""

    folder: Path
    best: dict[str, Any]
    best_ll: float
    n_trials: int
    draws: pd.DataFrame
    seconds: float


def _fingerprint(spec: RunSpec, cal: CalibrationSpec, observed_path: Path) -> str:
    data = {
        "spec": json.loads(spec.to_json()),
        "observed": hashlib.sha256(observed_path.read_bytes()).hexdigest(),
    }
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


#: The study's journal (Optuna's append-only file storage) in the calibration folder.
STUDY_FILE = "study.journal"


def open_study(folder: Path, name: str, seed: int, fingerprint: str, force: bool) -> optuna.Study:
    """The study in ``folder/study.journal``: resumed if it is the same calibration, else
    an error (or replaced, with ``force``).

    The journal is Optuna's append-only log of the study (each ask and tell one line,
    written under a file lock): an interrupted calibration loses at most the trials in
    flight. It replaced an SQLite database, whose per-trial transactions and re-reads of
    every trial on each ask cost about 0.15 s of the driver's time per trial over 200
    trials of two parameters (0.02 s with the journal; Optuna 5.1 alone, no model)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    journal = folder / STUDY_FILE
    if force and journal.exists():
        journal.unlink()
    path = str(journal.resolve())
    storage = JournalStorage(JournalFileBackend(path, lock_obj=JournalFileOpenLock(path)))
    sampler = optuna.samplers.TPESampler(
        seed=seed, multivariate=True, constant_liar=True, n_startup_trials=10
    )
    study = optuna.create_study(
        storage=storage,
        study_name=name,
        direction="maximize",
        sampler=sampler,
        load_if_exists=True,
    )
    stored = study.user_attrs.get("fingerprint")
    if stored is None:
        study.set_user_attr("fingerprint", fingerprint)
    elif stored != fingerprint:
        raise PopsimError(
            f"{journal}: holds a calibration of another spec or observed file; use --force to "
            "start over"
        )
    # trials left running by an interrupted calibration are failed (their values are lost)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return study


def calibrate(
    spec_path: str | Path,
    observed_path: str | Path,
    trials: int = 100,
    workers: int | None = None,
    scheduler: str | None = None,
    out: str | Path | None = None,
    zones_path: str | Path | None = None,
    force: bool = False,
    progress: bool = True,
) -> CalibrationResult:
    """Run (or resume) the calibration of a spec to observed data; write its outputs."""
    import optuna
    from tqdm import tqdm

    from popsim.run.ensemble import default_out

    t0 = time.perf_counter()
    spec = load_spec(spec_path)
    cal = calibration_of(spec)
    region = spec.load_region()
    spec.check(region)
    last_day = spec.start + dt.timedelta(days=spec.days - 1)
    observed = load_observed(observed_path, region, spec.start, last_day, zones_path)
    first = cal.from_ or spec.start
    last = cal.to or last_day
    t = lk.targets(
        observed,
        cal.targets,
        region.facility_ids,
        spec.start,
        first,
        last,
        cal.census_every_days,
        cal.flow_block_days,
    )
    if len(t) == 0:
        raise PopsimError(
            f"{observed_path}: no observed values of {', '.join(cal.targets)} "
            f"between {first} and {last}"
        )
    days = (last - spec.start).days + 1
    folder = Path(out) if out is not None else default_out(spec_path) / "calibration"
    folder.mkdir(parents=True, exist_ok=True)
    study = open_study(
        folder, spec.name, spec.seed, _fingerprint(spec, cal, Path(observed_path)), force
    )
    done_states = (optuna.trial.TrialState.COMPLETE,)
    n_done = len(study.get_trials(deepcopy=False, states=done_states))
    dists = {
        name: (
            optuna.distributions.IntDistribution(int(lo), int(hi))
            if _is_int(spec, name, cal.scenario)
            else optuna.distributions.FloatDistribution(lo, hi)
        )
        for name, (lo, hi) in cal.parameters.items()
    }
    with sim.client(workers, scheduler) as c:
        spec_f, t_f = c.scatter([spec, t], broadcast=True)
        bar = tqdm(
            total=trials,
            initial=min(n_done, trials),
            desc=f"calibrate {spec.name}",
            unit="trial",
            disable=not progress,
            file=sys.stderr,
        )

        def submit(trial: optuna.trial.Trial):
            args = (spec_f, dict(trial.params), cal.scenario, cal.replicates_per_trial)
            return c.submit(run_trial, *args, days, t_f, cal.k, pure=False)

        n_done = drive_trials(study, dists, submit, trials, n_done, 2 * sim.n_workers(c), bar)
        bar.close()
        frame = trials_frame(study, list(cal.parameters))
        ints = {n for n, d in dists.items() if isinstance(d, optuna.distributions.IntDistribution)}
        fit = surrogate(frame, dict(cal.parameters), ints)
        draws = accepted(frame, list(cal.parameters), fit)
        best = fit.best
        fan = _fan(c, spec, draws, list(cal.parameters), cal.scenario, days)
    _write_outputs(folder, spec, cal, frame, draws, best, fit, study)
    from popsim.twin.pages import fit_page

    fit_page(folder, spec, observed, cal, fan, best, draws, first, last)
    seconds = time.perf_counter() - t0
    shown = ", ".join(f"{k} = {v:.4g}" for k, v in best.items())
    print(
        f"{spec.name}: {len(frame)} trials ({n_done} complete) in {seconds:.0f} s; "
        f"estimate {shown} (log-likelihood {fit.max_ll:.1f}, trial noise sd "
        f"{fit.noise_sd:.1f}); {len(draws)} accepted draws"
    )
    print(f"calibration: {folder}")
    return CalibrationResult(folder, best, fit.max_ll, len(frame), draws, seconds)


def drive_trials(study, dists, submit, trials: int, n_done: int, in_flight: int, bar) -> int:
    """Ask, run and tell trials until ``trials`` are complete, ``in_flight`` at a time (two
    per worker: one running, one queued, so a worker seldom waits for the driver); the
    oldest trial is told as soon as it finishes and replaced by a newly asked one (the
    sampler's constant liar stands in for the trials still running). Trials are told in
    the order they were asked, not as they finish, so the sampler sees the same history
    at every ask whatever the machine's load: a calibration is reproducible from its seed.
    Returns the complete count."""
    from collections import deque

    import optuna

    pending: deque[tuple[Any, optuna.trial.Trial]] = deque()
    n_failed = 0

    def top_up() -> None:
        while len(pending) < in_flight and n_done + len(pending) < trials:
            trial = study.ask(dists)
            pending.append((submit(trial), trial))

    top_up()
    while pending:
        future, trial = pending.popleft()
        try:
            value = future.result()
        except SpecError:  # a combination the model rejects: a failed trial
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            n_failed += 1
            if n_failed > max(10, trials):
                raise PopsimError(
                    f"{n_failed} trials failed (the model refused their parameters); "
                    "narrow the [calibration] parameter ranges"
                ) from None
        else:
            study.tell(trial, value)
            n_done += 1
            bar.update(1)
        top_up()
    return n_done


def _plain(v: Any) -> Any:
    return v.item() if isinstance(v, np.generic) else v


def trials_frame(study: optuna.Study, names: list[str]) -> pd.DataFrame:
    """Every trial: number, state, each parameter, log-likelihood (NaN if not complete)."""
    rows = []
    for tr in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"trial": tr.number, "state": tr.state.name}
        for n in names:
            row[n] = float(tr.params[n]) if n in tr.params else np.nan
        row["log_likelihood"] = float(tr.value) if tr.value is not None else np.nan
        rows.append(row)
    return pd.DataFrame(rows, columns=["trial", "state", *names, "log_likelihood"])


@dataclass
class Surrogate:
    """A quadratic fitted to the trials' log-likelihoods (in parameters scaled to [0, 1]).

    A trial's log-likelihood is a noisy estimate (its replicates are few), so the best
    trial is partly the luckiest one. The quadratic over the better trials smooths that
    noise out: its maximum is the estimate, and the spread of the trials around it
    (``noise_sd``, the residual standard deviation) is the Monte Carlo noise of one
    trial's log-likelihood.
    """

    best: dict[str, float]
    max_ll: float
    noise_sd: float
    fitted: bool


def surrogate(
    frame: pd.DataFrame, bounds: dict[str, tuple[float, float]], ints: set[str]
) -> Surrogate:
    """Fit the quadratic to the better half of the complete trials (at least three times
    as many trials as the quadratic has terms; else the best trial is the estimate)."""
    names = list(bounds)
    ok = frame[frame["state"] == "COMPLETE"].dropna(subset=["log_likelihood"])
    ok = ok.sort_values("log_likelihood", ascending=False)
    top = ok.iloc[0] if len(ok) else None
    p = len(names)
    n_terms = 1 + p + p * (p + 1) // 2
    use = ok.head(max(3 * n_terms, len(ok) // 2))
    fallback = Surrogate(
        {n: float(top[n]) for n in names} if top is not None else {},
        float(top["log_likelihood"]) if top is not None else float("nan"),
        0.0,
        False,
    )
    if len(use) < 3 * n_terms:
        return fallback
    lo = np.array([bounds[n][0] for n in names], dtype=float)
    hi = np.array([bounds[n][1] for n in names], dtype=float)
    x = (use[names].to_numpy(dtype=float) - lo) / (hi - lo)
    y = use["log_likelihood"].to_numpy(dtype=float)

    def design(x: np.ndarray) -> np.ndarray:
        cols = [np.ones(len(x))] + [x[:, i] for i in range(p)]
        cols += [x[:, i] * x[:, j] for i in range(p) for j in range(i, p)]
        return np.column_stack(cols)

    coef, *_ = np.linalg.lstsq(design(x), y, rcond=None)
    resid = y - design(x) @ coef
    noise_sd = float(np.sqrt(np.sum(resid**2) / max(1, len(y) - n_terms)))
    b = coef[1 : 1 + p]
    h = np.zeros((p, p))
    k = 1 + p
    for i in range(p):
        for j in range(i, p):
            h[i, j] += coef[k] if i != j else 2 * coef[k]
            if i != j:
                h[j, i] += coef[k]
            k += 1
    if np.any(np.linalg.eigvalsh(h) >= 0):  # not a maximum: no smooth estimate
        return Surrogate(fallback.best, fallback.max_ll, noise_sd, False)
    xs = np.clip(np.linalg.solve(h, -b), 0.0, 1.0)
    best = {n: float(lo[i] + xs[i] * (hi[i] - lo[i])) for i, n in enumerate(names)}
    for n in ints:
        best[n] = int(round(best[n]))
    return Surrogate(best, float((design(xs[None]) @ coef)[0]), noise_sd, True)


def accepted(frame: pd.DataFrame, names: list[str], fit: Surrogate | None = None) -> pd.DataFrame:
    """The accepted draws, best first: complete trials whose log-likelihood is within the
    95% likelihood-ratio distance ``chi2_p(0.95) / 2`` of the maximum, widened by twice
    the Monte Carlo noise of a trial's log-likelihood (a trial that far below could be
    as good as the best, unluckily estimated)."""
    ok = frame[frame["state"] == "COMPLETE"].dropna(subset=["log_likelihood"])
    if ok.empty:
        return ok
    top = ok["log_likelihood"].max()
    slack = 0.0
    if fit is not None and fit.fitted:
        top = min(top, fit.max_ll)
        slack = 2.0 * fit.noise_sd
    cut = top - CHI2_95[len(names) - 1] / 2 - slack
    keep = ok[ok["log_likelihood"] >= cut].sort_values("log_likelihood", ascending=False)
    return keep.head(MAX_DRAWS).reset_index(drop=True)


def _fan(c, spec, draws, names, scenario, days, n: int = 20):
    """Simulated series of up to ``n`` accepted draws (one replicate each, distinct seeds)."""
    if draws.empty:
        return []
    rows = [draws.iloc[i % len(draws)] for i in range(n)]
    futures = [
        c.submit(fan_task, spec, {k: _plain(row[k]) for k in names}, scenario, 1000 + i, days)
        for i, row in enumerate(rows)
    ]
    return c.gather(futures)


def calibrated_spec(spec: RunSpec, best: dict[str, Any], names: list[str]) -> dict[str, Any]:
    """The spec as a TOML-ready mapping with the best parameters set (no [calibration])."""
    values = {n: (int(round(best[n])) if isinstance(best[n], int) else best[n]) for n in names}
    new = sim.with_parameters(spec, values)
    data = new.model_dump(mode="python", exclude_none=True)
    data.pop("calibration", None)
    data.pop("parameters", None)
    data["name"] = f"{spec.name}-calibrated"
    data["region"] = new.region_ref()
    data["description"] = (
        f"{spec.description} (calibrated: "
        + ", ".join(f"{n} = {values[n]:.4g}" for n in names)
        + ")"
    ).strip()
    return data


def _write_outputs(folder, spec, cal, frame, draws, best, fit, study) -> None:
    names = list(cal.parameters)
    atomic_write(folder / "trials.parquet", lambda p: frame.to_parquet(p, index=False))
    atomic_write(folder / "draws.parquet", lambda p: draws.to_parquet(p, index=False))
    info: dict[str, Any] = {
        "parameters": best,
        "method": "quadratic surrogate" if fit.fitted else "best trial",
        "log_likelihood": fit.max_ll,
        "trial_noise_sd": fit.noise_sd,
        "best_trial": {"parameters": dict(study.best_params), "log_likelihood": study.best_value},
        "n_accepted": len(draws),
    }
    if not draws.empty:
        info["accepted_range"] = {n: [float(draws[n].min()), float(draws[n].max())] for n in names}
    write_text(folder / "best.json", json.dumps(info, indent=1))
    write_text(
        folder / "calibrated.toml", tomlw.dumps(calibrated_spec(spec, best, names)) + DRAWS_NOTE
    )


def read_draws(folder: str | Path) -> pd.DataFrame:
    """The accepted draws of a calibration folder."""
    return pd.read_parquet(Path(folder) / "draws.parquet")


def observed_for(spec: RunSpec, path: str | Path, zones_path: str | Path | None = None) -> Observed:
    """Observed data checked against a spec's region and run."""
    region = spec.load_region()
    last = spec.start + dt.timedelta(days=spec.days - 1)
    return load_observed(path, region, spec.start, last, zones_path)
