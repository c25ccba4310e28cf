"""ApiDocsFunction: docs/openapi.json, the Swagger UI page and its assets, from the function's package."""

from __future__ import annotations

import base64
import copy
import gzip
import json
import re
from pathlib import Path
from typing import Any

import pytest

from tests.support.read_api import LambdaContext

ROOT = Path(__file__).resolve().parents[2]
FUNCTION = ROOT / "functions" / "api_docs"


def get(path: str, accept_encoding: str | None = None) -> dict[str, Any]:
    from functions.api_docs import app

    event = copy.deepcopy(json.loads((ROOT / "events" / "get_usage_totals.json").read_text()))
    event["rawPath"] = event["requestContext"]["http"]["path"] = path
    event["rawQueryString"], event["queryStringParameters"] = "", None
    del event["requestContext"]["authorizer"]  # public routes: no authorizer
    event["headers"] = {"accept-encoding": accept_encoding} if accept_encoding else {}
    answer: dict[str, Any] = app.lambda_handler(event, LambdaContext())
    return answer


def body_of(answer: dict[str, Any]) -> bytes:
    raw = answer["body"].encode()
    return gzip.decompress(base64.b64decode(raw)) if answer.get("isBase64Encoded") else raw


def test_the_document_is_docs_openapi_json():
    answer = get("/api/openapi.json")
    assert (answer["statusCode"], answer["headers"]["Content-Type"]) == (200, "application/json")
    assert body_of(answer) == (ROOT / "docs" / "openapi.json").read_bytes()


def test_the_page_loads_only_what_this_function_serves():
    answer = get("/api/docs")
    assert answer["headers"]["Content-Type"].startswith("text/html")
    assert "default-src 'self'" in answer["headers"]["Content-Security-Policy"]
    page = body_of(answer).decode()
    for reference in re.findall(r'(?:src|href)="([^"]+)"', page):
        if reference.startswith("data:"):
            continue
        assert reference.startswith("docs/"), reference  # relative to /api/docs: this function
        assert get(f"/api/{reference}")["statusCode"] == 200, reference


@pytest.mark.parametrize(
    ("asset", "content_type", "source"),
    [
        ("swagger-ui-bundle.js", "text/javascript", "node_modules/swagger-ui-dist/swagger-ui-bundle.js"),
        ("swagger-ui.css", "text/css", "node_modules/swagger-ui-dist/swagger-ui.css"),
        ("docs.js", "text/javascript", "functions/api_docs/docs.js"),
    ],
)
def test_each_asset_is_served_compressed_when_asked(asset, content_type, source):
    answer = get(f"/api/docs/{asset}", accept_encoding="gzip, deflate, br")
    assert answer["statusCode"] == 200
    assert answer["headers"]["Content-Type"].startswith(content_type)
    assert answer["isBase64Encoded"] and answer["headers"]["Content-Encoding"] == "gzip"
    assert body_of(answer) == (ROOT / source).read_bytes()
    assert len(answer["body"]) < 6 * 1024 * 1024  # Lambda's response limit, with room


def test_an_unknown_asset_is_a_404_problem():
    answer = get("/api/docs/swagger-initializer.js")
    assert answer["statusCode"] == 404
    assert json.loads(answer["body"])["code"] == "not_found"


def test_the_assets_are_the_pinned_swagger_ui_dist():
    pinned = json.loads((ROOT / "package.json").read_text())["dependencies"]["swagger-ui-dist"]
    installed = json.loads((ROOT / "node_modules" / "swagger-ui-dist" / "package.json").read_text())["version"]
    assert installed == pinned, "node_modules is stale: make install"
    for link in (FUNCTION / "swagger_ui").iterdir():
        assert link.resolve().parent == (ROOT / "node_modules" / "swagger-ui-dist").resolve(), link
        assert link.resolve().is_file(), f"{link} points at nothing: make install"
