"""Response bodies of the read endpoints: plain dataclasses, each field with its JSON Schema.

The reports build these; the OpenAPI document takes its schemas from their fields (each one's
:func:`json_schema`; a record's metrics from :data:`ocore_usage.domain.metrics.METRICS`, see
:func:`published_fields`), so what the document promises is what the functions send. Field names and
order follow the published API reference; ``startDate``, ``endDate``, ``nextToken``, ``dataThrough``
and a record's ``partial`` (only when true) are additive (docs/read-api.md, "Beyond the published API").
Hour-based metrics are exact ``Decimal`` values written as JSON numbers by :mod:`ocore_usage.api.jsonnum`.

Dataclasses rather than pydantic models: the reads build their answers from values they computed
themselves, so there is nothing to validate, and pydantic's import and model building would be
most of the read functions' cold start.

The same records as CSV (:data:`CSV_COLUMNS`, :func:`csv_row`): one row per record, identity
columns first, then the metrics in the published order, then ``partial``.
"""

from __future__ import annotations

from dataclasses import MISSING, dataclass, field, fields
from decimal import Decimal
from typing import Any, Literal

from ocore_usage.api.http_api import SCHEMA_REF
from ocore_usage.api.jsonnum import decimal_literal
from ocore_usage.domain.metrics import METRICS, PEAK_FIELD, PEAK_SCHEMA
from ocore_usage.domain.periods import NAMED_PERIODS, PERIODS


def json_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """The metadata of a dataclass field sent on the wire: its JSON Schema in the published document."""
    return {"schema": schema}


_UTC_INSTANT = {
    "format": "date-time",
    "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?Z$",
    "type": "string",
}
"""RFC 3339, UTC, with Z."""
_PERIOD_START = {**_UTC_INSTANT, "pattern": r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,6})?(Z|[+-]\d{2}:\d{2})$"}
"""RFC 3339: UTC with Z, except daily and monthly buckets of a tz other than UTC, which carry that
zone's offset (2026-03-29T00:00:00+01:00)."""


def _nullable_text(description: str) -> dict[str, Any]:
    return {"anyOf": [{"type": "string"}, {"type": "null"}], "description": description}


@dataclass(frozen=True, slots=True)
class PublishedField:
    """One property of a response body in the published document."""

    name: str
    schema: dict[str, Any]
    required: bool


def published_fields(body: type[Any]) -> list[PublishedField]:
    """The properties of a response dataclass, in the order it sends them: each field with its
    schema, required unless it has a default (a record's metrics stand for one field each)."""
    if body is UsageRecord:
        return [_RECORD_SCHEMAS[name] for name in _RECORD_FIELDS]
    return _declared(body)


def _declared(body: type[Any]) -> list[PublishedField]:
    """The properties of ``body`` in the order of its fields; a field whose metadata lists ``fields``
    stands for those, each required."""
    declared = []
    for found in fields(body):
        if "fields" in found.metadata:
            declared += [PublishedField(name, schema, True) for name, schema in found.metadata["fields"].items()]
        else:
            declared.append(PublishedField(found.name, found.metadata["schema"], found.default is MISSING))
    return declared


_METRIC_SCHEMAS = {**{metric.answer_field: metric.kind.answer_schema for metric in METRICS}, PEAK_FIELD: PEAK_SCHEMA}


@dataclass(frozen=True, slots=True)
class UsageRecord:
    """Usage of one project (or of the organization) over one bucket or the whole range."""

    metrics: dict[str, int | Decimal] = field(metadata={"fields": _METRIC_SCHEMAS})
    """Each metric's field (``cpuCoreHours``, ..., ``instanceCount``), as
    :func:`ocore_usage.domain.aggregation.render_metrics` renders it."""
    periodStart: str = field(
        metadata=json_schema(
            {
                **_PERIOD_START,
                "description": "The bucket's own start (a clipped bucket keeps it); for totals, the range start.",
            }
        )
    )
    periodType: str = field(metadata=json_schema({"enum": [rule.period.value for rule in PERIODS], "type": "string"}))
    projectId: str | None = field(metadata=json_schema(_nullable_text("null for organization-wide totals.")))
    projectName: str | None = field(
        metadata=json_schema(_nullable_text("The project's current name; null for organization-wide totals."))
    )
    partial: Literal[True] | None = field(
        default=None,
        metadata=json_schema(
            {
                "const": True,
                "description": "Present, and true, when the record's stretch of time ends after dataThrough (its "
                "bucket is still open, or not yet fully rolled up): samples received later may change it. "
                "Absent otherwise.",
                "type": "boolean",
            }
        ),
    )

    def values(self) -> dict[str, Any]:
        """Every field by name in the order sent, ``partial`` included (None when not partial)."""
        found = {
            **self.metrics,
            "periodStart": self.periodStart,
            "periodType": self.periodType,
            "projectId": self.projectId,
            "projectName": self.projectName,
            "partial": self.partial,
        }
        return {name: found[name] for name in _RECORD_FIELDS}

    def body(self) -> dict[str, Any]:
        """The record as sent: ``partial`` only when true."""
        body = self.values()
        if self.partial is None:
            del body["partial"]
        return body


_RECORD_SCHEMAS = {found.name: found for found in _declared(UsageRecord)}
_RECORD_FIELDS = (
    *sorted(name for name, found in _RECORD_SCHEMAS.items() if found.required),
    *(name for name, found in _RECORD_SCHEMAS.items() if not found.required),
)
"""A record's fields as sent (the published order): the required ones by name, then ``partial``."""

DATA_THROUGH = (
    "Every sample received (answered 202) before this instant is counted in this answer; records whose "
    "stretch ends later carry partial. The rollup's watermark, never later than the time of the request."
)

CSV_COLUMNS = ("projectId", "projectName", "periodType", "periodStart", *sorted(_METRIC_SCHEMAS), "partial")
"""The columns of the CSV form, in this order (its header row)."""


def csv_row(record: UsageRecord) -> list[str]:
    """One record as CSV fields: numbers as in JSON, null as an empty field, partial as true or false."""
    values = record.values()
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


def _instant(description: str) -> Any:
    """An answer field holding a UTC instant."""
    return field(metadata=json_schema({**_UTC_INSTANT, "description": description}))


def _next_token(follows: str) -> Any:
    """An answer's ``nextToken``, present when ``follows``."""
    description = f"Present when {follows}: pass it as next_token with the same other parameters."
    return field(default=None, metadata=json_schema({"description": description, "type": "string"}))


def _with_range(body: dict[str, Any], answer: UsageReport | UsageTotals) -> dict[str, Any]:
    """``body`` followed by the answer's range, ``dataThrough`` and (when there is one) ``nextToken``."""
    body.update(startDate=answer.startDate, endDate=answer.endDate, dataThrough=answer.dataThrough)
    if answer.nextToken is not None:
        body["nextToken"] = answer.nextToken
    return body


@dataclass(frozen=True, slots=True)
class UsageReport:
    """``GET /projects/{id}/usage`` and ``GET /usage``."""

    items: list[UsageRecord] = field(
        metadata=json_schema(
            {
                "description": "Ordered by projectId, then periodStart.",
                "items": {"$ref": SCHEMA_REF.format(model="UsageRecord")},
                "type": "array",
            }
        )
    )
    period: str = field(metadata=json_schema({"enum": [period.value for period in NAMED_PERIODS], "type": "string"}))
    totals: UsageRecord = field(
        metadata=json_schema(
            {
                "$ref": SCHEMA_REF.format(model="UsageRecord"),
                "description": "The whole range (not just this page); periodType total.",
            }
        )
    )
    startDate: str = _instant("Effective start of the range (inclusive), widened to the hour.")
    endDate: str = _instant("Effective end of the range (exclusive), widened to the hour.")
    dataThrough: str = _instant(DATA_THROUGH)
    nextToken: str | None = _next_token("more items follow")

    def body(self) -> dict[str, Any]:
        items = [item.body() for item in self.items]
        return _with_range({"items": items, "period": self.period, "totals": self.totals.body()}, self)

    @property
    def records(self) -> list[UsageRecord]:
        """The rows of the CSV form: the items."""
        return self.items


@dataclass(frozen=True, slots=True)
class UsageTotals:
    """``GET /usage/totals``: one record per project, ordered by projectId (paged only when asked to,
    or when the records would not fit one response)."""

    totals: list[UsageRecord] = field(
        metadata=json_schema({"items": {"$ref": SCHEMA_REF.format(model="UsageRecord")}, "type": "array"})
    )
    startDate: str = _instant("Effective start of the range (inclusive), widened to the hour.")
    endDate: str = _instant("Effective end of the range (exclusive), widened to the hour.")
    dataThrough: str = _instant(DATA_THROUGH)
    nextToken: str | None = _next_token("more projects follow (more than limit, or more than fit 5 MB)")

    def body(self) -> dict[str, Any]:
        return _with_range({"totals": [record.body() for record in self.totals]}, self)

    @property
    def records(self) -> list[UsageRecord]:
        """The rows of the CSV form: one per project."""
        return self.totals
