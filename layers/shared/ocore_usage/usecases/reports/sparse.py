"""``fill=none``: one project's non-empty records, read in chunks of buckets until a page is full."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.usecases.reports.paging import Entry, Page, Position

if TYPE_CHECKING:
    from ocore_usage.domain.planner import OutputBucket
    from ocore_usage.storage.projects import Project
    from ocore_usage.usecases.reports.service import PendingPlan, Reports

MIN_READ_CHUNK = 256
"""Fewest buckets read at once while looking for non-empty records (``fill=none``)."""


class SparseRecords:
    """One project's non-empty records from ``buckets`` on, read in chunks; the first chunk's
    queries start at once, sized for the ``room`` left on the page."""

    def __init__(self, reports: Reports, project_id: str, buckets: Sequence[OutputBucket], room: int) -> None:
        self._reports = reports
        self._project_id = project_id
        self._buckets = buckets
        self._offset = 0
        self._pending = self._next(room)

    def _next(self, room: int) -> tuple[Sequence[OutputBucket], PendingPlan] | None:
        if self._offset >= len(self._buckets):
            return None
        # one more than the room: the record after a full page is the next page's position
        chunk = self._buckets[self._offset : self._offset + max(room + 1, MIN_READ_CHUNK)]
        self._offset += len(chunk)
        return chunk, self._reports.submit_buckets(SeriesOwner.PROJECT, self._project_id, chunk)

    def fill(self, page: Page, project: Project, limit: int) -> bool:
        """Add records to ``page`` up to ``limit``; True when the page is full and the next record found."""
        while self._pending is not None:
            chunk, pending = self._pending
            for bucket, usage in zip(chunk, pending.values(), strict=True):
                if usage.is_empty:
                    continue
                if len(page.entries) == limit:
                    page.next_position = Position(project.project_id, bucket.period_start)
                    self._pending = None
                    return True
                page.entries.append(Entry(project, bucket, usage))
            self._pending = self._next(limit - len(page.entries))
        return False

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending[1].cancel()
