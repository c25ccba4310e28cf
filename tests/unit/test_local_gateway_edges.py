"""The local HTTP API at its edges, as API Gateway HTTP API answers them: any method without a
route (whatever its name) is ``404 {"message":"Not Found"}``, and the path reaches the function
percent-decoded once. Served over a real socket, since http.server itself picks the method."""

from __future__ import annotations

import http.client
import json
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.events import HttpRequest
from local.functions import FunctionHost
from local.http_api import HttpApiGateway
from local.server import RunningServer
from local.template import Template

FIXTURE = Path(__file__).resolve().parent / "local_stack_fixture" / "template.yaml"
HEADERS = {"Host": "127.0.0.1", "Authorization": "Bearer good"}


@pytest.fixture(scope="module")
def gateway() -> HttpApiGateway:
    template = Template.load(FIXTURE)
    return HttpApiGateway(template.routes, template.apis, FunctionHost(template.functions.values()))


@pytest.fixture(scope="module")
def api_port(gateway: HttpApiGateway) -> Iterator[int]:
    server = RunningServer(gateway, "127.0.0.1", 0, "api")
    yield server.port
    server.stop()


def send(port: int, method: str, path: str) -> tuple[int, str | None, bytes]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    try:
        connection.request(method, path, headers=HEADERS)
        response = connection.getresponse()
        return response.status, response.getheader("content-type"), response.read()
    finally:
        connection.close()


@pytest.mark.parametrize(
    "method", ["TRACE", "PATCH", "PUT", "DELETE", "OPTIONS", "POST", "PROPFIND", "CONNECT", "FOO", "get"]
)
def test_every_method_without_a_route_is_api_gateways_404(api_port: int, method: str) -> None:
    # GIVEN /api/things/{id}, routed for GET only
    status, content_type, body = send(api_port, method, "/api/things/t1")
    assert (status, content_type, body) == (404, "application/json", b'{"message":"Not Found"}')


def test_a_routed_method_still_reaches_its_function(api_port: int) -> None:
    status, _, body = send(api_port, "GET", "/api/things/t1")
    assert (status, json.loads(body)["event"]["pathParameters"]) == (200, {"id": "t1"})


@pytest.mark.parametrize(
    ("path", "decoded", "parameter"),
    [
        ("/api/things/t%201", "/api/things/t 1", "t 1"),
        ("/api/things/p%31", "/api/things/p1", "p1"),
        ("/api/things/t%25201", "/api/things/t%201", "t%201"),  # decoded once, not twice
        ("/api/things/t%0A", "/api/things/t\n", "t\n"),
    ],
)
def test_the_function_gets_the_path_decoded_once(gateway: HttpApiGateway, path, decoded, parameter) -> None:
    response = gateway(HttpRequest("GET", path, headers=list(HEADERS.items())))
    event = json.loads(response.body)["event"]
    assert response.status == 200
    assert (event["rawPath"], event["requestContext"]["http"]["path"]) == (decoded, decoded)
    assert event["pathParameters"] == {"id": parameter}


def test_an_encoded_slash_separates_segments(gateway: HttpApiGateway) -> None:
    response = gateway(HttpRequest("GET", "/api/things/a%2Fb", headers=list(HEADERS.items())))
    assert (response.status, response.body) == (404, b'{"message":"Not Found"}')
