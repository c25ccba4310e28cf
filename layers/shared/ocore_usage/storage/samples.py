"""SampleRepository: raw samples in append-only pages, their tombstones and identities.

Ingest appends each request's samples as pages, one partition per project and start hour,
and reads nothing first but the identities of the batch (for the correction window). The rollup
reads whole partitions, and writes tombstones, identities and the indexed set as
:mod:`ocore_usage.domain.versions` decides; identities live in the index of
:mod:`ocore_usage.storage.identities`. The layout is in ``storage/keys.py``.

A page entry is a compact JSON array ``[sampleId, instanceId, start - hour, duration, cpu,
ram, disk, bytesIn, bytesOut]``: the values are those of the metrics agents send, in the order of
``domain.metrics.METRICS`` (integers in the units of ``MeteredInterval``; one an entry does not
hold, written before its metric existed, reads as zero); a page holds up
to ``PAGE_BYTES`` of them (about 100 bytes each), so a 1,000-sample request is one item per
project and start hour instead of an item per sample. Pages, tombstones and the indexed set
expire (TTL ``expiresAt``) as sample ids are forgotten: ``IDENTITY_RETENTION`` after their hour.
"""

from __future__ import annotations

import json
import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from itertools import batched
from typing import Any

from ocore_usage.domain.metered import MeteredInterval, Sample
from ocore_usage.domain.metrics import METRICS, SAMPLED
from ocore_usage.domain.timeline import floor_hour
from ocore_usage.domain.versions import Identity, Partition, StoredEntry
from ocore_usage.storage.identities import IdentityIndex, Log, expires_at
from ocore_usage.storage.keys import (
    INDEXED,
    PAGE_PREFIX,
    TOMBSTONE_PREFIX,
    page_sk,
    partition_pk,
    tombstone_sk,
    version_of_page,
)
from ocore_usage.storage.tables import Table, runs_within

PAGE_BYTES = 300_000
"""Encoded entries per page item, under DynamoDB's 400 KB item limit with room for the rest."""
INDEXED_PER_ITEM = 4000
"""Page names per indexed-set item: about 40 bytes each, well under DynamoDB's 400 KB item limit."""
TOMBSTONES_PER_ITEM = 1500
"""Tombstones per item: a sample id (at most 128 bytes) and a version (30) each, under 400 KB."""


def _entry(sample: Sample, hour: int) -> str:
    i = sample.interval
    entry = [sample.sample_id, i.instance_id, i.start - hour, i.duration, *(i.values[m.index] for m in SAMPLED)]
    return json.dumps(entry, separators=(",", ":"))


def _stored(raw: list[Any], hour: int, version: str, page: str) -> StoredEntry:
    sample_id, instance_id, offset, duration, *sampled = raw
    values = [0] * len(METRICS)
    for metric, value in zip(SAMPLED, sampled, strict=False):  # an older entry may hold fewer
        values[metric.index] = int(value)
    interval = MeteredInterval(str(instance_id), hour + int(offset), int(duration), tuple(values))
    return StoredEntry(str(sample_id), version, page, interval)


class SampleRepository:
    def __init__(self, table: Table, index: IdentityIndex | None = None) -> None:
        self.table = table
        self.index = index or IdentityIndex(table)
        self._logs: dict[str, Log] = {}
        """Each project's identity log as its last lookup read it, for the write that follows."""

    # ------------------------------------------------------------------ ingest
    def stored_starts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Start of the resolved version of each ``(projectId, sampleId)`` already stored."""
        by_project: dict[str, set[str]] = defaultdict(set)
        for project_id, sample_id in keys:
            by_project[project_id].add(sample_id)
        return {
            (project_id, sample_id): identity.start
            for project_id, found in self.index.lookup_many(by_project).items()
            for sample_id, identity in found.items()
        }

    def append(self, samples: Sequence[Sample], *, version: str, writer: str, written_at: int) -> int:
        """Write ``samples`` as pages of ``version``; returns how many page items were written."""
        by_partition: dict[tuple[str, int], list[Sample]] = defaultdict(list)
        for sample in samples:
            by_partition[(sample.project_id, floor_hour(sample.interval.start))].append(sample)
        pages = [
            {
                "pk": partition_pk(project_id, hour),
                "sk": page_sk(version, number),
                "entries": "[" + ",".join(chunk) + "]",
                "writer": writer,
                "writtenAt": written_at,
                "expiresAt": expires_at(hour),
            }
            for (project_id, hour), members in sorted(by_partition.items())
            for number, chunk in enumerate(runs_within([_entry(s, hour) for s in members], PAGE_BYTES))
        ]
        self.table.batch_write(pages)
        return len(pages)

    # ------------------------------------------------------------------ the rollup's side
    def read_partitions(self, project_id: str, hours: Iterable[int]) -> dict[int, Partition]:
        """The pages, tombstones and indexed set of each partition (strongly consistent)."""
        return {hour: self._read_partition(project_id, hour) for hour in sorted(set(hours))}

    def _read_partition(self, project_id: str, hour: int) -> Partition:
        partition = Partition(hour)
        for item in self.table.query(partition_pk(project_id, hour), consistent=True):
            sk = item["sk"]
            if sk.startswith(PAGE_PREFIX):
                version = version_of_page(sk)
                partition.entries += [_stored(raw, hour, version, sk) for raw in json.loads(item["entries"])]
            elif sk.startswith(TOMBSTONE_PREFIX):
                upto = item["upto"]  # by sample id; a lone version in the items once written one per sample
                named = upto.items() if isinstance(upto, dict) else [(sk.removeprefix(TOMBSTONE_PREFIX), upto)]
                for sample_id, version in named:
                    partition.tombstones[sample_id] = max(version, partition.tombstones.get(sample_id, ""))
            elif sk.startswith(INDEXED):
                partition.indexed |= frozenset(item.get("pages", ()))
        return partition

    def identities(self, project_id: str, sample_ids: Iterable[str]) -> dict[str, Identity]:
        """The stored identity of each sample that has one (strongly consistent)."""
        self._logs[project_id] = log = self.index.read_log(project_id)
        return self.index.lookup(project_id, sample_ids, log)

    def write_tombstones(self, project_id: str, tombstones: Mapping[tuple[int, str], str]) -> None:
        """Each partition's new tombstones in items of their own, up to ``TOMBSTONES_PER_ITEM`` each.

        A tombstone only ever rises and a partition reads the highest it holds for a sample, so
        items are only added: a rollup run that writes them again after a crash adds duplicates,
        never a lower ``upto`` in place of a higher one.
        """
        by_hour: dict[int, list[tuple[str, str]]] = defaultdict(list)
        for (hour, sample_id), upto in sorted(tombstones.items()):
            by_hour[hour].append((sample_id, upto))
        stamp = uuid.uuid4().hex[:12]
        self.table.batch_write(
            {
                "pk": partition_pk(project_id, hour),
                "sk": tombstone_sk(stamp, number),
                "upto": dict(chunk),
                "expiresAt": expires_at(hour),
            }
            for hour, entries in by_hour.items()
            for number, chunk in enumerate(batched(entries, TOMBSTONES_PER_ITEM, strict=False))
        )

    def write_identities(self, project_id: str, identities: Mapping[str, Identity], now: int) -> None:
        """Record ``identities`` in the index (a fold may follow), on the log the last lookup read."""
        log = self._logs.pop(project_id, None) or self.index.read_log(project_id)
        self.index.record(project_id, identities, log, now)

    def write_indexed(self, project_id: str, partitions: Iterable[Partition]) -> None:
        """Record, for each partition with pages not indexed yet, that all its pages now are.

        Each call adds items listing only the newly indexed pages (at most ``INDEXED_PER_ITEM``
        each), so no item grows with the number of requests a partition receives.
        """
        stamp = uuid.uuid4().hex[:12]
        self.table.batch_write(
            {
                "pk": partition_pk(project_id, partition.hour),
                "sk": f"{INDEXED}#{stamp}#{number:04d}",
                "pages": set(chunk),
                "expiresAt": expires_at(partition.hour),
            }
            for partition in partitions
            for number, chunk in enumerate(
                batched(sorted(partition.pages - partition.indexed), INDEXED_PER_ITEM, strict=False)
            )
        )
