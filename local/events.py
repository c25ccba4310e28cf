"""API Gateway HTTP API's side of a Lambda integration, as pure functions. No I/O.

- :func:`http_event`: the payload format 2.0 event a route's function receives.
- :func:`authorizer_event`: the payload format 2.0 ``REQUEST`` event of a Lambda authorizer.
- :func:`authorizer_verdict`: reading an authorizer's simple response.
- :func:`integration_response`: turning a function's 2.0 answer into the HTTP response, including
  API Gateway's inference for answers without ``statusCode``.

Shapes follow the API Gateway developer guide and ``sam local generate-event apigateway
http-api-proxy``: header names lowercased, repeated headers and query parameters joined with
commas, cookies moved out of the headers into ``cookies``, ``body`` base64-encoded unless its
content type is text.
"""

from __future__ import annotations

import base64
import json
import os
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from local.template import ACCOUNT_ID, REGION, LambdaAuthorizer, Route

STAGE = "$default"
TEXT_SUBTYPES = ("json", "xml", "javascript", "x-www-form-urlencoded", "yaml", "csv", "graphql")


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """An incoming request as the client sent it."""

    method: str
    path: str
    query: str = ""
    headers: list[tuple[str, str]] = field(default_factory=list)
    body: bytes = b""
    source_ip: str = "127.0.0.1"
    protocol: str = "HTTP/1.1"
    server_port: int = 0

    def header(self, name: str) -> str | None:
        """All values of header ``name`` (any case) joined with commas, or None."""
        values = [v for k, v in self.headers if k.lower() == name.lower()]
        return ",".join(values) if values else None


@dataclass(frozen=True, slots=True)
class HttpResponse:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    @classmethod
    def message(cls, status: int, message: str) -> HttpResponse:
        """API Gateway's own answers: ``{"message": "..."}``."""
        body = json.dumps({"message": message}, separators=(",", ":")).encode()
        return cls(status, [("content-type", "application/json")], body)


UNAUTHORIZED = HttpResponse.message(401, "Unauthorized")
FORBIDDEN = HttpResponse.message(403, "Forbidden")
NOT_FOUND = HttpResponse.message(404, "Not Found")
INTERNAL_SERVER_ERROR = HttpResponse.message(500, "Internal Server Error")


@dataclass(frozen=True, slots=True)
class RequestContext:
    """What API Gateway adds to a request: where it came in and when."""

    api_id: str
    domain_name: str
    request_id: str
    epoch_ms: int

    @classmethod
    def new(cls, api_id: str, host: str | None, now: float | None = None) -> RequestContext:
        now = time.time() if now is None else now
        return cls(
            api_id=api_id,
            domain_name=(host or "localhost").split(":")[0],
            request_id=base64.b64encode(os.urandom(11)).decode(),  # API Gateway's style: 15 chars and "="
            epoch_ms=int(now * 1000),
        )

    @property
    def time(self) -> str:
        return time.strftime("%d/%b/%Y:%H:%M:%S +0000", time.gmtime(self.epoch_ms / 1000))


def event_headers(request: HttpRequest) -> dict[str, str]:
    """Lowercased headers, repeated ones joined; cookies left out; API Gateway's forwarding headers added."""
    headers: dict[str, str] = {}
    for name, value in request.headers:
        key = name.lower()
        if key == "cookie":
            continue
        headers[key] = f"{headers[key]},{value}" if key in headers else value
    headers.setdefault("x-forwarded-for", request.source_ip)
    headers.setdefault("x-forwarded-port", str(request.server_port))
    headers.setdefault("x-forwarded-proto", "http")
    return headers


def event_cookies(request: HttpRequest) -> list[str]:
    values = [v for k, v in request.headers if k.lower() == "cookie"]
    return [c.strip() for value in values for c in value.split(";") if c.strip()]


def query_parameters(raw_query: str) -> dict[str, str]:
    """Decoded query parameters; a repeated one joined with commas, as API Gateway does."""
    parameters: dict[str, str] = {}
    for name, value in parse_qsl(raw_query, keep_blank_values=True):
        parameters[name] = f"{parameters[name]},{value}" if name in parameters else value
    return parameters


def is_text(content_type: str | None) -> bool:
    if not content_type:
        return True
    media = content_type.split(";")[0].strip().lower()
    main, _, sub = media.partition("/")
    return main == "text" or any(sub == t or sub.endswith(f"+{t}") for t in TEXT_SUBTYPES)


def _request_context(request: HttpRequest, context: RequestContext, route_key: str) -> dict[str, Any]:
    return {
        "accountId": ACCOUNT_ID,
        "apiId": context.api_id,
        "domainName": context.domain_name,
        "domainPrefix": context.domain_name.split(".")[0],
        "http": {
            "method": request.method,
            "path": request.path,
            "protocol": request.protocol,
            "sourceIp": request.source_ip,
            "userAgent": request.header("user-agent") or "",
        },
        "requestId": context.request_id,
        "routeKey": route_key,
        "stage": STAGE,
        "time": context.time,
        "timeEpoch": context.epoch_ms,
    }


def _common(
    request: HttpRequest,
    route: Route,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    context: RequestContext,
) -> dict[str, Any]:
    """The fields the route event and the authorizer event share, in API Gateway's order."""
    event: dict[str, Any] = {
        "version": "2.0",
        "routeKey": route.route_key,
        "rawPath": request.path,
        "rawQueryString": request.query,
    }
    cookies = event_cookies(request)
    if cookies:
        event["cookies"] = cookies
    event["headers"] = event_headers(request)
    if request.query:
        event["queryStringParameters"] = query_parameters(request.query)
    event["requestContext"] = _request_context(request, context, route.route_key)
    if path_parameters:
        event["pathParameters"] = path_parameters
    if stage_variables:
        event["stageVariables"] = stage_variables
    return event


def http_event(
    request: HttpRequest,
    route: Route,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    context: RequestContext,
    authorizer_context: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The payload format 2.0 event of ``request`` for the function of ``route``."""
    event = _common(request, route, path_parameters, stage_variables, context)
    if authorizer_context is not None:
        event["requestContext"]["authorizer"] = {"lambda": authorizer_context}
    if request.body:
        encode = not is_text(request.header("content-type"))
        try:
            event["body"] = base64.b64encode(request.body).decode() if encode else request.body.decode("utf-8")
        except UnicodeDecodeError:
            encode = True
            event["body"] = base64.b64encode(request.body).decode()
        event["isBase64Encoded"] = encode
    else:
        event["isBase64Encoded"] = False
    return event


def route_arn(context: RequestContext, request: HttpRequest) -> str:
    return f"arn:aws:execute-api:{REGION}:{ACCOUNT_ID}:{context.api_id}/{STAGE}/{request.method}{request.path}"


def identity_values(request: HttpRequest, authorizer: LambdaAuthorizer) -> list[str] | None:
    """The values of the authorizer's identity headers; None when one is missing (then: 401)."""
    values = [request.header(name) or "" for name in authorizer.identity_headers]
    return values if all(values) else None


def authorizer_event(
    request: HttpRequest,
    route: Route,
    path_parameters: dict[str, str],
    stage_variables: dict[str, str],
    context: RequestContext,
    identity: list[str],
) -> dict[str, Any]:
    """The payload format 2.0 ``REQUEST`` event of a Lambda authorizer (no body)."""
    common = _common(request, route, path_parameters, stage_variables, context)
    head = {"version": "2.0", "type": "REQUEST", "routeArn": route_arn(context, request), "identitySource": identity}
    return {**head, **{k: v for k, v in common.items() if k != "version"}}


class InvalidResponse(ValueError):
    """A function or authorizer answer API Gateway cannot use (it answers 500)."""


@dataclass(frozen=True, slots=True)
class Verdict:
    authorized: bool
    context: dict[str, Any]


def authorizer_verdict(payload: Any) -> Verdict:
    """Read a Lambda authorizer's simple response: ``{"isAuthorized": bool, "context": {...}}``."""
    if not isinstance(payload, dict):
        raise InvalidResponse("the authorizer answered something that is not an object")
    context = payload.get("context") or {}
    if not isinstance(context, dict):
        raise InvalidResponse("the authorizer's context is not an object")
    authorized = payload.get("isAuthorized")
    if not isinstance(authorized, bool):
        raise InvalidResponse("a simple response needs a boolean isAuthorized")
    return Verdict(authorized, context)


def integration_response(payload: bytes) -> HttpResponse:
    """The HTTP response for a function's payload format 2.0 answer.

    With a ``statusCode``: status, ``headers``, ``cookies`` (one ``set-cookie`` each), ``body``
    (base64-decoded when ``isBase64Encoded``). Without one, API Gateway assumes 200, JSON, and the
    answer itself as the body (a JSON string's content for a string answer).
    """
    try:
        answer = json.loads(payload)
    except ValueError as error:
        raise InvalidResponse("the function's answer is not JSON") from error
    if not (isinstance(answer, dict) and "statusCode" in answer):
        inferred = answer.encode() if isinstance(answer, str) else payload
        return HttpResponse(200, [("content-type", "application/json")], inferred)
    status = answer["statusCode"]
    if isinstance(status, bool) or not isinstance(status, int) or not 100 <= status <= 599:
        raise InvalidResponse(f"statusCode {status!r} is not an HTTP status")
    headers = answer.get("headers") or {}
    cookies = answer.get("cookies") or []
    body = answer.get("body")
    if not isinstance(headers, dict) or not isinstance(cookies, list) or not isinstance(body, str | None):
        raise InvalidResponse("headers must be an object, cookies a list and body a string")
    raw = (body or "").encode()
    if answer.get("isBase64Encoded"):
        try:
            raw = base64.b64decode(raw, validate=True)
        except ValueError as error:
            raise InvalidResponse("isBase64Encoded but the body is not base64") from error
    pairs = [(str(k).lower(), _header_value(v)) for k, v in headers.items()]
    pairs += [("set-cookie", str(c)) for c in cookies]
    return HttpResponse(status, pairs, raw)


def _header_value(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
