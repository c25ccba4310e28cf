"""Per-project totals (``GET /usage/totals``).

Every project of the org that is active or had usage in the range is listed, in pages of ``limit`` projects and at
most :data:`~ocore_usage.usecases.reports.paging.PAGE_BYTES` (docs/read-api.md, "/usage/totals pages"). The active
projects and the projects with usage are found at once; each listed project's total is read a few projects ahead.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocore_usage.domain.aggregation import ZERO
from ocore_usage.usecases.reports.answers import ProjectTotals
from ocore_usage.usecases.reports.listing import listed, projects_with_usage
from ocore_usage.usecases.reports.paging import Position, SizedPage

if TYPE_CHECKING:
    from ocore_usage.usecases.reports.read import Read


def usage_totals(read: Read) -> ProjectTotals:
    """One page of the org's per-project totals over the range."""
    reports, org_id, frame = read.reports, read.request.org_id, read.frame
    candidates = reports.pool.submit(projects_with_usage, reports, org_id, frame.time_range)
    active = reports.pool.submit(reports.projects.list_active, org_id)
    page, next_position = SizedPage(read.request.limit), None
    listing = listed(read, active.result(), candidates.result(), every_total=True)
    for project, total in listing:
        record = frame.total(total if total is not None else ZERO, project)
        if not page.add(record, reports.record_bytes(record)):
            next_position = Position(project.project_id, frame.time_range.start)
            break
    listing.close()
    return ProjectTotals(page.records, frame.time_range, frame.data_through, read.next_token(next_position))
