"""Reading TOML input with its nesting bounded.

:mod:`tomllib` parses nested arrays and inline tables recursively: ``x = [[[[...]]]]``
3,000 levels deep ends in a ``RecursionError``, and a dotted key or table header 3,000
names long (``[a.a.a...]``) parses into a table that deep, which every recursive reader
after it (validation, JSON) then fails on. :func:`loads` measures the brackets before
parsing (a scan that keeps no stack) and the parsed tables' depth after (without
recursion), and refuses anything deeper than :data:`MAX_DEPTH` with one line.
"""

from __future__ import annotations

import tomllib
from typing import Any

#: Deepest nesting of tables and arrays accepted in an input file. The deepest a popsim
#: file needs is about 5 (``scenarios.<name>.events[i].<key>`` and a distribution's inline
#: table); 32 leaves room for any hand-written file while staying far below Python's
#: recursion limit (1,000 frames) for the readers that walk the result.
MAX_DEPTH = 32


class TooDeep(ValueError):
    """The TOML text nests deeper than :data:`MAX_DEPTH`."""


def bracket_depth(text: str) -> int:
    """The deepest nesting of ``[``/``{`` outside strings and comments (an upper bound of
    what :mod:`tomllib` will recurse through; table headers count their brackets)."""
    depth = deepest = 0
    i, n = 0, len(text)
    while i < n:
        c = text[i]
        if c == "#":
            end = text.find("\n", i)
            i = n if end < 0 else end + 1
            continue
        if c in "\"'":
            triple = text.startswith(c * 3, i)
            quote = c * 3 if triple else c
            j = i + len(quote)
            while j < n:
                if c == '"' and text[j] == "\\":
                    j += 2
                    continue
                if text.startswith(quote, j):
                    break
                if not triple and text[j] == "\n":  # an unterminated string: tomllib says so
                    break
                j += 1
            i = j + len(quote)
            continue
        if c in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif c in "]}":
            depth = max(depth - 1, 0)
        i += 1
    return deepest


def data_depth(data: Any) -> int:
    """The deepest nesting of tables and arrays in parsed data (no recursion)."""
    deepest = 0
    stack: list[tuple[Any, int]] = [(data, 0)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        deepest = max(deepest, depth)
        if depth > MAX_DEPTH:  # deep enough to refuse: no need to walk the rest
            return depth
        stack.extend((child, depth + 1) for child in children)
    return deepest


def loads(text: str) -> dict[str, Any]:
    """:func:`tomllib.loads` with nesting bounded by :data:`MAX_DEPTH`. Raises
    :class:`TooDeep` (a one-line message) or :class:`tomllib.TOMLDecodeError`."""
    depth = bracket_depth(text)
    if depth > MAX_DEPTH:
        raise TooDeep(f"arrays or inline tables nested {depth} deep (at most {MAX_DEPTH})")
    data = tomllib.loads(text)
    depth = data_depth(data)
    if depth > MAX_DEPTH:
        raise TooDeep(f"tables nested more than {MAX_DEPTH} deep (dotted keys or headers)")
    return data
