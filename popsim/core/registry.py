"""The one registry of modules: everything module-shaped in popsim derives from it.

``popsim/modules.py`` registers popsim's own modules, in day order; a new module is its
file plus one line there (or one :meth:`Registry.register` call of its own, e.g. in a
test, with :meth:`Registry.added` to take it out again). The spec's sections and
parameter classes, which sections are on by default, the event kinds a spec accepts and
the module that applies each, and the output columns all come from here.

Other processes (Dask workers) learn of the modules registered in the process that
starts a run through their import paths (:meth:`Registry.import_paths`): a run spec
carries them when it is sent to a worker, and the worker imports and registers those
it lacks (:meth:`Registry.ensure`) before it reads the spec. A module registered
outside ``popsim/modules.py`` therefore has to be a class at the top level of a module
the workers can import (on a remote cluster: installed there too).
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from popsim.core.module import PHASES
from popsim.core.schema import FACILITY_KEYS, FACILITY_METRICS, ZONE_KEYS, ZONE_METRICS

if TYPE_CHECKING:
    from popsim.core.events import Event
    from popsim.core.module import Module


class RegistryError(ValueError):
    """A module that cannot be registered (a name, column, event kind or output clash)."""


class Registry:
    """Module classes by name, in registration (= day) order.

    ``version`` changes on every registration, so that what is derived from the registry
    (the spec's pydantic classes) can be cached and rebuilt when it changes.
    """

    def __init__(self) -> None:
        self._modules: dict[str, type[Module]] = {}
        self.version = 0

    # ------------------------------------------------------------ changing
    def register(self, cls: type[Module]) -> type[Module]:
        """Add a module class (usable as a class decorator); returns it."""
        name = cls.name
        if not name.isidentifier() or name == "module":
            raise RegistryError(f"{cls.__name__}: set name to the module's section name")
        if name in self._modules:
            raise RegistryError(f"a module named {name!r} is already registered")
        if cls.phase not in PHASES:
            raise RegistryError(f"{name}: phase must be one of {', '.join(PHASES)}")
        kinds = self.event_kinds()
        for ev in cls.events:
            if not ev.kind:
                raise RegistryError(f"{name}: event {ev.__name__} has no kind")
            if ev.kind in kinds:
                raise RegistryError(f"{name}: event kind {ev.kind!r} is already registered")
        columns = {c.name for m in self._modules.values() for c in m.columns}
        for column in cls.columns:
            if column.name in columns:
                raise RegistryError(f"{name}: resident column {column.name!r} is taken")
        taken = set(self.zone_columns()) | set(ZONE_KEYS)
        for column in cls.zone_columns:
            if column in taken:
                raise RegistryError(f"{name}: zone_day column {column!r} is taken")
        if cls.facility_columns and any(m.facility_columns for m in self._modules.values()):
            raise RegistryError(f"{name}: only one module writes facility_day")
        self._modules[name] = cls
        self.version += 1
        return cls

    def unregister(self, name: str) -> None:
        """Take a module out (tests)."""
        del self._modules[name]
        self.version += 1

    @contextmanager
    def added(self, cls: type[Module]) -> Iterator[type[Module]]:
        """Register ``cls`` for the duration of a ``with`` block."""
        self.register(cls)
        try:
            yield cls
        finally:
            self.unregister(cls.name)

    # ------------------------------------------------------------- reading
    def modules(self) -> tuple[type[Module], ...]:
        """Every registered module class, in registration order."""
        return tuple(self._modules.values())

    def __contains__(self, name: object) -> bool:
        return name in self._modules

    def __getitem__(self, name: str) -> type[Module]:
        return self._modules[name]

    def names(self) -> tuple[str, ...]:
        """Section names, in registration order."""
        return tuple(self._modules)

    def event_kinds(self) -> dict[str, type[Event]]:
        """Event types by their spec key, in registration order."""
        return {ev.kind: ev for m in self._modules.values() for ev in m.events}

    def event_owner(self, event_type: type) -> str | None:
        """The name of the module that applies events of this type (None: nobody)."""
        for name, cls in self._modules.items():
            if event_type in cls.events:
                return name
        return None

    def zone_columns(self) -> tuple[str, ...]:
        """The ``zone_day`` count columns: the schema's, then each module's."""
        extra = (c for m in self._modules.values() for c in m.zone_columns)
        return (*ZONE_METRICS, *extra)

    def facility_columns(self) -> tuple[str, ...]:
        """The ``facility_day`` count columns (the care module's, else the schema's)."""
        for cls in self._modules.values():
            if cls.facility_columns:
                return tuple(cls.facility_columns)
        return FACILITY_METRICS

    def facility_table_columns(self) -> tuple[str, ...]:
        """Every ``facility_day`` column, keys first."""
        return (*FACILITY_KEYS, *self.facility_columns())

    # ------------------------------------------------------ other processes
    def import_paths(self) -> tuple[str, ...]:
        """``package.module:Class`` of every registered module class, in registration order."""
        return tuple(f"{cls.__module__}:{cls.__qualname__}" for cls in self._modules.values())

    def check_portable(self) -> None:
        """:class:`RegistryError` naming the first registered module class that another
        process could not import by its path (defined in a script or a function)."""
        for path in self.import_paths():
            _check_portable(path)

    def ensure(self, paths: Iterable[str]) -> None:
        """Import and register, in order, the module classes at ``paths`` (from
        :meth:`import_paths` of another process) that are not registered here yet.
        :class:`RegistryError` if one cannot be imported, or if another class is
        registered here under its name."""
        for path in paths:
            _check_portable(path)
            module_name, _, qualname = path.partition(":")
            try:
                found: object = importlib.import_module(module_name)
                for part in qualname.split("."):
                    found = getattr(found, part)
            except (ImportError, AttributeError) as err:
                raise RegistryError(f"module {path}: cannot be imported here ({err})") from None
            name = getattr(found, "name", None)
            if not isinstance(found, type) or not isinstance(name, str):
                raise RegistryError(f"module {path}: not a module class")
            if name in self._modules:  # registered already (e.g. on import)
                if self._modules[name] is not found:
                    raise RegistryError(
                        f"module {path}: another class is registered here as {name!r}"
                    )
                continue
            self.register(found)


def _check_portable(path: str) -> None:
    module_name, _, qualname = path.partition(":")
    if module_name == "__main__" or "<locals>" in qualname or not qualname:
        raise RegistryError(
            f"module {path}: not importable in another process (define the class at the "
            "top level of an importable module, not in a script, notebook or function)"
        )


#: The registry of this process (filled by ``popsim/modules.py``).
REGISTRY = Registry()
