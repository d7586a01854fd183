"""Exception types. Each message says what was wrong and how to fix the input.

The command line prints ``str(error)`` on one line and exits with status 2 for any
:class:`PopsimError`; no traceback is shown for bad input.
"""

from __future__ import annotations


def one_line(text: str) -> str:
    """``text`` with line breaks and other control characters escaped (``\\n``), so a
    name taken from the input can never split an error message over several lines."""
    if text.isprintable():
        return text
    return "".join(
        c if c.isprintable() else c.encode("unicode_escape").decode("ascii") for c in text
    )


class PopsimError(Exception):
    """Base of every error caused by bad input (files, specs, parameters)."""


class InputError(PopsimError):
    """A problem in an input file: names the file, the row or field, and what was expected."""

    def __init__(self, path: object, where: str | None, problem: str) -> None:
        self.path = str(path)
        self.where = one_line(where) if where else where
        self.problem = one_line(problem)
        location = f"{self.path}: {self.where}" if where else self.path
        super().__init__(f"{location}: {self.problem}")


class RegionError(InputError):
    """A region folder or one of its files is invalid."""


class RegionProblems(PopsimError):
    """Several problems found while checking a region; ``problems`` holds each one."""

    def __init__(self, problems: list[RegionError]) -> None:
        self.problems = list(problems)
        lines = "\n".join(str(p) for p in self.problems)
        super().__init__(lines)


class SpecError(InputError):
    """A run spec (TOML) is invalid."""


class SpecProblems(SpecError):
    """Several problems in one spec; ``problems`` holds each (one line each)."""

    def __init__(self, problems: list[SpecError]) -> None:
        first = problems[0]
        super().__init__(first.path, first.where, first.problem)
        self.problems = list(problems)
        self.args = ("\n".join(str(p) for p in self.problems),)

    def __str__(self) -> str:
        return "\n".join(str(p) for p in self.problems)


class ParameterError(PopsimError, ValueError):
    """A model parameter is out of its allowed range; the message names it and the range."""


class RunDirError(PopsimError):
    """A run directory is missing, empty or incomplete for the requested analysis."""


class OutputError(PopsimError):
    """The output folder cannot be used: not a folder, not writable, in use by another run,
    or holding outputs of another configuration."""


class ResourceError(PopsimError):
    """The run asks for more than the machine (or cluster) has: memory, workers."""
