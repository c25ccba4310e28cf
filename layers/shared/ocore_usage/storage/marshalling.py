"""DynamoDB's attribute values (``{"S": "a"}``, ``{"N": "1.5"}``, ...) to and from Python values.

The same mapping as boto3's ``TypeSerializer``/``TypeDeserializer``, written out here because
importing those loads all of boto3 (s3transfer included) into every function's cold start:

| Python | DynamoDB |
|---|---|
| ``str`` | ``S`` |
| ``int``, ``Decimal`` (not ``bool``) | ``N``, read back as ``Decimal`` |
| ``bool`` | ``BOOL`` |
| ``None`` | ``NULL`` |
| ``bytes``, ``bytearray`` | ``B``, read back as ``bytes`` |
| ``list``, ``tuple`` | ``L``, read back as ``list`` |
| a mapping with ``str`` keys | ``M``, read back as ``dict`` |
| a non-empty set of ``str``, of numbers, of bytes | ``SS``, ``NS``, ``BS``, read back as ``set`` |

Numbers are exact both ways: they travel as text, within DynamoDB's 38 significant digits and
exponents; one that would need rounding is an error, and so is a ``float`` (its binary value is
not the number it prints as) and an infinity or NaN.
"""

from __future__ import annotations

from collections.abc import Mapping, Set
from decimal import Clamped, Context, Decimal, Inexact, Overflow, Rounded, Underflow
from typing import Any

NUMBERS = Context(Emin=-128, Emax=126, prec=38, traps=[Clamped, Overflow, Inexact, Rounded, Underflow])
"""DynamoDB's number range (boto3's ``DYNAMODB_CONTEXT``): what does not fit raises, never rounds."""


def serialize(value: Any) -> dict[str, Any]:
    """``value`` as a DynamoDB attribute value."""
    if isinstance(value, str):
        return {"S": value}
    if isinstance(value, bool):  # before numbers: a bool is an int
        return {"BOOL": value}
    if isinstance(value, int | Decimal):
        return {"N": _number(value)}
    if value is None:
        return {"NULL": True}
    if isinstance(value, bytes | bytearray):
        return {"B": bytes(value)}
    if isinstance(value, list | tuple):
        return {"L": [serialize(item) for item in value]}
    if isinstance(value, Mapping):
        return {"M": {_name(name): serialize(item) for name, item in value.items()}}
    if isinstance(value, Set):
        return _set(value)
    if isinstance(value, float):
        raise TypeError("float values are not exact: use int or Decimal")
    raise TypeError(f"no DynamoDB type for {type(value).__name__}")


def deserialize(attribute: Mapping[str, Any]) -> Any:
    """The Python value of a DynamoDB attribute value."""
    if len(attribute) != 1:
        raise ValueError(f"an attribute value has exactly one type, got {sorted(attribute)}")
    ((kind, value),) = attribute.items()
    match kind:
        case "S" | "BOOL":
            return value
        case "N":
            return NUMBERS.create_decimal(value)
        case "NULL":
            return None
        case "B":
            return bytes(value)
        case "L":
            return [deserialize(item) for item in value]
        case "M":
            return {name: deserialize(item) for name, item in value.items()}
        case "SS":
            return set(value)
        case "NS":
            return {NUMBERS.create_decimal(number) for number in value}
        case "BS":
            return {bytes(item) for item in value}
    raise TypeError(f"unknown DynamoDB type {kind!r}")


def marshal(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item (or key, or expression values) as DynamoDB attribute values, by attribute name."""
    return {name: serialize(value) for name, value in item.items()}


def unmarshal(item: Mapping[str, Any]) -> dict[str, Any]:
    """An item as DynamoDB returns it, as Python values."""
    return {name: deserialize(value) for name, value in item.items()}


def _number(value: int | Decimal) -> str:
    number = NUMBERS.create_decimal(value)
    if not number.is_finite():
        raise ValueError(f"DynamoDB holds no {number}")
    return str(number)


def _name(name: Any) -> str:
    if not isinstance(name, str):
        raise TypeError(f"map keys are strings, got {type(name).__name__}")
    return name


def _set(value: Set[Any]) -> dict[str, Any]:
    if not value:
        raise ValueError("DynamoDB holds no empty set")
    if all(isinstance(item, str) for item in value):
        return {"SS": list(value)}
    if all(isinstance(item, int | Decimal) and not isinstance(item, bool) for item in value):
        return {"NS": [_number(item) for item in value]}
    if all(isinstance(item, bytes | bytearray) for item in value):
        return {"BS": [bytes(item) for item in value]}
    raise TypeError("a set holds only strings, only numbers or only bytes")
