"""``popsim calibrate``: fit a spec's parameters to observed data, trials on Dask.

The spec declares what to fit and against what::

    [calibration]
    parameters = { "demand.rel_admissions" = [0.5, 2.0], "epidemic.r0" = [1.1, 2.2] }
    targets = ["admissions", "ward_census", "icu_census"]
    from = 2026-09-01
    to = 2026-12-31

The section is checked as a whole (:mod:`popsim.twin.calspec`: ranges against the
parameters' own bounds, integer parameters, multipliers of list and nested parameters).
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
accepted draws, per site and target). The estimate and the accepted draws come from
:mod:`popsim.twin.surrogate` (ridges between parameters are reported there).

Every input is checked before anything is written (``--check`` stops there): the spec
and its section, the observed data and that every target is one of its columns,
``--trials`` (1..:data:`MAX_TRIALS`), the workers' memory, and the folder (one holding
another calibration's outputs is refused without ``--force``). The study's fingerprint
covers the spec and the observed values the calibration scores, so days appended to the
observed file after its last target date leave it valid.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
import os
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from popsim.errors import OutputError, PopsimError, SpecError, SpecProblems
from popsim.files import atomic_write, write_text
from popsim.run.spec import RunSpec, load_spec
from popsim.twin import likelihood as lk
from popsim.twin import sim, tomlw, uncertainty
from popsim.twin.calspec import Calibration, calibration_of
from popsim.twin.observed import Observed, load_observed
from popsim.twin.surrogate import Surrogate, accepted, plain, surrogate

if TYPE_CHECKING:
    import optuna

#: Most trials of one calibration (``--trials``). The driver's work per trial grows with
#: the trials told (Optuna's TPE fits its densities to all of them at each ask): an ask
#: and tell of three parameters took 0.06 s at 100 trials, 0.10 s at 1,000, 0.17 s at
#: 2,000 and 0.35 s at 4,000 (18 minutes of the driver's time for the first 4,000;
#: Optuna 5.1 alone, a shared machine), its memory grew to 75 MB and the journal to
#: 5.5 MB (1.4 KB a trial). Past about 5,000 an ask takes as long as a small region's
#: trial, and workers wait for the driver; a calibration of up to 10 parameters needs a
#: few hundred trials.
MAX_TRIALS = 5_000
#: The end of ``calibrated.toml``: how to run with the accepted draws instead of the
#: estimate (``draws.parquet`` is beside it).
DRAWS_NOTE = """
# The parameters above are the estimate. To carry the calibration's parameter
# uncertainty into a run instead (each replicate takes one accepted draw, all its
# parameters together), uncomment these two lines:
# [parameters]
# draws = "draws.parquet"
"""
#: What a calibration writes in its folder (besides ``study.journal``).
OUTPUT_FILES = (
    "trials.parquet",
    "best.json",
    "draws.parquet",
    "calibrated.toml",
    "fit.png",
    "fit.html",
)


# ------------------------------------------------------------------ trials
def run_trial(
    spec: RunSpec,
    values: dict[str, Any],
    scenario: str,
    replicates: int,
    days: int,
    t: lk.Targets,
    k: float,
) -> float | str:
    """One trial on a worker: the log-likelihood of the targets under ``values``, or
    the reason the model refused them (a failed trial, not a worker's error)."""
    try:
        trial_spec = uncertainty.apply(spec, scenario, values)
    except SpecError as err:
        return str(err).splitlines()[0]
    sims = []
    for r in range(replicates):
        fd, names = sim.simulate(trial_spec, scenario, r, days)
        sims.append(lk.simulated_at(t, fd, names))
    return lk.replicate_log_likelihood(t, np.array(sims), k)


def fan_task(spec: RunSpec, values: dict[str, Any], scenario: str, replicate: int, days: int):
    """One replicate of a draw for the fit page: ``(facility_day, metric names)`` (None
    if the model refuses the draw)."""
    try:
        run_spec = uncertainty.apply(spec, scenario, values)
    except SpecError:
        return None
    return sim.simulate(run_spec, scenario, replicate, days)


@dataclass
class CalibrationResult:
    """What :func:`calibrate` found and wrote."""

    folder: Path
    best: dict[str, Any]
    best_ll: float
    n_trials: int
    draws: pd.DataFrame
    seconds: float
    ridges: list[str]


def fingerprint(spec: RunSpec, t: lk.Targets) -> str:
    """What a calibration's trials depend on: the spec (its [calibration] section with
    it) and the observed values it scores (the targets between its first and last day),
    not the whole observed file: rows appended after its last day, or of metrics it
    does not fit, leave a calibration as it is."""
    h = hashlib.sha256()
    for a in (t.day, t.facility, t.metric, t.y, t.group):
        h.update(np.ascontiguousarray(a).tobytes())
    data = {"spec": json.loads(spec.to_json()), "metrics": t.metrics, "data": h.hexdigest()}
    return hashlib.sha256(json.dumps(data, sort_keys=True, default=str).encode()).hexdigest()[:16]


#: The study's journal (Optuna's append-only file storage) in the calibration folder.
STUDY_FILE = "study.journal"


def repair_journal(journal: Path) -> int:
    """Drop a torn last record of the study's journal (a write cut short by a crash or a
    full disk leaves a last line without its newline; Optuna would then append the next
    record to it and could no longer read the journal). Returns the bytes dropped. A
    damaged record before the last is an error naming its line (``--force`` starts
    over)."""
    from optuna.storages.journal._storage import JournalOperation

    if not journal.is_file():
        return 0
    ops = {int(op) for op in JournalOperation}
    data = journal.read_bytes()
    keep = data.rfind(b"\n") + 1  # the end of the last complete line
    for number, line in enumerate(data[:keep].splitlines(), start=1):
        try:
            record = json.loads(line)
        except (ValueError, UnicodeDecodeError):
            record = None
        op = record.get("op_code") if isinstance(record, dict) else None
        if type(op) is not int or op not in ops:
            raise PopsimError(
                f"{journal}: line {number} is not a record of a study (a damaged or foreign "
                "file); use --force to start the calibration over"
            )
    if keep < len(data):
        os.truncate(journal, keep)
    return len(data) - keep


def open_study(folder: Path, name: str, seed: int, fingerprint: str, force: bool) -> optuna.Study:
    """The study in ``folder/study.journal``: resumed if it is the same calibration, else
    an error (or replaced, with ``force``).

    The journal is Optuna's append-only log of the study (each ask and tell one line,
    written under a file lock): an interrupted calibration loses at most the trials in
    flight, and a record torn by a crash is dropped (:func:`repair_journal`). It
    replaced an SQLite database, whose per-trial transactions and re-reads of every
    trial on each ask cost about 0.15 s of the driver's time per trial over 200 trials of
    two parameters (0.02 s with the journal; Optuna 5.1 alone, no model)."""
    import optuna
    from optuna.storages import JournalStorage
    from optuna.storages.journal import JournalFileBackend, JournalFileOpenLock

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    journal = folder / STUDY_FILE
    if force and journal.exists():
        journal.unlink()
    dropped = repair_journal(journal)
    if dropped:
        print(
            f"{journal}: dropped a torn last record ({dropped} bytes, a write cut short); "
            "resuming from the complete records",
            file=sys.stderr,
        )
    path = str(journal.resolve())
    try:
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
    except (KeyError, ValueError, TypeError, AttributeError, IndexError, AssertionError) as err:
        # AssertionError: Optuna's replay of a record it cannot apply ("Should not reach")
        raise PopsimError(
            f"{journal}: cannot be read as a study ({type(err).__name__}); use --force to "
            "start the calibration over"
        ) from None
    if stored is None:
        study.set_user_attr("fingerprint", fingerprint)
    elif stored != fingerprint:
        raise PopsimError(
            f"{journal}: holds a calibration of another spec or of other observed data; use "
            "--force to start over"
        )
    # trials left running by an interrupted calibration are failed (their values are lost)
    for trial in study.get_trials(deepcopy=False, states=(optuna.trial.TrialState.RUNNING,)):
        study.tell(trial.number, state=optuna.trial.TrialState.FAIL)
    return study


def check_trials(trials: Any) -> int:
    """``--trials`` in 1..:data:`MAX_TRIALS`."""
    if isinstance(trials, bool) or not isinstance(trials, int) or not 1 <= trials <= MAX_TRIALS:
        raise PopsimError(f"--trials: expected 1..{MAX_TRIALS:,} trials, got {trials}")
    return trials


def check_folder(folder: Path, fingerprint_: str, force: bool) -> None:
    """Refuse a calibration folder that holds another calibration's outputs (or files
    of the same names popsim did not write) unless ``force``; nothing is written."""
    if folder.exists() and not folder.is_dir():
        raise OutputError(f"--out {folder}: is a file, not a folder")
    if force or not folder.is_dir():
        return
    present = [n for n in OUTPUT_FILES if (folder / n).exists()]
    if not present:
        return
    try:
        stored = json.loads((folder / "best.json").read_text(encoding="utf-8")).get("fingerprint")
    except (OSError, ValueError, AttributeError):
        stored = None
    if stored != fingerprint_:
        raise OutputError(
            f"{folder}: holds the outputs of another calibration ({', '.join(present)}); "
            "use another --out folder, or --force to replace them"
        )


def check_targets(cal: Calibration, observed: Observed, spec: RunSpec, path: Path) -> None:
    """Every target is a column of the observed file (one line per missing target)."""
    missing = [m for m in cal.targets if m not in observed.metrics]
    if missing:
        has = ", ".join(observed.metrics) or "none"
        problems = [
            SpecError(
                spec.path,
                f"calibration.targets[{cal.targets.index(m)}]",
                f"{m!r} is not a column of the observed file {path} (its metrics: {has})",
            )
            for m in missing
        ]
        raise problems[0] if len(problems) == 1 else SpecProblems(problems)


def _residents(spec: RunSpec, region: Any) -> int:
    return int(spec.population or region.total_population)


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
    check: bool = False,
    fan_draws: int = 20,
    until: dt.date | None = None,
) -> CalibrationResult | None:
    """Run (or resume) the calibration of a spec to observed data; write its outputs.
    Every input is checked before anything is written; with ``check``, only that (None).
    ``fan_draws``: accepted draws simulated for the fit page. ``until``: only the data up
    to that day is seen (the calibration window ends there at the latest; a backtest's
    ``--refit`` at each origin)."""
    import optuna
    from tqdm import tqdm

    from popsim.run import resources
    from popsim.run.ensemble import default_out

    t0 = time.perf_counter()
    check_trials(trials)
    resources.check_workers(workers)
    spec = load_spec(spec_path)
    cal = calibration_of(spec)
    region = spec.load_region()
    spec.check(region)
    last_day = spec.start + dt.timedelta(days=spec.days - 1)
    observed = load_observed(observed_path, region, spec.start, last_day, zones_path)
    if until is not None:
        observed = observed.until(until)
    check_targets(cal, observed, spec, Path(observed_path))
    first = cal.from_ or spec.start
    last = cal.to or last_day
    if until is not None:
        last = min(last, until)
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
    memory = ""
    if not scheduler:
        n_local = max(1, workers or os.cpu_count() or 1)
        need = resources.check_local_memory(_residents(spec, region), days, n_local)
        memory = f"; about {need / 2**30:.1f} GB on {n_local} worker(s)"
    folder = Path(out) if out is not None else default_out(spec_path) / "calibration"
    fp = fingerprint(spec, t)
    check_folder(folder, fp, force)
    if check:
        print(
            f"{spec_path}: ok ({len(cal.fit)} parameters, {len(t):,} observed values of "
            f"{', '.join(cal.targets)} from {first} to {last}; up to {trials:,} trials of "
            f"{cal.replicates_per_trial} replicates into {folder}{memory})"
        )
        return None
    folder.mkdir(parents=True, exist_ok=True)
    study = open_study(folder, spec.name, spec.seed, fp, force)
    done_states = (optuna.trial.TrialState.COMPLETE,)
    n_done = len(study.get_trials(deepcopy=False, states=done_states))
    dists = {
        p.name: (
            optuna.distributions.IntDistribution(int(p.low), int(p.high))
            if p.integer
            else optuna.distributions.FloatDistribution(p.low, p.high)
        )
        for p in cal.fit
    }
    ints = {p.name for p in cal.fit if p.integer}
    with sim.client(workers, scheduler) as c:
        if scheduler:  # one replicate at a time on each worker
            resources.check_cluster_memory(c, _residents(spec, region), days)
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
        frame = trials_frame(study, cal.names, ints)
        fit = surrogate(frame, cal.bounds, ints)
        draws = accepted(frame, cal.names, fit, ints)
        best = fit.best
        fan = _fan(c, spec, draws, cal.names, cal.scenario, days, fan_draws)
    _write_outputs(folder, spec, cal, frame, draws, fit, study, fp)
    from popsim.twin.pages import fit_page

    fit_page(folder, spec, observed, cal, fan, best, draws, first, last)
    seconds = time.perf_counter() - t0
    shown = ", ".join(f"{k} = {v:.4g}" for k, v in best.items())
    print(
        f"{spec.name}: {len(frame)} trials ({n_done} complete) in {seconds:.0f} s; "
        f"estimate {shown} (log-likelihood {fit.max_ll:.1f}, trial noise sd "
        f"{fit.noise_sd:.1f}); {len(draws)} accepted draws"
    )
    ridges = fit.describe_ridges()
    for line in ridges:
        print(line)
    print(f"calibration: {folder}")
    return CalibrationResult(folder, best, fit.max_ll, len(frame), draws, seconds, ridges)


def drive_trials(study, dists, submit, trials: int, n_done: int, in_flight: int, bar) -> int:
    """Ask, run and tell trials until ``trials`` are complete, ``in_flight`` at a time (two
    per worker: one running, one queued, so a worker seldom waits for the driver); the
    oldest trial is told as soon as it finishes and replaced by a newly asked one (the
    sampler's constant liar stands in for the trials still running). Trials are told in
    the order they were asked, not as they finish, so the sampler sees the same history
    at every ask whatever the machine's load: a calibration is reproducible from its seed.
    A trial whose parameters the model refuses (its task returns the reason, or raises
    :class:`SpecError`) is failed. Returns the complete count."""
    from collections import deque

    import optuna

    pending: deque[tuple[Any, optuna.trial.Trial]] = deque()
    n_failed = 0
    reason = ""

    def top_up() -> None:
        while len(pending) < in_flight and n_done + len(pending) < trials:
            trial = study.ask(dists)
            pending.append((submit(trial), trial))

    top_up()
    while pending:
        future, trial = pending.popleft()
        try:
            value = future.result()
        except SpecError as err:  # a combination the model rejects: a failed trial
            value = str(err).splitlines()[0]
        if isinstance(value, str):
            study.tell(trial, state=optuna.trial.TrialState.FAIL)
            n_failed += 1
            reason = reason or value
            if n_failed > max(10, trials):
                raise PopsimError(
                    f"{n_failed} trials failed (the model refused their parameters; the "
                    f"first: {reason}); narrow the [calibration] parameter ranges"
                ) from None
        else:
            study.tell(trial, value)
            n_done += 1
            bar.update(1)
        top_up()
    return n_done


def trials_frame(
    study: optuna.Study, names: list[str], ints: set[str] = frozenset()
) -> pd.DataFrame:
    """Every trial: number, state, each parameter, log-likelihood (NaN if not complete);
    integer parameters as nullable integers."""
    rows = []
    for tr in study.get_trials(deepcopy=False):
        row: dict[str, Any] = {"trial": tr.number, "state": tr.state.name}
        for n in names:
            row[n] = float(tr.params[n]) if n in tr.params else np.nan
        row["log_likelihood"] = float(tr.value) if tr.value is not None else np.nan
        rows.append(row)
    frame = pd.DataFrame(rows, columns=["trial", "state", *names, "log_likelihood"])
    for n in ints:
        frame[n] = frame[n].round().astype("Int64")
    return frame


def _fan(c, spec, draws, names, scenario, days, n: int = 20):
    """Simulated series of up to ``n`` accepted draws (one replicate each, distinct seeds)."""
    if draws.empty:
        return []
    rows = [draws.iloc[i % len(draws)] for i in range(n)]
    futures = [
        c.submit(fan_task, spec, {k: plain(row[k]) for k in names}, scenario, 1000 + i, days)
        for i, row in enumerate(rows)
    ]
    return [r for r in c.gather(futures) if r is not None]


def calibrated_spec(
    spec: RunSpec, best: dict[str, Any], names: list[str], scenario: str = "baseline"
) -> dict[str, Any]:
    """The spec as a TOML-ready mapping with the best parameters set (no [calibration]);
    a multiplier's parameters written as multiplied."""
    new = uncertainty.apply(spec, scenario, {n: best[n] for n in names})
    data = new.model_dump(mode="python", exclude_none=True)
    data.pop("calibration", None)
    data.pop("parameters", None)
    data["name"] = f"{spec.name}-calibrated"
    data["region"] = new.region_ref()
    data["description"] = (
        f"{spec.description} (calibrated: " + ", ".join(f"{n} = {best[n]:.4g}" for n in names) + ")"
    ).strip()
    return data


def _write_outputs(folder, spec, cal, frame, draws, fit: Surrogate, study, fp: str) -> None:
    names = cal.names
    atomic_write(folder / "trials.parquet", lambda p: frame.to_parquet(p, index=False))
    atomic_write(folder / "draws.parquet", lambda p: draws.to_parquet(p, index=False))
    best_trial = {k: plain(v) for k, v in study.best_params.items()}
    info: dict[str, Any] = {
        "fingerprint": fp,
        "spec": spec.name,
        "parameters": {k: plain(v) for k, v in fit.best.items()},
        "method": "quadratic surrogate" if fit.fitted else "best trial",
        "log_likelihood": fit.max_ll,
        "trial_noise_sd": fit.noise_sd,
        "best_trial": {"parameters": best_trial, "log_likelihood": study.best_value},
        "n_accepted": len(draws),
        "ridges": fit.ridges,
        "ridge_notes": fit.describe_ridges(),
    }
    if not draws.empty:
        info["accepted_range"] = {n: [plain(draws[n].min()), plain(draws[n].max())] for n in names}
    write_text(folder / "best.json", json.dumps(info, indent=1))
    text = tomlw.dumps(calibrated_spec(spec, fit.best, names, cal.scenario)) + DRAWS_NOTE
    write_text(folder / "calibrated.toml", text)


def read_draws(folder: str | Path) -> pd.DataFrame:
    """The accepted draws of a calibration folder."""
    return pd.read_parquet(Path(folder) / "draws.parquet")


def observed_for(spec: RunSpec, path: str | Path, zones_path: str | Path | None = None) -> Observed:
    """Observed data checked against a spec's region and run."""
    region = spec.load_region()
    last = spec.start + dt.timedelta(days=spec.days - 1)
    return load_observed(path, region, spec.start, last, zones_path)
