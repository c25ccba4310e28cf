"""The three read use cases: one project's usage, the organization's usage, per-project totals.

Each takes the service (:class:`~ocore_usage.usecases.reports.service.Reports`, built in
:mod:`ocore_usage.wiring`) and one :class:`~ocore_usage.usecases.reports.request.ReportRequest`,
and answers plain data (:mod:`~ocore_usage.usecases.reports.answers`) that the HTTP layer
renders. Every figure comes from stored rollups through the planner: each request reads the
buckets of the records it returns (one page of them), plus, when the answer spans more than one
page or the whole organization, the few buckets of the range's totals.

The rules are in docs/read-api.md; README's "Where each rule lives" maps them to this package's
modules.

Beyond the published API (docs/read-api.md, "Beyond the published API"): a request's ``tz``
puts its daily and monthly buckets, defaults and date-only dates in that zone's calendar
(:mod:`ocore_usage.domain.zones`); every answer says up to when the samples received are counted
(``dataThrough``, from the rollup's watermark, read before any bucket so that the buckets read
are at least that fresh), and a record whose stretch ends after it is ``partial``.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocore_usage.usecases.reports import totals
from ocore_usage.usecases.reports.one_project import project_usage
from ocore_usage.usecases.reports.organization import organization_usage
from ocore_usage.usecases.reports.read import begin

if TYPE_CHECKING:
    from ocore_usage.usecases.reports.answers import ProjectTotals, Report
    from ocore_usage.usecases.reports.request import ReportRequest
    from ocore_usage.usecases.reports.service import Reports


def usage(reports: Reports, request: ReportRequest) -> Report:
    """One page of per-bucket usage: the request's project's, or else the whole organization's."""
    read = begin(reports, request)
    if request.project_id is not None:
        return project_usage(read, request.project_id)
    return organization_usage(read)


def usage_totals(reports: Reports, request: ReportRequest) -> ProjectTotals:
    """One page of the organization's per-project totals."""
    return totals.usage_totals(begin(reports, request))
