"""The three read use cases: one project's usage, the organization's usage, per-project totals.

Repositories come in through :class:`Reports` (small Protocols, so tests can hand in fakes);
nothing here scans a table. Every figure comes from stored rollups through the planner:
each request reads the buckets of the records it returns (one page of them), plus, when the
answer spans more than one page or the whole organization, the few buckets of the range's
totals.

Rules beyond the reference (SPEC section 4):

- Records are ordered by ``projectId``, then ``periodStart``. A page position is the next
  record's ``(projectId, periodStart)``; the token also carries the first page's effective
  range, so pages fit together even when the default end moves on with the clock.
- One project (``GET /projects/{id}/usage``, ``GET /usage?project_id=``): ``fill`` defaults to
  ``zero``. The project must be the caller org's, else ``404 project_not_found`` (also for a
  malformed id). Totals come from the records when one page holds them all, else from the
  project's series.
- Organization (``GET /usage``): ``fill`` defaults to ``none``; ``fill=zero`` lists every
  bucket of the projects ``/usage/totals`` lists. Totals come from the org series, whose peak
  is the org-wide instance peak.
- ``/usage/totals`` lists every project of the org that is active or had usage in the range.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from ocore_usage.aggregation import Usage, merge_all
from ocore_usage.pagination import PageBinding, PageState, PageTokens, Position, ssm_key_source
from ocore_usage.planner import OutputBucket, Period, ReadPlan, StoredBucket, TimeRange, output_buckets, plan_buckets
from ocore_usage.problems import Problem
from ocore_usage.queries import Fill, ProjectUsageQuery, TotalsQuery, UsageQuery, resolve_range
from ocore_usage.responses import PeriodType, UsageRecord, UsageReport, UsageTotals
from ocore_usage.storage.keys import Scope
from ocore_usage.storage.projects import Project
from ocore_usage.timeline import Granularity, format_instant, now_micros

Clock = Callable[[], int]

_PROJECT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_READ_CHUNK = 256
"""Fewest buckets read at once while looking for non-empty records (``fill=none``)."""


class ProjectSource(Protocol):
    def get(self, project_id: str) -> Project | None: ...

    def list_org(self, org_id: str) -> list[Project]: ...


class SeriesSource(Protocol):
    def read_series(
        self, scope: Scope, identifier: str, granularity: Granularity, first_bucket: int, last_bucket: int
    ) -> dict[int, Usage]: ...


@dataclass(frozen=True, slots=True)
class _Entry:
    project: Project
    bucket: OutputBucket
    usage: Usage


@dataclass(slots=True)
class _Page:
    entries: list[_Entry] = field(default_factory=list)
    next_position: Position | None = None


@dataclass
class Reports:
    """The read use cases over injected repositories, page tokens and clock."""

    projects: ProjectSource
    rollups: SeriesSource
    tokens: PageTokens
    clock: Clock = now_micros

    # ------------------------------------------------------------ GET /projects/{id}/usage

    def project_usage(self, org_id: str, project_id: str, query: ProjectUsageQuery) -> UsageReport:
        endpoint = f"GET /projects/{project_id}/usage"
        return self._single_project(org_id, project_id, query, endpoint)

    # ------------------------------------------------------------ GET /usage

    def usage(self, org_id: str, query: UsageQuery) -> UsageReport:
        if query.project_id is not None:
            return self._single_project(org_id, query.project_id, query, "GET /usage")
        return self._organization(org_id, query)

    # ------------------------------------------------------------ GET /usage/totals

    def usage_totals(self, org_id: str, query: TotalsQuery) -> UsageTotals:
        time_range = resolve_range(query.start_date, query.end_date, Period.TOTAL, self.clock())
        records = []
        for project in self._org_projects(org_id):
            total = self.read_total(Scope.PROJECT, project.project_id, time_range)
            if not project.deleted or not total.is_empty:
                records.append(_record(total, time_range.start, "total", project))
        return UsageTotals(
            totals=records,
            startDate=format_instant(time_range.start),
            endDate=format_instant(time_range.end),
        )

    # ------------------------------------------------------------ reading

    def read_plan(self, scope: Scope, identifier: str, plan: ReadPlan) -> list[Usage]:
        """The value of each output bucket of ``plan``: one Query per planned run."""
        stored: dict[StoredBucket, Usage] = {}
        for run in plan.reads:
            found = self.rollups.read_series(scope, identifier, run.granularity, run.first, run.last)
            stored.update((StoredBucket(run.granularity, start), usage) for start, usage in found.items())
        return plan.assemble(stored)

    def read_total(self, scope: Scope, identifier: str, time_range: TimeRange) -> Usage:
        (total,) = self.read_plan(scope, identifier, plan_buckets(output_buckets(time_range, Period.TOTAL)))
        return total

    # ------------------------------------------------------------ the two scopes

    def _single_project(self, org_id: str, project_id: str, query: ProjectUsageQuery, endpoint: str) -> UsageReport:
        period = query.period
        fill = query.fill or Fill.ZERO
        time_range, position, binding = self._resume(org_id, endpoint, query)
        project = self._project_of(org_id, project_id)
        if position is not None and position.project_id != project.project_id:
            raise Problem("invalid_token", "next_token does not belong to this project")

        page = self._collect([project], time_range, period, fill, query.limit, position)
        if position is None and page.next_position is None:
            # Every record is on this page: the totals are their merge, no further reads.
            total = merge_all(entry.usage for entry in page.entries)
        else:
            total = self.read_total(Scope.PROJECT, project.project_id, time_range)
        return self._report(page, period, time_range, _record(total, time_range.start, "total", project), binding)

    def _organization(self, org_id: str, query: UsageQuery) -> UsageReport:
        period = query.period
        fill = query.fill or Fill.NONE
        time_range, position, binding = self._resume(org_id, "GET /usage", query)
        projects = self._org_projects(org_id)

        def listed(project: Project) -> bool:  # the projects /usage/totals lists
            return not project.deleted or not self.read_total(Scope.PROJECT, project.project_id, time_range).is_empty

        page = self._collect(projects, time_range, period, fill, query.limit, position, include=listed)
        total = self.read_total(Scope.ORG, org_id, time_range)
        return self._report(page, period, time_range, _record(total, time_range.start, "total", None), binding)

    def _report(
        self, page: _Page, period: Period, time_range: TimeRange, totals: UsageRecord, binding: PageBinding
    ) -> UsageReport:
        period_type: PeriodType = period.value
        next_token = None
        if page.next_position is not None:
            next_token = self.tokens.issue(binding, PageState(time_range, page.next_position))
        return UsageReport(
            items=[_record(e.usage, e.bucket.period_start, period_type, e.project) for e in page.entries],
            period=period.value,
            totals=totals,
            startDate=format_instant(time_range.start),
            endDate=format_instant(time_range.end),
            nextToken=next_token,
        )

    # ------------------------------------------------------------ paging

    def _resume(
        self, org_id: str, endpoint: str, query: ProjectUsageQuery
    ) -> tuple[TimeRange, Position | None, PageBinding]:
        """The effective range, where this page starts, and what a token of this request is bound to."""
        time_range = resolve_range(query.start_date, query.end_date, query.period, self.clock())
        binding = PageBinding(org_id, endpoint, query.model_dump(exclude={"limit", "next_token"}))
        if query.next_token is None:
            return time_range, None, binding
        state = self.tokens.open(binding, query.next_token)
        return state.time_range, state.position, binding

    def _collect(
        self,
        projects: Sequence[Project],
        time_range: TimeRange,
        period: Period,
        fill: Fill,
        limit: int,
        position: Position | None,
        include: Callable[[Project], bool] = lambda _: True,
    ) -> _Page:
        """Up to ``limit`` records from ``position`` on, and the position of the record after them.

        With ``fill=zero`` every bucket of each project that ``include`` accepts is a record, so
        only the page's buckets are read; with ``fill=none`` buckets are read in chunks until the
        page is full and the next non-empty record is found.
        """
        page = _Page()
        all_buckets = output_buckets(time_range, period)
        for project in projects:
            buckets: Sequence[OutputBucket] = all_buckets
            if position is not None:
                if project.project_id < position.project_id:
                    continue
                if project.project_id == position.project_id:
                    buckets = [b for b in all_buckets if b.period_start >= position.period_start]
            if fill is Fill.ZERO:
                if not buckets or not include(project):
                    continue
                room = limit - len(page.entries)
                if room == 0:
                    page.next_position = Position(project.project_id, buckets[0].period_start)
                    return page
                taken = buckets[:room]
                values = self.read_plan(Scope.PROJECT, project.project_id, plan_buckets(taken))
                page.entries.extend(_Entry(project, b, u) for b, u in zip(taken, values, strict=True))
                if len(buckets) > room:
                    page.next_position = Position(project.project_id, buckets[room].period_start)
                    return page
                continue
            offset = 0
            while offset < len(buckets):
                chunk = buckets[offset : offset + max(limit - len(page.entries) + 1, MIN_READ_CHUNK)]
                values = self.read_plan(Scope.PROJECT, project.project_id, plan_buckets(chunk))
                for bucket, usage in zip(chunk, values, strict=True):
                    if usage.is_empty:
                        continue
                    if len(page.entries) == limit:
                        page.next_position = Position(project.project_id, bucket.period_start)
                        return page
                    page.entries.append(_Entry(project, bucket, usage))
                offset += len(chunk)
        return page

    # ------------------------------------------------------------ projects

    def _project_of(self, org_id: str, project_id: str) -> Project:
        """The caller's project; an unknown id and another org's project get the same answer."""
        project = self.projects.get(project_id) if _PROJECT_ID.match(project_id) else None
        if project is None or project.org_id != org_id:
            raise Problem("project_not_found", f"no project {project_id!r} in your organization")
        return project

    def _org_projects(self, org_id: str) -> list[Project]:
        return sorted((p for p in self.projects.list_org(org_id) if p.org_id == org_id), key=lambda p: p.project_id)


def _record(usage: Usage, period_start: int, period_type: PeriodType, project: Project | None) -> UsageRecord:
    return UsageRecord.of(
        usage,
        period_start=period_start,
        period_type=period_type,
        project_id=project.project_id if project else None,
        project_name=project.name if project else None,
    )


@cache
def reports() -> Reports:
    """The process's use cases on the service's tables (built on first request, not at import)."""
    from ocore_usage.settings import get_settings
    from ocore_usage.wiring import tables

    built = tables()
    return Reports(
        projects=built.project_repository,
        rollups=built.rollup_repository,
        tokens=PageTokens(ssm_key_source(get_settings().pagination_key_parameter)),
    )
