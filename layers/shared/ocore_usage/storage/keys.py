"""The key layout of every table, in one place. Pure.

SamplesTable
    ``H#{projectId}#{hour}`` / ``{sampleId}``   a sample, copied into each hour it overlaps
    ``I#{projectId}`` / ``{sampleId}``          the sample's identity: which hours hold it
WorkTable (pending rollup work, sharded)
    ``{kind}#{shard}`` / ``#head``              shard head: ``seq`` bumped by writers, ``done``
                                                by the rollup, and the rollup worker's lease
    ``{kind}#{shard}`` / ``M#{id}#{hour}``      a mark: hour ``hour`` of project/org ``id`` is stale
    ``HELD#{projectId}`` / ``M#{hour}``         marks of a project not registered yet
RollupsTable
    ``P#{projectId}#{H|D|M}`` / ``{bucket}``    a project's hourly, daily or monthly series
    ``O#{orgId}#{H|D|M}`` / ``{bucket}``        an org's series (with the org-wide instance peak)
    ``C#{orgId}#{hour}`` / ``{projectId}``      one project's part of an org hour, with occupancy
ProjectsTable
    ``projectId``; index ``ByOrg`` on ``orgId`` / ``projectId``

``hour`` and ``bucket`` are bucket starts as RFC 3339 UTC (``2026-11-26T02:00:00Z``): fixed
width, so they sort as time does. ``kind`` is ``P`` (project marks) or ``O`` (org marks).
"""

from __future__ import annotations

import zlib
from enum import StrEnum

from ocore_usage.timeline import Granularity, format_instant

SHARDS = 16
"""Pending-work shards per kind. Fixed: marks are found by recomputing their shard."""

HEAD = "#head"
MARK_PREFIX = "M#"


class Scope(StrEnum):
    PROJECT = "P"
    ORG = "O"


def shard_of(identifier: str) -> int:
    """The stable shard of a project (or org) id."""
    return zlib.crc32(identifier.encode()) % SHARDS


def shard_pk(kind: Scope, shard: int) -> str:
    return f"{kind}#{shard:02d}"


def mark_sk(identifier: str, hour: int) -> str:
    return f"{MARK_PREFIX}{identifier}#{format_instant(hour)}"


def held_pk(project_id: str) -> str:
    return f"HELD#{project_id}"


def sample_hour_pk(project_id: str, hour: int) -> str:
    return f"H#{project_id}#{format_instant(hour)}"


def identity_pk(project_id: str) -> str:
    return f"I#{project_id}"


def series_pk(scope: Scope, identifier: str, granularity: Granularity) -> str:
    return f"{scope}#{identifier}#{granularity}"


def bucket_sk(bucket: int) -> str:
    return format_instant(bucket)


def contribution_pk(org_id: str, hour: int) -> str:
    return f"C#{org_id}#{format_instant(hour)}"
