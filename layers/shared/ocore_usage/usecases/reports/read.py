"""One read under way: :class:`Read` carries the service, the request, the answer's frame and
where its page starts to every strategy; :func:`begin` sets it up, in an order that matters.

The watermark is read first, so every bucket read after it holds at least what it promises;
then the range is resolved at the clock's now (its errors before the token's), then the token,
if any, is opened: its range (the first page's) wins over the resolved one.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from ocore_usage.usecases.reports.answers import Frame, Report
from ocore_usage.usecases.reports.paging import PageState

if TYPE_CHECKING:
    from ocore_usage.usecases.reports.answers import Record
    from ocore_usage.usecases.reports.paging import Page, Position
    from ocore_usage.usecases.reports.request import ReportRequest
    from ocore_usage.usecases.reports.service import Reports


@dataclass(frozen=True, slots=True)
class Read:
    """The service, what was asked, what the answer's records share, and where this page starts."""

    reports: Reports
    request: ReportRequest
    frame: Frame
    position: Position | None

    def next_token(self, position: Position | None) -> str | None:
        """The token of the page starting at ``position``; None when no page follows."""
        if position is None:
            return None
        return self.reports.tokens.issue(self.request.binding, PageState(self.frame.time_range, position))

    def report(self, page: Page, totals: Record) -> Report:
        """A page of per-bucket records with the range's totals."""
        frame, period = self.frame, self.request.period
        return Report(
            records=[frame.record(e.usage, e.bucket, period, e.project) for e in page.entries],
            period=period,
            totals=totals,
            time_range=frame.time_range,
            data_through=frame.data_through,
            next_token=self.next_token(page.next_position),
        )


def begin(reports: Reports, request: ReportRequest) -> Read:
    """The read of ``request``: its freshness, its effective range, and the page it starts at."""
    data_through = reports.watermark.data_through() if reports.watermark is not None else reports.clock()
    time_range = request.range_at(reports.clock())
    if request.next_token is None:
        return Read(reports, request, Frame(time_range, request.zone, data_through), None)
    state = reports.tokens.open(request.binding, request.next_token)
    return Read(reports, request, Frame(state.time_range, request.zone, data_through), state.position)
