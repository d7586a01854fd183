"""Provenance: what exactly produced a replicate, and the digest that decides resuming.

Every replicate records (in its manifest and in each Parquet file's metadata):

- the **resolved configuration** of its scenario: every parameter the model actually
  used, defaults included (the parameter objects as validated, not the spec as written),
  the resolved events, the horizon, start, population, seed and the region's name and
  data digest (:func:`resolved_config`);
- :data:`popsim.core.MODEL_VERSION`, bumped whenever outputs change;
- the versions of the packages that make the numbers (:func:`versions`).

:func:`config_hash` digests the resolved configuration and the model version: a run
folder is resumed only into replicates with the same digest, so outputs of two model
versions or two configurations are never pooled.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from functools import cache
from pathlib import Path
from typing import TYPE_CHECKING, Any

from popsim.core import MODEL_VERSION

if TYPE_CHECKING:
    from popsim.core.config import ModelConfig
    from popsim.region.load import Region
    from popsim.run.spec import RunSpec

#: Packages whose versions are recorded with every replicate.
PACKAGES: tuple[str, ...] = ("popsim", "numpy", "mesa", "dask", "distributed", "pyarrow")
#: Region files that enter the region digest.
REGION_SUFFIXES: tuple[str, ...] = (".toml", ".csv", ".geojson", ".gpkg", ".json")


def jsonable(value: Any) -> Any:
    """A JSON-ready copy of a resolved configuration value: pydantic models dumped with
    every field (defaults included), dataclasses (events) as ``{"kind": ..., fields}``,
    dates as ISO strings, tuples as lists."""
    from pydantic import BaseModel

    if isinstance(value, BaseModel):
        return value.model_dump(mode="json")
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        fields = {f.name: jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
        return {"kind": type(value).__name__, **fields}
    if isinstance(value, dict):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    if isinstance(value, Path):
        return str(value)
    if hasattr(value, "item") and callable(value.item):  # numpy scalars
        return value.item()
    return value


def region_digest(folder: str | Path) -> str:
    """A digest of a region folder's data files (changing any redoes the replicates)."""
    digest = hashlib.sha256()
    for path in sorted(Path(folder).iterdir()):
        if path.is_file() and path.suffix in REGION_SUFFIXES:
            digest.update(path.name.encode("utf-8"))
            digest.update(hashlib.sha256(path.read_bytes()).digest())
    return digest.hexdigest()[:16]


def resolved_config(
    spec: RunSpec, scenario: str, region: Region, config: ModelConfig | None = None
) -> dict[str, Any]:
    """Every setting one scenario's replicates use, defaults included, as JSON data.

    ``config`` is the scenario's resolved :class:`popsim.core.config.ModelConfig` (built
    from the spec and region if not given; parameters given as distributions at their
    central values, or a replicate's draws when it is that replicate's configuration). The
    replicate count is not part of it (adding replicates does not change the existing
    ones); the seed is.
    """
    from popsim.region.load import resolve_region
    from popsim.twin import uncertainty

    if config is None:
        config = spec.model_config_for(scenario, region)
    data = jsonable(config)
    data.pop("kind", None)
    data.update(data.pop("params", {}))  # one key per registered module (None: off)
    data["scenario"] = scenario
    data["seed"] = str(spec.seed)
    # parameters given as distributions (drawn per replicate from the seed): their tables
    data["distributions"] = uncertainty.distributions(spec, scenario)
    table = getattr(spec, "_draws", None)
    if table is not None:  # a table of joint draws: its digest (another file, other runs)
        data["draws"] = table.record()
    data["region"] = {
        "name": region.name,
        "ref": spec.region,
        "digest": region_digest(resolve_region(spec.region_ref())),
    }
    return data


def config_hash(
    spec: RunSpec, scenario: str, region: Region | None = None, resolved: dict | None = None
) -> str:
    """The digest of a scenario's resolved configuration plus :data:`MODEL_VERSION`: two
    replicates with the same digest come from the same model and the same settings."""
    if resolved is None:
        resolved = resolved_config(spec, scenario, region or spec.load_region())
    text = json.dumps(
        {"config": resolved, "model_version": MODEL_VERSION},
        sort_keys=True,
        separators=(",", ":"),
    )
    return hashlib.sha256(text.encode("utf-8")).hexdigest()[:16]


@cache
def versions() -> dict[str, str]:
    """Installed versions of :data:`PACKAGES` (and Python), for the record."""
    import platform
    from importlib.metadata import PackageNotFoundError, version

    found = {"python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = version(name)
        except PackageNotFoundError:
            found[name] = "unknown"
    return found
