"""Checks of a resolved scenario that need the region and every event at once.

- **Bed cuts**: a ``facility`` event removing more funded beds than the site has on its
  day (its beds in the region file, changed by the scenario's earlier events) would be
  clamped to zero beds by the care network, silently; it is a problem of the spec,
  reported with the most the event can remove.
- **Draws**: a parameter given as a distribution (or a draws table) is validated at its
  central value when the spec is read; each replicate's own draw is checked here, so a
  draw out of the parameter's range is refused before the run, not lost on a worker.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from popsim.core.event_types import ChangeBeds
from popsim.errors import SpecError

if TYPE_CHECKING:
    from popsim.core.events import Event
    from popsim.region.load import Region


def bed_cut_problems(events: list[tuple[str, Event]], region: Region) -> list[tuple[str, str]]:
    """``(where, problem)`` for each bed change, in day order, that takes a site below
    zero funded ward or ICU beds. ``events`` pairs each resolved event with its place in
    the spec (``scenarios.<name>.events[i]``)."""
    beds = {unit: [int(b) for b in region.facilities[f"{unit}_beds"]] for unit in ("ward", "icu")}
    problems: list[tuple[str, str]] = []
    changes = [(where, e) for where, e in events if isinstance(e, ChangeBeds)]
    for where, event in sorted(changes, key=lambda pair: pair[1].day):
        site = region.facility_ids[event.facility]
        for unit in ("ward", "icu"):
            delta = getattr(event, f"{unit}_beds")
            have = beds[unit][event.facility]
            if have + delta < 0:
                problems.append(
                    (
                        f"{where}.{unit}_beds",
                        f"removes {-delta} {unit} beds from {site}, which has {have} on day "
                        f"{event.day}; the cut would be clamped to 0 beds (at most -{have})",
                    )
                )
            beds[unit][event.facility] = max(have + delta, 0)
    return problems


def draw_problems(spec: Any) -> list[SpecError]:
    """``spec``: a :class:`popsim.run.spec.RunSpec` (not imported: it imports this). A problem per parameter some replicate would draw outside the parameter's range
    (from a ``{ dist = ... }`` or the draws table): checked for every replicate before
    anything runs (the draws are cheap; a replicate failing on its worker is not)."""
    from popsim.twin import uncertainty

    seen: dict[str, tuple[int, int, str]] = {}  # where -> (count, first replicate, why)
    for scenario in spec.scenarios:
        if not uncertainty.distributions(spec, scenario) and spec.parameters is None:
            continue
        for replicate in range(spec.replicates):
            values = uncertainty.replicate_values(spec, scenario, replicate)
            try:
                uncertainty.apply(spec, scenario, values)
            except SpecError as err:
                for problem in getattr(err, "problems", [err]):
                    key = problem.where or "parameters"
                    count, first, why = seen.get(key, (0, replicate, problem.problem))
                    seen[key] = (count + 1, first, why)
    total = spec.replicates * len(spec.scenarios)
    return [
        SpecError(
            spec.path,
            key,
            f"{count} of {total} replicates draw a value out of range (replicate {first}: "
            f"{why}); narrow its distribution",
        )
        for key, (count, first, why) in seen.items()
    ]
