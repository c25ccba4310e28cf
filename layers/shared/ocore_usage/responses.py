"""Response bodies of the read endpoints, and the error bodies every route may answer (pydantic).

The reports build these models; the OpenAPI document takes its schemas from them, so what the
document promises is what the functions send. Field names and order follow the published
API reference; ``startDate``, ``endDate`` and ``nextToken`` are additive fields (see
docs/read-api.md), and so are ``dataThrough`` and a record's ``partial`` (present only when true,
so a record of a closed, rolled bucket has exactly the published fields). Hour-based metrics are
exact ``Decimal`` values written as JSON numbers by :mod:`ocore_usage.jsonnum`.

The same records as CSV (:data:`CSV_COLUMNS`, :func:`csv_row`): one row per record, identity
columns first, then the metrics in the published order, then ``partial``.
"""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, WithJsonSchema

from ocore_usage.aggregation import Usage, render_metrics
from ocore_usage.jsonnum import decimal_literal

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
PeriodStart = Annotated[
    str,
    WithJsonSchema(
        {
            "type": "string",
            "format": "date-time",
            "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$",
            "description": "RFC 3339: UTC with Z, except daily and monthly buckets of a tz other than UTC, "
            "which carry that zone's offset (2026-03-29T00:00:00+01:00).",
        }
    ),
]
Partial = Annotated[
    Literal[True] | None,
    WithJsonSchema(
        {
            "type": "boolean",
            "const": True,
            "description": "Present, and true, when the record's stretch of time ends after dataThrough (its "
            "bucket is still open, or not yet fully rolled up): samples received later may change it. "
            "Absent otherwise.",
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
    periodStart: PeriodStart = Field(
        description="The bucket's own start (a clipped bucket keeps it); for totals, the range start."
    )
    periodType: PeriodType
    projectId: str | None = Field(description="null for organization-wide totals.")
    projectName: str | None = Field(description="The project's current name; null for organization-wide totals.")
    ramGbHours: HourMetric
    partial: Partial = None

    @classmethod
    def of(
        cls,
        usage: Usage,
        *,
        period_start: str,
        period_type: PeriodType,
        project_id: str | None,
        project_name: str | None,
        partial: bool = False,
    ) -> UsageRecord:
        metrics: dict[str, Any] = render_metrics(usage)
        return cls(
            **metrics,
            periodStart=period_start,
            periodType=period_type,
            projectId=project_id,
            projectName=project_name,
            partial=True if partial else None,
        )

    def body(self) -> dict[str, Any]:
        """The record as sent: ``partial`` only when true."""
        return self.model_dump(exclude={"partial"} if self.partial is None else None)


DATA_THROUGH = (
    "Every sample received (answered 202) before this instant is counted in this answer; records whose "
    "stretch ends later carry partial. The rollup's watermark, never later than the time of the request."
)

CSV_COLUMNS = (
    "projectId",
    "projectName",
    "periodType",
    "periodStart",
    "bandwidthInBytes",
    "bandwidthOutBytes",
    "cpuCoreHours",
    "diskGbHours",
    "instanceCount",
    "instanceHours",
    "ramGbHours",
    "partial",
)
"""The columns of the CSV form, in this order (its header row)."""


def csv_row(record: UsageRecord) -> list[str]:
    """One record as CSV fields: numbers as in JSON, null as an empty field, partial as true or false."""
    values = record.model_dump()
    row = []
    for column in CSV_COLUMNS:
        value = values[column]
        if value is None:
            row.append("false" if column == "partial" else "")
        elif isinstance(value, bool):
            row.append("true" if value else "false")
        elif isinstance(value, Decimal):
            row.append(decimal_literal(value))
        else:
            row.append(str(value))
    return row


class UsageReport(BaseModel):
    """``GET /projects/{id}/usage`` and ``GET /usage``."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    items: list[UsageRecord] = Field(description="Ordered by projectId, then periodStart.")
    period: Literal["hourly", "daily", "monthly"]
    totals: UsageRecord = Field(description="The whole range (not just this page); periodType total.")
    startDate: Instant = Field(description="Effective start of the range (inclusive), widened to the hour.")
    endDate: Instant = Field(description="Effective end of the range (exclusive), widened to the hour.")
    dataThrough: Instant = Field(description=DATA_THROUGH)
    nextToken: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None, description="Present when more items follow: pass it as next_token with the same other parameters."
    )

    def body(self) -> dict[str, Any]:
        body = self.model_dump(exclude={"nextToken"} if self.nextToken is None else None)
        body["items"] = [item.body() for item in self.items]
        body["totals"] = self.totals.body()
        return body

    @property
    def records(self) -> list[UsageRecord]:
        """The rows of the CSV form: the items."""
        return self.items


class UsageTotals(BaseModel):
    """``GET /usage/totals``: one record per project, ordered by projectId (paged only when asked to,
    or when the records would not fit one response)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    totals: list[UsageRecord]
    startDate: Instant = Field(description="Effective start of the range (inclusive), widened to the hour.")
    endDate: Instant = Field(description="Effective end of the range (exclusive), widened to the hour.")
    dataThrough: Instant = Field(description=DATA_THROUGH)
    nextToken: Annotated[str | None, WithJsonSchema({"type": "string"})] = Field(
        None,
        description="Present when more projects follow (more than limit, or more than fit 5 MB): pass it as "
        "next_token with the same other parameters.",
    )

    def body(self) -> dict[str, Any]:
        body = self.model_dump(exclude={"nextToken"} if self.nextToken is None else None)
        body["totals"] = [record.body() for record in self.totals]
        return body

    @property
    def records(self) -> list[UsageRecord]:
        """The rows of the CSV form: one per project."""
        return self.totals


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
