"""The rollup: pending marks in, recomputed hourly/daily/monthly buckets out (docs/pipeline.md, "4. Rollup").

Two stages, each over its own sharded marks: project marks (each marked hour from its samples, the project's
hourly bucket and its part of the org hour, its days and months, then the org hours marked stale), then org
marks (each org hour from its projects' parts, whose combined occupancy gives the org-wide peak, then its days
and months). Every bucket is recomputed and overwritten, never incremented; why that converges, how a failing
tenant is parked and why the wrapping cursor is fair are in the doc ("Why it converges", "One tenant never
stalls another", "Rolling a shard").
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field, replace

from aws_lambda_powertools import Logger

from ocore_usage.domain.aggregation import Occupancy, Usage, merge_all
from ocore_usage.domain.attribution import hour_usage
from ocore_usage.domain.metered import MeteredInterval
from ocore_usage.domain.periods import UNITS, unit
from ocore_usage.domain.timeline import (
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    Granularity,
    format_instant,
    now_micros,
)
from ocore_usage.domain.versions import resolve
from ocore_usage.storage.heads import ShardHead
from ocore_usage.storage.keys import MARKS_END, MAX_SHARDS, SHARDS, SeriesOwner, shard_of
from ocore_usage.storage.leases import Lease, LeaseLost
from ocore_usage.storage.marks import Mark, MarkPage
from ocore_usage.storage.parked import Retry
from ocore_usage.usecases.ports import ProjectDirectory, RollupSeries, RollupWork, SampleVersions

logger = Logger(service="ocore-usage", child=True)

LEASE_MARGIN = 15 * MICROS_PER_SECOND
"""A lease lasts the invocation's remaining time plus this: Lambda stops an invocation at its timeout, so none of its
writes lands after its lease (docs/pipeline.md, "Leases")."""
STOP_BEFORE_MS = 30_000
"""A worker takes no new batch with less time than this left: a batch must end before the lease."""
RETRY_FIRST = 30 * MICROS_PER_SECOND
RETRY_CAP = 15 * 60 * MICROS_PER_SECOND
"""A failed project (or org) is retried after 30 s, 1, 2, 4, 8 min, then every 15 min."""


def retry_delay(attempts: int) -> int:
    """How long a project (or org) that failed ``attempts`` times in a row waits before the next try."""
    return min(RETRY_FIRST << min(attempts - 1, 16), RETRY_CAP)


@dataclass(frozen=True, slots=True)
class Deadline:
    """The time an invocation has left: Lambda's ``context.get_remaining_time_in_millis``."""

    remaining_ms: Callable[[], int]

    def has_time(self) -> bool:
        return self.remaining_ms() > STOP_BEFORE_MS

    def lease(self) -> int:
        """How long a shard taken now may be held: until the invocation ends, plus a margin."""
        return self.remaining_ms() * 1000 + LEASE_MARGIN


NO_DEADLINE = Deadline(lambda: 345_000)
"""Runs that are not a Lambda invocation (tests, scripts): always time for a batch, 6-minute leases."""


@dataclass(slots=True)
class RollupResult:
    processed: int = 0
    """Samples read to recompute the marked hours."""
    remaining: int = 0
    """Marks still pending in the shards this run was asked to take (parked ones not counted)."""
    buckets_written: int = 0
    oldest_mark_age_seconds: float = 0.0
    failures: int = 0
    """Projects, orgs and shards whose rollup failed in this run (parked for a retry, or left as they were)."""
    failed: list[str] = field(default_factory=list)
    """Ids of the projects and orgs parked by this run."""
    _samples: set[tuple[str, str]] = field(default_factory=set, repr=False)
    _moved: int = field(default=0, repr=False)
    """Marks moved out of old shards (after a growth) into the shards that now hold their ids."""

    def as_response(self) -> dict[str, int]:
        return {"processed": self.processed, "remaining": self.remaining}


@dataclass(slots=True)
class _Sweep:
    """A worker's way through one shard: laps over the mark keys that start after ``start`` and wrap."""

    start: str
    cursor: str = ""
    wrapped: bool = False
    rolled: bool = False
    """Something was rolled in this lap (else the shard holds only parked marks, or none)."""
    parked: dict[str, int] = field(default_factory=dict)
    """Parked ids met in this lap, with when they are due."""

    def __post_init__(self) -> None:
        self.cursor = self.start

    def window(self) -> tuple[str, str]:
        """The key range ``(after, upto]`` to read next."""
        return self.cursor, (self.start if self.wrapped else MARKS_END)

    def advance(self, page: MarkPage) -> bool:
        """Move past ``page``; True when the lap is complete."""
        if page.last:
            self.cursor = page.last
        if not page.exhausted:
            return False
        if self.wrapped or not self.start:
            return True
        self.wrapped, self.cursor = True, ""
        return False

    def next_lap(self) -> None:
        """Start again from the first mark: a lap reads through every key, so no mark waits more than one."""
        self.start, self.cursor, self.wrapped, self.rolled = "", "", False, False
        self.parked.clear()


@dataclass
class RollupService:
    samples: SampleVersions
    work: RollupWork
    rollups: RollupSeries
    projects: ProjectDirectory
    clock: Callable[[], int] = now_micros
    batch_marks: int = 2000

    def run(self, shards: Iterable[int] | None = None, deadline: Deadline = NO_DEADLINE) -> RollupResult:
        """Process the pending work of ``shards`` (all by default) while ``deadline`` leaves time.

        The project stage takes the project shards asked for; the org stage the org shards asked for and, after them,
        any other org shard with work that no worker holds (project stages, this one's and other workers', mark org
        hours in every org shard).
        """
        owner = uuid.uuid4().hex
        result = RollupResult()
        heads = self.work.heads()
        count = self.work.shard_count
        wanted = set(range(count)) if shards is None else set(shards)
        if wanted - set(range(count)):
            raise ValueError(f"'shards' must be shard numbers from 0 to {count - 1}")
        if self._roll_stage(SeriesOwner.PROJECT, heads, wanted, owner, result, deadline):
            heads = self.work.heads()  # the project stage has just marked org hours
        self._roll_stage(SeriesOwner.ORG, heads, wanted, owner, result, deadline)
        result.processed = len(result._samples)
        return result

    def _roll_stage(
        self,
        kind: SeriesOwner,
        heads: list[ShardHead],
        wanted: set[int],
        owner: str,
        result: RollupResult,
        deadline: Deadline,
    ) -> bool:
        """Roll the due shards of ``kind`` asked for (and, for orgs, any other that no worker holds), then
        those that marks moved out of old shards (after a growth) made due; whether any was due."""
        rolled: set[int] = set()
        while True:
            now, moved = self.clock(), result._moved
            due = [h for h in heads if h.kind is kind and h.shard not in rolled and h.due(now)]
            if kind is SeriesOwner.PROJECT:
                due = [h for h in due if h.shard in wanted]
            for head in sorted(due, key=lambda h: h.shard not in wanted):
                if head.shard in wanted:
                    self._roll_shard(head, owner, result, deadline, report=True)
                elif not head.leased(self.clock()):
                    self._roll_shard(head, owner, result, deadline, report=False)
                rolled.add(head.shard)
            if not due or result._moved == moved:
                return bool(rolled)
            heads = self.work.heads()

    # ------------------------------------------------------------------ shards
    def _roll_shard(
        self, head: ShardHead, owner: str, result: RollupResult, deadline: Deadline, *, report: bool
    ) -> None:
        """Roll one shard under its lease, lap after lap, until a lap finds nothing to roll or time runs out;
        ``report``: count the shard's marks in ``remaining`` when it cannot be taken (or fails)."""
        lease = self.work.acquire(head, owner, self.clock(), deadline.lease()) if deadline.has_time() else None
        if lease is not None and self.work.outgrown_lease_held(lease, self.clock()):
            # a worker of the count before a growth may be rolling one of this shard's projects: the next run
            self.work.release(lease, cursor=head.cursor, done=None, retry_at=None, since=0, parked=True)
            lease = None
        if lease is None:
            if report:
                result.remaining += self.work.count(head.kind, head.shard)
            return
        sweep = _Sweep(head.cursor)
        lap_began = self.clock()
        done: int | None = None
        retry_at: int | None = None
        retries: dict[str, Retry] = {}
        try:
            if head.parked:
                retries = self.work.retries(head.kind, head.shard)
            while True:
                page = self.work.take(head.kind, head.shard, self.batch_marks, *sweep.window())
                now = self.clock()
                ready = []
                for mark in _floored(page.marks, lease.origin_floor):
                    retry = retries.get(mark.identifier)
                    if retry is not None and retry.retry_at > now:
                        sweep.parked[mark.identifier] = retry.retry_at
                    else:
                        ready.append(mark)
                if ready:
                    self._note_lag(ready, result)
                    self._roll_batch(lease, ready, retries, result)
                    sweep.rolled = True
                if sweep.advance(page):
                    if not sweep.rolled:
                        done = head.seq
                        retry_at = min(sweep.parked.values(), default=None)
                        break
                    sweep.next_lap()
                    lap_began = self.clock()
                if not deadline.has_time():
                    result.remaining += self._ready_marks(head, retries)
                    break
        except LeaseLost:
            # The count grew since the lease was taken (marking the hours again taught it: the shard is
            # given back, still due), or another worker holds the shard (the release changes nothing).
            if self.work.shard_count > lease.shards:
                logger.info(
                    "shard count grew while rolling; its rolled hours are marked stale again", extra=_shard_log(head)
                )
                if report:
                    result.remaining += self._count_or_one(head)
            else:
                logger.warning("shard lease lost; its rolled hours are marked stale again", extra=_shard_log(head))
                result.failures += 1
        except Exception:
            logger.exception("shard rollup failed; it stays pending", extra=_shard_log(head))
            result.failures += 1
            if report:
                result.remaining += self._count_or_one(head)
        try:
            self.work.release(
                lease,
                cursor="" if done is not None else sweep.cursor,
                done=done,
                retry_at=retry_at,
                since=lap_began,
                parked=bool(retries),
            )
        except Exception:  # the lease runs out on its own; the shard is still due
            logger.exception("shard lease not given back", extra=_shard_log(head))
            result.failures += 1

    def _count_or_one(self, head: ShardHead) -> int:
        """The shard's marks, or at least one when even counting fails (it had work)."""
        try:
            return max(1, self.work.count(head.kind, head.shard))
        except Exception:
            return 1

    def _ready_marks(self, head: ShardHead, retries: dict[str, Retry]) -> int:
        """Marks of the shard that are not parked."""
        now = self.clock()
        parked = [identifier for identifier, retry in retries.items() if retry.retry_at > now]
        return self.work.count(head.kind, head.shard) - sum(
            self.work.count_of(head.kind, head.shard, identifier) for identifier in parked
        )

    def _roll_batch(self, lease: Lease, marks: list[Mark], retries: dict[str, Retry], result: RollupResult) -> None:
        """Roll ``marks``: as one batch, or one project (or org) at a time if the batch fails; then clear
        the marks rolled, and park the projects (or orgs) that failed.

        Marks of a project (or org) that the lease's shard count puts in another shard (written before
        the count grew) are not rolled here but moved there: only one shard's worker rolls a project.
        """
        strays = [mark for mark in marks if shard_of(mark.identifier, lease.shards) != lease.shard]
        if strays:
            self.work.mark(lease.kind, {(m.identifier, m.hour) for m in strays}, self.clock(), _origin(strays))
            result._moved += len(strays)
            marks = [mark for mark in marks if shard_of(mark.identifier, lease.shards) == lease.shard]
        roll = self._roll_projects if lease.kind is SeriesOwner.PROJECT else self._roll_orgs
        written = result.buckets_written
        failed: dict[str, Exception] = {}
        try:
            if marks:
                roll(marks, result)
            rolled = marks
        except Exception:
            result.buckets_written = written
            rolled = []
            for group in _marks_by_identifier(marks).values():
                try:
                    roll(group, result)
                    rolled += group
                except Exception as error:
                    failed[group[0].identifier] = error
        try:
            self.work.clear(rolled + strays, lease)
        except LeaseLost:
            # The buckets just written may race the new holder's: mark them stale so it recomputes them.
            self.work.mark(lease.kind, {(m.identifier, m.hour) for m in rolled}, self.clock(), _origin(rolled))
            raise
        recovered = {mark.identifier for mark in rolled + strays} & retries.keys()  # a moved one is retried there
        if recovered:
            self.work.unpark(lease.kind, lease.shard, recovered)
            for identifier in recovered:
                del retries[identifier]
        for identifier, failure in sorted(failed.items()):
            retries[identifier] = self._park(lease, identifier, retries.get(identifier), failure, result)

    def _park(
        self, lease: Lease, identifier: str, previous: Retry | None, error: Exception, result: RollupResult
    ) -> Retry:
        now = self.clock()
        attempts = (previous.attempts if previous else 0) + 1
        retry = Retry(identifier, attempts, now + retry_delay(attempts))
        self.work.park(lease.kind, lease.shard, retry, f"{type(error).__name__}: {error}", now)
        result.failures += 1
        result.failed.append(identifier)
        logger.error(
            "rollup failed; retrying later",
            exc_info=error,
            extra={
                "projectId" if lease.kind is SeriesOwner.PROJECT else "orgId": identifier,
                "attempts": attempts,
                "retryAt": format_instant(retry.retry_at),
                "error": f"{type(error).__name__}: {error}",
            },
        )
        return retry

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
            live = self._resolve_samples(project_id, hours, _origin(marks))
            hourly: dict[int, Usage] = {}
            parts: dict[int, tuple[Usage, Occupancy]] = {}
            for hour in hours:
                readings = {**live.get(hour - MICROS_PER_HOUR, {}), **live.get(hour, {})}
                result._samples.update((project_id, sample_id) for sample_id in readings)
                computed = hour_usage(hour, readings.values())
                hourly[hour] = computed.usage
                parts[hour] = (computed.usage, computed.occupancy)
            self.rollups.write_series(SeriesOwner.PROJECT, project_id, Granularity.HOUR, hourly)
            self.rollups.write_contributions(project.org_id, project_id, parts)
            result.buckets_written += len(hourly) + self._roll_calendar(SeriesOwner.PROJECT, project_id, hours)
            stale_org_hours.update((project.org_id, hour) for hour in hours)
        # the org hours carry the project marks' origin: the reads' watermark waits for the org series too
        self.work.mark(SeriesOwner.ORG, stale_org_hours, self.clock(), _origin(marks))

    def _resolve_samples(
        self, project_id: str, hours: list[int], origin: int | None = None
    ) -> dict[int, dict[str, MeteredInterval]]:
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
            self.work.mark(SeriesOwner.PROJECT, {(project_id, hour) for hour in elsewhere}, self.clock(), origin)
            self.samples.write_identities(project_id, resolution.identities, self.clock())
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
            self.rollups.write_series(SeriesOwner.ORG, org_id, Granularity.HOUR, hourly)
            result.buckets_written += len(hourly) + self._roll_calendar(SeriesOwner.ORG, org_id, hours)

    # ------------------------------------------------------------------ days and months
    def _roll_calendar(self, scope: SeriesOwner, identifier: str, hours: list[int]) -> int:
        """Recompute each coarser unit's buckets that hold ``hours`` from the finer unit's buckets
        (days from hours, then months from days); returns how many buckets were written."""
        changed, written = hours, 0
        for coarser in reversed(UNITS):
            if coarser.built_from is None:
                continue
            finer = unit(coarser.built_from)
            rebuilt = {
                bucket: merge_all(
                    self._read(scope, identifier, finer.granularity, bucket, finer.start(coarser.next(bucket) - 1))
                )
                for bucket in sorted({coarser.start(start) for start in changed})
            }
            self.rollups.write_series(scope, identifier, coarser.granularity, rebuilt)
            changed, written = list(rebuilt), written + len(rebuilt)
        return written

    def _read(
        self, scope: SeriesOwner, identifier: str, granularity: Granularity, first: int, last: int
    ) -> list[Usage]:
        return list(self.rollups.read_series(scope, identifier, granularity, first, last, consistent=True).values())


def _hours_by_identifier(marks: list[Mark]) -> dict[str, list[int]]:
    return {identifier: sorted({m.hour for m in group}) for identifier, group in _marks_by_identifier(marks).items()}


def _floored(marks: list[Mark], floor: int | None) -> list[Mark]:
    """``marks`` with origins no later than ``floor`` (see ``Lease.origin_floor``)."""
    if floor is None:
        return marks
    return [replace(mark, origin=min(mark.origin or mark.marked_at, floor)) for mark in marks]


def _origin(marks: list[Mark]) -> int | None:
    """When the oldest sample behind ``marks`` was received (``None``: unknown, so now)."""
    return min((mark.origin or mark.marked_at for mark in marks), default=0) or None


def _marks_by_identifier(marks: list[Mark]) -> dict[str, list[Mark]]:
    groups: dict[str, list[Mark]] = defaultdict(list)
    for mark in marks:
        groups[mark.identifier].append(mark)
    return dict(groups)


def _shard_log(head: ShardHead) -> dict[str, object]:
    return {"shard": f"{head.kind}#{head.shard:02d}"}


def shards_of_event(event: object, shards: int = SHARDS) -> list[int] | None:
    """The shards an invocation asks for (``{"shards": [...]}``, each below ``shards``), or None for every shard."""
    if not isinstance(event, dict) or event.get("shards") is None:
        return None
    asked = event["shards"]
    if not isinstance(asked, list) or not all(
        isinstance(s, int) and not isinstance(s, bool) and 0 <= s < shards for s in asked
    ):
        raise ValueError(f"'shards' must be a list of shard numbers from 0 to {shards - 1}")
    return asked


@dataclass(frozen=True, slots=True)
class RollupRequest:
    """What an invocation of the rollup function asks for.

    - ``{"dispatch": true}`` (the schedule's): hand the shards with work to worker invocations;
    - ``{"shards": [n, ...]}`` (a worker's): roll those shards now;
    - ``{"shardCount": n}``: grow the shard count to ``n``;
    - anything else: roll every shard now, in this invocation.
    """

    dispatch: bool = False
    shards: list[int] | None = None
    grow_to: int | None = None

    @classmethod
    def of(cls, event: object) -> RollupRequest:
        if isinstance(event, dict) and event.get("dispatch") is True:
            return cls(dispatch=True)
        if isinstance(event, dict) and event.get("shardCount") is not None:
            count = event["shardCount"]
            if not isinstance(count, int) or isinstance(count, bool):
                raise ValueError("'shardCount' must be a whole number")
            return cls(grow_to=count)
        return cls(shards=shards_of_event(event, MAX_SHARDS))
