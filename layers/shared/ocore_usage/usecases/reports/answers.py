"""What the read use cases answer: plain records and pages of them, for the HTTP layer to render.

Each record keeps its exact :class:`~ocore_usage.domain.aggregation.Usage`; how its figures are written (6-decimal
numbers, JSON or CSV) is the HTTP layer's (:mod:`ocore_usage.api.reads`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocore_usage.domain.periods import Period
from ocore_usage.domain.timeline import format_instant

if TYPE_CHECKING:
    from ocore_usage.domain.aggregation import Usage
    from ocore_usage.domain.planner import OutputBucket, TimeRange
    from ocore_usage.domain.zones import Calendar
    from ocore_usage.storage.projects import Project


@dataclass(frozen=True, slots=True)
class Record:
    """Usage of one project (or of the organization) over one bucket or the whole range."""

    usage: Usage
    period_start: str
    """The bucket's own start as published (a zone's offset on its days and months); for totals,
    the range's start."""
    period: Period
    project: Project | None
    """None for organization-wide totals."""
    partial: bool


@dataclass(frozen=True, slots=True)
class Report:
    """One page of per-bucket usage (one project's or the organization's) with the range's totals."""

    records: list[Record]
    period: Period
    totals: Record
    time_range: TimeRange
    data_through: int
    next_token: str | None


@dataclass(frozen=True, slots=True)
class ProjectTotals:
    """One page of per-project totals over the range."""

    records: list[Record]
    time_range: TimeRange
    data_through: int
    next_token: str | None


@dataclass(frozen=True, slots=True)
class Frame:
    """What every record of one answer shares: the range, its calendar and how fresh the data is."""

    time_range: TimeRange
    calendar: Calendar
    data_through: int

    def record(self, usage: Usage, bucket: OutputBucket, period: Period, project: Project | None) -> Record:
        granularity = period.granularity
        label = self.calendar.label(bucket.period_start, granularity) if granularity else None
        period_start = label or format_instant(bucket.period_start)
        return Record(usage, period_start, period, project, self._partial(bucket.end))

    def total(self, usage: Usage, project: Project | None) -> Record:
        start, end = self.time_range.start, self.time_range.end
        return Record(usage, format_instant(start), Period.TOTAL, project, self._partial(end))

    def _partial(self, end: int) -> bool:
        """The stretch ends after the watermark: samples received later may still change it."""
        return end > self.data_through
