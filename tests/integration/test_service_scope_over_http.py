"""Over HTTP: a token that carries an ``org_id`` never writes samples, whatever its scopes."""

from __future__ import annotations

import time

import jwt
import pytest

from local.parameter_store import LOCAL_JWT_SECRET
from local.tokens import TokenRefused
from tests.support.samples import sample

pytestmark = pytest.mark.integration

SAMPLE = sample(sampleId="tenant-write-1", projectId="prj_tenant_write")
"""A valid sample: the refusal below is of the token's scope, not of the sample."""


def tenant_token_with_write_scope(parameters: dict[str, str]) -> str:
    """What ``make token`` refuses to mint: signed by hand, as a tenant holding such a token would have it."""
    now = int(time.time())
    claims = {
        "iss": parameters["JwtIssuer"],
        "aud": parameters["JwtAudience"],
        "sub": "tenant-user",
        "org_id": "org_demo",
        "scope": "usage:read usage:write",
        "iat": now,
        "exp": now + 600,
    }
    return jwt.encode(claims, LOCAL_JWT_SECRET, algorithm="HS256")


def test_a_tenant_token_with_the_service_scope_cannot_post_samples(local_stack):
    # GIVEN a valid tenant token (org_id) that also claims usage:write
    token = tenant_token_with_write_scope(local_stack.template_parameters)
    hour = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime())

    # WHEN it posts a sample
    answer = local_stack.request(
        "POST", "/usage/samples", token=token, body={"samples": [{**SAMPLE, "intervalStart": hour}]}
    )

    # THEN the function refuses it: 403 insufficient_scope as problem+json
    assert answer.status == 403, answer.body
    assert {name.lower(): value for name, value in answer.headers.items()}["content-type"] == "application/problem+json"
    assert answer.json()["code"] == "insufficient_scope"
    # AND the same token still reads its org
    assert local_stack.request("GET", "/usage/totals", token=token).status == 200


def test_the_local_client_will_not_mint_such_a_token(local_stack):
    # GIVEN / WHEN / THEN asking the stack's client for one is refused
    with pytest.raises(TokenRefused):
        local_stack.token(org="org_demo", scope="usage:write")
