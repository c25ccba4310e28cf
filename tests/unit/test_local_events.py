"""The events the local HTTP API builds, and how it reads answers, match API Gateway HTTP API's.

Shapes are checked against Powertools' own models of the 2.0 event and of the 2.0 ``REQUEST``
authorizer event, which follow AWS's documentation.
"""

from __future__ import annotations

import base64
import json
from typing import Any

import pytest
from aws_lambda_powertools.utilities.data_classes import APIGatewayProxyEventV2
from aws_lambda_powertools.utilities.parser.models import APIGatewayProxyEventV2Model
from aws_lambda_powertools.utilities.parser.models.apigwv2 import ApiGatewayAuthorizerRequestV2

from local.events import (
    HttpRequest,
    InvalidResponse,
    RequestContext,
    authorizer_event,
    authorizer_verdict,
    http_event,
    identity_values,
    integration_response,
    is_text,
    query_parameters,
)
from local.template import LambdaAuthorizer, Route

ROUTE = Route(method="GET", path="/api/projects/{id}/usage", function="Fn", api="UsageApi", authorizer="Jwt")
AUTHORIZER = LambdaAuthorizer(
    name="Jwt", function="AuthorizerFunction", identity_headers=("Authorization",), reauthorize_every=300
)
CONTEXT = RequestContext(api_id="UsageApi", domain_name="127.0.0.1", request_id="abc=", epoch_ms=1_795_000_000_123)


def request(**changes: object) -> HttpRequest:
    values: dict[str, object] = {
        "method": "GET",
        "path": "/api/projects/p%201/usage",
        "query": "period=daily&tag=a&tag=b&empty=&q=a%2Cb",
        "headers": [
            ("Host", "127.0.0.1:3000"),
            ("Authorization", "Bearer t0k3n"),
            ("User-Agent", "curl/8"),
            ("X-Multi", "1"),
            ("x-multi", "2"),
            ("Cookie", "a=1; b=2"),
        ],
        "source_ip": "10.0.0.9",
        "server_port": 3000,
    }
    values.update(changes)
    return HttpRequest(**values)  # type: ignore[arg-type]


def test_route_event_is_a_valid_payload_2_0_event() -> None:
    # WHEN a GET request with repeated headers, repeated query parameters and cookies is turned into an event
    event = http_event(request(), ROUTE, {"id": "p 1"}, {"stage": "dev"}, CONTEXT, {"orgId": "org_1"})

    # THEN it validates against the 2.0 event model and carries what API Gateway would
    APIGatewayProxyEventV2Model.model_validate(event)
    assert event["version"] == "2.0"
    assert event["routeKey"] == "GET /api/projects/{id}/usage"
    assert event["rawPath"] == "/api/projects/p%201/usage"
    assert event["rawQueryString"] == "period=daily&tag=a&tag=b&empty=&q=a%2Cb"
    assert event["queryStringParameters"] == {"period": "daily", "tag": "a,b", "empty": "", "q": "a,b"}
    assert event["pathParameters"] == {"id": "p 1"}
    assert event["cookies"] == ["a=1", "b=2"]
    assert "cookie" not in event["headers"]
    assert event["headers"]["x-multi"] == "1,2"
    assert event["headers"]["authorization"] == "Bearer t0k3n"
    assert event["headers"]["x-forwarded-for"] == "10.0.0.9"
    assert event["stageVariables"] == {"stage": "dev"}
    assert event["isBase64Encoded"] is False
    assert "body" not in event
    context = event["requestContext"]
    assert context["routeKey"] == event["routeKey"]
    assert context["stage"] == "$default"
    assert context["http"] == {
        "method": "GET",
        "path": "/api/projects/p%201/usage",
        "protocol": "HTTP/1.1",
        "sourceIp": "10.0.0.9",
        "userAgent": "curl/8",
    }
    assert context["timeEpoch"] == 1_795_000_000_123
    assert context["time"] == "18/Nov/2026:11:06:40 +0000"
    assert context["authorizer"] == {"lambda": {"orgId": "org_1"}}


def test_powertools_reads_the_event_as_handlers_do() -> None:
    event = APIGatewayProxyEventV2(http_event(request(), ROUTE, {"id": "p1"}, {}, CONTEXT, {"orgId": "org_1"}))
    assert event.request_context.authorizer.get_lambda == {"orgId": "org_1"}
    assert event.query_string_parameters["tag"] == "a,b"
    assert event.path_parameters == {"id": "p1"}
    assert event.request_context.request_id == "abc="


def test_bodies_are_text_or_base64_by_content_type() -> None:
    def posted(content_type: str, body: bytes) -> dict[str, Any]:
        return http_event(
            request(method="POST", headers=[("Content-Type", content_type)], body=body), ROUTE, {}, {}, CONTEXT
        )

    json_body = posted("application/json", b'{"a": 1}')
    assert (json_body["body"], json_body["isBase64Encoded"]) == ('{"a": 1}', False)
    binary = posted("application/octet-stream", b"\x00\xff")
    assert (base64.b64decode(binary["body"]), binary["isBase64Encoded"]) == (b"\x00\xff", True)


@pytest.mark.parametrize(
    ("content_type", "text"),
    [
        (None, True),
        ("application/json; charset=utf-8", True),
        ("application/problem+json", True),
        ("text/csv", True),
        ("image/png", False),
        ("application/octet-stream", False),
    ],
)
def test_text_content_types(content_type: str | None, text: bool) -> None:
    assert is_text(content_type) is text


def test_authorizer_event_is_a_valid_request_event() -> None:
    event = authorizer_event(request(), ROUTE, {"id": "p1"}, {"stage": "dev"}, CONTEXT, ["Bearer t0k3n"])
    ApiGatewayAuthorizerRequestV2.model_validate(event)
    assert event["type"] == "REQUEST"
    assert event["identitySource"] == ["Bearer t0k3n"]
    assert (
        event["routeArn"] == "arn:aws:execute-api:us-east-1:123456789012:UsageApi/$default/GET/api/projects/p%201/usage"
    )
    assert "body" not in event
    assert "authorizer" not in event["requestContext"]


def test_identity_values_need_every_source() -> None:
    assert identity_values(request(), AUTHORIZER) == ["Bearer t0k3n"]
    assert identity_values(request(headers=[("Host", "x")]), AUTHORIZER) is None
    assert identity_values(request(headers=[("Authorization", "")]), AUTHORIZER) is None


def test_simple_verdicts() -> None:
    assert authorizer_verdict({"isAuthorized": True, "context": {"orgId": "o"}}).context == {"orgId": "o"}
    assert not authorizer_verdict({"isAuthorized": False}).authorized
    for nonsense in ({"isAuthorized": "yes"}, {}, [], {"isAuthorized": True, "context": "x"}):
        with pytest.raises(InvalidResponse):
            authorizer_verdict(nonsense)


def test_full_responses_are_rendered() -> None:
    answer = {
        "statusCode": 201,
        "headers": {"Content-Type": "application/problem+json", "X-Count": 3},
        "cookies": ["a=1; Secure", "b=2"],
        "body": '{"ok":true}',
    }
    response = integration_response(json.dumps(answer).encode())
    assert response.status == 201
    assert response.headers == [
        ("content-type", "application/problem+json"),
        ("x-count", "3"),
        ("set-cookie", "a=1; Secure"),
        ("set-cookie", "b=2"),
    ]
    assert response.body == b'{"ok":true}'
    binary = {"statusCode": 200, "body": base64.b64encode(b"\x01\x02").decode(), "isBase64Encoded": True}
    assert integration_response(json.dumps(binary).encode()).body == b"\x01\x02"


def test_answers_without_status_code_are_inferred() -> None:
    inferred = integration_response(b'{"items": []}')
    assert (inferred.status, inferred.headers, inferred.body) == (
        200,
        [("content-type", "application/json")],
        b'{"items": []}',
    )
    assert integration_response(b'"Hello"').body == b"Hello"


@pytest.mark.parametrize(
    "payload",
    [b'{"statusCode": "200"}', b'{"statusCode": 200, "body": 5}', b'{"statusCode": 99}', b"not json"],
)
def test_unusable_answers_are_refused(payload: bytes) -> None:
    with pytest.raises(InvalidResponse):
        integration_response(payload)


def test_query_parameters_decode_and_join() -> None:
    assert query_parameters("a=1&a=2&b=x%20y&c") == {"a": "1,2", "b": "x y", "c": ""}
