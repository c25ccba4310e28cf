"""The reads' service: its repositories (small Protocols, so tests can hand in fakes), and how their requests run.

Independent requests run at once on a small thread pool shared by the reads (docs/read-api.md, "How fast"): every
run of a plan is its own Query, started as soon as the read knows it needs it. Pool tasks only ever call a
repository; only the request's own thread waits for them.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from concurrent.futures import Executor, Future, ThreadPoolExecutor
from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, Protocol

from ocore_usage.domain.periods import Period
from ocore_usage.domain.planner import OutputBucket, ReadPlan, StoredBucket, TimeRange, output_buckets, plan_buckets
from ocore_usage.domain.timeline import now_micros
from ocore_usage.usecases.reports.project_cache import ProjectCache

if TYPE_CHECKING:
    from ocore_usage.domain.aggregation import Usage
    from ocore_usage.domain.timeline import Granularity
    from ocore_usage.storage.keys import SeriesOwner
    from ocore_usage.storage.projects import Project
    from ocore_usage.usecases.reports.answers import Record
    from ocore_usage.usecases.reports.paging import PageTokens

Clock = Callable[[], int]

READ_WORKERS = 8
"""Requests of one read in flight at once (botocore keeps 10 connections per client)."""


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


class Cancellable(Protocol):
    def cancel(self) -> None: ...


@dataclass(frozen=True, slots=True)
class PendingPlan:
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
    """The read use cases' service: repositories, page tokens, the measure of a record, and the clock."""

    projects: ProjectSource
    rollups: SeriesSource
    tokens: PageTokens
    record_bytes: Callable[[Record], int]
    """What a record adds to the function's response (a page of totals must fit one)."""
    clock: Clock = now_micros
    executor: Executor | None = None
    """Where independent requests run (default: the process's read pool)."""
    watermark: Watermark | None = None
    """Up to when the stored series count every received sample (default: the clock, as when every
    sample is rolled the moment it arrives, e.g. in-memory series)."""

    @property
    def pool(self) -> Executor:
        return self.executor or _shared_pool()

    def lookup(self, project_id: str) -> Future[Project | None]:
        """``project_id``'s registry entry: answered in place when the project cache keeps it (a
        pool task costs more than that), else looked up on the pool."""
        kept = self.projects.kept(project_id) if isinstance(self.projects, ProjectCache) else None
        if kept is None:
            return self.pool.submit(self.projects.get, project_id)
        answered: Future[Project | None] = Future()
        answered.set_result(kept)
        return answered

    def submit_buckets(self, scope: SeriesOwner, identifier: str, buckets: Sequence[OutputBucket]) -> PendingPlan:
        """Start the queries of the plan of ``buckets`` (one per planned run), all at once."""
        plan, pool, read_series = plan_buckets(buckets), self.pool, self.rollups.read_series
        runs = tuple(
            (r.granularity, pool.submit(read_series, scope, identifier, r.granularity, r.first, r.last))
            for r in plan.reads
        )
        return PendingPlan(plan, runs)

    def submit_total(self, scope: SeriesOwner, identifier: str, time_range: TimeRange) -> PendingPlan:
        """Start the queries of the total of ``identifier``'s series over ``time_range``."""
        return self.submit_buckets(scope, identifier, output_buckets(time_range, Period.TOTAL))
