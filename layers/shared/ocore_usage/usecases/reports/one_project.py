"""One project's usage (``GET /projects/{id}/usage``, ``GET /usage?project_id=``).

``fill`` defaults to ``zero``. The project must be the caller org's, else ``404 project_not_found`` (also for a
malformed id), answered without the bucket queries started beside the lookup (docs/read-api.md, "How fast").
Totals come from the records when one page holds them all, else from the project's series.
"""

from __future__ import annotations

import re
from concurrent.futures import Future
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocore_usage.domain.aggregation import merge_all
from ocore_usage.domain.planner import output_buckets
from ocore_usage.domain.problems import Problem, ProblemCode
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.usecases.reports.paging import Entry, Page, Position, remaining
from ocore_usage.usecases.reports.request import Fill
from ocore_usage.usecases.reports.sparse import SparseRecords

if TYPE_CHECKING:
    from collections.abc import Sequence

    from ocore_usage.domain.planner import OutputBucket
    from ocore_usage.storage.projects import Project
    from ocore_usage.usecases.reports.answers import Report
    from ocore_usage.usecases.reports.read import Read
    from ocore_usage.usecases.reports.service import Cancellable, PendingPlan

_PROJECT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")


@dataclass(frozen=True, slots=True)
class _Lookup:
    """The registry lookup of the project asked for, in flight."""

    project_id: str
    entry: Future[Project | None]


def project_usage(read: Read, project_id: str) -> Report:
    """One page of ``project_id``'s records, with its totals over the range."""
    reports, position = read.reports, read.position
    if not _PROJECT_ID.match(project_id):
        raise _project_not_found(project_id)
    owner = _Lookup(project_id, reports.lookup(project_id))
    if position is not None and position.project_id != project_id:
        _owned(read, owner)
        raise Problem(ProblemCode.INVALID_TOKEN, "next_token does not belong to this project")

    # Start every read this answer needs, then wait for the tenancy check before using any.
    time_range, limit = read.frame.time_range, read.request.limit
    buckets = remaining(output_buckets(time_range, read.request.period, read.frame.calendar), project_id, position)
    zero = (read.request.fill or Fill.ZERO) is Fill.ZERO
    known_paged = position is not None or (zero and len(buckets) > limit)
    total = reports.submit_total(SeriesOwner.PROJECT, project_id, time_range) if known_paged else None
    page, project = (_dense if zero else _sparse)(read, owner, buckets, total)

    if total is None and page.next_position is None:
        # Every record is on this page: the totals are their merge, no further reads.
        total_usage = merge_all(entry.usage for entry in page.entries)
    else:
        (total_usage,) = (total or reports.submit_total(SeriesOwner.PROJECT, project_id, time_range)).values()
    return read.report(page, read.frame.total(total_usage, project))


def _dense(
    read: Read, owner: _Lookup, buckets: Sequence[OutputBucket], total: PendingPlan | None
) -> tuple[Page, Project]:
    """``fill=zero``: the page's buckets, every one a record."""
    limit, project_id = read.request.limit, owner.project_id
    taken = buckets[:limit]
    dense = read.reports.submit_buckets(SeriesOwner.PROJECT, project_id, taken)
    project = _owned(read, owner, dense, total)
    page = Page([Entry(project, b, u) for b, u in zip(taken, dense.values(), strict=True)])
    if len(buckets) > limit:
        page.next_position = Position(project_id, buckets[limit].period_start)
    return page, project


def _sparse(
    read: Read, owner: _Lookup, buckets: Sequence[OutputBucket], total: PendingPlan | None
) -> tuple[Page, Project]:
    """``fill=none``: the page's non-empty buckets."""
    limit = read.request.limit
    sparse = SparseRecords(read.reports, owner.project_id, buckets, limit)
    project = _owned(read, owner, sparse, total)
    page = Page()
    sparse.fill(page, project, limit)
    return page, project


def _owned(read: Read, owner: _Lookup, *pending: Cancellable | None) -> Project:
    """The caller's project once its lookup is back; an unknown id and another org's project get
    the same answer, at once, and the reads started beside the lookup are dropped unseen."""
    project = owner.entry.result()
    if project is None or project.org_id != read.request.org_id:
        for reads in pending:
            if reads is not None:
                reads.cancel()
        raise _project_not_found(owner.project_id)
    return project


def _project_not_found(project_id: str) -> Problem:
    return Problem(ProblemCode.PROJECT_NOT_FOUND, f"no project {project_id!r} in your organization")
