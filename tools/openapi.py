"""The OpenAPI 3.1 document of the usage API, generated from the code: ``docs/openapi.json``.

Schemas come from what the functions use: the response bodies from the fields of their
dataclasses (:mod:`ocore_usage.api.responses`), the query parameters from those of the query
dataclasses (:mod:`ocore_usage.api.queries`), the ingest sample's from the fields it is checked by
(:data:`ocore_usage.domain.samples.SAMPLE_SCHEMA`); the problem details (rendered by
:meth:`ocore_usage.domain.problems.Problem.to_body`) from pydantic models here, which only the document
needs.
Each operation lists the error codes it can answer with, one example request per code.
Regenerate with::

    PYTHONPATH=layers/shared .venv/bin/python -m tools.openapi > docs/openapi.json

A unit test fails when the committed file differs from what this module generates, validates
it with openapi-spec-validator, and checks real handler answers against it.

The read operations also describe what the API adds beyond the published reference (see
:mod:`ocore_usage.api.representation`): ``tz`` and ``format``, ``If-None-Match`` and the ``304``
answer, the ``text/csv`` body, and the response headers (``ETag``, ``Last-Modified``,
``Cache-Control``, ``Vary``; for CSV pages ``X-Next-Token`` and ``Link``).

Why not Powertools' ``get_openapi_json_schema``: it needs the resolvers built with
``enable_validation=True``, which makes every function import and set up the OpenAPI and
validation machinery at cold start (reported at up to ~30% more init time; measured here for
GET /usage with a typed route: ~340 ms instead of ~304 ms to import, +12%, before any request),
and then validates every request and response again at run time, which the pydantic query
models already do. The document is only needed at build time, so it is generated here, outside
the runtime path, from the same models; nothing in the functions imports this module.
"""

from __future__ import annotations

import inspect
import json
import sys
from dataclasses import fields
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import models_json_schema

from ocore_usage.api.queries import PROJECT_ID_SCHEMA, ProjectUsageQuery, QueryParameters, TotalsQuery, UsageQuery
from ocore_usage.api.representation import CLOSED_MAX_AGE, OPEN_MAX_AGE
from ocore_usage.api.responses import CSV_COLUMNS, UsageRecord, UsageReport, UsageTotals, csv_row, published_fields
from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.metrics import MICRO
from ocore_usage.domain.problems import PROBLEM_JSON, ProblemCode
from ocore_usage.domain.timeline import MICROS_PER_HOUR

REF = "#/components/schemas/{model}"

# One request that triggers each code, shown as the example of its answer.
_UNIT_HOURS = MICRO * MICROS_PER_HOUR
"""One core (or GB) for one hour, in micro-units x microseconds."""
_CSV_EXAMPLE = (
    ",".join(CSV_COLUMNS)
    + "\r\n"
    + ",".join(
        csv_row(
            UsageRecord.of(
                Usage.of(
                    cpu=46 * _UNIT_HOURS,
                    ram=92 * _UNIT_HOURS,
                    disk=460 * _UNIT_HOURS,
                    instance=23 * MICROS_PER_HOUR,
                    bytes_in=1000,
                    bytes_out=5000,
                    peak=2,
                ),
                period_start="2026-03-29T00:00:00+01:00",
                period_type="daily",
                project_id="prj_web_frontend",
                project_name="web-frontend",
            )
        )
    )
    + "\r\n"
)
"""The CSV form of an answer: its header and one record (a Berlin day of 23 hours, two instances)."""

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

# The 400 codes of a read operation, in this order; a parameter's own code only where it exists.
_READ_400 = [
    ProblemCode.INVALID_PERIOD,
    ProblemCode.INVALID_DATE,
    ProblemCode.INVALID_RANGE,
    ProblemCode.UNKNOWN_PARAMETER,
    ProblemCode.RANGE_TOO_LARGE,
    ProblemCode.INVALID_TOKEN,
    ProblemCode.INVALID_LIMIT,
    ProblemCode.INVALID_TIMEZONE,
    ProblemCode.MALFORMED_REQUEST,
]
_CODE_OF_PARAMETER = {
    "period": ProblemCode.INVALID_PERIOD,
    "next_token": ProblemCode.INVALID_TOKEN,
    "limit": ProblemCode.INVALID_LIMIT,
    "tz": ProblemCode.INVALID_TIMEZONE,
}


# ---------------------------------------------------------------- the error bodies


class FieldProblem(BaseModel):
    field: str
    message: str


class ProblemDetails(BaseModel):
    """RFC 9457 problem details (``application/problem+json``)."""

    model_config = ConfigDict(extra="forbid")

    type: str = Field(description="URI of the problem type.")
    title: str
    status: int
    detail: str
    code: str = Field(description="Machine-readable error code.")
    errors: Annotated[
        list[FieldProblem] | None,
        WithJsonSchema({"type": "array", "items": {"$ref": "#/components/schemas/FieldProblem"}}),
    ] = Field(None, description="The parameters or fields at fault.")
    requestId: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None, description="API Gateway request id (internal errors only)."
    )


class GatewayMessage(BaseModel):
    """What API Gateway itself answers when the authorizer refuses a request."""

    message: Literal["Unauthorized", "Forbidden"]


def _codes_400(query_model: type[QueryParameters]) -> list[ProblemCode]:
    names = {parameter.name for parameter in fields(query_model)}
    absent = {code for name, code in _CODE_OF_PARAMETER.items() if name not in names}
    return [code for code in _READ_400 if code not in absent]


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, as a JSON-ready dict with a stable order."""
    _, top = models_json_schema(
        [
            (ProblemDetails, "serialization"),
            (FieldProblem, "serialization"),
            (GatewayMessage, "serialization"),
        ],
        ref_template=REF,
    )
    found = {**top["$defs"], **_response_schemas(), **_sample_schemas()}
    schemas = {name: _tidy(schema) for name, schema in sorted(found.items())}
    schemas.update(_sample_batch_schema())
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "oCore Usage API",
            "version": "1.0.0",
            "description": (
                "Usage of the oCore cloud platform per project and organization: hourly, daily and monthly "
                "buckets and totals, exact to the micro-unit. Every call carries a JWT bearer token; the "
                "organization comes from the token only. Errors are RFC 9457 problem details."
            ),
        },
        "servers": [
            # relative to where the document is served (/api/openapi.json): "Try it out" on /api/docs
            # calls the deployment, or the local stack, that serves the page
            {"url": "/api", "description": "This deployment"},
            {"url": "https://api.ocore.dev/api", "description": "Production"},
            {"url": "http://127.0.0.1:3000/api", "description": "Local stack (make dev)"},
        ],
        "security": [{"bearerAuth": []}],
        "paths": {
            "/projects/{id}/usage": {
                "get": _read_operation(
                    "getProjectUsage",
                    "Project usage",
                    "Usage of one project of the caller's organization, per bucket, with totals over the range.",
                    ProjectUsageQuery,
                    "UsageReport",
                    _codes_400(ProjectUsageQuery),
                    path_id=True,
                    not_found=True,
                )
            },
            "/usage": {
                "get": _read_operation(
                    "getUsage",
                    "Usage report",
                    "Usage per project and bucket for the caller's whole organization, or for one project "
                    "with project_id; totals over the range (organization-wide: the org-wide instance peak).",
                    UsageQuery,
                    "UsageReport",
                    _codes_400(UsageQuery),
                    not_found=True,
                )
            },
            "/usage/totals": {
                "get": _read_operation(
                    "getUsageTotals",
                    "Usage totals",
                    "One record per project of the caller's organization that is active or had usage in the "
                    "range, ordered by projectId. Default range: the current UTC month to now. One page holds "
                    "every record unless limit asks for fewer (default 5000) or they would pass 5 MB of JSON; "
                    "nextToken then leads to the next page.",
                    TotalsQuery,
                    "UsageTotals",
                    _codes_400(TotalsQuery),
                )
            },
            "/usage/samples": {"post": _ingest_operation()},
        },
        "components": {
            "schemas": schemas,
            "securitySchemes": {
                "bearerAuth": {
                    "type": "http",
                    "scheme": "bearer",
                    "bearerFormat": "JWT",
                    "description": "Claims: org_id (the tenant), sub, scope (space-separated: usage:read, "
                    "the service scope usage:write).",
                }
            },
        },
    }


# ---------------------------------------------------------------- operations


def _read_operation(
    operation_id: str,
    summary: str,
    description: str,
    query_model: type[QueryParameters],
    response_schema: str,
    codes_400: list[ProblemCode],
    *,
    path_id: bool = False,
    not_found: bool = False,
) -> dict[str, Any]:
    parameters = []
    if path_id:
        schema = {k: v for k, v in PROJECT_ID_SCHEMA.items() if k != "description"}
        parameters.append(
            {
                "name": "id",
                "in": "path",
                "required": True,
                "description": PROJECT_ID_SCHEMA["description"],
                "schema": schema,
            }
        )
    parameters += _query_parameters(query_model)
    parameters.append(
        {
            "name": "If-None-Match",
            "in": "header",
            "required": False,
            "description": 'The ETag of an answer already held ("*", or a list of entity tags; W/ tags match '
            "too): when it is still the answer, 304 without a body.",
            "schema": {"type": "string"},
        }
    )
    records = "items" if response_schema == "UsageReport" else "per-project totals"
    responses: dict[str, Any] = {
        "200": {
            "description": f"The usage asked for: JSON, or with Accept: text/csv (or format=csv) the {records} as CSV.",
            "headers": {**_VALIDATOR_HEADERS, **_CSV_PAGE_HEADERS},
            "content": {
                "application/json": {"schema": {"$ref": REF.format(model=response_schema)}},
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": f"RFC 4180 CSV (CRLF line ends): a header row, then one row per {records} "
                        "record in the JSON order. Columns: " + ", ".join(CSV_COLUMNS) + ". Numbers as in JSON, "
                        "null as an empty field, partial as true or false.",
                    },
                    "example": _CSV_EXAMPLE,
                },
            },
        },
        "304": {
            "description": "If-None-Match names this answer's ETag (or is *): nothing changed, no body.",
            "headers": _VALIDATOR_HEADERS,
        },
        "400": _problem_response("The request's parameters are not acceptable.", codes_400),
        "401": _gateway_response("Unauthorized", "No bearer token (answered by API Gateway)."),
        "403": _forbidden_response(),
    }
    if not_found:
        responses["404"] = _problem_response(
            "No such project in the caller's organization (also for another organization's project).",
            [ProblemCode.PROJECT_NOT_FOUND],
        )
    if path_id:
        # API Gateway decodes the path before routing: an id holding %2F is another path, no route
        gateway = _gateway_response("Not Found", "")["content"]
        responses["404"]["description"] += ' An id holding "/" (%2F) matches no route: API Gateway answers.'
        responses["404"]["content"] = {**gateway, **responses["404"]["content"]}
    responses["500"] = _problem_response("An unexpected fault; quote the requestId.", [ProblemCode.INTERNAL_ERROR])
    return {
        "operationId": operation_id,
        "summary": summary,
        "description": description + " Requires the scope usage:read.",
        "parameters": parameters,
        "responses": responses,
    }


_VALIDATOR_HEADERS: dict[str, Any] = {
    "ETag": {
        "description": "Strong entity tag: the SHA-256 of the body (for CSV, with the next page's token), base64url.",
        "schema": {"type": "string"},
    },
    "Last-Modified": {
        "description": "dataThrough as an HTTP-date (whole seconds, rounded down).",
        "schema": {"type": "string"},
    },
    "Cache-Control": {
        "description": f"private; max-age={CLOSED_MAX_AGE} when the whole range ends no later than dataThrough "
        f"(every bucket closed and rolled up), else max-age={OPEN_MAX_AGE}.",
        "schema": {"type": "string"},
    },
    "Vary": {"description": "Accept: the body's format follows it.", "schema": {"type": "string"}},
}
_CSV_PAGE_HEADERS: dict[str, Any] = {
    "X-Next-Token": {
        "description": "CSV only: the nextToken of the JSON answer, when more records follow.",
        "schema": {"type": "string"},
    },
    "Link": {
        "description": 'CSV only: <this request with next_token set>; rel="next", when more records follow.',
        "schema": {"type": "string"},
    },
}


def _ingest_operation() -> dict[str, Any]:
    return {
        "operationId": "postUsageSamples",
        "summary": "Ingest usage samples",
        "description": "Metering agents send 1 to 1000 samples; all-or-nothing validation; idempotent per "
        "(projectId, sampleId). Requires the service scope usage:write.",
        "requestBody": {
            "required": True,
            "content": {"application/json": {"schema": {"$ref": REF.format(model="SampleBatch")}}},
        },
        "responses": {
            "202": {
                "description": "Every sample is stored.",
                "content": {
                    "application/json": {
                        "schema": {
                            "type": "object",
                            "required": ["accepted"],
                            "additionalProperties": False,
                            "properties": {"accepted": {"type": "integer", "minimum": 1}},
                        }
                    }
                },
            },
            "400": _problem_response(
                "The body is empty or not JSON.",
                [ProblemCode.MALFORMED_REQUEST],
                examples={ProblemCode.MALFORMED_REQUEST: "POST /api/usage/samples with a body that is not JSON"},
            ),
            "401": _gateway_response("Unauthorized", "No bearer token (answered by API Gateway)."),
            "403": _forbidden_response(),
            "413": _problem_response("Too many samples, or too large a body.", [ProblemCode.PAYLOAD_TOO_LARGE]),
            "422": _problem_response(
                "Samples not acceptable; errors lists each bad sample by index and field.",
                [ProblemCode.VALIDATION_ERROR, ProblemCode.SAMPLE_OUT_OF_WINDOW],
            ),
            "500": _problem_response("An unexpected fault; quote the requestId.", [ProblemCode.INTERNAL_ERROR]),
        },
    }


def _query_parameters(model: type[QueryParameters]) -> list[dict[str, Any]]:
    """Each field of the query dataclass ``model``: an optional parameter (its absence is its default)."""
    parameters = []
    for found in fields(model):
        described = found.metadata["parameter"]
        parameters.append(
            {
                "name": found.name,
                "in": "query",
                "required": False,
                "schema": dict(sorted(described.schema.items())),
                "description": described.description,
            }
        )
    return parameters


def _response_schemas() -> dict[str, Any]:
    """The response dataclasses as closed JSON objects: each field's schema; required unless it has a default."""
    schemas = {}
    for body in (UsageRecord, UsageReport, UsageTotals):
        declared = published_fields(body)
        schemas[body.__name__] = {
            "additionalProperties": False,
            "description": inspect.cleandoc(body.__doc__ or ""),
            "properties": {f.name: dict(sorted(f.schema.items())) for f in declared},
            "required": [f.name for f in declared if f.required],
            "type": "object",
        }
    return schemas


def _problem_response(
    description: str, codes: list[ProblemCode], examples: dict[ProblemCode, str] | None = None
) -> dict[str, Any]:
    """The answer of ``codes``, which share one status."""
    (status,) = {code.status for code in codes}
    schema = {
        "allOf": [
            {"$ref": REF.format(model="ProblemDetails")},
            {"properties": {"status": {"const": status}, "code": {"enum": [code.code for code in codes]}}},
        ]
    }
    return {
        "description": description,
        "content": {
            PROBLEM_JSON: {
                "schema": schema,
                "examples": {code.code: _problem_example(code, examples) for code in codes},
            }
        },
    }


def _problem_example(code: ProblemCode, examples: dict[ProblemCode, str] | None) -> dict[str, Any]:
    request = (examples or {}).get(code) or ERROR_EXAMPLES[code]
    value: dict[str, Any] = {
        "type": code.type,
        "title": code.title,
        "status": code.status,
        "detail": "…",
        "code": code.code,
    }
    if code is ProblemCode.INTERNAL_ERROR:
        value["requestId"] = "Qm9vdHN0cmFwQQ="
    return {"summary": request, "value": value}


def _gateway_response(message: str, description: str) -> dict[str, Any]:
    schema = {"allOf": [{"$ref": REF.format(model="GatewayMessage")}, {"properties": {"message": {"const": message}}}]}
    return {"description": description, "content": {"application/json": {"schema": schema}}}


def _forbidden_response() -> dict[str, Any]:
    problem = _problem_response("", [ProblemCode.INSUFFICIENT_SCOPE])["content"]
    gateway = _gateway_response("Forbidden", "")["content"]
    return {
        "description": 'The token is invalid (API Gateway answers {"message": "Forbidden"}), or lacks the '
        "scope the route needs (insufficient_scope).",
        "content": {**gateway, **problem},
    }


# ---------------------------------------------------------------- the ingest sample


def _sample_schemas() -> dict[str, Any]:
    from ocore_usage.domain.samples import SAMPLE_SCHEMA

    return {"SampleIn": SAMPLE_SCHEMA}


def _sample_batch_schema() -> dict[str, Any]:
    from ocore_usage.domain.samples import MAX_SAMPLES

    return {
        "SampleBatch": {
            "type": "object",
            "required": ["samples"],
            "additionalProperties": False,
            "properties": {
                "samples": {
                    "type": "array",
                    "minItems": 1,
                    "maxItems": MAX_SAMPLES,
                    "items": {"$ref": REF.format(model="SampleIn")},
                }
            },
        }
    }


def _tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's generated titles (noise for client generators) and null defaults."""
    tidy = {k: v for k, v in schema.items() if k != "title"}
    if "default" in tidy and tidy["default"] is None:
        del tidy["default"]
    if isinstance(tidy.get("properties"), dict):
        tidy["properties"] = {name: _tidy(value) for name, value in tidy["properties"].items()}
    return tidy


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
