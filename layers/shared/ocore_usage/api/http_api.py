"""What every HTTP function shares: the resolver, the caller's identity, and problem+json answers.

``create_resolver()`` builds the functions' resolver (:mod:`ocore_usage.api.routing`): a
:class:`Problem` becomes its problem+json answer, an unknown route ``404 not_found``, and any
other exception a ``500`` carrying the request id and no stack trace (the fault is logged).
Answers are serialized with :mod:`ocore_usage.api.jsonnum`, so figures stay exact.

``problem_answers``, ``gateway_answer`` and the constants built from them describe those answers
in OpenAPI terms for the route decorators' ``responses`` (tools/openapi.py assembles the document):
plain dicts, cheap to build at import.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from aws_lambda_powertools import Logger

from ocore_usage.api.routing import HttpEvent, HttpResolver
from ocore_usage.domain.problems import PROBLEM_JSON, Problem, ProblemCode

logger = Logger(service="ocore-usage")

SCHEMA_REF = "#/components/schemas/{model}"

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


def caller_of(app: HttpResolver) -> Caller:
    """The caller described by the Lambda authorizer's context (payload 2.0, simple responses)."""
    context = app.current_event.authorizer_context
    return Caller(
        org_id=str(context.get("orgId") or "") or None,
        scopes=frozenset(str(context.get("scopes") or "").split()),
        subject=str(context.get("sub") or ""),
    )


def create_resolver() -> HttpResolver:
    """A resolver with the service's error handling."""
    return HttpResolver(on_fault=_log_fault)


def _log_fault(error: Exception, event: HttpEvent) -> None:
    logger.exception("unexpected fault", exc_info=error, extra={"request_id": event.request_id})


# ---------------------------------------------------------------- the answers, as the document describes them

ERROR_EXAMPLES: dict[ProblemCode, str] = {
    ProblemCode.INVALID_PERIOD: "GET /api/usage?period=weekly",
    ProblemCode.INVALID_DATE: "GET /api/usage?start_date=2026-13-01",
    ProblemCode.INVALID_RANGE: "GET /api/usage?start_date=2026-11-02&end_date=2026-11-01",
    ProblemCode.UNKNOWN_PARAMETER: "GET /api/usage?perid=daily",
    ProblemCode.RANGE_TOO_LARGE: "GET /api/usage?period=hourly&start_date=2026-01-01&end_date=2026-06-01",
    ProblemCode.INVALID_TOKEN: "GET /api/usage?next_token=not-a-token",
    ProblemCode.INVALID_LIMIT: "GET /api/usage?limit=0",
    ProblemCode.INVALID_TIMEZONE: "GET /api/usage?period=daily&tz=Mars/Olympus_Mons",
    ProblemCode.MALFORMED_REQUEST: "GET /api/usage?period=daily&period=hourly",
    ProblemCode.PROJECT_NOT_FOUND: "GET /api/projects/proj_of_another_org/usage",
    ProblemCode.INSUFFICIENT_SCOPE: "GET /api/usage with a token without usage:read "
    "(POST /api/usage/samples: usage:write)",
    ProblemCode.INTERNAL_ERROR: "any request during an unexpected fault (the answer carries the request id)",
    ProblemCode.SAMPLE_OUT_OF_WINDOW: "POST /api/usage/samples "
    '{"samples": [{"intervalStart": "2020-01-01T00:00:00Z", ...}]}',
    ProblemCode.PAYLOAD_TOO_LARGE: 'POST /api/usage/samples {"samples": [... 1001 samples ...]}',
    ProblemCode.VALIDATION_ERROR: 'POST /api/usage/samples {"samples": [{"sampleId": "s1", "cpuCores": -1, ...}]}',
}
"""One request that triggers each code, shown as the example of its answer."""


def problem_answers(description: str, *codes: ProblemCode, examples: dict[ProblemCode, str] | None = None) -> Any:
    """The OpenAPI response of ``codes``, which share one status: problem+json, one example each."""
    (status,) = {code.status for code in codes}
    schema = {
        "allOf": [
            {"$ref": SCHEMA_REF.format(model="ProblemDetails")},
            {"properties": {"status": {"const": status}, "code": {"enum": [code.code for code in codes]}}},
        ]
    }
    return {
        "description": description,
        "content": {
            PROBLEM_JSON: {
                "schema": schema,
                "examples": {code.code: _problem_example(code, examples or {}) for code in codes},
            }
        },
    }


def _problem_example(code: ProblemCode, examples: dict[ProblemCode, str]) -> dict[str, Any]:
    value = Problem(code, "…").to_body("Qm9vdHN0cmFwQQ=" if code is ProblemCode.INTERNAL_ERROR else None)
    return {"summary": examples.get(code) or ERROR_EXAMPLES[code], "value": value}


def gateway_answer(message: str, description: str) -> Any:
    """The OpenAPI response of what API Gateway itself answers (``{"message": ...}``)."""
    schema = {
        "allOf": [
            {"$ref": SCHEMA_REF.format(model="GatewayMessage")},
            {"properties": {"message": {"const": message}}},
        ]
    }
    return {"description": description, "content": {"application/json": {"schema": schema}}}


UNAUTHORIZED = gateway_answer("Unauthorized", "No bearer token (answered by API Gateway).")
FORBIDDEN: Any = {
    "description": 'The token is invalid (API Gateway answers {"message": "Forbidden"}), or lacks the '
    "scope the route needs (insufficient_scope).",
    "content": {
        **gateway_answer("Forbidden", "")["content"],
        **problem_answers("", ProblemCode.INSUFFICIENT_SCOPE)["content"],
    },
}
FAULT = problem_answers("An unexpected fault; quote the requestId.", ProblemCode.INTERNAL_ERROR)
