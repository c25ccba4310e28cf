"""The functions' resolver answers as Powertools' ``APIGatewayHttpResolver`` does, set up as before.

The same routes are registered on both, with the service's error handling (a ``Problem`` is its
problem+json answer, an unknown route ``404 not_found``, any other exception a ``500`` naming the
request), and both answer the same events: found routes, path parameters, a named stage, raised
problems and faults, gzip for a route that asks, methods and paths that match nothing.
"""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import pytest
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler import Response as PowertoolsResponse

from ocore_usage.api import jsonnum
from ocore_usage.api.http_api import caller_of, create_resolver
from ocore_usage.api.routing import HttpEvent, HttpResolver, Response, json_response, problem_response
from ocore_usage.domain.problems import Problem, ProblemCode

EVENT = json.loads((Path(__file__).resolve().parents[2] / "events" / "get_project_usage.json").read_text())


def _routes(app: Any, current: Any) -> None:
    """The routes under test, on ``app``; ``current()`` is the event being answered."""

    @app.get("/api/projects/[^/]+/usage")
    def usage() -> Any:
        return json_response({"path": current().raw_event["rawPath"], "n": 1}, headers={"ETag": '"x"'})

    @app.get("/api/body-alone")
    def body_alone() -> Any:
        return {"figure": current().raw_event["rawPath"]}

    @app.get("/api/not-modified")
    def not_modified() -> Any:
        return Response(304, None, "", {"ETag": '"x"'})

    @app.get("/api/docs/<asset>", compress=True)
    def asset(asset: str) -> Any:
        if asset == "missing":
            raise Problem(ProblemCode.NOT_FOUND, "no such route")
        return Response(200, "text/css; charset=utf-8", f"body of {asset} " * 20, {"Cache-Control": "public"})

    @app.post("/api/usage/samples")
    def post() -> Any:
        if current().body == "boom":
            raise RuntimeError("boom")
        raise Problem(ProblemCode.PAYLOAD_TOO_LARGE, "too many")


def _ours() -> HttpResolver:
    app = create_resolver()
    _routes(app, lambda: app.current_event)
    return app


def _powertools() -> APIGatewayHttpResolver:
    """Powertools' resolver with the error handlers the service registered on it."""
    app = APIGatewayHttpResolver(serializer=jsonnum.dumps)

    def converted(response: Response) -> PowertoolsResponse[str]:
        return PowertoolsResponse(response.status_code, response.content_type, response.body, response.headers)

    def handler(route: Any) -> Any:
        def answer(*args: Any, **kwargs: Any) -> Any:
            found = route(*args, **kwargs)
            return converted(found) if isinstance(found, Response) else found

        return answer

    class Shim:
        def get(self, rule: str, **options: Any) -> Any:
            return lambda route: app.get(rule, **options)(handler(route))

        def post(self, rule: str, **options: Any) -> Any:
            return lambda route: app.post(rule, **options)(handler(route))

    @app.exception_handler(Problem)
    def on_problem(problem: Problem) -> PowertoolsResponse[str]:
        return converted(problem_response(problem))

    @app.not_found
    def on_not_found(_: Exception) -> PowertoolsResponse[str]:
        return converted(problem_response(Problem(ProblemCode.NOT_FOUND, "no such route")))

    @app.exception_handler(Exception)
    def on_fault(_: Exception) -> PowertoolsResponse[str]:
        problem = Problem(ProblemCode.INTERNAL_ERROR, "an unexpected fault occurred; quote the request id")
        return converted(problem_response(problem, app.current_event.request_context.request_id))

    _routes(Shim(), lambda: app.current_event)
    return app


def _event(method: str, path: str, **changes: Any) -> dict[str, Any]:
    event = copy.deepcopy(EVENT)
    event["rawPath"] = path
    event["requestContext"]["http"]["method"] = method
    event["requestContext"]["http"]["path"] = path
    event.update(changes)
    return event


def _gzip_accepted() -> dict[str, str]:
    return {**EVENT["headers"], "accept-encoding": "gzip, deflate"}


CASES = {
    "a route": _event("GET", "/api/projects/proj_web/usage"),
    "no body, no content type": _event("GET", "/api/not-modified"),
    "a body alone": _event("GET", "/api/body-alone"),
    "a path parameter": _event("GET", "/api/docs/swagger-ui.css"),
    "gzip when accepted": _event("GET", "/api/docs/swagger-ui.css", headers=_gzip_accepted()),
    "a problem, gzipped": _event("GET", "/api/docs/missing", headers=_gzip_accepted()),
    "a problem": _event("POST", "/api/usage/samples", body="{}"),
    "a fault": _event("POST", "/api/usage/samples", body="boom"),
    "a method no route has": _event("PUT", "/api/usage/samples"),
    "a path no route has": _event("GET", "/api/elsewhere"),
    "a segment too many": _event("GET", "/api/projects/a/b/usage"),
}


@pytest.mark.parametrize("case", CASES)
def test_it_answers_as_powertools_does(case: str) -> None:
    ours, theirs = _ours().resolve(CASES[case], None), _powertools().resolve(CASES[case], None)
    assert ours == theirs
    assert ours["statusCode"] in {200, 304, 404, 413, 500}


def test_a_named_stage_is_not_part_of_the_path() -> None:
    event = _event("GET", "/v1/api/projects/proj_web/usage")
    event["requestContext"]["stage"] = "v1"
    ours, theirs = _ours().resolve(event, None), _powertools().resolve(event, None)
    assert ours == theirs
    assert ours["statusCode"] == 200


def test_a_fault_is_logged_and_the_answer_names_the_request_only(caplog: pytest.LogCaptureFixture) -> None:
    answer = _ours().resolve(CASES["a fault"], None)
    body = json.loads(answer["body"])
    assert answer["statusCode"] == 500 and body["requestId"] == EVENT["requestContext"]["requestId"]
    assert "boom" not in answer["body"]
    (logged,) = [record for record in caplog.records if record.getMessage() == "unexpected fault"]
    assert logged.exc_info is not None and str(logged.exc_info[1]) == "boom"


def test_the_caller_comes_from_the_authorizer_context_and_the_event_only_while_resolving() -> None:
    app = create_resolver()
    seen: list[Any] = []

    @app.get("/api/projects/[^/]+/usage")
    def usage() -> Response:
        seen.append(caller_of(app))
        return json_response({})

    app.resolve(CASES["a route"], None)
    (caller,) = seen
    assert caller.org_id == "org_demo" and caller.scopes == {"usage:read"} and caller.subject == "user-1"
    with pytest.raises(RuntimeError):
        _ = app.current_event
    assert HttpEvent({}).authorizer_context == {} and HttpEvent({}).request_id is None
