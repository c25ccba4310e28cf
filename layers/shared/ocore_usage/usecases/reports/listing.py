"""Which projects an org-wide read lists, found at a cost that follows usage, not the projects ever registered.

Where they come from (usage months, the ``ActiveByOrg`` index, registry entries) is docs/read-api.md, "What an org-wide
request costs". Registry entries are fetched a batch ahead of where they are needed, and the totals of listed
projects a few projects ahead of the page being built.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Generator, Iterable, Sequence
from itertools import batched
from typing import TYPE_CHECKING

from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.timeline import MICROS_PER_HOUR, floor_month
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project

if TYPE_CHECKING:
    from concurrent.futures import Future

    from ocore_usage.domain.planner import TimeRange
    from ocore_usage.usecases.reports.read import Read
    from ocore_usage.usecases.reports.service import PendingPlan, Reports

LOOKAHEAD = 8
"""Projects whose totals (or listing checks) are read ahead of the page being built."""
REGISTRY_BATCH = 100
"""Registry entries fetched per BatchGetItem."""

Listing = Generator[tuple[Project, Usage | None]]
"""Listed projects in id order, each with its total when it was read (close it to stop reading ahead)."""


def projects_with_usage(reports: Reports, org_id: str, time_range: TimeRange) -> set[str]:
    """The org's projects that may have usage in ``time_range`` (from its usage months: a superset)."""
    last_hour = time_range.end - MICROS_PER_HOUR
    return reports.rollups.projects_with_usage(org_id, floor_month(time_range.start), floor_month(last_hour))


class Registry:
    """Registry entries of ``project_ids`` (in that order), fetched 100 at a time as they are
    needed, one batch ahead; a project of another org reads as absent."""

    def __init__(self, reports: Reports, org_id: str, project_ids: Sequence[str]) -> None:
        self._reports = reports
        self._org_id = org_id
        self._batches = [list(batch) for batch in batched(project_ids, REGISTRY_BATCH, strict=False)]
        self._batch_of = {p: i // REGISTRY_BATCH for i, p in enumerate(project_ids)}
        self._fetched: dict[int, Future[dict[str, Project]]] = {}
        self._fetch(0)

    def _fetch(self, batch: int) -> Future[dict[str, Project]] | None:
        if batch >= len(self._batches):
            return None
        if batch not in self._fetched:
            self._fetched[batch] = self._reports.pool.submit(self._reports.projects.get_many, self._batches[batch])
        return self._fetched[batch]

    def get(self, project_id: str) -> Project | None:
        batch = self._batch_of.get(project_id)
        if batch is None:
            return None
        fetched = self._fetch(batch)
        self._fetch(batch + 1)
        project = fetched.result().get(project_id) if fetched is not None else None
        return project if project is not None and project.org_id == self._org_id else None


def listed(read: Read, active: Iterable[Project], with_usage: Iterable[str], *, every_total: bool) -> Listing:
    """The projects ``/usage/totals`` lists, in id order from the read's position on: active ones,
    and deleted ones with usage in the range. Each comes with its total over the range when
    ``every_total`` (else only where it decided the listing), read ``LOOKAHEAD`` projects ahead.
    """
    reports, org_id, time_range = read.reports, read.request.org_id, read.frame.time_range
    by_id = {p.project_id: p for p in active if p.org_id == org_id}
    ids = sorted(by_id.keys() | set(with_usage))
    if read.position is not None:
        ids = [p for p in ids if p >= read.position.project_id]
    registry = Registry(reports, org_id, [p for p in ids if p not in by_id])

    def start(project_id: str) -> tuple[Project, PendingPlan | None] | None:
        project = by_id.get(project_id) or registry.get(project_id)
        if project is None:
            return None
        needed = every_total or project.deleted
        return project, reports.submit_total(SeriesOwner.PROJECT, project_id, time_range) if needed else None

    ahead: deque[tuple[Project, PendingPlan | None]] = deque()
    upcoming = iter(ids)
    try:
        while True:
            while len(ahead) < LOOKAHEAD and (project_id := next(upcoming, None)) is not None:
                started = start(project_id)
                if started is not None:
                    ahead.append(started)
            if not ahead:
                return
            project, pending = ahead.popleft()
            total = pending.values()[0] if pending is not None else None
            if project.deleted and (total is None or total.is_empty):
                continue
            yield project, total
    finally:
        for _, pending in ahead:
            if pending is not None:
                pending.cancel()
