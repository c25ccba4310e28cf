"""The authorizer reads its event as Powertools' ``APIGatewayAuthorizerEventV2`` did, without loading it.

Powertools' data class package loads every event type it has (about 40 ms of the authorizer's
cold start); the authorizer reads the raw event instead, and this compares the two readings of
the Authorization header on generated events, and the answers' shape.
"""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.utilities.data_classes.api_gateway_authorizer_event import (
    APIGatewayAuthorizerEventV2,
    APIGatewayAuthorizerResponseV2,
)
from hypothesis import given
from hypothesis import strategies as st

from ocore_usage.api.auth import Verdict, authorization_of

_NAMES = st.sampled_from(["authorization", "Authorization", "AUTHORIZATION", "x-other", "host"])
_VALUES = st.none() | st.integers() | st.sampled_from(["Bearer a.b.c", "bearer x", "", "Basic Zm9v"])
_EVENTS = st.fixed_dictionaries(
    {},
    optional={
        "identitySource": st.none() | st.lists(st.none() | _VALUES, max_size=2) | st.just("Bearer s.t.r"),
        "headers": st.none() | st.dictionaries(_NAMES, _VALUES, max_size=4),
    },
)


def _as_powertools_read_it(raw: dict[str, Any]) -> str | None:
    event = APIGatewayAuthorizerEventV2(raw)
    identity = event.identity_source
    if identity and isinstance(identity[0], str):
        return identity[0]
    if not event.get("headers"):
        return None
    value = event.headers.get("authorization")
    return value if isinstance(value, str) else None


@given(_EVENTS)
def test_the_authorization_header_is_read_as_powertools_read_it(raw: dict[str, Any]) -> None:
    assert authorization_of(raw) == _as_powertools_read_it(raw)


def test_the_answers_are_powertools_simple_responses() -> None:
    for authorize, context in ((False, None), (True, {"orgId": "org_a", "sub": "u", "scopes": "usage:read"})):
        assert Verdict(authorize, context).asdict() == APIGatewayAuthorizerResponseV2(authorize, context).asdict()
