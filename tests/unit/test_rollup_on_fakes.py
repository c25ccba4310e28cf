"""The rollup driven through its ports (``usecases/ports.py``) on in-memory fakes, no DynamoDB: a lost lease.

A worker whose lease was taken over while it rolled cannot clear its marks: it must leave the
hours it wrote marked stale again (its buckets may race the new holder's), stop the shard without
giving back a lease it no longer holds, and report the failure. A worker that keeps its lease
clears the marks it rolled and gives the lease back.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from ocore_usage.domain.aggregation import Occupancy, Usage
from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity, parse_rfc3339
from ocore_usage.domain.versions import Identity, Partition
from ocore_usage.storage.heads import ShardHead
from ocore_usage.storage.keys import SHARDS, SeriesOwner, mark_sk, shard_of
from ocore_usage.storage.leases import Lease, LeaseLost
from ocore_usage.storage.marks import Mark, MarkPage
from ocore_usage.storage.parked import Retry
from ocore_usage.storage.projects import Project
from ocore_usage.usecases.rollup import RollupService

HOUR = parse_rfc3339("2026-11-25T00:00:00Z")
SHARD = shard_of("prj_a")


class WorkInMemory:
    """A :class:`~ocore_usage.usecases.ports.RollupWork` over one project shard's marks; ``stolen``: the
    lease is taken over by another worker as soon as it is given."""

    def __init__(self, marks: list[Mark], stolen: bool) -> None:
        self.marks = {mark_sk(mark.identifier, mark.hour): mark for mark in marks}
        self.stolen = stolen
        self.marked: list[tuple[SeriesOwner, set[tuple[str, int]]]] = []
        self.released: list[Lease] = []

    @property
    def shard_count(self) -> int:
        return SHARDS

    def heads(self) -> list[ShardHead]:
        return [ShardHead(SeriesOwner.PROJECT, SHARD, seq=1 if self.marks else 0)]

    def count(self, kind: SeriesOwner, shard: int) -> int:
        return len(self.marks) if (kind, shard) == (SeriesOwner.PROJECT, SHARD) else 0

    def count_of(self, kind: SeriesOwner, shard: int, identifier: str) -> int:
        return sum(mark.identifier == identifier for mark in self.marks.values())

    def acquire(self, head: ShardHead, owner: str, now: int, lease: int) -> Lease | None:
        return Lease(head.kind, head.shard, owner, now + lease)

    def release(
        self, lease: Lease, *, cursor: str, done: int | None, retry_at: int | None, since: int, parked: bool
    ) -> bool:
        if self.stolen:  # its condition, that this worker holds the lease, fails
            return False
        self.released.append(lease)
        return True

    def take(self, kind: SeriesOwner, shard: int, limit: int, after: str, upto: str) -> MarkPage:
        keys = sorted(key for key in self.marks if after < key <= upto)[:limit]
        return MarkPage([self.marks[key] for key in keys], keys[-1] if keys else "", exhausted=len(keys) < limit)

    def clear(self, marks: Sequence[Mark], lease: Lease | None = None) -> int:
        if self.stolen:
            raise LeaseLost("another worker holds the shard")
        for mark in marks:
            del self.marks[mark_sk(mark.identifier, mark.hour)]
        return len(marks)

    def mark(
        self, kind: SeriesOwner, stale: Iterable[tuple[str, int]], now: int, origin: int | None = None
    ) -> set[int]:
        self.marked.append((kind, set(stale)))
        return set()

    def grow(self, count: int, now: int) -> int:
        return SHARDS

    def outgrown_lease_held(self, lease: Lease, now: int) -> bool:
        return False

    def hold(self, project_id: str, hours: Iterable[int], now: int) -> None:
        raise AssertionError("every project here is registered")

    def release_held(self, project_id: str, now: int) -> int:
        return 0

    def retries(self, kind: SeriesOwner, shard: int) -> dict[str, Retry]:
        return {}

    def park(self, kind: SeriesOwner, shard: int, retry: Retry, error: str, now: int) -> None:
        raise AssertionError(f"nothing should fail here, got {error}")

    def unpark(self, kind: SeriesOwner, shard: int, identifiers: Iterable[str]) -> None:
        pass


class NoSamples:
    """A :class:`~ocore_usage.usecases.ports.SampleVersions` with empty partitions: every hour rolls to zero."""

    def read_partitions(self, project_id: str, hours: Iterable[int]) -> dict[int, Partition]:
        return {hour: Partition(hour) for hour in hours}

    def identities(self, project_id: str, sample_ids: Iterable[str]) -> dict[str, Identity]:
        return {}

    def write_tombstones(self, project_id: str, tombstones: Mapping[tuple[int, str], str]) -> None:
        pass

    def write_identities(self, project_id: str, identities: Mapping[str, Identity], now: int) -> None:
        pass

    def write_indexed(self, project_id: str, partitions: Iterable[Partition]) -> None:
        pass


class SeriesInMemory:
    """A :class:`~ocore_usage.usecases.ports.RollupSeries` that keeps what is written."""

    def __init__(self) -> None:
        self.series: dict[tuple[SeriesOwner, str, Granularity], dict[int, Usage]] = {}

    def read_series(
        self,
        scope: SeriesOwner,
        identifier: str,
        granularity: Granularity,
        first_bucket: int,
        last_bucket: int,
        *,
        consistent: bool,
    ) -> dict[int, Usage]:
        stored = self.series.get((scope, identifier, granularity), {})
        return {bucket: usage for bucket, usage in stored.items() if first_bucket <= bucket <= last_bucket}

    def write_series(
        self, scope: SeriesOwner, identifier: str, granularity: Granularity, buckets: Mapping[int, Usage]
    ) -> None:
        self.series.setdefault((scope, identifier, granularity), {}).update(buckets)

    def write_contributions(self, org_id: str, project_id: str, hours: Mapping[int, tuple[Usage, Occupancy]]) -> None:
        pass

    def read_contributions(self, org_id: str, hour: int) -> list[tuple[Usage, Occupancy]]:
        return []


class Registry:
    """A :class:`~ocore_usage.usecases.ports.ProjectDirectory` where every project belongs to ``org_a``."""

    def get(self, project_id: str, *, consistent: bool) -> Project | None:
        return Project(project_id, "org_a", project_id)

    def get_many(self, project_ids: list[str], *, consistent: bool) -> dict[str, Project]:
        return {project_id: Project(project_id, "org_a", project_id) for project_id in project_ids}


def rollup(stolen: bool) -> tuple[RollupService, WorkInMemory, SeriesInMemory]:
    marks = [
        Mark(SeriesOwner.PROJECT, SHARD, "prj_a", HOUR + h * MICROS_PER_HOUR, token="t", marked_at=1) for h in range(2)
    ]
    work, series = WorkInMemory(marks, stolen), SeriesInMemory()
    clock = iter(range(10, 10**6))
    return RollupService(NoSamples(), work, series, Registry(), clock=lambda: next(clock)), work, series


def test_a_worker_that_lost_its_lease_marks_its_hours_stale_again_and_gives_nothing_back() -> None:
    service, work, series = rollup(stolen=True)
    # WHEN it rolls the shard and its lease has been taken over meanwhile
    result = service.run()
    # THEN it wrote the project's hours, then marked them stale again for the new holder
    assert (SeriesOwner.PROJECT, "prj_a", Granularity.HOUR) in series.series
    rolled = {("prj_a", HOUR), ("prj_a", HOUR + MICROS_PER_HOUR)}
    assert work.marked[-1] == (SeriesOwner.PROJECT, rolled)
    # AND its marks are all still there, the lease is not given back, and the loss is reported
    assert len(work.marks) == 2
    assert work.released == []
    assert result.failures == 1


def test_a_worker_that_keeps_its_lease_clears_its_marks_and_gives_the_lease_back() -> None:
    service, work, _ = rollup(stolen=False)
    result = service.run()
    assert work.marks == {}
    assert [kind for kind, _ in work.marked] == [SeriesOwner.ORG]  # the org hours, for the org stage
    assert len(work.released) == 1
    assert result.failures == 0
