"""The three read use cases: one project's usage, the organization's usage, per-project totals.

Each takes the service (:class:`~ocore_usage.usecases.reports.service.Reports`, built in
:mod:`ocore_usage.wiring`) and one :class:`~ocore_usage.usecases.reports.request.ReportRequest`,
and answers plain data (:mod:`~ocore_usage.usecases.reports.answers`) that the HTTP layer
renders. The rules, ``tz`` and ``dataThrough`` included, are in docs/read-api.md; README's
"Where each rule lives" maps them to this package's modules.
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
