"""The HTTP API emulation (like ``sam local start-api``): routes and Lambda authorizer from the template.

Answers as API Gateway HTTP API does:

- no route for the method and path: ``404 {"message":"Not Found"}``;
- a route behind a Lambda authorizer without its identity source (the ``Authorization``
  header): ``401 {"message":"Unauthorized"}``, without calling the authorizer;
- the authorizer says no: ``403 {"message":"Forbidden"}``; it fails or answers nonsense:
  ``500 {"message":"Internal Server Error"}``;
- the authorizer's answer is cached per identity source value for ``ReauthorizeEvery`` seconds;
- the route's function gets the payload format 2.0 event with the authorizer's context under
  ``requestContext.authorizer.lambda``; its answer is rendered by the 2.0 rules, and an
  unhandled error is ``500 {"message":"Internal Server Error"}``;
- CORS preflights are answered from the API's ``CorsConfiguration`` without calling anything.

Routes are those :mod:`local.template` accepts: one method on literal segments and ``{name}``
parameters, each matching one path segment; a literal segment wins over a parameter. Like API
Gateway HTTP API, the path is percent-decoded once before routing, and the function gets it
decoded (``rawPath``, ``requestContext.http.path``, ``pathParameters``): ``/things/t%201`` is
``/things/t 1``, and ``/things/a%2Fb`` is ``/things/a/b`` (another route). Any method without a
route, whatever its name (``TRACE``, ``PROPFIND``...), is that ``404``.
"""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, replace
from urllib.parse import unquote

from local.events import (
    FORBIDDEN,
    INTERNAL_SERVER_ERROR,
    NOT_FOUND,
    UNAUTHORIZED,
    HttpRequest,
    HttpResponse,
    InvalidResponse,
    RequestContext,
    Verdict,
    authorizer_event,
    authorizer_verdict,
    http_event,
    identity_values,
    integration_response,
)
from local.functions import FunctionHost
from local.template import Cors, HttpApiSpec, LambdaAuthorizer, Route


@dataclass(frozen=True, slots=True)
class _CompiledRoute:
    route: Route
    pattern: re.Pattern[str]
    names: tuple[str, ...]
    literals: int


class Router:
    """Finds the route of a method and path, with its path parameters."""

    def __init__(self, routes: Iterable[Route]) -> None:
        compiled = [self._compile(r) for r in routes]
        self._routes = sorted(compiled, key=lambda c: c.literals, reverse=True)

    @staticmethod
    def _compile(route: Route) -> _CompiledRoute:
        parts: list[str] = []
        names: list[str] = []
        for segment in route.path.strip("/").split("/"):
            if segment.startswith("{"):
                names.append(segment[1:-1])
                parts.append("([^/]+)")
            else:
                parts.append(re.escape(segment))
        pattern = re.compile("/" + "/".join(parts), re.DOTALL)  # matched whole; a decoded path may hold newlines
        return _CompiledRoute(route, pattern, tuple(names), len(parts) - len(names))

    def match(self, method: str, path: str) -> tuple[Route, dict[str, str]] | None:
        """The route of ``method`` on the (decoded) ``path``, with its path parameters as they appear in it."""
        for compiled in self._routes:
            found = compiled.pattern.fullmatch(path) if compiled.route.method == method else None
            if found:
                return compiled.route, dict(zip(compiled.names, found.groups(), strict=True))
        return None

    def path_exists(self, path: str) -> Route | None:
        """A route of any method on ``path`` (to find the API a CORS preflight is for)."""
        return next((c.route for c in self._routes if c.pattern.fullmatch(path)), None)


class AuthorizerCache:
    """Authorizer answers per authorizer and identity source values, each kept ``ttl`` seconds."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self._entries: dict[tuple[str, tuple[str, ...]], tuple[float, Verdict]] = {}
        self._lock = threading.Lock()
        self._clock = clock

    def get(self, authorizer: LambdaAuthorizer, identity: list[str]) -> Verdict | None:
        key = (authorizer.name, tuple(identity))
        with self._lock:
            entry = self._entries.get(key)
            if entry is None or entry[0] <= self._clock():
                self._entries.pop(key, None)
                return None
            return entry[1]

    def put(self, authorizer: LambdaAuthorizer, identity: list[str], verdict: Verdict) -> None:
        if authorizer.reauthorize_every <= 0:
            return
        with self._lock:
            expires = self._clock() + authorizer.reauthorize_every
            self._entries[(authorizer.name, tuple(identity))] = (expires, verdict)


class _AuthorizerFailed(Exception):
    """The authorizer raised, or answered something API Gateway cannot read."""


class HttpApiGateway:
    """The template's HTTP APIs on one port: ``__call__`` answers one request."""

    def __init__(self, routes: Iterable[Route], apis: Mapping[str, HttpApiSpec], functions: FunctionHost) -> None:
        self.router = Router(routes)
        self.apis = dict(apis)
        self.functions = functions
        self.cache = AuthorizerCache()
        self.authorizer_calls = 0

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request = replace(request, path=unquote(request.path))  # API Gateway decodes the path once
        route_on_path = self.router.path_exists(request.path)
        api = self.apis.get(route_on_path.api) if route_on_path else None
        if api and api.cors and _is_preflight(request):
            return _preflight(api.cors, request)
        response = self._respond(request)
        if api and api.cors and request.header("origin"):
            response = _with_cors(api.cors, request, response)
        return response

    def _respond(self, request: HttpRequest) -> HttpResponse:
        found = self.router.match(request.method, request.path)
        if found is None:
            return NOT_FOUND
        route, path_parameters = found
        api = self.apis[route.api]
        stage_variables = api.stage_variables
        context = RequestContext.new(route.api, request.header("host"))
        authorizer_context = None
        if route.authorizer is not None:
            authorizer = api.authorizers[route.authorizer]
            identity = identity_values(request, authorizer)
            if identity is None:
                return UNAUTHORIZED
            try:
                verdict = self.cache.get(authorizer, identity) or self._authorize(
                    authorizer, authorizer_event(request, route, path_parameters, stage_variables, context, identity)
                )
            except _AuthorizerFailed:
                return INTERNAL_SERVER_ERROR
            self.cache.put(authorizer, identity, verdict)
            if not verdict.authorized:
                return FORBIDDEN
            authorizer_context = verdict.context
        event = http_event(request, route, path_parameters, stage_variables, context, authorizer_context)
        invocation = self.functions.invoke(route.function, event)
        if invocation.error is not None:
            return INTERNAL_SERVER_ERROR
        try:
            response = integration_response(invocation.payload)
        except InvalidResponse:
            return INTERNAL_SERVER_ERROR
        return HttpResponse(
            response.status, [*response.headers, ("apigw-requestid", context.request_id)], response.body
        )

    def _authorize(self, authorizer: LambdaAuthorizer, event: dict[str, object]) -> Verdict:
        self.authorizer_calls += 1
        invocation = self.functions.invoke(authorizer.function, event)
        if invocation.error is not None:
            raise _AuthorizerFailed(invocation.error.error_message)
        try:
            return authorizer_verdict(invocation.result)
        except InvalidResponse as error:
            raise _AuthorizerFailed(str(error)) from error


def _is_preflight(request: HttpRequest) -> bool:
    return (
        request.method == "OPTIONS"
        and bool(request.header("origin"))
        and bool(request.header("access-control-request-method"))
    )


def _preflight(cors: Cors, request: HttpRequest) -> HttpResponse:
    origin = cors.allowed_origin(request.header("origin") or "")
    if origin is None:
        return HttpResponse(204, [], b"")
    headers = [
        ("access-control-allow-origin", origin),
        ("access-control-allow-methods", ",".join(cors.allow_methods)),
        ("access-control-allow-headers", ",".join(h.lower() for h in cors.allow_headers)),
    ]
    if cors.max_age is not None:
        headers.append(("access-control-max-age", str(cors.max_age)))
    return HttpResponse(204, headers, b"")


def _with_cors(cors: Cors, request: HttpRequest, response: HttpResponse) -> HttpResponse:
    origin = cors.allowed_origin(request.header("origin") or "")
    if origin is None:
        return response
    return HttpResponse(response.status, [*response.headers, ("access-control-allow-origin", origin)], response.body)
