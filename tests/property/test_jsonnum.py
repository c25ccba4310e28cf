"""The responses' JSON writer: the standard encoder's text for what it can write, exact decimals beside it."""

from __future__ import annotations

import json
from decimal import Decimal

from hypothesis import given
from hypothesis import strategies as st

from ocore_usage.api import jsonnum

_SCALARS = st.none() | st.booleans() | st.integers() | st.text()
_JSON = st.recursive(
    _SCALARS, lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(), inner, max_size=4), max_leaves=30
)
_EXACT = st.decimals(allow_nan=False, allow_infinity=False, places=6, min_value=-(10**15), max_value=10**15)


@given(_JSON)
def test_it_writes_what_the_standard_encoder_writes(value: object) -> None:
    assert jsonnum.dumps(value) == json.dumps(value, separators=(",", ":"))


@given(st.dictionaries(st.text(), _EXACT | _SCALARS, max_size=6))
def test_decimals_are_exact_number_literals(value: dict[str, object]) -> None:
    parsed = json.loads(jsonnum.dumps(value), parse_float=Decimal, parse_int=Decimal)
    expected = {k: Decimal(v) if isinstance(v, int) and not isinstance(v, bool) else v for k, v in value.items()}
    assert parsed == expected
