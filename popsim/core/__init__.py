"""popsim's contracts: what every other part of popsim imports, importing nothing of popsim.

- :mod:`popsim.core.module`: the :class:`Module` base class (hooks, per-resident columns,
  parameter class, events, output columns) and :class:`ModelAPI`, the model as a module
  sees it;
- :mod:`popsim.core.registry`: the one :data:`REGISTRY` of modules (filled by
  :mod:`popsim.modules`);
- :mod:`popsim.core.events`: the :class:`Event` base class and how a spec entry becomes one;
- :mod:`popsim.core.requests`: the request API (care needs as :class:`NeedBatch`);
- :mod:`popsim.core.schema`: the output tables, columns, types, journey events, layout;
- :mod:`popsim.core.config`: :class:`ModelConfig`, a replicate's resolved configuration;
- :mod:`popsim.core.seeds`: replicate seeds and named random streams.

The model version lives here. **Rule:** bump :data:`MODEL_VERSION` in every commit
that changes any output (a figure in ``facility_day``, ``zone_day`` or ``journeys``,
a column, a default parameter), regenerate the golden baseline (``make golden``) in
the same commit and say why. ``tests/test_golden.py`` fails when outputs change but
the version did not, and when the version moved but the baseline was not regenerated.
Run folders record the version; a run folder written by another version is never
resumed into or pooled with.
"""

#: Version of the model's outputs (not of the package): bumped whenever outputs change.
MODEL_VERSION = 27
#: Version of the package (written into every output file's metadata).
__version__ = "0.1.0"

from popsim.core import schema  # noqa: E402
from popsim.core.config import ModelConfig  # noqa: E402
from popsim.core.events import Event, Resolver  # noqa: E402
from popsim.core.module import (  # noqa: E402
    CARE,
    RESIDENTS,
    Column,
    ModelAPI,
    Module,
    SectionResolver,
)
from popsim.core.registry import REGISTRY, Registry, RegistryError  # noqa: E402
from popsim.core.requests import NeedBatch  # noqa: E402

__all__ = [
    "CARE",
    "MODEL_VERSION",
    "REGISTRY",
    "RESIDENTS",
    "Column",
    "Event",
    "ModelAPI",
    "ModelConfig",
    "Module",
    "NeedBatch",
    "Registry",
    "RegistryError",
    "Resolver",
    "SectionResolver",
    "__version__",
    "schema",
]
