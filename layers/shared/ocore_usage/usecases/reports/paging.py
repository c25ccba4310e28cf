"""Pages: where a page starts, how records are gathered up to its limits, and where the next starts.

The rules (record order, what a token carries and is bound to) are docs/read-api.md, "Records, totals, pages". The
use case decides every page boundary here; the state travels to the client as an opaque token through the
:class:`PageTokens` port, whose implementation is the HTTP layer's (:mod:`ocore_usage.api.pagination`), handed in by
:mod:`ocore_usage.wiring`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from ocore_usage.domain.aggregation import Usage
    from ocore_usage.domain.planner import OutputBucket, TimeRange
    from ocore_usage.storage.projects import Project
    from ocore_usage.usecases.reports.answers import Record

PAGE_BYTES = 5_000_000
"""Most bytes the records of one ``/usage/totals`` page take in the function's response, where
the JSON body is itself a JSON string (each quote and backslash escaped): under Lambda's 6 MB."""


@dataclass(frozen=True, slots=True)
class Position:
    """Where the next page starts: the first item at or after ``(project_id, period_start)``."""

    project_id: str
    period_start: int


@dataclass(frozen=True, slots=True)
class PageState:
    """What the next page needs: the first page's effective range and the next page's position."""

    time_range: TimeRange
    position: Position


@dataclass(frozen=True, slots=True)
class PageBinding:
    """What a token belongs to without carrying it: one org, one endpoint, one set of query parameters."""

    org_id: str
    endpoint: str
    parameters: Mapping[str, Any]


class PageTokens(Protocol):
    """Page states as opaque tokens, valid only for the binding they were issued for."""

    def issue(self, binding: PageBinding, state: PageState) -> str: ...

    def open(self, binding: PageBinding, token: str) -> PageState:
        """The state ``token`` carries; an ``invalid_token`` problem unless issued for ``binding``."""


@dataclass(frozen=True, slots=True)
class Entry:
    """One record of a page, before it is stamped with the answer's labels."""

    project: Project
    bucket: OutputBucket
    usage: Usage


@dataclass(slots=True)
class Page:
    """The records of one page of per-bucket usage, and where the next page starts (if one does)."""

    entries: list[Entry] = field(default_factory=list)
    next_position: Position | None = None


@dataclass(slots=True)
class SizedPage:
    """Records of one page of totals: at most ``limit`` of them, and no more than :data:`PAGE_BYTES`
    (a first record always fits)."""

    limit: int
    records: list[Record] = field(default_factory=list)
    size: int = 0

    def add(self, record: Record, record_bytes: int) -> bool:
        """Add ``record`` if the page has room for it; False when it belongs on the next page."""
        if len(self.records) == self.limit or (self.records and self.size + record_bytes > PAGE_BYTES):
            return False
        self.records.append(record)
        self.size += record_bytes
        return True


def remaining(buckets: Sequence[OutputBucket], project_id: str, position: Position | None) -> Sequence[OutputBucket]:
    """A project's buckets from ``position`` on (all of them for a project after it)."""
    if position is None or project_id != position.project_id:
        return buckets
    return [b for b in buckets if b.period_start >= position.period_start]
