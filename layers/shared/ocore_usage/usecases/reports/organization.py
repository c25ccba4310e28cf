"""The organization's usage per project and bucket (``GET /usage`` without ``project_id``).

``fill`` defaults to ``none``: the non-empty records of the projects with usage. ``fill=zero``
lists every bucket of the projects ``/usage/totals`` lists. Totals come from the org series,
whose peak is the org-wide instance peak; its queries start first, beside the listing.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ocore_usage.domain.planner import output_buckets
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.usecases.reports.listing import Registry, listed, projects_with_usage
from ocore_usage.usecases.reports.paging import Entry, Page, Position, remaining
from ocore_usage.usecases.reports.request import Fill
from ocore_usage.usecases.reports.sparse import SparseRecords

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ocore_usage.domain.planner import OutputBucket
    from ocore_usage.storage.projects import Project
    from ocore_usage.usecases.reports.answers import Report
    from ocore_usage.usecases.reports.listing import Listing
    from ocore_usage.usecases.reports.read import Read
    from ocore_usage.usecases.reports.service import PendingPlan


def organization_usage(read: Read) -> Report:
    """One page of the org's records, with the org's totals over the range."""
    reports, org_id, time_range = read.reports, read.request.org_id, read.frame.time_range
    org_total = reports.submit_total(SeriesOwner.ORG, org_id, time_range)
    candidates = reports.pool.submit(projects_with_usage, reports, org_id, time_range)
    all_buckets = output_buckets(time_range, read.request.period, read.frame.calendar)
    if (read.request.fill or Fill.NONE) is Fill.NONE:
        position = read.position
        ids = sorted(p for p in candidates.result() if position is None or p >= position.project_id)
        page = _sparse_page(read, ids, all_buckets)
    else:
        active = reports.projects.list_active(org_id)  # beside the two reads already in flight
        page = _dense_page(read, listed(read, active, candidates.result(), every_total=False), all_buckets)
    (total,) = org_total.values()
    return read.report(page, read.frame.total(total, None))


def _sparse_page(read: Read, project_ids: Sequence[str], all_buckets: Sequence[OutputBucket]) -> Page:
    """``fill=none``: up to ``limit`` non-empty records of ``project_ids`` (in order), project by project."""
    limit = read.request.limit
    page = Page()
    registry = Registry(read.reports, read.request.org_id, project_ids)
    for project_id in project_ids:
        buckets = remaining(all_buckets, project_id, read.position)
        if not buckets:
            continue
        records = SparseRecords(read.reports, project_id, buckets, limit - len(page.entries))
        project = registry.get(project_id)
        if project is None:  # not (or no longer) this org's: the usage months are only a hint
            records.cancel()
            continue
        if records.fill(page, project, limit):
            break
    return page


def _dense_page(read: Read, listing: Listing, all_buckets: Sequence[OutputBucket]) -> Page:
    """``fill=zero``: every bucket of each listed project, up to ``limit``; the page's reads run at once."""
    page = Page()
    reads: list[tuple[Project, Sequence[OutputBucket], PendingPlan]] = []
    room = read.request.limit
    for project, _ in listing:
        buckets = remaining(all_buckets, project.project_id, read.position)
        if not buckets:
            continue
        if room == 0:
            page.next_position = Position(project.project_id, buckets[0].period_start)
            break
        taken = buckets[:room]
        reads.append((project, taken, read.reports.submit_buckets(SeriesOwner.PROJECT, project.project_id, taken)))
        if len(buckets) > room:
            page.next_position = Position(project.project_id, buckets[room].period_start)
            break
        room -= len(taken)
    listing.close()
    for project, taken, pending in reads:
        page.entries.extend(Entry(project, b, u) for b, u in zip(taken, pending.values(), strict=True))
    return page
