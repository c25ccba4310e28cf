"""The ports: what the use cases call on storage, as small Protocols the repositories satisfy structurally.

A use case is typed against these, never against a repository class: ``wiring`` hands in the
repositories of :mod:`ocore_usage.storage` (mypy checks there that each one fits its port), and a
test may hand in an in-memory fake instead. The reads' ports are beside the reads
(:mod:`ocore_usage.usecases.reports.service`).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:  # named in signatures only: a function loads none of it for its ports
    from collections.abc import Iterable, Mapping, Sequence

    from ocore_usage.domain.aggregation import Occupancy, Usage
    from ocore_usage.domain.metered import Sample
    from ocore_usage.domain.timeline import Granularity
    from ocore_usage.domain.versions import Identity, Partition
    from ocore_usage.storage.heads import Progress, ShardHead
    from ocore_usage.storage.keys import SeriesOwner
    from ocore_usage.storage.leases import Lease
    from ocore_usage.storage.marks import Mark, MarkPage
    from ocore_usage.storage.parked import Retry
    from ocore_usage.storage.projects import Project, ProjectChange

# ---------------------------------------------------------------------- samples


class SampleLog(Protocol):
    """Ingest's side of the raw samples: append-only pages, and the identities that refuse closed corrections."""

    def stored_starts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Start of the resolved version of each ``(projectId, sampleId)`` already stored."""

    def append(self, samples: Sequence[Sample], *, version: str, writer: str, written_at: int) -> int:
        """Write ``samples`` as pages of ``version``; how many page items were written."""


class SampleVersions(Protocol):
    """The rollup's side of the raw samples: partitions read whole, versions resolved and recorded."""

    def read_partitions(self, project_id: str, hours: Iterable[int]) -> dict[int, Partition]: ...

    def identities(self, project_id: str, sample_ids: Iterable[str]) -> dict[str, Identity]: ...

    def write_tombstones(self, project_id: str, tombstones: Mapping[tuple[int, str], str]) -> None: ...

    def write_identities(self, project_id: str, identities: Mapping[str, Identity], now: int) -> None: ...

    def write_indexed(self, project_id: str, partitions: Iterable[Partition]) -> None: ...


# ---------------------------------------------------------------------- pending work


class StaleHours(Protocol):
    def mark(
        self, kind: SeriesOwner, stale: Iterable[tuple[str, int]], now: int, origin: int | None = None
    ) -> set[int]:
        """Mark each ``(identifier, hour)`` stale for the rollup, after the data it refers to is written."""


class HeldHours(Protocol):
    def release_held(self, project_id: str, now: int) -> int:
        """Turn the marks held while ``project_id`` was unknown into pending marks; how many there were."""


class PendingShards(Protocol):
    """The shards as the dispatcher sees them."""

    def heads(self) -> list[ShardHead]: ...

    def count(self, kind: SeriesOwner, shard: int) -> int:
        """Marks pending in one shard."""


class RollupProgress(Protocol):
    def progress(self) -> Progress:
        """The shard heads' watermark (one request)."""


class RollupWork(StaleHours, HeldHours, PendingShards, Protocol):
    """The pending work as the rollup takes it: shards under leases, marks, parked projects (or orgs)."""

    @property
    def shard_count(self) -> int: ...

    def grow(self, count: int, now: int) -> int: ...

    def hold(self, project_id: str, hours: Iterable[int], now: int) -> None: ...

    def acquire(self, head: ShardHead, owner: str, now: int, lease: int) -> Lease | None: ...

    def outgrown_lease_held(self, lease: Lease, now: int) -> bool: ...

    def release(
        self, lease: Lease, *, cursor: str, done: int | None, retry_at: int | None, since: int, parked: bool
    ) -> bool: ...

    def take(self, kind: SeriesOwner, shard: int, limit: int, after: str, upto: str) -> MarkPage: ...

    def count_of(self, kind: SeriesOwner, shard: int, identifier: str) -> int: ...

    def clear(self, marks: Sequence[Mark], lease: Lease | None = None) -> int:
        """Delete each mark whose token is unchanged, only while ``lease`` is held (else ``LeaseLost``)."""

    def retries(self, kind: SeriesOwner, shard: int) -> dict[str, Retry]: ...

    def park(self, kind: SeriesOwner, shard: int, retry: Retry, error: str, now: int) -> None: ...

    def unpark(self, kind: SeriesOwner, shard: int, identifiers: Iterable[str]) -> None: ...


# ---------------------------------------------------------------------- rollups and projects


class RollupSeries(Protocol):
    """The stored series and org-hour contributions, as the rollup recomputes them."""

    def read_series(
        self,
        scope: SeriesOwner,
        identifier: str,
        granularity: Granularity,
        first_bucket: int,
        last_bucket: int,
        *,
        consistent: bool,
    ) -> dict[int, Usage]: ...

    def write_series(
        self, scope: SeriesOwner, identifier: str, granularity: Granularity, buckets: Mapping[int, Usage]
    ) -> None: ...

    def write_contributions(
        self, org_id: str, project_id: str, hours: Mapping[int, tuple[Usage, Occupancy]]
    ) -> None: ...

    def read_contributions(self, org_id: str, hour: int) -> list[tuple[Usage, Occupancy]]: ...


class ProjectLookup(Protocol):
    def get(self, project_id: str, *, consistent: bool) -> Project | None: ...


class ProjectDirectory(ProjectLookup, Protocol):
    """The registry as the rollup reads it: who owns each project of a batch."""

    def get_many(self, project_ids: list[str], *, consistent: bool) -> dict[str, Project]: ...


class ProjectRegistry(ProjectLookup, Protocol):
    """The registry as project events change it."""

    def apply(self, change: ProjectChange) -> bool:
        """Store what ``change`` carries where nothing newer is stored; False if it changed nothing."""
