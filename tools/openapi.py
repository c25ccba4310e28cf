"""The OpenAPI 3.1 document of the usage API, assembled from the routes: ``docs/openapi.json``.

Each route says what it is beside its rule, on its ``@app.get``/``@app.post``: operation id,
summary, description and every answer (``responses``; the problem+json and API Gateway answers
come from :mod:`ocore_usage.api.http_api`, the read answers from
:mod:`ocore_usage.api.representation`). Powertools' ``OpenAPIMerge`` reads the functions that
template.yaml routes and merges their resolvers' documents. What the library cannot express is
added here: the query parameters from the fields of the query dataclasses
(:mod:`ocore_usage.api.queries`), the ingest body from the fields the sample is checked by
(:data:`ocore_usage.domain.samples.SAMPLE_SCHEMA`), the response bodies from the fields of their
dataclasses (:mod:`ocore_usage.api.responses`), and the problem details (rendered by
:meth:`ocore_usage.domain.problems.Problem.to_body`) from pydantic models here, which only the
document needs. Paths are keyed relative to the ``/api`` server, as :mod:`ocore_usage.domain.endpoints`
writes them. Regenerate with::

    PYTHONPATH=layers/shared .venv/bin/python -m tools.openapi > docs/openapi.json

A unit test fails when the committed file differs from what this module generates, validates
it with openapi-spec-validator, and checks real handler answers against it.

The read operations also describe what the API adds beyond the published reference (docs/read-api.md,
"Beyond the published API"; :mod:`ocore_usage.api.representation`).

The functions never import Powertools' event handler or its OpenAPI machinery (a resolver with
``enable_validation`` would also set up pydantic at every cold start and validate every request
and response again): the decorators' keyword arguments are plain dicts, stored until
``get_openapi_schema`` here, at build time, turns them into the document.
"""

from __future__ import annotations

import importlib.util
import inspect
import json
import sys
import warnings
from dataclasses import fields
from pathlib import Path
from typing import Annotated, Any, Literal

from aws_lambda_powertools.event_handler import APIGatewayHttpResolver
from aws_lambda_powertools.event_handler.openapi.merge import OpenAPIMerge
from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema
from pydantic.json_schema import models_json_schema

from local.template import Template
from ocore_usage.api.http_api import SCHEMA_REF
from ocore_usage.api.queries import PROJECT_ID_SCHEMA, ProjectUsageQuery, QueryParameters, TotalsQuery, UsageQuery
from ocore_usage.api.responses import UsageRecord, UsageReport, UsageTotals, published_fields
from ocore_usage.domain.endpoints import API_BASE, PROJECT_USAGE, USAGE, USAGE_SAMPLES, USAGE_TOTALS
from ocore_usage.domain.samples import MAX_SAMPLES, SAMPLE_SCHEMA

ROOT = Path(__file__).resolve().parents[1]

QUERIES: dict[str, type[QueryParameters]] = {
    PROJECT_USAGE: ProjectUsageQuery,
    USAGE: UsageQuery,
    USAGE_TOTALS: TotalsQuery,
}
"""The query dataclass of each read endpoint: its fields are the operation's query parameters."""
BODIES = {USAGE_SAMPLES: "SampleBatch"}
"""The request body schema of each endpoint that takes one."""
_SAMPLE_BATCH = {
    "type": "object",
    "required": ["samples"],
    "additionalProperties": False,
    "properties": {
        "samples": {
            "type": "array",
            "minItems": 1,
            "maxItems": MAX_SAMPLES,
            "items": {"$ref": SCHEMA_REF.format(model="SampleIn")},
        }
    },
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


def build_document() -> dict[str, Any]:
    """The whole OpenAPI 3.1 document, as a JSON-ready dict with a stable order."""
    merge = OpenAPIMerge(
        title="oCore Usage API",
        version="1.0.0",
        description=(
            "Usage of the oCore cloud platform per project and organization: hourly, daily and monthly "
            "buckets and totals, exact to the micro-unit. Every call carries a JWT bearer token; the "
            "organization comes from the token only. Errors are RFC 9457 problem details."
        ),
        servers=[
            # relative to where the document is served (/api/openapi.json): "Try it out" on /api/docs
            # calls the deployment, or the local stack, that serves the page
            {"url": API_BASE, "description": "This deployment"},  # type: ignore[list-item]
            {"url": "https://api.ocore.dev" + API_BASE, "description": "Production"},  # type: ignore[list-item]
            {"url": "http://127.0.0.1:3000" + API_BASE, "description": "Local stack (make dev)"},  # type: ignore[list-item]
        ],
        security=[{"bearerAuth": []}],
        security_schemes={
            "bearerAuth": {  # type: ignore[dict-item]
                "type": "http",
                "scheme": "bearer",
                "bearerFormat": "JWT",
                "description": "Claims: org_id (the tenant), sub, scope (space-separated: usage:read, "
                "the service scope usage:write).",
            }
        },
        on_conflict="error",
    )
    for function in Template.load(ROOT / "template.yaml").functions.values():
        if function.routes:
            merge.add_schema(_documented(function.code_uri / (function.handler.partition(".")[0] + ".py")))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # a function that cannot be loaded fails the build
        merged = merge.get_openapi_schema()
    return {
        "openapi": merged["openapi"],
        "info": merged["info"],
        "servers": merged["servers"],
        "security": merged["security"],
        "paths": {_path_of(rule): _item(_path_of(rule), item) for rule, item in merged["paths"].items()},
        "components": {"schemas": _schemas(), "securitySchemes": merged["components"]["securitySchemes"]},
    }


def _documented(source: Path) -> dict[str, Any]:
    """The document of the routes of one function's module, as a Powertools resolver makes it."""
    spec = importlib.util.spec_from_file_location(f"_documented_{source.parent.name}", source)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot load {source}")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    resolver = APIGatewayHttpResolver()
    for route in module.app.routes:
        resolver.route(route.rule, route.method, **route.options)(route.handler)
    return resolver.get_openapi_schema().model_dump(by_alias=True, exclude_none=True)


def _path_of(rule: str) -> str:
    """The document's key of a route's rule (see ``ocore_usage.domain.endpoints.rule``)."""
    return rule.removeprefix(API_BASE).replace("[^/]+", "{id}")


def _item(path: str, item: dict[str, Any]) -> dict[str, Any]:
    """The route's own operation, with the parameters or body its dataclasses describe, in a stable order."""
    operations = {}
    for method, operation in item.items():
        ordered = {key: operation[key] for key in ("operationId", "summary", "description")}
        if path in QUERIES:
            ordered["parameters"] = _parameters(path, QUERIES[path])
        if path in BODIES:
            schema = {"$ref": SCHEMA_REF.format(model=BODIES[path])}
            ordered["requestBody"] = {"required": True, "content": {"application/json": {"schema": schema}}}
        ordered["responses"] = {status: _bodiless(answer) for status, answer in operation["responses"].items()}
        operations[method] = ordered
    return operations


def _bodiless(answer: dict[str, Any]) -> dict[str, Any]:
    """``answer`` without its ``content`` when it has no body (Powertools gives every answer one: its
    route says ``content: {}`` instead), its whole numbers written whole (Powertools' schema model
    reads ``minimum`` and ``maximum`` as floats; no answer documents a fraction that is whole)."""
    answer = {key: value for key, value in answer.items() if key != "content" or value}
    whole: dict[str, Any] = json.loads(json.dumps(answer), parse_float=_whole_or_float)
    return whole


def _whole_or_float(text: str) -> float | int:
    number = float(text)
    return int(number) if number.is_integer() else number


def _parameters(path: str, query: type[QueryParameters]) -> list[dict[str, Any]]:
    parameters = []
    if "{id}" in path:
        schema = dict(PROJECT_ID_SCHEMA)
        description = schema.pop("description")
        parameters.append({"name": "id", "in": "path", "required": True, "description": description, "schema": schema})
    parameters += _query_parameters(query)
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
    return parameters


def _schemas() -> dict[str, Any]:
    models = (ProblemDetails, FieldProblem, GatewayMessage)
    _, top = models_json_schema([(model, "serialization") for model in models], ref_template=SCHEMA_REF)
    found = {**top["$defs"], **_response_schemas(), "SampleIn": SAMPLE_SCHEMA}
    return {**{name: _tidy(schema) for name, schema in sorted(found.items())}, "SampleBatch": _SAMPLE_BATCH}


def _query_parameters(model: type[QueryParameters]) -> list[dict[str, Any]]:
    """Each field of the query dataclass ``model``: an optional parameter (its absence is its default)."""
    return [
        {
            "name": found.name,
            "in": "query",
            "required": False,
            "schema": dict(sorted(found.metadata["parameter"].schema.items())),
            "description": found.metadata["parameter"].description,
        }
        for found in fields(model)
    ]


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


def _tidy(schema: dict[str, Any]) -> dict[str, Any]:
    """Drop pydantic's generated titles (noise for client generators) and null defaults."""
    tidy = {k: v for k, v in schema.items() if k != "title" and not (k == "default" and v is None)}
    if isinstance(tidy.get("properties"), dict):
        tidy["properties"] = {name: _tidy(value) for name, value in tidy["properties"].items()}
    return tidy


def render() -> str:
    return json.dumps(build_document(), indent=2, ensure_ascii=False) + "\n"


if __name__ == "__main__":
    sys.stdout.write(render())
