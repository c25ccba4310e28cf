"""JSON text with exact numbers: ``Decimal`` values are written as number literals, never floats.

The standard encoder would round a Decimal through float; usage figures must reach clients to
the micro-core-hour, so responses are serialized here.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal
from typing import Any

_encode_string = json.encoder.encode_basestring_ascii


def decimal_literal(value: Decimal) -> str:
    """Plain notation without trailing zeros: ``Decimal('1.500000')`` -> ``1.5``."""
    text = str(value)  # plain already for the answers' figures (6 places), and faster than format
    if "E" in text:
        text = format(value, "f")
    if "." in text:
        text = text.rstrip("0").rstrip(".")
    return "0" if text in ("-0", "") else text


def dumps(value: Any) -> str:
    """Serialize dicts, lists, str, int, Decimal, bool and None compactly."""
    parts: list[str] = []
    _write(value, parts)
    return "".join(parts)


_SCALARS: dict[type, Callable[[Any], str]] = {
    str: _encode_string,
    Decimal: decimal_literal,
    int: int.__repr__,
    bool: lambda value: "true" if value else "false",
    type(None): lambda _: "null",
    float: json.dumps,
}
"""How each scalar type is written, looked up by exact type (subclasses take the general path)."""


MAX_NAMES = 512
_NAMES: dict[str, str] = {}
"""Member names as written: the answers use a few dozen, request after request."""


def _write(value: Any, out: list[str]) -> None:
    scalar = _SCALARS.get(type(value))
    if scalar is not None:
        out.append(scalar(value))
    elif isinstance(value, dict):
        separator = "{"
        for key, item in value.items():
            name = _NAMES.get(key)  # only str keys are kept, and no other key equals one
            if name is None:
                name = _encode_string(str(key))
                if type(key) is str and len(_NAMES) < MAX_NAMES:
                    _NAMES[key] = name
            scalar = _SCALARS.get(type(item))
            if scalar is not None:  # most members: one append, no recursion
                out.append(f"{separator}{name}:{scalar(item)}")
            else:
                out.append(f"{separator}{name}:")
                _write(item, out)
            separator = ","
        out.append("}" if separator == "," else "{}")
    elif isinstance(value, list | tuple):
        separator = "["
        for item in value:
            out.append(separator)
            _write(item, out)
            separator = ","
        out.append("]" if separator == "," else "[]")
    else:
        _write_subclass(value, out)


def _write_subclass(value: Any, out: list[str]) -> None:
    """A value of a subclass of a JSON type (a ``str`` enum member, say), written as its base type."""
    for base in (bool, str, Decimal, int, float):
        if isinstance(value, base):
            out.append(_SCALARS[base](value))
            return
    raise TypeError(f"cannot serialize {type(value).__name__}")
