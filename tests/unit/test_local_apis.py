"""The local HTTP API and Invoke API answer as API Gateway and Lambda do, on test functions.

The functions of tests/unit/local_stack_fixture run in this process, as under ``make dev``;
no DynamoDB is involved.
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest

from local.events import HttpRequest, HttpResponse, Verdict
from local.functions import FunctionHost
from local.http_api import AuthorizerCache, HttpApiGateway, Router
from local.lambda_api import LambdaInvokeApi
from local.server import RunningServer
from local.template import LambdaAuthorizer, Route, Template

FIXTURE = Path(__file__).resolve().parent / "local_stack_fixture" / "template.yaml"


@pytest.fixture(scope="module")
def template() -> Template:
    return Template.load(FIXTURE)


@pytest.fixture(scope="module")
def functions(template: Template) -> FunctionHost:
    return FunctionHost(template.functions.values())


@pytest.fixture
def gateway(template: Template, functions: FunctionHost) -> HttpApiGateway:
    return HttpApiGateway(template.routes, template.apis, functions)


@pytest.fixture
def invoke_api(functions: FunctionHost) -> LambdaInvokeApi:
    return LambdaInvokeApi(functions)


def get(path: str, token: str | None = "Bearer good", method: str = "GET", **extra: Any) -> HttpRequest:
    headers = [("Host", "127.0.0.1:3000")] + ([("Authorization", token)] if token else [])
    headers += list(extra.pop("headers", []))
    path, _, query = path.partition("?")
    return HttpRequest(method=method, path=path, query=query, headers=headers, **extra)


def body(response: HttpResponse) -> Any:
    return json.loads(response.body)


# ---------------------------------------------------------------- the HTTP API


def test_missing_identity_is_401_without_calling_the_authorizer(gateway: HttpApiGateway) -> None:
    response = gateway(get("/api/things/t1", token=None))
    assert (response.status, response.body) == (401, b'{"message":"Unauthorized"}')
    assert gateway.authorizer_calls == 0


def test_denied_is_403_and_failing_authorizers_are_500(gateway: HttpApiGateway) -> None:
    assert (gateway(get("/api/things/t1", token="Bearer bad")).status, gateway.authorizer_calls) == (403, 1)
    assert gateway(get("/api/things/t1", token="Bearer bad")).body == b'{"message":"Forbidden"}'
    assert gateway(get("/api/things/t1", token="Bearer boom")).body == b'{"message":"Internal Server Error"}'
    assert gateway(get("/api/things/t1", token="Bearer odd")).status == 500


def test_answers_are_cached_per_identity_value(gateway: HttpApiGateway) -> None:
    # GIVEN one token used three times, then another
    for _ in range(3):
        assert gateway(get("/api/things/t1")).status == 200
    assert gateway.authorizer_calls == 1
    assert gateway(get("/api/things/t2", token="Bearer good-2")).status == 200

    # THEN the authorizer ran once per token; a denial is cached too
    assert gateway.authorizer_calls == 2
    gateway(get("/api/things/t1", token="Bearer bad"))
    gateway(get("/api/things/t1", token="Bearer bad"))
    assert gateway.authorizer_calls == 3


def test_cache_entries_expire_after_reauthorize_every() -> None:
    now = [1000.0]
    cache = AuthorizerCache(clock=lambda: now[0])
    authorizer = LambdaAuthorizer("A", "F", ("Authorization",), 300)
    cache.put(authorizer, ["t"], Verdict(True, {}))
    now[0] += 299
    assert cache.get(authorizer, ["t"]) is not None
    now[0] += 1
    assert cache.get(authorizer, ["t"]) is None
    never = LambdaAuthorizer("B", "F", ("Authorization",), 0)
    cache.put(never, ["t"], Verdict(True, {}))
    assert cache.get(never, ["t"]) is None


def test_the_function_gets_the_event_and_its_answer_is_rendered(gateway: HttpApiGateway) -> None:
    response = gateway(get("/api/things/t%201?x=1&x=2"))
    assert response.status == 200
    headers = dict(response.headers)
    assert headers["x-echo"] == "yes"
    assert [v for k, v in response.headers if k == "set-cookie"] == ["a=1", "b=2"]
    assert "apigw-requestid" in headers
    seen = body(response)
    event = seen["event"]
    assert event["routeKey"] == "GET /api/things/{id}"
    assert event["pathParameters"] == {"id": "t 1"}
    assert event["queryStringParameters"] == {"x": "1,2"}
    assert event["requestContext"]["authorizer"] == {"lambda": {"orgId": "org_1", "scopes": "usage:read"}}
    assert event["requestContext"]["requestId"] == headers["apigw-requestid"]
    assert event["stageVariables"] == {"stage": "dev"}
    assert (seen["function"], seen["memory"], seen["layer"]) == ("EchoFunction", 256, "from-the-layer")
    assert 0 < seen["remaining"] <= 5000
    assert seen["arn"] == "arn:aws:lambda:us-east-1:123456789012:function:EchoFunction"


def test_post_bodies_reach_the_function(gateway: HttpApiGateway) -> None:
    request = get("/api/things", method="POST", headers=[("Content-Type", "application/json")], body=b'{"n": 1}')
    response = gateway(request)
    assert (response.status, body(response)["event"]["body"]) == (201, '{"n": 1}')


def test_literal_segments_win_over_variables_and_unknown_routes_are_404(gateway: HttpApiGateway) -> None:
    assert body(gateway(get("/api/things/latest")))["event"]["routeKey"] == "GET /api/things/latest"
    for request in (get("/api/nothing"), get("/api/things/t1", method="DELETE"), get("/api/things/a/b")):
        response = gateway(request)
        assert (response.status, response.body) == (404, b'{"message":"Not Found"}')


def test_routes_without_authorizer(gateway: HttpApiGateway) -> None:
    response = gateway(get("/api/public/a", token=None))
    assert response.status == 200
    event = body(response)["event"]
    assert event["pathParameters"] == {"name": "a"}
    assert "authorizer" not in event["requestContext"]
    assert gateway.authorizer_calls == 0


def test_function_faults_are_500(gateway: HttpApiGateway) -> None:
    assert gateway(get("/api/fails")).body == b'{"message":"Internal Server Error"}'
    assert gateway(get("/api/plain?mode=unserializable")).status == 500


def test_answers_without_status_code_are_200_json(gateway: HttpApiGateway) -> None:
    response = gateway(get("/api/plain?mode=x"))
    assert (response.status, body(response)) == (200, {"helper": "plain-helper", "mode": "x"})
    assert gateway(get("/api/plain?mode=text")).body == b"just text"


def test_cors_preflight_is_answered_by_the_gateway(gateway: HttpApiGateway) -> None:
    asking = [("Origin", "https://app.example"), ("Access-Control-Request-Method", "GET")]
    response = gateway(get("/api/things/t1", token=None, method="OPTIONS", headers=asking))
    headers = dict(response.headers)
    assert (response.status, gateway.authorizer_calls) == (204, 0)
    assert headers["access-control-allow-origin"] == "*"
    assert (headers["access-control-allow-methods"], headers["access-control-max-age"]) == ("GET,POST", "600")
    plain = gateway(get("/api/things/t1", headers=[("Origin", "https://app.example")]))
    assert dict(plain.headers)["access-control-allow-origin"] == "*"


def test_router_prefers_literal_segments() -> None:
    routes = [
        Route("GET", "/api/{kind}/x", "Variable", "Api", None),
        Route("GET", "/api/things/x", "Literal", "Api", None),
        Route("POST", "/api/things/x", "Post", "Api", None),
    ]
    router = Router(routes)

    def function_of(method: str, path: str) -> str | None:
        found = router.match(method, path)
        return found[0].function if found else None

    assert function_of("GET", "/api/things/x") == "Literal"
    assert function_of("POST", "/api/things/x") == "Post"
    assert function_of("GET", "/api/other/x") == "Variable"
    assert function_of("DELETE", "/api/things/x") is None
    assert function_of("GET", "/elsewhere") is None


# ---------------------------------------------------------------- the functions' runtime


def test_each_function_has_its_own_sibling_modules(functions: FunctionHost) -> None:
    assert functions.invoke("PlainFunction", {}).result == {"helper": "plain-helper", "mode": None}
    answer = json.loads(functions.invoke("EchoFunction", {}).result["body"])
    assert answer["helper"] == "echo-helper"


def test_runtime_errors_are_reported_as_lambda_does(functions: FunctionHost) -> None:
    failed = functions.invoke("FailingFunction", {})
    assert failed.error is not None and failed.result["stackTrace"]
    assert (failed.result["errorType"], failed.result["errorMessage"]) == ("ValueError", "this function always fails")
    assert failed.result["requestId"] == failed.request_id
    missing = functions.invoke("MissingFunction", {})
    assert missing.result["errorType"] == "Runtime.ImportModuleError"
    assert functions.missing_code() == ["MissingFunction"]
    assert functions.invoke("PlainFunction", {"mode": "unserializable"}).result["errorType"] == "Runtime.MarshalError"


def test_a_run_past_the_timeout_fails_as_timed_out(functions: FunctionHost) -> None:
    timed_out = functions.invoke("PlainFunction", {"mode": "sleep"})
    assert timed_out.result["errorType"] == "Sandbox.Timedout"
    assert timed_out.result["errorMessage"] == "Task timed out after 1.00 seconds"


# ---------------------------------------------------------------- the Invoke API


def invocation(name: str, payload: bytes = b"{}", /, **headers: str) -> HttpRequest:
    path = f"/2015-03-31/functions/{name}/invocations"
    return HttpRequest(method="POST", path=path, headers=list(headers.items()), body=payload)


def test_invoke_returns_the_result(invoke_api: LambdaInvokeApi) -> None:
    response = invoke_api(invocation("PlainFunction", b'{"mode": "m"}'))
    assert (response.status, body(response)) == (200, {"helper": "plain-helper", "mode": "m"})
    assert "x-amz-function-error" not in dict(response.headers)


def test_invoke_reports_unhandled_errors(invoke_api: LambdaInvokeApi) -> None:
    response = invoke_api(invocation("FailingFunction"))
    assert (response.status, dict(response.headers)["x-amz-function-error"]) == (200, "Unhandled")
    assert body(response)["errorType"] == "ValueError"


def test_invoke_refuses_unknown_functions_and_bad_payloads(invoke_api: LambdaInvokeApi) -> None:
    unknown = invoke_api(invocation("Nope"))
    assert (unknown.status, dict(unknown.headers)["x-amzn-errortype"]) == (404, "ResourceNotFoundException")
    bad = invoke_api(invocation("PlainFunction", b"{not json"))
    assert (bad.status, dict(bad.headers)["x-amzn-errortype"]) == (400, "InvalidRequestContentException")
    assert invoke_api(HttpRequest(method="GET", path="/2015-03-31/functions")).status == 404
    huge = invoke_api(invocation("PlainFunction", b'"' + b"x" * 6 * 1024 * 1024 + b'"'))
    assert (huge.status, dict(huge.headers)["x-amzn-errortype"]) == (413, "RequestTooLargeException")


def test_invocation_types(invoke_api: LambdaInvokeApi) -> None:
    assert invoke_api(invocation("PlainFunction", **{"X-Amz-Invocation-Type": "Event"})).status == 202
    dry_run = invoke_api(invocation("PlainFunction", **{"X-Amz-Invocation-Type": "DryRun"}))
    assert (dry_run.status, dict(dry_run.headers)["x-amzn-errortype"]) == (400, "InvalidParameterValueException")
    assert "InvocationType DryRun is not supported locally" in body(dry_run)["message"]
    arn = "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3APlainFunction"
    assert invoke_api(invocation(arn)).status == 200


@pytest.fixture
def lambda_server(invoke_api: LambdaInvokeApi) -> Iterator[str]:
    server = RunningServer(invoke_api, "127.0.0.1", 0, "lambda")
    yield f"http://127.0.0.1:{server.port}"
    server.stop()


def test_boto3_invokes_through_the_invoke_api(lambda_server: str) -> None:
    credentials: dict[str, Any] = {"aws_access_key_id": "local", "aws_secret_access_key": "local"}
    client = boto3.client("lambda", endpoint_url=lambda_server, region_name="us-east-1", **credentials)
    ok = client.invoke(FunctionName="PlainFunction", Payload=b'{"mode": "boto3"}')
    assert (ok["StatusCode"], json.loads(ok["Payload"].read())) == (200, {"helper": "plain-helper", "mode": "boto3"})
    failed = client.invoke(FunctionName="FailingFunction", Payload=b"{}")
    assert failed["FunctionError"] == "Unhandled"
    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="Nope", Payload=b"{}")
