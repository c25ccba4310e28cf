"""The read endpoints between HTTP and the use case: query parameters in, published bodies out.

Each endpoint's parsed parameters (:mod:`ocore_usage.api.queries`) become one
:class:`~ocore_usage.usecases.reports.request.ReportRequest`, with what its page tokens are bound
to (:func:`_bound_parameters`). The use case's plain answers are rendered into the bodies of
:mod:`ocore_usage.api.responses`, their figures as exact 6-decimal numbers.
"""

from __future__ import annotations

from functools import partial
from typing import TYPE_CHECKING

from ocore_usage.api import jsonnum
from ocore_usage.api.queries import ProjectUsageQuery, TotalsQuery, UsageQuery, resolve_range
from ocore_usage.api.responses import UsageRecord, UsageReport, UsageTotals
from ocore_usage.domain.aggregation import render_metrics
from ocore_usage.domain.endpoints import PROJECT_USAGE, USAGE, USAGE_TOTALS
from ocore_usage.domain.periods import Period
from ocore_usage.domain.timeline import format_instant
from ocore_usage.domain.zones import UTC_NAME
from ocore_usage.usecases import reports
from ocore_usage.usecases.reports.paging import PageBinding
from ocore_usage.usecases.reports.request import ReportRequest

if TYPE_CHECKING:
    from ocore_usage.usecases.reports.answers import Record, Report
    from ocore_usage.usecases.reports.service import Reports


def project_usage(service: Reports, org_id: str, project_id: str, query: ProjectUsageQuery) -> UsageReport:
    """``GET /projects/{id}/usage``."""
    request = _request(org_id, "GET " + PROJECT_USAGE.format(id=project_id), query, project_id)
    return _report(reports.usage(service, request))


def usage(service: Reports, org_id: str, query: UsageQuery) -> UsageReport:
    """``GET /usage``: one project's usage with ``project_id``, else the organization's."""
    return _report(reports.usage(service, _request(org_id, "GET " + USAGE, query, query.project_id)))


def usage_totals(service: Reports, org_id: str, query: TotalsQuery) -> UsageTotals:
    """``GET /usage/totals``."""
    answer = reports.usage_totals(service, _request(org_id, "GET " + USAGE_TOTALS, query))
    return UsageTotals(
        totals=[render(record) for record in answer.records],
        startDate=format_instant(answer.time_range.start),
        endDate=format_instant(answer.time_range.end),
        dataThrough=format_instant(answer.data_through),
        nextToken=answer.next_token,
    )


def render(record: Record) -> UsageRecord:
    """A record as published."""
    project = record.project
    return UsageRecord(
        render_metrics(record.usage),
        periodStart=record.period_start,
        periodType=record.period.value,
        projectId=project.project_id if project else None,
        projectName=project.name if project else None,
        partial=True if record.partial else None,
    )


def response_bytes(record: Record) -> int:
    """What ``record`` adds to the function's response: its JSON (ASCII), a comma, and one more
    byte per quote and backslash, which the response escapes once more around the body."""
    text = jsonnum.dumps(render(record).body())
    return len(text) + 1 + text.count('"') + text.count("\\")


def _request(
    org_id: str, endpoint: str, query: ProjectUsageQuery | TotalsQuery, project_id: str | None = None
) -> ReportRequest:
    period = query.period if isinstance(query, ProjectUsageQuery) else Period.TOTAL
    zone = query.calendar
    return ReportRequest(
        org_id=org_id,
        period=period,
        range_at=partial(resolve_range, query.start_date, query.end_date, period, zone=zone),
        zone=zone,
        limit=query.limit,
        binding=PageBinding(org_id, endpoint, _bound_parameters(query)),
        project_id=project_id,
        fill=query.fill if isinstance(query, ProjectUsageQuery) else None,
        next_token=query.next_token,
    )


def _bound_parameters(query: ProjectUsageQuery | TotalsQuery) -> dict[str, object]:
    """What a page token binds besides the org and the endpoint (with its path): every parameter but
    ``limit``, ``next_token`` and ``format`` (a page holds the same records as JSON or CSV, so a token
    serves both), and ``tz`` only when it names a zone other than UTC (so tokens of the published
    parameters stay what they were)."""
    excluded = {"limit", "next_token", "format"}
    if query.tz in (None, UTC_NAME):
        excluded.add("tz")
    return {name: value for name, value in query.values().items() if name not in excluded}


def _report(answer: Report) -> UsageReport:
    return UsageReport(
        items=[render(record) for record in answer.records],
        period=answer.period.value,
        totals=render(answer.totals),
        startDate=format_instant(answer.time_range.start),
        endDate=format_instant(answer.time_range.end),
        dataThrough=format_instant(answer.data_through),
        nextToken=answer.next_token,
    )
