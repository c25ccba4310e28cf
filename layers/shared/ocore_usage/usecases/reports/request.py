"""What a read asks for: :class:`ReportRequest`, one object for every read use case.

The HTTP layer builds it from the parsed query parameters (:mod:`ocore_usage.api.reads`); the
use case never sees a query string, a header or an endpoint's parameter names.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ocore_usage.domain.periods import Period
    from ocore_usage.domain.planner import TimeRange
    from ocore_usage.domain.zones import Calendar
    from ocore_usage.usecases.reports.paging import PageBinding


class Fill(StrEnum):
    """What to do with buckets without usage: zero records, or leave them out."""

    ZERO = "zero"
    NONE = "none"


@dataclass(frozen=True, slots=True)
class ReportRequest:
    """One read: whose usage, at which period, over which range, and which page of it."""

    org_id: str
    """The caller's organization: the only one whose usage the read may return."""
    period: Period
    """The records' period; ``Period.TOTAL`` for the per-project totals."""
    range_at: Callable[[int], TimeRange]
    """The effective range of the dates asked for, at a given now (defaults filled in, widened to
    whole hours, bounded by the longest range): the read picks the instant, after its watermark."""
    zone: Calendar
    """The calendar of the daily and monthly buckets and of the labels of their starts."""
    limit: int
    """Most records on one page."""
    binding: PageBinding
    """What a page token of this read belongs to."""
    project_id: str | None = None
    """One project (as given: a malformed id is a project not found), or the whole organization."""
    fill: Fill | None = None
    """Buckets without usage as zero records or left out; None: the scope's default."""
    next_token: str | None = None
    """The token of the page to continue from; None for the first page."""
