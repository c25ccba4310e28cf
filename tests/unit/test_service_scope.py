"""``usage:write`` is the metering service's scope: tokens that carry an ``org_id`` never write samples.

A tenant able to write samples could rewrite any org's usage (its own bill included), so the ingest
route refuses a caller with an org whatever its scopes, and ``make token`` will not mint such a token.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest

from functions.ingest_samples import app as ingest_app
from local.__main__ import main
from local.tokens import TokenRefused, mint_token
from ocore_usage.api.http_api import READ_SCOPE, WRITE_SCOPE, Caller
from ocore_usage.domain.problems import Problem, ProblemCode
from tests.support.read_api import LambdaContext

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "ingest_samples.json").read_text())
TEMPLATE_PARAMETERS = {"JwtIssuer": "https://auth.ocore.dev/", "JwtAudience": "https://api.ocore.dev"}


class RecordingIngest:
    """Stands in for the ingest service: records what reached it."""

    def __init__(self) -> None:
        self.bodies: list[Any] = []

    def ingest_body(self, body: Any, **_: Any) -> int:
        self.bodies.append(body)
        return 2


@pytest.fixture
def ingest(monkeypatch: pytest.MonkeyPatch) -> RecordingIngest:
    recording = RecordingIngest()
    monkeypatch.setattr(ingest_app, "ingest_service", lambda: recording)
    return recording


def post_as(org_id: str, scopes: str) -> tuple[int, dict[str, Any]]:
    event = copy.deepcopy(EVENT)
    event["requestContext"]["authorizer"]["lambda"].update({"orgId": org_id, "scopes": scopes})
    response = ingest_app.lambda_handler(event, LambdaContext())
    assert response["headers"]["Content-Type"] == (
        "application/json" if response["statusCode"] == 202 else "application/problem+json"
    )
    return response["statusCode"], json.loads(response["body"])


def test_a_metering_agent_writes(ingest: RecordingIngest) -> None:
    # GIVEN / WHEN the service token of a metering agent (no org) posts samples
    # THEN they are accepted
    assert post_as("", "usage:write") == (202, {"accepted": 2})
    assert len(ingest.bodies) == 1


@pytest.mark.parametrize("scopes", ["usage:write", "usage:read usage:write", "admin:all usage:write"])
def test_a_caller_with_an_org_never_writes_whatever_its_scopes(ingest: RecordingIngest, scopes: str) -> None:
    # GIVEN a tenant's token (it carries an org) claiming the service scope
    # WHEN it posts samples
    status, body = post_as("org_a", scopes)

    # THEN it is refused as problem+json, and nothing reaches the ingest service
    assert (status, body["code"], body["status"]) == (403, "insufficient_scope", 403)
    assert "org_id" in body["detail"]
    assert ingest.bodies == []


def test_the_caller_rule_itself() -> None:
    # GIVEN callers with and without an org
    agent = Caller(org_id=None, scopes=frozenset({WRITE_SCOPE}))
    tenant = Caller(org_id="org_a", scopes=frozenset({READ_SCOPE, WRITE_SCOPE}))

    # WHEN / THEN the agent may write, not read; the tenant may read, not write
    assert agent.require(WRITE_SCOPE) is agent
    assert tenant.require(READ_SCOPE) is tenant
    for caller, scope in [(agent, READ_SCOPE), (tenant, WRITE_SCOPE)]:
        with pytest.raises(Problem) as refused:
            caller.require(scope)
        assert refused.value.code is ProblemCode.INSUFFICIENT_SCOPE


@pytest.mark.parametrize("scope", ["usage:write", "usage:read usage:write", "  usage:write\topenid "])
def test_local_tokens_with_an_org_and_the_service_scope_are_refused(scope: str) -> None:
    # GIVEN / WHEN / THEN minting a tenant's token with usage:write is refused, saying what to do
    with pytest.raises(TokenRefused, match="ORG= SCOPE=usage:write"):
        mint_token(TEMPLATE_PARAMETERS, org="org_demo", scope=scope)


def test_make_token_refuses_the_combination_with_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    # GIVEN / WHEN the token command is asked for an org and usage:write
    code = main(["token", "--org", "org_demo", "--scope", "usage:read usage:write"])

    # THEN it exits 2, prints no token, and says why on stderr
    captured = capsys.readouterr()
    assert code == 2
    assert captured.out == ""
    assert "usage:write is the metering service's scope" in captured.err
