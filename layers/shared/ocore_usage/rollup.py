"""The rollup: pending marks in, recomputed hourly/daily/monthly buckets out (SPEC section 7).

Two stages, each over its own sharded marks:

1. project marks: recompute each marked project hour from its samples, store the project's
   hourly bucket and its part of the org hour (sums and instance occupancy), recompute the
   project's days and months from its hours and days, then mark the org hours stale;
2. org marks: recompute each marked org hour from its projects' parts (the org-wide peak
   comes from their combined occupancy), then the org's days and months.

Every bucket is recomputed from its inputs and overwritten, never incremented, so re-running,
running twice at once, or crashing half-way all converge: a mark is deleted only after the
buckets it asked for are written, and only if no writer renewed it meanwhile. A shard is rolled
by one worker at a time under a lease. Work grows with the marks, not with the history: a run
with nothing pending reads the shard heads in one request and stops.
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from ocore_usage.aggregation import Occupancy, Usage, merge_all
from ocore_usage.attribution import MeteredInterval, hour_usage
from ocore_usage.storage.keys import SHARDS, Scope
from ocore_usage.storage.projects import ProjectRepository
from ocore_usage.storage.rollups import RollupRepository
from ocore_usage.storage.samples import SampleRepository
from ocore_usage.storage.work import Mark, ShardHead, WorkQueue
from ocore_usage.timeline import (
    MICROS_PER_DAY,
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    Granularity,
    add_months,
    floor_day,
    floor_month,
    now_micros,
)
from ocore_usage.versions import resolve

LEASE = 360 * MICROS_PER_SECOND
"""Longer than the function's timeout, so a lease outlives the worker that took it."""


@dataclass(slots=True)
class RollupResult:
    processed: int = 0
    """Samples read to recompute the marked hours."""
    remaining: int = 0
    """Marks still pending in the shards this run was asked to take."""
    buckets_written: int = 0
    oldest_mark_age_seconds: float = 0.0
    _samples: set[tuple[str, str]] = field(default_factory=set, repr=False)

    def as_response(self) -> dict[str, int]:
        return {"processed": self.processed, "remaining": self.remaining}


class RollupService:
    def __init__(
        self,
        samples: SampleRepository,
        work: WorkQueue,
        rollups: RollupRepository,
        projects: ProjectRepository,
        clock: Callable[[], int] = now_micros,
        batch_marks: int = 2000,
    ) -> None:
        self.samples = samples
        self.work = work
        self.rollups = rollups
        self.projects = projects
        self.clock = clock
        self.batch_marks = batch_marks

    def run(self, shards: Iterable[int] | None = None, has_time: Callable[[], bool] = lambda: True) -> RollupResult:
        """Process the pending work of ``shards`` (all by default) while ``has_time()`` says so."""
        wanted = set(range(SHARDS)) if shards is None else set(shards)
        owner = uuid.uuid4().hex
        result = RollupResult()
        heads = self.work.heads()
        project_heads = [h for h in heads if h.kind is Scope.PROJECT and h.shard in wanted and h.has_work]
        for head in project_heads:
            self._roll_shard(head, owner, result, has_time)
        if project_heads:
            heads = self.work.heads()  # the project stage has just marked org hours
        for head in heads:
            if head.kind is Scope.ORG and head.shard in wanted and head.has_work:
                self._roll_shard(head, owner, result, has_time)
        result.processed = len(result._samples)
        return result

    # ------------------------------------------------------------------ shards
    def _roll_shard(self, head: ShardHead, owner: str, result: RollupResult, has_time: Callable[[], bool]) -> None:
        if not has_time() or not self.work.acquire(head, owner, self.clock(), LEASE):
            result.remaining += self.work.count(head.kind, head.shard)
            return
        done: int | None = None
        try:
            while True:
                marks = self.work.pending(head.kind, head.shard, self.batch_marks)
                if not marks:
                    done = head.seq
                    break
                self._note_lag(marks, result)
                if head.kind is Scope.PROJECT:
                    self._roll_projects(marks, result)
                else:
                    self._roll_orgs(marks, result)
                self.work.clear(marks)
                if not has_time():
                    result.remaining += self.work.count(head.kind, head.shard)
                    break
        finally:
            self.work.release(head, owner, done)

    def _note_lag(self, marks: list[Mark], result: RollupResult) -> None:
        oldest = min(mark.marked_at for mark in marks)
        age = max(0, self.clock() - oldest) / MICROS_PER_SECOND
        result.oldest_mark_age_seconds = max(result.oldest_mark_age_seconds, age)

    # ------------------------------------------------------------------ stage 1: projects
    def _roll_projects(self, marks: list[Mark], result: RollupResult) -> None:
        hours_of = _hours_by_identifier(marks)
        registry = self.projects.get_many(sorted(hours_of), consistent=True)
        stale_org_hours: set[tuple[str, int]] = set()
        for project_id, hours in sorted(hours_of.items()):
            project = registry.get(project_id)
            if project is None:
                self._hold(project_id, hours)
                continue
            live = self._resolve_samples(project_id, hours)
            hourly: dict[int, Usage] = {}
            parts: dict[int, tuple[Usage, Occupancy]] = {}
            for hour in hours:
                readings = {**live.get(hour - MICROS_PER_HOUR, {}), **live.get(hour, {})}
                result._samples.update((project_id, sample_id) for sample_id in readings)
                computed = hour_usage(hour, readings.values())
                hourly[hour] = computed.usage
                parts[hour] = (computed.usage, computed.occupancy)
            self.rollups.write_series(Scope.PROJECT, project_id, Granularity.HOUR, hourly)
            self.rollups.write_contributions(project.org_id, project_id, parts)
            result.buckets_written += len(hourly) + self._roll_calendar(Scope.PROJECT, project_id, hours)
            stale_org_hours.update((project.org_id, hour) for hour in hours)
        self.work.mark(Scope.ORG, stale_org_hours, self.clock())

    def _resolve_samples(self, project_id: str, hours: list[int]) -> dict[int, dict[str, MeteredInterval]]:
        """The counted version of every sample that can overlap ``hours``, by start-hour partition.

        Samples overlapping hour ``h`` start in ``h`` or the hour before. New pages are resolved
        against the samples' identities first (``versions.resolve``); the writes go tombstones,
        then marks for the other hours a superseded version overlaps, then identities, then the
        indexed set, so a crash in between only leaves the same resolution to be made again.
        """
        partitions = self.samples.read_partitions(project_id, {h - d for h in hours for d in (0, MICROS_PER_HOUR)})
        new_ids = {entry.sample_id for partition in partitions.values() for entry in partition.new_entries()}
        if new_ids:
            resolution = resolve(partitions, self.samples.identities(project_id, new_ids))
            self.samples.write_tombstones(project_id, resolution.tombstones)
            # a version that stopped counting may overlap the hour after its partition too
            elsewhere = {h + d for h in resolution.superseded for d in (0, MICROS_PER_HOUR)} - set(hours)
            self.work.mark(Scope.PROJECT, {(project_id, hour) for hour in elsewhere}, self.clock())
            self.samples.write_identities(project_id, resolution.identities)
            self.samples.write_indexed(project_id, partitions.values())
            resolution.apply(partitions)
        return {hour: partition.live() for hour, partition in partitions.items()}

    def _hold(self, project_id: str, hours: list[int]) -> None:
        """Park the hours of an unregistered project until project sync registers it."""
        self.work.hold(project_id, hours, self.clock())
        # Project sync may have registered it after we looked and before we parked: look again.
        if self.projects.get(project_id, consistent=True) is not None:
            self.work.release_held(project_id, self.clock())

    # ------------------------------------------------------------------ stage 2: orgs
    def _roll_orgs(self, marks: list[Mark], result: RollupResult) -> None:
        for org_id, hours in sorted(_hours_by_identifier(marks).items()):
            hourly: dict[int, Usage] = {}
            for hour in hours:
                parts = self.rollups.read_contributions(org_id, hour)
                sums = merge_all(usage for usage, _ in parts)
                peak = Occupancy.combine(occupancy for _, occupancy in parts).peak
                hourly[hour] = replace(sums, peak=peak)
            self.rollups.write_series(Scope.ORG, org_id, Granularity.HOUR, hourly)
            result.buckets_written += len(hourly) + self._roll_calendar(Scope.ORG, org_id, hours)

    # ------------------------------------------------------------------ days and months
    def _roll_calendar(self, scope: Scope, identifier: str, hours: list[int]) -> int:
        """Recompute the days of ``hours`` from their hours, and their months from their days."""
        days = sorted({floor_day(hour) for hour in hours})
        daily = {
            day: merge_all(self._read(scope, identifier, Granularity.HOUR, day, day + MICROS_PER_DAY - MICROS_PER_HOUR))
            for day in days
        }
        self.rollups.write_series(scope, identifier, Granularity.DAY, daily)
        months = sorted({floor_month(day) for day in days})
        monthly = {
            month: merge_all(
                self._read(scope, identifier, Granularity.DAY, month, add_months(month, 1) - MICROS_PER_DAY)
            )
            for month in months
        }
        self.rollups.write_series(scope, identifier, Granularity.MONTH, monthly)
        return len(daily) + len(monthly)

    def _read(self, scope: Scope, identifier: str, granularity: Granularity, first: int, last: int) -> list[Usage]:
        return list(self.rollups.read_series(scope, identifier, granularity, first, last, consistent=True).values())


def _hours_by_identifier(marks: list[Mark]) -> dict[str, list[int]]:
    hours: dict[str, set[int]] = defaultdict(set)
    for mark in marks:
        hours[mark.identifier].add(mark.hour)
    return {identifier: sorted(found) for identifier, found in hours.items()}


def shards_of_event(event: object) -> list[int] | None:
    """The shards an invocation asks for (``{"shards": [...]}``), or None for every shard."""
    if not isinstance(event, dict) or event.get("shards") is None:
        return None
    shards = event["shards"]
    if not isinstance(shards, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 0 <= s < SHARDS for s in shards
    ):
        raise ValueError(f"'shards' must be a list of shard numbers from 0 to {SHARDS - 1}")
    return shards
