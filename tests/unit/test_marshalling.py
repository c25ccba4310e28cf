"""DynamoDB attribute values: exact round trips, boto3's own mapping, and the values refused."""

from __future__ import annotations

from decimal import Decimal
from typing import Any

import pytest
from boto3.dynamodb.types import Binary, TypeDeserializer, TypeSerializer
from hypothesis import given
from hypothesis import strategies as st

from ocore_usage.storage.marshalling import deserialize, marshal, serialize, unmarshal

# Numbers DynamoDB holds: up to 38 significant digits, exponents within its range.
numbers = st.one_of(
    st.integers(min_value=-(10**38) + 1, max_value=10**38 - 1),
    st.decimals(allow_nan=False, allow_infinity=False, places=None).filter(
        lambda d: len(d.as_tuple().digits) <= 38 and -120 <= d.adjusted() <= 120
    ),
)
scalars = st.one_of(st.text(), numbers, st.booleans(), st.none(), st.binary())
sets = st.one_of(
    st.frozensets(st.text(), min_size=1),
    st.frozensets(st.integers(min_value=-(10**20), max_value=10**20), min_size=1),
    st.frozensets(st.binary(), min_size=1),
)
values = st.recursive(
    st.one_of(scalars, sets),
    lambda inner: st.one_of(st.lists(inner, max_size=4), st.dictionaries(st.text(), inner, max_size=4)),
    max_leaves=12,
)


def python_equal(value: Any) -> Any:
    """``value`` as it reads back: numbers as Decimal, tuples as lists, frozensets as sets."""
    if isinstance(value, bool) or value is None or isinstance(value, str | bytes):
        return value
    if isinstance(value, int | Decimal):
        return Decimal(value)
    if isinstance(value, list | tuple):
        return [python_equal(item) for item in value]
    if isinstance(value, dict):
        return {name: python_equal(item) for name, item in value.items()}
    return {python_equal(item) for item in value}


def boto3_plain(value: Any) -> Any:
    """What boto3's TypeDeserializer returns, with its Binary wrapper unwrapped to bytes."""
    if isinstance(value, Binary):
        return value.value
    if isinstance(value, list):
        return [boto3_plain(item) for item in value]
    if isinstance(value, dict):
        return {name: boto3_plain(item) for name, item in value.items()}
    if isinstance(value, set):
        return {boto3_plain(item) for item in value}
    return value


@given(values)
def test_every_value_reads_back_exactly(value):
    # GIVEN any value of a supported type / WHEN it is written and read back
    # THEN it is the same value (numbers as exact Decimals)
    assert deserialize(serialize(value)) == python_equal(value)


@given(values)
def test_the_wire_format_is_boto3s(value):
    # GIVEN any value of a supported type
    # WHEN both marshallers write it / THEN they write the same attribute value
    ours, theirs = serialize(value), TypeSerializer().serialize(value)
    assert _sets_sorted(ours) == _sets_sorted(theirs)
    # AND each reads the other's attribute values as the same Python value
    assert deserialize(theirs) == boto3_plain(TypeDeserializer().deserialize(ours))


def _sets_sorted(attribute: Any) -> Any:
    """Set members in a fixed order (a set's member order is arbitrary)."""
    if isinstance(attribute, dict):
        return {k: sorted(v) if k in ("SS", "NS", "BS") else _sets_sorted(v) for k, v in attribute.items()}
    if isinstance(attribute, list):
        return [_sets_sorted(item) for item in attribute]
    return attribute


def test_an_item_with_every_type():
    # GIVEN an item holding each supported type
    item = {
        "pk": "S#proj_web#2026-11-26T01:00:00Z",
        "seq": 7,
        "cpu": Decimal("0.000001"),
        "big": 10**37,
        "deleted": False,
        "name": None,
        "blob": b"\x00\xff",
        "pages": {"0001", "0002"},
        "counts": {1, Decimal("2.5")},
        "edges": [1, "a", [True]],
        "nested": {"x": {"y": Decimal("-3.25")}},
    }
    # WHEN it is marshalled / THEN each attribute has its DynamoDB type, numbers as their exact text
    wire = marshal(item)
    assert wire["pk"] == {"S": "S#proj_web#2026-11-26T01:00:00Z"}
    assert wire["seq"] == {"N": "7"}
    assert wire["cpu"] == {"N": "0.000001"}
    assert wire["big"] == {"N": str(10**37)}
    assert wire["deleted"] == {"BOOL": False}
    assert wire["name"] == {"NULL": True}
    assert wire["blob"] == {"B": b"\x00\xff"}
    assert sorted(wire["pages"]["SS"]) == ["0001", "0002"]
    assert sorted(wire["counts"]["NS"]) == ["1", "2.5"]
    assert wire["edges"] == {"L": [{"N": "1"}, {"S": "a"}, {"L": [{"BOOL": True}]}]}
    assert wire["nested"] == {"M": {"x": {"M": {"y": {"N": "-3.25"}}}}}
    # AND it reads back as the same values, numbers as Decimal
    assert unmarshal(wire) == python_equal(item)


@pytest.mark.parametrize(
    ("value", "error"),
    [
        pytest.param(0.1, TypeError, id="a float"),
        pytest.param(Decimal("NaN"), ValueError, id="NaN"),
        pytest.param(Decimal("Infinity"), ValueError, id="infinity"),
        pytest.param(Decimal("-Infinity"), ValueError, id="minus infinity"),
        pytest.param(10**38 + 1, ArithmeticError, id="39 significant digits"),
        pytest.param(Decimal("1E+127"), ArithmeticError, id="exponent too large"),
        pytest.param(set(), ValueError, id="an empty set"),
        pytest.param({"a", 1}, TypeError, id="a mixed set"),
        pytest.param({1: "a"}, TypeError, id="a map with a number key"),
        pytest.param(object(), TypeError, id="an object"),
    ],
)
def test_values_dynamodb_cannot_hold_exactly_are_refused(value, error):
    # GIVEN a value DynamoDB cannot hold exactly / WHEN it is marshalled / THEN it raises, never rounds
    with pytest.raises(error):
        serialize(value)


def test_an_unknown_or_ambiguous_attribute_value_is_refused():
    with pytest.raises(TypeError):
        deserialize({"X": "1"})
    with pytest.raises(ValueError):
        deserialize({"S": "a", "N": "1"})
