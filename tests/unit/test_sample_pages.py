"""Sample storage stays within DynamoDB's item limit whatever a request or a partition holds,
and reads what earlier releases wrote."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from ocore_usage.domain.timeline import Granularity, parse_rfc3339
from ocore_usage.domain.versions import Identity, Partition
from ocore_usage.storage.identities import IdentityIndex
from ocore_usage.storage.keys import (
    INDEXED,
    LEGACY_IDENTITY_SK,
    PAGE_PREFIX,
    TOMBSTONE_PREFIX,
    SeriesOwner,
    legacy_identity_pk,
    partition_pk,
)
from ocore_usage.storage.samples import INDEXED_PER_ITEM, PAGE_BYTES, TOMBSTONES_PER_ITEM, SampleRepository
from tests.support.pipeline import Clock, Pipeline
from tests.support.samples import sample

NOW = "2026-11-26T12:00:00Z"
ITEM_LIMIT = 400 * 1024


@pytest.fixture
def pipeline(dynamodb) -> Pipeline:
    return Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))


def test_a_request_of_long_ids_is_cut_into_pages_under_the_item_limit_and_counts_whole(pipeline):
    # GIVEN 1,000 samples of one project-hour with the longest ids the API allows
    pipeline.register("proj_long", "org_long")
    start = datetime(2026, 11, 26, 9, tzinfo=UTC)
    samples = [
        sample(
            sampleId=f"{i:06d}".ljust(128, "s"),
            projectId="proj_long",
            instanceId=f"{i:06d}".ljust(128, "i"),
            intervalStart=(start + timedelta(seconds=i)).isoformat().replace("+00:00", "Z"),
            intervalSeconds=60,
            cpuCores=1,
            ramGb=1,
            diskGb=1,
            bandwidthInBytes=10**15,
            bandwidthOutBytes=i,
        )
        for i in range(1000)
    ]
    # WHEN they are sent in one request
    assert pipeline.send(samples) == 1000
    # THEN they are stored as several pages, each under the limit
    items = pipeline.client.scan(TableName=pipeline.names["samples"])["Items"]
    pages = [item for item in items if item["sk"]["S"].startswith(PAGE_PREFIX)]
    assert len(pages) > 1
    assert all(len(page["entries"]["S"]) <= PAGE_BYTES < ITEM_LIMIT - 1024 for page in pages)
    # AND every sample counts once
    pipeline.roll_until_done()
    (hour,) = pipeline.stored_series(SeriesOwner.PROJECT, "proj_long", Granularity.HOUR).values()
    assert hour.bytes_in == 1000 * 10**15
    assert hour.bytes_out == sum(range(1000))
    assert hour.peak == 60  # one-minute samples a second apart


def test_the_indexed_set_of_a_busy_partition_is_spread_over_bounded_items(pipeline):
    # GIVEN a partition that received 10,000 requests, all indexed at once
    samples = pipeline.samples()
    hour = parse_rfc3339("2026-11-26T09:00:00Z")
    partition = Partition(hour)
    names = frozenset(f"{PAGE_PREFIX}{n:017d}-{n:012x}#0000" for n in range(10_000))
    partition.entries = []  # the names are what the indexed set records
    samples.write_indexed("proj_busy", [_with_pages(partition, names)])
    # THEN no item holds more than INDEXED_PER_ITEM names, and reading gives them all back
    items = pipeline.client.scan(TableName=pipeline.names["samples"])["Items"]
    indexed = [item for item in items if item["sk"]["S"].startswith(INDEXED)]
    assert len(indexed) == -(-10_000 // INDEXED_PER_ITEM)
    assert all(len(item["pages"]["SS"]) <= INDEXED_PER_ITEM for item in indexed)
    assert samples.read_partitions("proj_busy", [hour])[hour].indexed == names


def test_tombstones_of_a_partition_share_bounded_items_and_the_highest_counts(pipeline):
    # GIVEN 4,000 samples moved out of one hour, with the longest ids, and one out of another
    samples = pipeline.samples()
    hour, other = parse_rfc3339("2026-11-26T09:00:00Z"), parse_rfc3339("2026-11-26T10:00:00Z")
    moved = {(hour, f"{n:06d}".ljust(128, "s")): f"{n:017d}-{n:012x}" for n in range(4000)}
    samples.write_tombstones("proj_busy", moved | {(other, "s-1"): "v1"})
    # AND a second run (a retry after a crash, say) writes a lower and a higher one for the same samples
    samples.write_tombstones("proj_busy", {(hour, "000000".ljust(128, "s")): "0", (hour, "s-2"): "v2"})
    # THEN the first run's tombstones of each hour fill as few items as the bound allows, under the limit
    items = pipeline.client.scan(TableName=pipeline.names["samples"])["Items"]
    first_run = [i for i in items if i["pk"]["S"] == partition_pk("proj_busy", hour) and len(i["upto"]["M"]) > 2]
    assert len(first_run) == -(-4000 // TOMBSTONES_PER_ITEM)
    assert all(len(str(item)) < ITEM_LIMIT for item in first_run)
    assert sum(i["sk"]["S"].startswith(TOMBSTONE_PREFIX) for i in items) == len(first_run) + 2
    # AND each partition reads the highest tombstone of every sample it holds
    read = samples.read_partitions("proj_busy", [hour, other])
    assert read[hour].tombstones == {sample_id: upto for (_, sample_id), upto in moved.items()} | {"s-2": "v2"}
    assert read[other].tombstones == {"s-1": "v1"}


def test_a_tombstone_stored_one_per_sample_still_counts(pipeline):
    # GIVEN a tombstone item of the earlier layout: its sample id in the sort key, one version
    samples = pipeline.samples()
    hour = parse_rfc3339("2026-11-26T09:00:00Z")
    pk = {"S": partition_pk("proj_old", hour)}
    pipeline.client.put_item(
        TableName=pipeline.names["samples"], Item={"pk": pk, "sk": {"S": "T#s-1"}, "upto": {"S": "v3"}}
    )
    samples.write_tombstones("proj_old", {(hour, "s-1"): "v2", (hour, "s-2"): "v1"})
    # THEN the partition reads it, beside the newer items, and the highest of each sample counts
    assert samples.read_partitions("proj_old", [hour])[hour].tombstones == {"s-1": "v3", "s-2": "v1"}


def _with_pages(partition: Partition, names: frozenset[str]) -> Partition:
    class WithPages(Partition):
        @property
        def pages(self) -> frozenset[str]:
            return names

    return WithPages(partition.hour, partition.entries, partition.tombstones, partition.indexed)


@pytest.mark.parametrize("legacy", [True, False])
def test_an_identity_item_of_the_release_before_the_index_reads_while_the_upgrade_asks(pipeline, legacy):
    # GIVEN a per-sample identity item as releases before the identity index wrote it
    table = pipeline.table("samples")
    samples = SampleRepository(table, IdentityIndex(table, legacy=legacy))
    pipeline.client.put_item(
        TableName=pipeline.names["samples"],
        Item={
            "pk": {"S": legacy_identity_pk("proj_old", "s-1")},
            "sk": {"S": LEGACY_IDENTITY_SK},
            "version": {"S": "v1"},
            "hour": {"N": "3600000000"},
            "start": {"N": "3600000001"},
        },
    )
    # THEN ingest's and the rollup's reads find it while READ_LEGACY_IDENTITIES is on, and only then
    expected = {"s-1": Identity("v1", 3600000000, 3600000001)} if legacy else {}
    assert samples.stored_starts([("proj_old", "s-1"), ("proj_old", "s-2")]) == {
        ("proj_old", sid): identity.start for sid, identity in expected.items()
    }
    assert samples.identities("proj_old", ["s-1", "s-2"]) == expected
