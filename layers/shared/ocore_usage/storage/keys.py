"""The key layout of every table, in one place. Pure.

SamplesTable (raw samples, append-only; see ``ocore_usage.domain.versions``)
    ``S#{projectId}#{hour}`` / ``V#{version}#{n}``  a page: samples of one request starting in ``hour``
    ``S#{projectId}#{hour}`` / ``T#{stamp}#{n}``    tombstones, ``upto`` by sample id: versions up to it do not count
    ``S#{projectId}#{hour}`` / ``#indexed#{n}``     pages of this partition the rollup has resolved
    ``IL#{projectId}`` / ``{stamp}#{n}``           identity log: identities a rollup batch resolved
    ``IL#{projectId}`` / ``#folded``               the stamp up to which the log is folded into groups
    ``IL#{projectId}`` / ``#fold-hints``           the keys of the groups the last fold wrote
    ``IX#{projectId}`` / ``{sampleId}``            identity group: the identities of the ids from its key to ``next``
    ``I#{projectId}#{sampleId}`` / ``#``            a sample's identity as releases before the index wrote it
WorkTable (pending rollup work, sharded)
    ``{kind}#{shard}`` / ``#head``              shard head: ``seq`` bumped by writers, ``done``
                                                by the rollup, the rollup worker's lease and cursor,
                                                the shard count (``shards``) writers learn from
    ``{kind}#{shard}`` / ``M#{id}#{hour}``      a mark: hour ``hour`` of project/org ``id`` is stale
    ``{kind}#{shard}`` / ``R#{id}``             a project/org whose rollup failed: attempts, next retry
    ``HELD#{projectId}`` / ``M#{hour}``         marks of a project not registered yet
RollupsTable
    ``P#{projectId}#{H|D|M}`` / ``{bucket}``    a project's hourly, daily or monthly series
    ``O#{orgId}#{H|D|M}`` / ``{bucket}``        an org's series (with the org-wide instance peak)
    ``C#{orgId}#{hour}`` / ``{projectId}``      one project's part of an org hour, with occupancy
    ``A#{orgId}`` / ``{month}#{projectId}``     the project had usage in that UTC month (written by the
                                                rollup, never removed: reads treat it as a hint)
ProjectsTable
    ``projectId``; sparse index ``ActiveByOrg`` on ``activeOrgId`` / ``projectId`` (the attribute
    exists only while the project is not deleted)

``H|D|M`` is the stored unit's letter (its ``Granularity`` value, see ``ocore_usage.domain.periods``).
``hour`` and ``bucket`` are bucket starts as RFC 3339 UTC (``2026-11-26T02:00:00Z``): fixed
width, so they sort as time does. ``kind`` is ``P`` (project marks) or ``O`` (org marks).
"""

from __future__ import annotations

import zlib
from enum import StrEnum

from ocore_usage.domain.timeline import Granularity, format_instant

SHARDS = 16
"""Pending-work shards per kind until the shard count is grown (``WorkQueue.grow``; the count in force
is on the shard heads: docs/pipeline.md, "Growing the shard count")."""

MAX_SHARDS = 50
"""Both kinds' heads (2 x 50) fit in one BatchGetItem."""

HEAD = "#head"
MARK_PREFIX = "M#"
MARKS_END = "M$"
"""Sorts after every mark key (``$`` follows ``#``): the upper bound of a range over marks."""
RETRY_PREFIX = "R#"


class SeriesOwner(StrEnum):
    """Whom a series (of rollups, of work marks) belongs to: a project or an org."""

    PROJECT = "P"
    ORG = "O"


def shard_of(identifier: str, shards: int = SHARDS) -> int:
    """The shard of a project (or org) id when there are ``shards`` shards."""
    return zlib.crc32(identifier.encode()) % shards


def shard_pk(kind: SeriesOwner, shard: int) -> str:
    return f"{kind}#{shard:02d}"


def mark_sk(identifier: str, hour: int) -> str:
    return f"{MARK_PREFIX}{identifier}#{format_instant(hour)}"


def retry_sk(identifier: str) -> str:
    return f"{RETRY_PREFIX}{identifier}"


def held_pk(project_id: str) -> str:
    return f"HELD#{project_id}"


PAGE_PREFIX = "V#"
TOMBSTONE_PREFIX = "T#"
INDEXED = "#indexed"


def partition_pk(project_id: str, hour: int) -> str:
    return f"S#{project_id}#{format_instant(hour)}"


def page_sk(version: str, number: int) -> str:
    return f"{PAGE_PREFIX}{version}#{number:04d}"


def version_of_page(sk: str) -> str:
    return sk.removeprefix(PAGE_PREFIX).rpartition("#")[0]


def tombstone_sk(stamp: str, number: int) -> str:
    return f"{TOMBSTONE_PREFIX}{stamp}#{number:04d}"


FOLDED_SK = "#folded"
"""The identity log's marker: the stamp up to which its items are folded (``#`` sorts before the stamps' digits)."""
HINTS_SK = "#fold-hints"
"""The keys of the groups the last fold wrote: where a lookup looks first (sorts before the marker)."""


LEGACY_IDENTITY_SK = "#"


def legacy_identity_pk(project_id: str, sample_id: str) -> str:
    """The key of a sample's identity item as releases before the identity index wrote it."""
    return f"I#{project_id}#{sample_id}"


def identity_log_pk(project_id: str) -> str:
    return f"IL#{project_id}"


def identity_group_pk(project_id: str) -> str:
    return f"IX#{project_id}"


def series_pk(scope: SeriesOwner, identifier: str, granularity: Granularity) -> str:
    return f"{scope}#{identifier}#{granularity}"


def bucket_sk(bucket: int) -> str:
    return format_instant(bucket)


def contribution_pk(org_id: str, hour: int) -> str:
    return f"C#{org_id}#{format_instant(hour)}"


def usage_month_pk(org_id: str) -> str:
    return f"A#{org_id}"


def usage_month_sk(month: int, project_id: str) -> str:
    return f"{format_instant(month)}#{project_id}"


def usage_month_bounds(first_month: int, last_month: int) -> tuple[str, str]:
    """Sort-key bounds of every project's entry from ``first_month`` to ``last_month`` (ids sort below ``~``)."""
    return f"{format_instant(first_month)}#", f"{format_instant(last_month)}#~"
