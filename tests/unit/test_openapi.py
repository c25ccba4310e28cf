"""docs/openapi.json: current with the code, a valid OpenAPI 3.1 document, and true to what the
functions really answer (every success and every error, validated with jsonschema)."""

from __future__ import annotations

import json
import random
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate
from referencing import Registry
from referencing.jsonschema import DRAFT202012

from ocore_usage import wiring
from ocore_usage.api.http_api import ERROR_EXAMPLES
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project
from tests.support.read_api import Answer, api_event, call, deployed_functions, random_usage, store_hours, usage_months
from tests.support.samples import sample as agent_sample
from tests.support.template import template
from tools.openapi import build_document, render

DOCUMENT_PATH = Path(__file__).resolve().parents[2] / "docs" / "openapi.json"
DOC_URI = "urn:ocore:openapi"


def test_the_committed_document_is_the_generated_one():
    regenerate = "PYTHONPATH=layers/shared .venv/bin/python -m tools.openapi > docs/openapi.json"
    assert DOCUMENT_PATH.read_text() == render(), f"docs/openapi.json is stale; regenerate: {regenerate}"


def test_the_document_is_valid_openapi_3_1():
    document = json.loads(DOCUMENT_PATH.read_text())
    assert document["openapi"].startswith("3.1")
    validate(document)


def test_every_http_route_of_the_template_is_documented():
    # the documentation's own routes (/api/openapi.json, /api/docs) are not operations of the API
    routes = {
        (event["Properties"]["Method"].lower(), event["Properties"]["Path"].removeprefix("/api"))
        for name, resource in template()["Resources"].items()
        if resource["Type"] == "AWS::Serverless::Function" and name != "ApiDocsFunction"
        for event in resource["Properties"].get("Events", {}).values()
        if event["Type"] == "HttpApi"
    }
    documented = {(method, path) for path, item in build_document()["paths"].items() for method in item}
    assert routes == documented


def test_every_error_code_has_an_example_request():
    document = build_document()
    listed = {
        code
        for item in document["paths"].values()
        for operation in item.values()
        for response in operation["responses"].values()
        for media in response.get("content", {}).values()
        for code in media.get("examples", {})
    }
    spec_codes = {
        "invalid_period", "invalid_date", "invalid_range", "unknown_parameter", "range_too_large", "invalid_token",
        "invalid_limit", "project_not_found", "insufficient_scope", "validation_error", "sample_out_of_window",
        "payload_too_large", "invalid_timezone",
    }  # fmt: skip
    assert spec_codes | {"internal_error"} == listed == {code.code for code in ERROR_EXAMPLES}


# ---------------------------------------------------------------- real answers against the document


class Contract:
    """Validates an answer against the document's schema for its operation, status and media type."""

    def __init__(self, document: dict[str, Any]) -> None:
        self.document = document
        self.registry = Registry().with_resource(DOC_URI, DRAFT202012.create_resource(document))

    def check(self, path: str, method: str, answer: Answer) -> None:
        responses = self.document["paths"][path][method]["responses"]
        assert str(answer.status) in responses, f"{method} {path}: {answer.status} is not documented"
        documented_headers = {name.lower() for name in responses[str(answer.status)].get("headers", {})}
        if answer.status < 400 and method == "get":
            assert {"etag", "last-modified", "cache-control", "vary"} <= set(answer.headers), answer.headers
        assert not (set(answer.headers) - documented_headers - {"content-type"}), answer.headers
        if answer.status == 304:
            assert "content" not in responses["304"] and not answer.text
            return
        media = answer.content_type.split(";")[0]
        content = responses[str(answer.status)]["content"]
        assert media in content, f"{method} {path} {answer.status}: {media} is not documented"
        pointer = "/".join(["paths", path.replace("/", "~1"), method, "responses", str(answer.status), "content"])
        schema = {"$ref": f"{DOC_URI}#/{pointer}/{media.replace('/', '~1')}/schema"}
        Draft202012Validator(schema, registry=self.registry).validate(answer.body)


@pytest.fixture(scope="module")
def contract() -> Contract:
    return Contract(json.loads(DOCUMENT_PATH.read_text()))


@pytest.fixture
def deployed(monkeypatch) -> Iterator[Any]:
    with deployed_functions(monkeypatch) as client:
        found = wiring.tables()
        found.project_repository.put_if_newer(Project("proj_a", "org_a", "Web shop"))
        found.project_repository.put_if_newer(Project("proj_x", "org_b", "Other"))
        rng = random.Random(3)
        start = int(datetime(2026, 11, 20, tzinfo=UTC).timestamp()) * 1_000_000
        hours = {start + i * 3_600_000_000: random_usage(rng) for i in range(30)}
        store_hours(found.rollup_repository, SeriesOwner.PROJECT, "proj_a", hours)
        store_hours(found.rollup_repository, SeriesOwner.ORG, "org_a", hours)
        found.rollup_repository.note_usage_months("org_a", "proj_a", usage_months(hours))
        found.project_repository.put_if_newer(Project("proj_c", "org_a", "Idle"))
        yield client


def handler(route: str) -> Any:
    from functions.get_project_usage import app as project_app
    from functions.get_usage import app as usage_app
    from functions.get_usage_totals import app as totals_app

    return {"project": project_app, "usage": usage_app, "totals": totals_app}[route].lambda_handler


PATHS = {"project": "/projects/{id}/usage", "usage": "/usage", "totals": "/usage/totals"}
DATES = {"start_date": "2026-11-20T03:00:00Z", "end_date": "2026-11-21T05:00:00Z"}

READ_CASES = [
    ("project", {"period": "daily", **DATES}, 200),
    ("project", {"period": "hourly", **DATES, "limit": "5"}, 200),
    ("project", {"period": "monthly", "fill": "none", **DATES}, 200),
    ("usage", {"period": "hourly", **DATES, "limit": "3"}, 200),
    ("usage", {"period": "daily", "fill": "zero", **DATES}, 200),
    ("usage", {"project_id": "proj_a", **DATES}, 200),
    ("totals", DATES, 200),
    ("totals", {}, 200),
    ("usage", {"period": "weekly"}, 400),
    ("usage", {"start_date": "2026-13-01"}, 400),
    ("usage", {"start_date": "2026-11-02", "end_date": "2026-11-01"}, 400),
    ("usage", {"perid": "daily"}, 400),
    ("usage", {"period": "hourly", "start_date": "2026-01-01", "end_date": "2026-06-01"}, 400),
    ("usage", {"next_token": "not-a-token"}, 400),
    ("usage", {"limit": "0"}, 400),
    ("usage", [("period", "daily"), ("period", "hourly")], 400),
    ("totals", {**DATES, "limit": "1"}, 200),
    ("totals", {"limit": "0"}, 400),
    ("totals", {"next_token": "not-a-token"}, 400),
    ("totals", {"start_date": "yesterday"}, 400),
    ("project", {"fill": "sometimes"}, 400),
    ("usage", {"project_id": "proj_x"}, 404),
    ("project", {}, 404),
    ("usage", {"period": "daily", "tz": "Europe/Berlin", **DATES}, 200),
    ("project", {"period": "monthly", "tz": "Asia/Kolkata", "format": "csv", **DATES}, 200),
    ("usage", {**DATES, "limit": "2", "format": "csv"}, 200),
    ("totals", {**DATES, "format": "csv", "tz": "America/New_York"}, 200),
    ("usage", {"period": "daily", "tz": "Mars/Olympus_Mons"}, 400),
    ("totals", {"tz": "Europe/Berlin "}, 400),
    ("project", {"format": "xml"}, 400),
]


@pytest.mark.parametrize(("route", "query", "status"), READ_CASES)
def test_read_answers_match_the_document(deployed, contract, route, query, status):
    project_id = "proj_x" if (route, status) == ("project", 404) else "proj_a"
    answer = call(handler(route), api_event(route, query, project_id=project_id))
    assert answer.status == status, answer.body
    contract.check(PATHS[route], "get", answer)


@pytest.mark.parametrize("route", ["project", "usage", "totals"])
def test_scope_and_fault_answers_match_the_document(deployed, contract, route):
    answer = call(handler(route), api_event(route, {}, scopes="usage:write"))
    assert answer.status == 403
    contract.check(PATHS[route], "get", answer)

    def broken() -> Any:
        raise RuntimeError("no table")

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(wiring, "read_service", broken)
        answer = call(handler(route), api_event(route, {}))
    assert answer.status == 500
    contract.check(PATHS[route], "get", answer)


@pytest.mark.parametrize("route", ["project", "usage", "totals"])
def test_a_not_modified_answer_matches_the_document(deployed, contract, route):
    first = call(handler(route), api_event(route, DATES))
    answer = call(handler(route), api_event(route, DATES, headers={"If-None-Match": first.headers["etag"]}))
    assert answer.status == 304
    contract.check(PATHS[route], "get", answer)


def test_gateway_answers_match_the_document(contract):
    for status, message in [(401, "Unauthorized"), (403, "Forbidden")]:
        answer = Answer(status, "application/json", {"message": message}, "")
        contract.check("/usage", "get", answer)


def test_a_second_page_matches_the_document(deployed, contract):
    first = call(handler("usage"), api_event("usage", {**DATES, "limit": "2"}))
    answer = call(handler("usage"), api_event("usage", {**DATES, "limit": "2", "next_token": first.body["nextToken"]}))
    contract.check("/usage", "get", answer)
    first = call(handler("totals"), api_event("totals", {**DATES, "limit": "1"}))
    query = {**DATES, "limit": "1", "next_token": first.body["nextToken"]}
    answer = call(handler("totals"), api_event("totals", query))
    assert answer.status == 200 and "nextToken" not in answer.body
    contract.check("/usage/totals", "get", answer)


def sample(**changes: Any) -> dict[str, Any]:
    """A valid sample of proj_a from two hours ago: the handler checks its window against the real clock."""
    start = (datetime.now(UTC) - timedelta(hours=2)).replace(microsecond=0).isoformat().replace("+00:00", "Z")
    return {**agent_sample(projectId="proj_a", intervalStart=start), **changes}


INGEST_CASES = [
    ({"samples": [sample()]}, 202),
    ({"samples": [sample(cpuCores=-1)]}, 422),
    ({"samples": [sample(intervalStart="2020-01-01T00:00:00Z")]}, 422),
    ({"samples": [sample(sampleId=f"s-{n}") for n in range(1001)]}, 413),
    ("not json", 400),
]


@pytest.mark.parametrize(("body", "status"), INGEST_CASES)
def test_ingest_answers_match_the_document(deployed, contract, body, status):
    from functions.ingest_samples import app

    event = api_event("usage", {}, scopes="usage:write", org_id=None)
    event["rawPath"] = event["requestContext"]["http"]["path"] = "/api/usage/samples"
    event["requestContext"]["http"]["method"] = "POST"
    event["routeKey"] = event["requestContext"]["routeKey"] = "POST /api/usage/samples"
    event["body"] = body if isinstance(body, str) else json.dumps(body)
    event["headers"]["content-type"] = "application/json"
    answer = call(app.lambda_handler, event)
    assert answer.status == status, answer.body
    contract.check("/usage/samples", "post", answer)


@pytest.mark.parametrize("name", ["get_project_usage.json", "get_usage.json", "get_usage_totals.json"])
def test_the_committed_events_invoke_their_function_as_they_are(deployed, contract, name):
    # GIVEN the demo org's project that events/get_project_usage.json asks for
    wiring.tables().project_repository.put_if_newer(Project("proj_web", "org_demo", "Web"))
    event = json.loads((DOCUMENT_PATH.parents[1] / "events" / name).read_text())
    route = {"get_project_usage.json": "project", "get_usage.json": "usage", "get_usage_totals.json": "totals"}[name]
    # WHEN the event is handed to its function unchanged (as make invoke / sam local invoke do)
    answer = call(handler(route), event)
    # THEN it answers 200, as the document says
    assert answer.status == 200, answer.body
    contract.check(PATHS[route], "get", answer)
