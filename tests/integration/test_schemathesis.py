"""Schemathesis against docs/openapi.json on the real local stack: generated requests to every
operation, valid and invalid, with real tokens.

Every answer must be in the document (status, content type, body schema), none a 5xx, and every
4xx of the service an RFC 9457 problem (``application/problem+json``). API Gateway's own answers
are the exception the document also states: ``401``/``403`` ``{"message": ...}`` from the
authorizer and ``404 {"message":"Not Found"}`` for a path no route takes.

Deterministic for CI: hypothesis derandomized (a fixed seed per operation), no example database.
"""

from __future__ import annotations

import json
import urllib.error
import urllib.request
from collections import Counter, defaultdict
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    negative_data_rejection,
    response_schema_conformance,
    status_code_conformance,
)

from ocore_usage.domain.problems import PROBLEM_JSON
from tests.support.samples import sample

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
ORG = "org_demo"
PROJECT = "prj_web_frontend"  # the id the document's examples name
EXAMPLES_PER_OPERATION = 150
MIN_CASES = 500

CONFIG = schemathesis.Config.from_dict(
    {
        "generation": {
            "mode": "all",
            "max-examples": EXAMPLES_PER_OPERATION,
            "deterministic": True,
            "database": "none",
        },
        # 413 payload_too_large is this API's documented answer to more than 1000 samples
        "checks": {"negative_data_rejection": {"expected-statuses": ["400", "401", "403", "404", "413", "422"]}},
    }
)
schema = schemathesis.openapi.from_path(ROOT / "docs" / "openapi.json", config=CONFIG)

ANSWERS: defaultdict[str, Counter[int]] = defaultdict(Counter)
"""Statuses answered per operation, over the whole run."""


def gateway_answer(response: Any) -> bool:
    """API Gateway's own ``{"message": ...}`` answers: no token, a token the authorizer refuses, no route."""
    try:
        body = json.loads(response.content)
    except ValueError:
        return False
    return (
        response.status_code in (401, 403, 404)
        and response.headers.get("content-type", [""])[0] == "application/json"
        and isinstance(body, dict)
        and set(body) == {"message"}
    )


@schemathesis.check
def client_errors_are_problems(ctx: Any, response: Any, case: Any) -> bool | None:
    """Every 4xx of the service is problem+json with its status and a code."""
    if not 400 <= response.status_code < 500 or gateway_answer(response):
        return None
    content_type = response.headers.get("content-type", [""])[0]
    assert content_type == PROBLEM_JSON, f"{response.status_code} answered as {content_type!r}"
    problem = json.loads(response.content)
    assert problem["status"] == response.status_code and problem["code"], problem
    return True


CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    negative_data_rejection,
    client_errors_are_problems,
]


@pytest.fixture(scope="module")
def tokens(local_stack) -> dict[str, str]:
    """A tenant's reader of org_demo, and a metering agent (service token: no org_id)."""
    return {
        "GET": local_stack.token(org=ORG, scope="usage:read"),
        "POST": local_stack.token(scope="usage:write"),
    }


@pytest.fixture(scope="module")
def usage(local_stack, tokens) -> None:
    """One project of org_demo with a day of rolled-up samples, so reads answer with records too."""
    local_stack.register_project(PROJECT, ORG, "web-frontend")
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    samples = [
        sample(
            sampleId=f"fuzz-{i}",
            projectId=PROJECT,
            instanceId=f"web-{i % 2}",
            intervalStart=(hour - timedelta(hours=i)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            intervalSeconds=3600,
            diskGb=20,
            bandwidthInBytes=1000 * i,
            bandwidthOutBytes=7 * i,
        )
        for i in range(1, 25)
    ]
    response = local_stack.request("POST", "/usage/samples", token=tokens["POST"], body={"samples": samples})
    assert response.status == 202, response.body
    local_stack.rollup_until_done()


def into_the_window(case: Any) -> None:
    """Generated instants are anywhere in time; a valid batch gets instants of the last hours (as
    agents send), so valid batches are stored and answered 202 too, not only refused as too old."""
    if case.meta is None or not case.meta.generation.mode.is_positive or not isinstance(case.body, dict):
        return
    recent = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=2)
    for index, sent in enumerate(case.body.get("samples") or []):
        if isinstance(sent, dict) and "intervalStart" in sent:
            sent["intervalStart"] = (recent - timedelta(minutes=index)).strftime("%Y-%m-%dT%H:%M:%SZ")


@schema.parametrize()
@settings(
    max_examples=EXAMPLES_PER_OPERATION,
    derandomize=True,
    database=None,
    deadline=None,
    suppress_health_check=list(HealthCheck),
)
def test_every_generated_request_gets_a_documented_answer(case, local_stack, tokens, usage):
    if case.operation.method == "post":
        into_the_window(case)
    response = case.call_and_validate(
        base_url=local_stack.api_url,
        headers={"Authorization": f"Bearer {tokens[case.operation.method.upper()]}"},
        checks=CHECKS,
        timeout=60,
    )
    ANSWERS[case.operation.label][response.status_code] += 1


def test_enough_cases_ran_and_every_operation_also_succeeded():
    # runs after the generated tests: same module, file order (and the same process)
    if not ANSWERS:
        pytest.skip("the generated requests were deselected or ran in another worker")
    assert set(ANSWERS) == {
        "GET /projects/{id}/usage",
        "GET /usage",
        "GET /usage/totals",
        "POST /usage/samples",
    }, ANSWERS
    cases = sum(n for statuses in ANSWERS.values() for n in statuses.values())
    print(f"\n{cases} generated cases:", {operation: dict(statuses) for operation, statuses in ANSWERS.items()})
    assert cases >= MIN_CASES, ANSWERS
    for operation, statuses in ANSWERS.items():
        assert any(200 <= status < 300 for status in statuses), (operation, statuses)


# ---------------------------------------------------------------- the bad inputs of issue 10, over HTTP


def send(local_stack, method: str, path: str, token: str, body: bytes | None = None) -> tuple[int, str, Any]:
    request = urllib.request.Request(
        local_stack.api_url + path,
        data=body,
        method=method,
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as response:
            return response.status, response.headers["content-type"], json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, error.headers["content-type"], json.loads(error.read())


@pytest.mark.parametrize(
    "body",
    [b"\xff\xfe", b'{"samples": [\xff]}', b"[" * 100_000, b"", b"{"],
    ids=["not UTF-8", "invalid byte in JSON", "100,000 nested arrays", "empty", "truncated"],
)
def test_a_body_that_is_not_utf8_json_is_a_400_problem(local_stack, tokens, body):
    status, content_type, problem = send(local_stack, "POST", "/usage/samples", tokens["POST"], body)
    assert (status, content_type, problem["code"]) == (400, PROBLEM_JSON, "validation_error")


def test_the_body_limit_counts_bytes(local_stack, tokens):
    body = ('{"samples": [], "pad": "' + "é" * (600_000) + '"}').encode()  # 600,000 characters, 1.2 MB
    status, _, problem = send(local_stack, "POST", "/usage/samples", tokens["POST"], body)
    assert (status, problem["code"]) == (413, "payload_too_large")


def test_the_path_id_and_project_id_are_decoded_alike(local_stack, tokens, usage):
    by_path = send(local_stack, "GET", "/projects/prj%5Fweb%5Ffrontend/usage?period=daily", tokens["GET"])
    by_query = send(local_stack, "GET", "/usage?period=daily&project_id=prj%5Fweb%5Ffrontend", tokens["GET"])
    assert by_path[0] == by_query[0] == 200
    assert by_path[2]["items"] == by_query[2]["items"] and by_path[2]["items"]


@pytest.mark.parametrize(
    ("path", "code"),
    [
        ("/usage?limit=5%0A", "invalid_limit"),
        ("/usage?start_date=%EF%BC%92%EF%BC%90%EF%BC%92%EF%BC%96-11-26", "invalid_date"),  # full-width 2026
        ("/usage/totals?end_date=2026-11-26%0A", "invalid_date"),
    ],
)
def test_values_that_only_look_valid_are_400(local_stack, tokens, path, code):
    status, content_type, problem = send(local_stack, "GET", path, tokens["GET"])
    assert (status, content_type, problem["code"]) == (400, PROBLEM_JSON, code)


@pytest.mark.parametrize("method", ["TRACE", "PATCH", "PUT", "DELETE", "OPTIONS", "PROPFIND"])
def test_a_method_without_a_route_is_api_gateways_404(local_stack, tokens, method):
    status, content_type, body = send(local_stack, method, "/usage", tokens["GET"])
    assert (status, content_type, body) == (404, "application/json", {"message": "Not Found"})
