"""The three read use cases: one project's usage, the organization's usage, per-project totals.

Repositories come in through :class:`Reports` (small Protocols, so tests can hand in fakes);
nothing here scans a table. Every figure comes from stored rollups through the planner:
each request reads the buckets of the records it returns (one page of them), plus, when the
answer spans more than one page or the whole organization, the few buckets of the range's
totals.

Rules beyond the reference (see docs/read-api.md):

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
- ``/usage/totals`` lists every project of the org that is active or had usage in the range,
  ``limit`` projects a page (default :data:`~ocore_usage.api.queries.TOTALS_DEFAULT_LIMIT`), and a
  page ends before its records pass :data:`PAGE_BYTES` of JSON, so an answer always fits in a
  Lambda response.

What an org-wide read costs follows usage, never the projects the org ever registered: the
projects with usage come from the org's usage months (one Query over the months of the range,
a superset: each candidate's buckets are still read), the active ones from the registry's sparse
``ActiveByOrg`` index (only where the rules list projects without usage: ``fill=zero`` and
totals), and the registry entries of the other candidates by ``BatchGetItem``.

Beyond the published API (docs/read-api.md, "Beyond the published API"): a request's ``tz``
puts its daily and monthly buckets, defaults and date-only dates in that zone's calendar
(:mod:`ocore_usage.domain.zones`); every answer says up to when the samples received are counted
(``dataThrough``, from the rollup's watermark, read before any bucket so that the buckets read
are at least that fresh), and a record whose stretch ends after it is ``partial``.

Independent requests run at once on a small thread pool shared by the reads: the project lookup
of a one-project read runs beside its bucket queries (the answer waits for it and is a 404,
without the buckets, when the project is not the caller's), every run of a plan is its own
Query, and the totals of many projects are read a few projects ahead of the page being built.
Pool tasks only ever call a repository; only the request's own thread waits for them.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Callable, Generator, Iterable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from typing import Protocol

from ocore_usage.api import jsonnum
from ocore_usage.api.pagination import PageBinding, PageState, PageTokens, Position, ssm_key_source
from ocore_usage.api.queries import Fill, ProjectUsageQuery, TotalsQuery, UsageQuery, resolve_range
from ocore_usage.api.responses import UsageRecord, UsageReport, UsageTotals
from ocore_usage.domain.aggregation import ZERO, Usage, merge_all
from ocore_usage.domain.periods import Period
from ocore_usage.domain.planner import (
    OutputBucket,
    ReadPlan,
    StoredBucket,
    TimeRange,
    output_buckets,
    plan_buckets,
)
from ocore_usage.domain.problems import Problem, ProblemCode
from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity, floor_month, format_instant, now_micros
from ocore_usage.domain.zones import UTC_NAME, Calendar
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project

Clock = Callable[[], int]

_PROJECT_ID = re.compile(r"^[A-Za-z0-9._-]{1,64}$")
MIN_READ_CHUNK = 256
"""Fewest buckets read at once while looking for non-empty records (``fill=none``)."""
READ_WORKERS = 8
"""Requests of one read in flight at once (botocore keeps 10 connections per client)."""
LOOKAHEAD = 8
"""Projects whose totals (or listing checks) are read ahead of the page being built."""
REGISTRY_BATCH = 100
"""Registry entries fetched per BatchGetItem."""
PAGE_BYTES = 5_000_000
"""Most bytes the records of one ``/usage/totals`` page take in the function's response, where
the JSON body is itself a JSON string (each quote and backslash escaped): under Lambda's 6 MB."""


class ProjectSource(Protocol):
    def get(self, project_id: str) -> Project | None: ...

    def get_many(self, project_ids: list[str]) -> dict[str, Project]: ...

    def list_active(self, org_id: str) -> list[Project]: ...


class SeriesSource(Protocol):
    def read_series(
        self, scope: SeriesOwner, identifier: str, granularity: Granularity, first_bucket: int, last_bucket: int
    ) -> dict[int, Usage]: ...

    def projects_with_usage(self, org_id: str, first_month: int, last_month: int) -> set[str]: ...


class Watermark(Protocol):
    def data_through(self) -> int:
        """An instant before which every received sample is counted in every stored series."""
        ...


_Listing = Generator[tuple[Project, Usage | None]]
"""Listed projects in id order, each with its total when it was read (close it to stop reading ahead)."""


@dataclass(frozen=True, slots=True)
class _Entry:
    project: Project
    bucket: OutputBucket
    usage: Usage


@dataclass(slots=True)
class _Page:
    entries: list[_Entry] = field(default_factory=list)
    next_position: Position | None = None


@dataclass(frozen=True, slots=True)
class _Answer:
    """What every record of one answer shares: the range, its calendar and how fresh the data is."""

    time_range: TimeRange
    calendar: Calendar
    data_through: int

    def record(self, usage: Usage, bucket: OutputBucket, period: Period, project: Project | None) -> UsageRecord:
        granularity = period.granularity
        label = self.calendar.label(bucket.period_start, granularity) if granularity else None
        period_start = label or format_instant(bucket.period_start)
        return _record(usage, period_start, period.value, project, self._partial(bucket.end))

    def total(self, usage: Usage, project: Project | None) -> UsageRecord:
        start, end = self.time_range.start, self.time_range.end
        return _record(usage, format_instant(start), Period.TOTAL.value, project, self._partial(end))

    def _partial(self, end: int) -> bool:
        """The stretch ends after the watermark: samples received later may still change it."""
        return end > self.data_through


@dataclass(frozen=True, slots=True)
class _PendingPlan:
    """A plan whose queries are in flight, one per run; :meth:`values` waits for them."""

    plan: ReadPlan
    runs: tuple[tuple[Granularity, Future[dict[int, Usage]]], ...]

    def values(self) -> list[Usage]:
        stored: dict[StoredBucket, Usage] = {}
        for granularity, run in self.runs:
            stored.update((StoredBucket(granularity, start), usage) for start, usage in run.result().items())
        return self.plan.assemble(stored)

    def cancel(self) -> None:
        for _, run in self.runs:
            run.cancel()


@cache
def _shared_pool() -> ThreadPoolExecutor:
    """The reads' pool: one per process, its threads started on first use (not at import)."""
    return ThreadPoolExecutor(READ_WORKERS, thread_name_prefix="ocore-reads")


@dataclass
class Reports:
    """The read use cases over injected repositories, page tokens and clock."""

    projects: ProjectSource
    rollups: SeriesSource
    tokens: PageTokens
    clock: Clock = now_micros
    executor: Executor | None = None
    """Where independent requests run (default: the process's read pool)."""
    watermark: Watermark | None = None
    """Up to when the stored series count every received sample (default: the clock, as when every
    sample is rolled the moment it arrives, e.g. in-memory series)."""

    @property
    def pool(self) -> Executor:
        return self.executor or _shared_pool()

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
        answer, position, binding = self._resume(org_id, "GET /usage/totals", query, Period.TOTAL)
        time_range = answer.time_range
        candidates = self.pool.submit(self._projects_with_usage, org_id, time_range)
        active = self.pool.submit(self.projects.list_active, org_id)
        records: list[UsageRecord] = []
        size, next_position = 0, None
        listed = self._listed(org_id, time_range, active.result(), candidates.result(), position, every_total=True)
        for project, total in listed:
            record = answer.total(total if total is not None else ZERO, project)
            record_size = _response_bytes(record)
            if len(records) == query.limit or (records and size + record_size > PAGE_BYTES):
                next_position = Position(project.project_id, time_range.start)
                break
            records.append(record)
            size += record_size
        listed.close()
        next_token = None
        if next_position is not None:
            next_token = self.tokens.issue(binding, PageState(time_range, next_position))
        return UsageTotals(
            totals=records,
            startDate=format_instant(time_range.start),
            endDate=format_instant(time_range.end),
            dataThrough=format_instant(answer.data_through),
            nextToken=next_token,
        )

    # ------------------------------------------------------------ reading

    def submit_plan(self, scope: SeriesOwner, identifier: str, plan: ReadPlan) -> _PendingPlan:
        """Start the plan's queries (one per planned run), all at once."""
        runs = tuple(
            (
                run.granularity,
                self.pool.submit(self.rollups.read_series, scope, identifier, run.granularity, run.first, run.last),
            )
            for run in plan.reads
        )
        return _PendingPlan(plan, runs)

    def read_plan(self, scope: SeriesOwner, identifier: str, plan: ReadPlan) -> list[Usage]:
        """The value of each output bucket of ``plan``: one Query per planned run."""
        return self.submit_plan(scope, identifier, plan).values()

    def submit_total(self, scope: SeriesOwner, identifier: str, time_range: TimeRange) -> _PendingPlan:
        return self.submit_plan(scope, identifier, plan_buckets(output_buckets(time_range, Period.TOTAL)))

    def read_total(self, scope: SeriesOwner, identifier: str, time_range: TimeRange) -> Usage:
        (total,) = self.submit_total(scope, identifier, time_range).values()
        return total

    # ------------------------------------------------------------ the two scopes

    def _single_project(self, org_id: str, project_id: str, query: ProjectUsageQuery, endpoint: str) -> UsageReport:
        period, limit = query.period, query.limit
        fill = query.fill or Fill.ZERO
        answer, position, binding = self._resume(org_id, endpoint, query, period)
        time_range = answer.time_range
        if not _PROJECT_ID.match(project_id):
            raise _project_not_found(project_id)
        owner = self.pool.submit(self.projects.get, project_id)
        if position is not None and position.project_id != project_id:
            self._owned(owner, org_id, project_id)
            raise Problem(ProblemCode.INVALID_TOKEN, "next_token does not belong to this project")

        # Start every read this answer needs, then wait for the tenancy check before using any.
        buckets = _remaining(output_buckets(time_range, period, answer.calendar), project_id, position)
        known_paged = position is not None or (fill is Fill.ZERO and len(buckets) > limit)
        total = self.submit_total(SeriesOwner.PROJECT, project_id, time_range) if known_paged else None
        if fill is Fill.ZERO:
            taken = buckets[:limit]
            dense = self.submit_plan(SeriesOwner.PROJECT, project_id, plan_buckets(taken))
            project = self._owned(owner, org_id, project_id, dense, total)
            page = _Page([_Entry(project, b, u) for b, u in zip(taken, dense.values(), strict=True)])
            if len(buckets) > limit:
                page.next_position = Position(project_id, buckets[limit].period_start)
        else:
            sparse = _SparseRecords(self, project_id, buckets, limit)
            project = self._owned(owner, org_id, project_id, sparse, total)
            page = _Page()
            sparse.fill(page, project, limit)

        if total is None and page.next_position is None:
            # Every record is on this page: the totals are their merge, no further reads.
            total_usage = merge_all(entry.usage for entry in page.entries)
        else:
            (total_usage,) = (total or self.submit_total(SeriesOwner.PROJECT, project_id, time_range)).values()
        return self._report(page, period, answer, answer.total(total_usage, project), binding)

    def _organization(self, org_id: str, query: UsageQuery) -> UsageReport:
        period, limit = query.period, query.limit
        fill = query.fill or Fill.NONE
        answer, position, binding = self._resume(org_id, "GET /usage", query, period)
        time_range = answer.time_range
        org_total = self.submit_total(SeriesOwner.ORG, org_id, time_range)
        candidates = self.pool.submit(self._projects_with_usage, org_id, time_range)
        all_buckets = output_buckets(time_range, period, answer.calendar)
        if fill is Fill.NONE:
            ids = sorted(p for p in candidates.result() if position is None or p >= position.project_id)
            page = self._collect_sparse(org_id, ids, all_buckets, limit, position)
        else:
            active = self.projects.list_active(org_id)  # beside the two reads already in flight
            listed = self._listed(org_id, time_range, active, candidates.result(), position, every_total=False)
            page = self._collect_dense(listed, all_buckets, limit, position)
        (total,) = org_total.values()
        return self._report(page, period, answer, answer.total(total, None), binding)

    def _report(
        self, page: _Page, period: Period, answer: _Answer, totals: UsageRecord, binding: PageBinding
    ) -> UsageReport:
        time_range = answer.time_range
        next_token = None
        if page.next_position is not None:
            next_token = self.tokens.issue(binding, PageState(time_range, page.next_position))
        return UsageReport(
            items=[answer.record(e.usage, e.bucket, period, e.project) for e in page.entries],
            period=period.value,
            totals=totals,
            startDate=format_instant(time_range.start),
            endDate=format_instant(time_range.end),
            dataThrough=format_instant(answer.data_through),
            nextToken=next_token,
        )

    # ------------------------------------------------------------ paging

    def _resume(
        self, org_id: str, endpoint: str, query: ProjectUsageQuery | TotalsQuery, period: Period
    ) -> tuple[_Answer, Position | None, PageBinding]:
        """The effective range and freshness, where this page starts, and what a token of this request is bound to.

        The watermark is read first, so every bucket read after it holds at least what it promises.
        """
        data_through = self.watermark.data_through() if self.watermark is not None else self.clock()
        zone = query.calendar
        time_range = resolve_range(query.start_date, query.end_date, period, self.clock(), zone)
        binding = PageBinding(org_id, endpoint, _bound_parameters(query))
        if query.next_token is not None:
            state = self.tokens.open(binding, query.next_token)
            return _Answer(state.time_range, zone, data_through), state.position, binding
        return _Answer(time_range, zone, data_through), None, binding

    def _collect_sparse(
        self,
        org_id: str,
        project_ids: Sequence[str],
        all_buckets: Sequence[OutputBucket],
        limit: int,
        position: Position | None,
    ) -> _Page:
        """``fill=none``: up to ``limit`` non-empty records of ``project_ids`` (in order), project by project."""
        page = _Page()
        registry = _Registry(self, org_id, project_ids)
        for project_id in project_ids:
            buckets = _remaining(all_buckets, project_id, position)
            if not buckets:
                continue
            records = _SparseRecords(self, project_id, buckets, limit - len(page.entries))
            project = registry.get(project_id)
            if project is None:  # not (or no longer) this org's: the usage months are only a hint
                records.cancel()
                continue
            if records.fill(page, project, limit):
                break
        return page

    def _collect_dense(
        self,
        listed: _Listing,
        all_buckets: Sequence[OutputBucket],
        limit: int,
        position: Position | None,
    ) -> _Page:
        """``fill=zero``: every bucket of each listed project, up to ``limit``; the page's reads run at once."""
        page = _Page()
        reads: list[tuple[Project, Sequence[OutputBucket], _PendingPlan]] = []
        count = 0
        for project, _ in listed:
            buckets = _remaining(all_buckets, project.project_id, position)
            if not buckets:
                continue
            room = limit - count
            if room == 0:
                page.next_position = Position(project.project_id, buckets[0].period_start)
                break
            taken = buckets[:room]
            reads.append(
                (project, taken, self.submit_plan(SeriesOwner.PROJECT, project.project_id, plan_buckets(taken)))
            )
            count += len(taken)
            if len(buckets) > room:
                page.next_position = Position(project.project_id, buckets[room].period_start)
                break
        listed.close()
        for project, taken, pending in reads:
            page.entries.extend(_Entry(project, b, u) for b, u in zip(taken, pending.values(), strict=True))
        return page

    # ------------------------------------------------------------ projects

    def _owned(
        self, owner: Future[Project | None], org_id: str, project_id: str, *pending: _Cancellable | None
    ) -> Project:
        """The caller's project once its lookup is back; an unknown id and another org's project get
        the same answer, at once, and the reads started beside the lookup are dropped unseen."""
        project = owner.result()
        if project is None or project.org_id != org_id:
            for reads in pending:
                if reads is not None:
                    reads.cancel()
            raise _project_not_found(project_id)
        return project

    def _projects_with_usage(self, org_id: str, time_range: TimeRange) -> set[str]:
        last_hour = time_range.end - MICROS_PER_HOUR
        return self.rollups.projects_with_usage(org_id, floor_month(time_range.start), floor_month(last_hour))

    def _listed(
        self,
        org_id: str,
        time_range: TimeRange,
        active: Iterable[Project],
        with_usage: Iterable[str],
        position: Position | None,
        *,
        every_total: bool,
    ) -> _Listing:
        """The projects ``/usage/totals`` lists, in id order from ``position`` on: active ones, and
        deleted ones with usage in the range. Each comes with its total over the range when
        ``every_total`` (else only where it decided the listing), read ``LOOKAHEAD`` projects ahead.
        """
        by_id = {p.project_id: p for p in active if p.org_id == org_id}
        ids = sorted(by_id.keys() | set(with_usage))
        if position is not None:
            ids = [p for p in ids if p >= position.project_id]
        registry = _Registry(self, org_id, [p for p in ids if p not in by_id])

        def start(project_id: str) -> tuple[Project, _PendingPlan | None] | None:
            project = by_id.get(project_id) or registry.get(project_id)
            if project is None:
                return None
            needed = every_total or project.deleted
            return project, self.submit_total(SeriesOwner.PROJECT, project_id, time_range) if needed else None

        ahead: deque[tuple[Project, _PendingPlan | None]] = deque()
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


class _Cancellable(Protocol):
    def cancel(self) -> None: ...


class _SparseRecords:
    """One project's non-empty records from ``buckets`` on (``fill=none``), read in chunks; the
    first chunk's queries start at once."""

    def __init__(self, reports: Reports, project_id: str, buckets: Sequence[OutputBucket], room: int) -> None:
        self._reports = reports
        self._project_id = project_id
        self._buckets = buckets
        self._offset = 0
        self._pending = self._next(room)

    def _next(self, room: int) -> tuple[Sequence[OutputBucket], _PendingPlan] | None:
        if self._offset >= len(self._buckets):
            return None
        # one more than the room: the record after a full page is the next page's position
        chunk = self._buckets[self._offset : self._offset + max(room + 1, MIN_READ_CHUNK)]
        self._offset += len(chunk)
        return chunk, self._reports.submit_plan(SeriesOwner.PROJECT, self._project_id, plan_buckets(chunk))

    def fill(self, page: _Page, project: Project, limit: int) -> bool:
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
                page.entries.append(_Entry(project, bucket, usage))
            self._pending = self._next(limit - len(page.entries))
        return False

    def cancel(self) -> None:
        if self._pending is not None:
            self._pending[1].cancel()


class _Registry:
    """Registry entries of ``project_ids`` (in that order), fetched 100 at a time as they are
    needed, one batch ahead; a project of another org reads as absent."""

    def __init__(self, reports: Reports, org_id: str, project_ids: Sequence[str]) -> None:
        self._reports = reports
        self._org_id = org_id
        self._batches = [list(project_ids[i : i + REGISTRY_BATCH]) for i in range(0, len(project_ids), REGISTRY_BATCH)]
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


def _remaining(buckets: Sequence[OutputBucket], project_id: str, position: Position | None) -> Sequence[OutputBucket]:
    """A project's buckets from ``position`` on (all of them for a project after it)."""
    if position is None or project_id != position.project_id:
        return buckets
    return [b for b in buckets if b.period_start >= position.period_start]


def _project_not_found(project_id: str) -> Problem:
    return Problem(ProblemCode.PROJECT_NOT_FOUND, f"no project {project_id!r} in your organization")


def _bound_parameters(query: ProjectUsageQuery | TotalsQuery) -> dict[str, object]:
    """What a page token binds: every parameter but ``limit``, ``next_token`` and ``format`` (a page
    holds the same records as JSON or CSV, so a token serves both); ``tz`` only when it names a zone
    other than UTC, so tokens of the published parameters stay what they were."""
    excluded = {"limit", "next_token", "format"}
    if query.tz in (None, UTC_NAME):
        excluded.add("tz")
    return {name: value for name, value in query.values().items() if name not in excluded}


def _record(usage: Usage, period_start: str, period_type: str, project: Project | None, partial: bool) -> UsageRecord:
    return UsageRecord.of(
        usage,
        period_start=period_start,
        period_type=period_type,
        project_id=project.project_id if project else None,
        project_name=project.name if project else None,
        partial=partial,
    )


def _response_bytes(record: UsageRecord) -> int:
    """What ``record`` adds to the function's response: its JSON (ASCII), a comma, and one more
    byte per quote and backslash, which the response escapes once more around the body."""
    text = jsonnum.dumps(record.body())
    return len(text) + 1 + text.count('"') + text.count("\\")


@cache
def reports() -> Reports:
    """The process's use cases on the service's tables (built on first request, not at import)."""
    from ocore_usage.settings import setting
    from ocore_usage.storage.work import WorkQueue
    from ocore_usage.usecases.freshness import RollupWatermark
    from ocore_usage.wiring import tables

    built = tables()
    return Reports(
        projects=built.project_repository,
        rollups=built.rollup_repository,
        tokens=PageTokens(ssm_key_source(setting("PAGINATION_KEY_PARAMETER"))),
        watermark=RollupWatermark(WorkQueue(built.work)),
    )
