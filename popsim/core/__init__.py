"""popsim's contracts: what every other part of popsim imports, importing nothing of popsim.

The model version lives here. **Rule:** bump :data:`MODEL_VERSION` in every commit
that changes any output (a figure in ``facility_day``, ``zone_day`` or ``journeys``,
a column, a default parameter), regenerate the golden baseline (``make golden``) in
the same commit and say why. ``tests/test_golden.py`` fails when outputs change but
the version did not, and when the version moved but the baseline was not regenerated.
Run folders record the version; a run folder written by another version is never
resumed into or pooled with.
"""

#: Version of the model's outputs (not of the package): bumped whenever outputs change.
MODEL_VERSION = 6

__all__ = ["MODEL_VERSION"]
