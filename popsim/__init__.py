"""popsim: a population-health agent-based model of a regional health system.

Residents are numpy columns (:mod:`popsim.population`), the care network is Mesa
agents (:mod:`popsim.care`), one step of :class:`popsim.model.RegionModel` is one day;
the modules and their contract are in :mod:`popsim.modules` and :mod:`popsim.core`.

In a notebook::

    import popsim
    m = popsim.Model.from_spec("runs/fraser.toml", scenario="baseline", replicate=0,
                               days=60, population=100_000)
    m.step()                 # one day
    m.run(29)                # 29 more
    m.facility_frame()       # pandas: day, date, facility, ward_census, ...
    spec = popsim.load_spec("runs/fraser.toml")
    run = popsim.run_spec(spec.with_overrides(replicates=2), out="runs/try")  # an ensemble
"""

from typing import Any

from popsim.core import MODEL_VERSION, __version__

__all__ = ["MODEL_VERSION", "Model", "__version__", "load_spec", "run_spec"]


def __getattr__(name: str) -> Any:
    # imported on first use: `import popsim` stays light (the command line starts fast)
    if name == "Model":
        from popsim.model import RegionModel

        return RegionModel
    if name == "load_spec":
        from popsim.run.spec import load_spec

        return load_spec
    if name == "run_spec":
        from popsim.run.ensemble import run_spec

        return run_spec
    raise AttributeError(f"module 'popsim' has no attribute {name!r}")
