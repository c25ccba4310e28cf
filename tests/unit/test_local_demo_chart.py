"""The local runner's demo chart page: in front of the HTTP API, with a fresh reader token of its org."""

from __future__ import annotations

import re

import jwt

from local.demo_chart import DEMO_CHART_PATH, DemoChart
from local.events import HttpRequest, HttpResponse
from local.parameter_store import LOCAL_JWT_SECRET

PARAMETERS = {"JwtIssuer": "https://auth.example/", "JwtAudience": "https://api.example"}
API_ANSWER = HttpResponse(204, [], b"")


def page(query: str = "", method: str = "GET", path: str = DEMO_CHART_PATH) -> HttpResponse:
    return DemoChart(lambda request: API_ANSWER, PARAMETERS)(HttpRequest(method, path, query))


def embedded_claims(response: HttpResponse) -> dict[str, object]:
    found = re.search(r'const TOKEN = "([^"]+)";', response.body.decode())
    assert found, "no token in the page"
    claims: dict[str, object] = jwt.decode(
        found.group(1), LOCAL_JWT_SECRET, algorithms=["HS256"], audience=PARAMETERS["JwtAudience"]
    )
    return claims


def test_the_page_carries_a_reader_token_of_org_demo():
    response = page()
    assert response.status == 200 and ("cache-control", "no-store") in response.headers
    claims = embedded_claims(response)
    assert (claims["org_id"], claims["scope"], claims["iss"]) == ("org_demo", "usage:read", "https://auth.example/")


def test_another_org_is_charted_on_request_and_a_bad_one_refused():
    assert embedded_claims(page("org=org_other"))["org_id"] == "org_other"
    assert page("org=%3Cscript%3E").status == 400


def test_every_other_request_goes_to_the_http_api():
    assert page(path="/api/usage") is API_ANSWER
    assert page(method="POST") is API_ANSWER
