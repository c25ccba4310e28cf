"""RollupRepository: the stored hourly/daily/monthly series, the org-hour contributions, and the
org's usage months (which projects had usage in which UTC month).

A project's part of an org hour carries its instance occupancy as edges, which grow with the
project's instances (36,000 edges for 1,500 instances sampling at drifting phases). They are
stored as compact JSON cut into items of at most ``EDGE_BYTES`` (sort keys ``{projectId}``,
then ``{projectId}#{n}``), all stamped with the write's ``gen``; a reader takes the chunks
whose ``gen`` is the first one's, so chunks left over by a larger earlier write are ignored.

The usage months let the reads find the projects with usage in a range at the cost of those
projects, not of every project the org ever registered. The rollup writes them with each
project's part of the org hours; they are never removed (a month whose usage moved away stays
listed), so a reader treats them as candidates and still reads each one's buckets.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from ocore_usage.domain.aggregation import Occupancy, Usage
from ocore_usage.domain.metrics import METRICS, PEAK
from ocore_usage.domain.timeline import Granularity, floor_month, parse_rfc3339
from ocore_usage.storage.keys import (
    SeriesOwner,
    bucket_sk,
    contribution_pk,
    series_pk,
    usage_month_bounds,
    usage_month_pk,
    usage_month_sk,
)
from ocore_usage.storage.tables import Item, Table, runs_within

_SUMS = tuple(metric.name for metric in METRICS)
"""The attributes of a usage's sums, in the order of its ``sums``; then its ``peak``."""
_bucket_start = lru_cache(maxsize=1 << 16)(parse_rfc3339)
"""Bucket starts come back request after request (the current month's days, the last hours)."""

EDGE_BYTES = 300_000
"""Occupancy edges per contribution item, under DynamoDB's 400 KB item limit."""


def _bucket_of(raw: Mapping[str, Any]) -> tuple[int, Usage]:
    """A stored bucket's start and figures, read from its attribute values (every figure a number)."""
    sums = tuple([int(raw[name]["N"]) if name in raw else 0 for name in _SUMS])
    return _bucket_start(raw["sk"]["S"]), Usage(sums, int(raw[PEAK]["N"]) if PEAK in raw else 0)


def _usage_month_items(org_id: str, project_id: str, months: Iterable[int]) -> list[Item]:
    return [{"pk": usage_month_pk(org_id), "sk": usage_month_sk(month, project_id)} for month in sorted(set(months))]


class RollupRepository:
    """Reads and writes rollup buckets. An empty bucket is never stored: absent means zero."""

    def __init__(self, table: Table) -> None:
        self.table = table

    def read_series(
        self,
        scope: SeriesOwner,
        identifier: str,
        granularity: Granularity,
        first_bucket: int,
        last_bucket: int,
        *,
        consistent: bool = False,
    ) -> dict[int, Usage]:
        """Stored buckets whose start lies in ``[first_bucket, last_bucket]`` (one Query).

        The reads' hottest path, so it reads the wire format itself: only the sort key and the
        figures, every figure a DynamoDB number, each bucket start parsed once per process.
        """
        rows = self.table.query_as(
            _bucket_of,
            series_pk(scope, identifier, granularity),
            between=(bucket_sk(first_bucket), bucket_sk(last_bucket)),
            consistent=consistent,
        )
        return dict(rows)

    def write_series(
        self, scope: SeriesOwner, identifier: str, granularity: Granularity, buckets: Mapping[int, Usage]
    ) -> None:
        """Store each bucket; an empty one is deleted, so a bucket that lost its samples reads as zero."""
        pk = series_pk(scope, identifier, granularity)
        puts = [{"pk": pk, "sk": bucket_sk(b), **u.as_dict()} for b, u in buckets.items() if not u.is_empty]
        deletes = [{"pk": pk, "sk": bucket_sk(b)} for b, u in buckets.items() if u.is_empty]
        self.table.batch_write(puts, deletes)

    def write_contributions(self, org_id: str, project_id: str, hours: Mapping[int, tuple[Usage, Occupancy]]) -> None:
        """Store one project's part of each org hour (its occupancy as edges relative to the hour),
        and note the months it has usage in among the org's usage months (in the same batch, first)."""
        months = (floor_month(hour) for hour, (usage, _) in hours.items() if not usage.is_empty)
        puts = _usage_month_items(org_id, project_id, months)
        deletes: list[dict[str, str]] = []
        gen = uuid.uuid4().hex[:12]
        for hour, (usage, occupancy) in hours.items():
            key = {"pk": contribution_pk(org_id, hour), "sk": project_id}
            if usage.is_empty:
                deletes.append(key)
                continue
            encoded = [f"[{instant - hour},{change}]" for instant, change in occupancy.edges]
            for number, chunk in enumerate(runs_within(encoded, EDGE_BYTES)):
                edges = "[" + ",".join(chunk) + "]"
                if number == 0:
                    puts.append({**key, **usage.as_dict(), "gen": gen, "edges": edges})
                else:
                    puts.append({"pk": key["pk"], "sk": f"{project_id}#{number}", "gen": gen, "edges": edges})
        self.table.batch_write(puts, deletes)

    def read_contributions(self, org_id: str, hour: int) -> list[tuple[Usage, Occupancy]]:
        """Every project's part of one org hour (strongly consistent: the rollup builds on it)."""
        heads: dict[str, Item] = {}
        tails: dict[str, list[Item]] = defaultdict(list)
        for item in self.table.query(contribution_pk(org_id, hour), consistent=True):
            project_id, _, number = item["sk"].partition("#")
            if number:
                tails[project_id].append(item)
            else:
                heads[project_id] = item
        parts = []
        for project_id, head in heads.items():
            chunks = [head, *(t for t in tails[project_id] if t.get("gen") == head.get("gen"))]
            edges = [edge for chunk in chunks for edge in json.loads(chunk.get("edges") or "[]")]
            occupancy = Occupancy.combine([Occupancy(tuple((hour + int(t), int(d)) for t, d in edges))])
            parts.append((Usage.from_dict(head), occupancy))
        return parts

    def note_usage_months(self, org_id: str, project_id: str, months: Iterable[int]) -> None:
        """Note that ``project_id`` has usage in each of ``months`` (idempotent; e.g. to backfill)."""
        self.table.batch_write(_usage_month_items(org_id, project_id, months))

    def projects_with_usage(self, org_id: str, first_month: int, last_month: int) -> set[str]:
        """The org's projects noted with usage in a month from ``first_month`` to ``last_month`` (one Query,
        paged). A superset of those with usage there: the caller reads their buckets to know."""
        items = self.table.query(usage_month_pk(org_id), between=usage_month_bounds(first_month, last_month))
        return {item["sk"].partition("#")[2] for item in items}
