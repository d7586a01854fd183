"""Rescaling a running epidemic's infections on their way to hospital (a forecast's warm
start: :meth:`popsim.epidemic.module.Epidemic.rescale_infected`).

A forecast that sets the hospital census to the observed one leaves the model's
infected residents (exposed and infectious, not in hospital) those of its own
epidemic, so the census drifts back toward the model's own level within a few weeks.
:func:`rescale_infected` multiplies their number by ``ratio`` (the factor the warm start
imposed on the census):

- **ratio below 1**: ``round(n x (1 - ratio))`` of the ``n`` infected residents not in
  hospital, drawn without replacement, become susceptible again; everything their
  infection had scheduled for them (onset, recovery, a hospital admission, a death at
  home) is cancelled. Household exposures they had already scheduled for others stay.
- **ratio above 1**: ``round(n x (ratio - 1))`` susceptible residents are infected as
  copies of infected ones (each infected resident copied ``floor(ratio - 1)`` times, the
  rest drawn without replacement): a copy is a susceptible of the same zone and age
  band, takes the original's state (exposed, infectious with or without symptoms) and
  every row it has in the progression, hospital and home-death calendars (same days,
  same hospital path), so the copies arrive in hospital on the same schedule as the
  originals. A copy already infectious schedules no household exposures of its own
  (the original's were drawn when it became infectious). A cell without enough
  susceptibles gets fewer copies.

Residents are conserved (only ``epi_state`` changes), the per-cell counts are kept, and
the draws come from ``rng`` only (over residents sorted by id), so a given seed gives
the same residents.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from popsim.core.module import ModelAPI as RegionModel


def rescale_infected(
    epi: Any,
    model: RegionModel,
    ratio: float,
    rng: np.random.Generator,
    states: tuple[int, int, int, int],
) -> int:
    """Scale the infected residents not in hospital of the epidemic module ``epi``
    (:class:`popsim.epidemic.module.Epidemic`) by ``ratio`` (> 0); returns the change
    in their number (negative: made susceptible). ``states``: the codes of susceptible,
    exposed, infectious asymptomatic and symptomatic (the module's)."""
    S, E, IA, IS = states  # noqa: N806
    if not ratio > 0:
        raise ValueError(f"the ratio must be positive, got {ratio}")
    pop = model.pop
    st = epi.state
    infected = np.flatnonzero(
        ((st == E) | (st == IA) | (st == IS)) & pop.alive & ~pop.in_hospital
    ).astype(np.int64)
    n = len(infected)
    calendars = (epi.progression, epi.hospital, epi.deaths_due)
    if n == 0 or ratio == 1:
        return 0
    if ratio < 1:
        k = int(round(n * (1 - ratio)))
        if k == 0:
            return 0
        ids = np.sort(rng.choice(infected, size=k, replace=False))
        epi._move(model, ids, S)
        for cal in calendars:
            cal.drop(ids)
        return -k
    k = int(round(n * (ratio - 1)))
    whole, rest = divmod(k, n)
    src = np.concatenate([np.tile(infected, whole), np.sort(rng.choice(infected, rest, False))])
    if len(src) == 0:
        return 0
    cells = epi._cells(model, src)
    order = np.lexsort((src, cells))
    src, cells = src[order], cells[order]
    want = np.bincount(cells, minlength=epi.n_cells)
    share = epi.counts[S] / np.maximum(pop.cell_size, 1)
    new = pop.sample_cells(want, rng, accept=lambda ids: epi.state[ids] == S, accept_share=share)
    new_cells = epi._cells(model, new)
    new = new[np.lexsort((new, new_cells))]
    new_cells = np.sort(new_cells, kind="stable")
    got = np.bincount(new_cells, minlength=epi.n_cells)
    # pair the i-th copy of a cell with the cell's i-th original (fewer where it fell short)
    first = np.cumsum(want) - want
    rank_new = np.arange(len(new)) - (np.cumsum(got) - got)[new_cells]
    src = src[first[new_cells] + rank_new]
    for state in (E, IA, IS):
        of = st[src] == state
        if of.any():
            epi._move(model, new[of], state, S)
    for cal in calendars:
        cal.copy_rows(src, new)
    return len(new)
