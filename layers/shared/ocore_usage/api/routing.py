"""The HTTP functions' resolver: API Gateway HTTP API (payload 2.0) events to routes and back.

Each function serves one to three routes, which API Gateway has already matched, so resolving
is small: match the method and path, call the route, turn a :class:`Problem` (or any other
exception) into its problem+json answer, and write the 2.0 response (``statusCode``, ``body``,
``isBase64Encoded``, ``headers``, ``cookies``), gzipping a route's body for clients that accept
it when the route asks. It answers as Powertools' ``APIGatewayHttpResolver`` does for what the
service uses (``tests/unit/test_routing.py`` runs both on the same events), without importing
Powertools' event handler package, which imports every resolver it has (AppSync's brings
``asyncio``) and every event type: about 55 ms of each cold start (README "Cold start").

The route decorators take Powertools' keywords (``operation_id``, ``summary``, ``description``,
``responses``, ``include_in_schema``, ``compress``) and keep them: ``tools/openapi.py`` replays
each function's routes onto a Powertools resolver at build time and merges their documents
with ``OpenAPIMerge``.
"""

from __future__ import annotations

import base64
import re
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Final

from ocore_usage.api import jsonnum
from ocore_usage.domain.problems import PROBLEM_JSON, Problem, ProblemCode

Handler = Callable[..., Any]
"""A route's function: it answers a :class:`Response`, or a body alone (200, serialized as JSON)."""
OnFault = Callable[[Exception, "HttpEvent"], None]

_PARAMETER: Final = re.compile(r"<(\w+)>")
_PARAMETER_VALUE: Final = r"[-._~()'!*:@,;=+&$%<> \[\]{}|^\w]+"
"""What a ``<name>`` segment of a rule matches (the characters Powertools allows there)."""


@dataclass
class Response:
    """An HTTP answer: its status, ``Content-Type`` (also a header unless the headers set one),
    body and headers."""

    status_code: int
    content_type: str | None = None
    body: str | bytes = ""
    headers: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if self.content_type:
            self.headers.setdefault("Content-Type", self.content_type)


@dataclass(frozen=True, slots=True)
class HttpEvent:
    """The parts of a payload 2.0 event the functions read (``raw_event`` is all of it)."""

    raw_event: Mapping[str, Any]

    @property
    def body(self) -> str | None:
        body = self.raw_event.get("body")
        return None if body is None else str(body)

    @property
    def is_base64_encoded(self) -> bool:
        return bool(self.raw_event.get("isBase64Encoded"))

    @property
    def request_id(self) -> str | None:
        context = self.raw_event.get("requestContext")
        request_id = context.get("requestId") if isinstance(context, Mapping) else None
        return request_id if isinstance(request_id, str) else None

    @property
    def authorizer_context(self) -> Mapping[str, Any]:
        """What the Lambda authorizer handed over (``{}`` when there is none)."""
        context = self.raw_event.get("requestContext") or {}
        found = (context.get("authorizer") or {}).get("lambda")
        return found if isinstance(found, Mapping) else {}

    def accepts_gzip(self) -> bool:
        headers = self.raw_event.get("headers") or {}
        return any(name.lower() == "accept-encoding" and "gzip" in value for name, value in headers.items())

    def method_and_path(self) -> tuple[str, str]:
        """The method, and the path below the stage (a named stage prefixes the raw path)."""
        context = self.raw_event.get("requestContext") or {}
        method = str((context.get("http") or {}).get("method", "")).upper()
        path = str(self.raw_event.get("rawPath") or "/")
        stage = context.get("stage")
        if stage and stage != "$default" and path.startswith(f"/{stage}"):
            path = path[len(stage) + 1 :] or "/"
        return method, path


@dataclass(frozen=True, slots=True)
class Route:
    """A method and rule (a regular expression whose ``<name>`` segments become arguments), the
    function that answers it, and its decorator's keywords (its documentation, ``compress``)."""

    method: str
    rule: str
    handler: Handler
    options: Mapping[str, Any]
    pattern: re.Pattern[str]


class HttpResolver:
    """One function's routes; :meth:`resolve` answers an event with them."""

    def __init__(self, on_fault: OnFault) -> None:
        self.routes: list[Route] = []
        self._on_fault = on_fault
        self._event: HttpEvent | None = None

    def get(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(rule, "GET", **options)

    def post(self, rule: str, **options: Any) -> Callable[[Handler], Handler]:
        return self.route(rule, "POST", **options)

    def route(self, rule: str, method: str, **options: Any) -> Callable[[Handler], Handler]:
        def register(handler: Handler) -> Handler:
            pattern = re.compile(f"^{_PARAMETER.sub(lambda name: f'(?P<{name[1]}>{_PARAMETER_VALUE})', rule)}$")
            self.routes.append(Route(method, rule, handler, options, pattern))
            return handler

        return register

    @property
    def current_event(self) -> HttpEvent:
        """The event being answered (only while :meth:`resolve` runs)."""
        if self._event is None:
            raise RuntimeError("no event is being resolved")
        return self._event

    def resolve(self, event: Mapping[str, Any], context: object = None) -> dict[str, Any]:
        """The payload 2.0 response to ``event``."""
        self._event = current = HttpEvent(event)
        route: Route | None = None
        try:
            route, arguments = self._match(current)
            response = route.handler(**arguments)
            if not isinstance(response, Response):  # a body alone: 200, as JSON
                response = json_response(response)
        except Problem as problem:
            response = problem_response(problem)
        except Exception as error:  # every other fault is a 500 that names the request, never a trace
            self._on_fault(error, current)
            fault = Problem(ProblemCode.INTERNAL_ERROR, "an unexpected fault occurred; quote the request id")
            response = problem_response(fault, current.request_id)
        finally:
            self._event = None
        compress = route is not None and route.options.get("compress", False) and current.accepts_gzip()
        return _payload(response, compress=bool(compress))

    def _match(self, event: HttpEvent) -> tuple[Route, dict[str, str]]:
        method, path = event.method_and_path()
        for route in self.routes:
            found = route.pattern.match(path) if route.method == method else None
            if found is not None:
                return route, found.groupdict()
        raise Problem(ProblemCode.NOT_FOUND, "no such route")


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """``body`` as exact JSON (:mod:`ocore_usage.api.jsonnum`)."""
    return Response(status, "application/json", jsonnum.dumps(body), headers or {})


def problem_response(problem: Problem, request_id: str | None = None) -> Response:
    """The problem+json answer of ``problem`` (with the request id, for a fault)."""
    return Response(problem.status, PROBLEM_JSON, jsonnum.dumps(problem.to_body(request_id)))


def _payload(response: Response, *, compress: bool) -> dict[str, Any]:
    body, headers, encoded = response.body, dict(response.headers), False
    if compress:
        headers["Content-Encoding"] = "gzip"
        gzip = zlib.compressobj(9, zlib.DEFLATED, zlib.MAX_WBITS | 16)
        body = gzip.compress(body.encode() if isinstance(body, str) else body) + gzip.flush()
    if isinstance(body, bytes):
        body, encoded = base64.b64encode(body).decode(), True
    return {
        "statusCode": response.status_code,
        "body": body,
        "isBase64Encoded": encoded,
        "headers": headers,
        "cookies": [],
    }
