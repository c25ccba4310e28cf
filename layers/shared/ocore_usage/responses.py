"""Response bodies of the read endpoints, and the error bodies every route may answer (pydantic).

The reports build these models; the OpenAPI document takes its schemas from them, so what the
document promises is what the functions send. Field names and order follow the published
API reference; ``startDate``, ``endDate`` and ``nextToken`` are additive fields (see
docs/read-api.md). Hour-based metrics are exact ``Decimal`` values written
as JSON numbers by :mod:`ocore_usage.jsonnum`.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ocore_usage.aggregation import Usage, render_metrics
from ocore_usage.timeline import format_instant

PeriodType = Literal["hourly", "daily", "monthly", "total"]

HourMetric = Annotated[
    Decimal,
    WithJsonSchema({"type": "number", "minimum": 0, "description": "Exact value rounded half-even to 6 decimals."}),
]
Bytes = Annotated[int, Field(ge=0, description="Exact number of bytes.")]
Instant = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$",
            "description": "RFC 3339, UTC, with Z.",
        }
    ),
]


class UsageRecord(BaseModel):
    """Usage of one project (or of the organization) over one bucket or the whole range."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    bandwidthInBytes: Bytes
    bandwidthOutBytes: Bytes
    cpuCoreHours: HourMetric
    diskGbHours: HourMetric
    instanceCount: int = Field(
        ge=0, description="Peak number of distinct instances running at one instant (never summed)."
    )
    instanceHours: HourMetric
    periodStart: Instant = Field(
        description="The bucket's own start (a clipped bucket keeps it); for totals, the range start."
    )
    periodType: PeriodType
    projectId: str | None = Field(description="null for organization-wide totals.")
    projectName: str | None = Field(description="The project's current name; null for organization-wide totals.")
    ramGbHours: HourMetric

    @classmethod
    def of(
        cls,
        usage: Usage,
        *,
        period_start: int,
        period_type: PeriodType,
        project_id: str | None,
        project_name: str | None,
    ) -> UsageRecord:
        metrics: dict[str, Any] = render_metrics(usage)
        return cls(
            **metrics,
            periodStart=format_instant(period_start),
            periodType=period_type,
            projectId=project_id,
            projectName=project_name,
        )


class UsageReport(BaseModel):
    """``GET /projects/{id}/usage`` and ``GET /usage``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: list[UsageRecord] = Field(description="Ordered by projectId, then periodStart.")
    period: Literal["hourly", "daily", "monthly"]
    totals: UsageRecord = Field(description="The whole range (not just this page); periodType total.")
    startDate: Instant = Field(description="Effective start of the range (inclusive), widened to the hour.")
    endDate: Instant = Field(description="Effective end of the range (exclusive), widened to the hour.")
    nextToken: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None, description="Present when more items follow: pass it as next_token with the same other parameters."
    )

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude={"nextToken"} if self.nextToken is None else None)


class UsageTotals(BaseModel):
    """``GET /usage/totals``: one record per project, ordered by projectId (paged only when asked to,
    or when the records would not fit one response)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    totals: list[UsageRecord]
    startDate: Instant = Field(description="Effective start of the range (inclusive), widened to the hour.")
    endDate: Instant = Field(description="Effective end of the range (exclusive), widened to the hour.")
    nextToken: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None,
        description="Present when more projects follow (more than limit, or more than fit 5 MB): pass it as "
        "next_token with the same other parameters.",
    )

    def body(self) -> dict[str, Any]:
        return self.model_dump(exclude={"nextToken"} if self.nextToken is None else None)


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
