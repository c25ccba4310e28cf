"""What every HTTP function shares: the resolver, the caller's identity, and problem+json answers.

``create_resolver()`` builds a Powertools ``APIGatewayHttpResolver`` whose error handlers turn
a :class:`Problem` into its problem+json answer, an unknown route into ``404 not_found``, and any
other exception into a ``500`` carrying the request id and no stack trace. Successful answers
are serialized with :mod:`ocore_usage.api.jsonnum`, so figures stay exact.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import APIGatewayHttpResolver, Response
from aws_lambda_powertools.event_handler.exceptions import NotFoundError

from ocore_usage.api import jsonnum
from ocore_usage.domain.problems import PROBLEM_JSON, Problem, ProblemCode

logger = Logger(service="ocore-usage")

READ_SCOPE = "usage:read"
WRITE_SCOPE = "usage:write"


@dataclass(frozen=True, slots=True)
class Caller:
    """Who is calling, as the authorizer established it (handlers never re-read the token)."""

    org_id: str | None
    scopes: frozenset[str]
    subject: str = ""

    def require(self, scope: str) -> Caller:
        """The caller, if it holds ``scope``; else ``403 insufficient_scope``.

        Reads need an org. ``usage:write`` is the metering service's scope: a caller with an org
        is a tenant, and a tenant able to write samples could rewrite any org's bill, so writes
        are refused to it whatever its scopes.
        """
        if scope not in self.scopes or (scope == READ_SCOPE and not self.org_id):
            raise Problem(ProblemCode.INSUFFICIENT_SCOPE, f"this operation needs the scope {scope!r}")
        if scope == WRITE_SCOPE and self.org_id:
            raise Problem(
                ProblemCode.INSUFFICIENT_SCOPE, f"{scope!r} is a service scope; a token with an org_id cannot write"
            )
        return self

    @property
    def read_org(self) -> str:
        """The org a reader may see (call after ``require(READ_SCOPE)``)."""
        if not self.org_id:
            raise Problem(ProblemCode.INSUFFICIENT_SCOPE, f"this operation needs the scope {READ_SCOPE!r}")
        return self.org_id


def caller_of(app: APIGatewayHttpResolver) -> Caller:
    """The caller described by the Lambda authorizer's context (payload 2.0, simple responses)."""
    context = app.current_event.request_context.authorizer.get_lambda
    scopes = str(context.get("scopes") or "").split()
    return Caller(
        org_id=str(context.get("orgId") or "") or None,
        scopes=frozenset(scopes),
        subject=str(context.get("sub") or ""),
    )


def json_response(body: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response[str]:
    return Response(
        status_code=status,
        content_type="application/json",
        body=jsonnum.dumps(body),
        headers=headers or {},
    )


def problem_response(problem: Problem, request_id: str | None = None) -> Response[str]:
    return Response(
        status_code=problem.status,
        content_type=PROBLEM_JSON,
        body=jsonnum.dumps(problem.to_body(request_id)),
    )


def create_resolver() -> APIGatewayHttpResolver:
    """A resolver with the service's error handling registered."""
    app = APIGatewayHttpResolver(serializer=jsonnum.dumps)
    register_error_handlers(app)
    return app


def register_error_handlers(app: APIGatewayHttpResolver) -> None:
    def request_id() -> str | None:
        try:
            return app.current_event.request_context.request_id
        except (KeyError, AttributeError, TypeError):
            return None

    @app.exception_handler(Problem)
    def on_problem(problem: Problem) -> Response[str]:
        return problem_response(problem)

    @app.not_found
    def on_not_found(_: NotFoundError) -> Response[str]:
        return problem_response(Problem(ProblemCode.NOT_FOUND, "no such route"))

    @app.exception_handler(Exception)
    def on_fault(error: Exception) -> Response[str]:
        logger.exception("unexpected fault", exc_info=error)
        rid = request_id()
        problem = Problem(ProblemCode.INTERNAL_ERROR, "an unexpected fault occurred; quote the request id")
        return problem_response(problem, rid)
