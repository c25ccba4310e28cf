"""A project of 1,500 instances whose agents drift (samples of 299 s every 300 s, at different
phases) rolls exactly, with its neighbours in the same shard and another org in the same run.

Its part of an org hour holds about 36,000 occupancy edges, more than one DynamoDB item can
(400 KB): stored in bounded chunks, read back whole.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

from ocore_usage.domain.timeline import parse_rfc3339
from ocore_usage.storage.keys import SeriesOwner, shard_of
from tests.support.pipeline import Clock, Pipeline
from tests.support.reference import RefSample, expected_buckets
from tests.support.scenarios import assert_series

INSTANCES = 1500
HOUR = datetime(2026, 11, 26, 9, tzinfo=UTC)


def drifting_agents() -> list[RefSample]:
    samples = []
    for instance in range(INSTANCES):
        phase = timedelta(seconds=(instance * 7) % 300, microseconds=instance)
        for n in range(12):
            samples.append(
                RefSample(
                    project_id="proj_big",
                    sample_id=f"vm-{instance}-{n}",
                    instance_id=f"vm-{instance}",
                    start=HOUR + phase + timedelta(seconds=300 * n),
                    seconds=299,
                    cpu=Decimal("0.25"),
                    ram=Decimal(1),
                    disk=Decimal(10),
                    bytes_in=1000 + instance,
                    bytes_out=n,
                )
            )
    return samples


def neighbour_in_the_same_shard() -> str:
    return next(f"proj_small_{n}" for n in range(1000) if shard_of(f"proj_small_{n}") == shard_of("proj_big"))


def test_a_1500_instance_project_rolls_exactly_beside_its_neighbours(dynamodb):
    pipeline = Pipeline(dynamodb, Clock(parse_rfc3339("2026-11-26T12:00:00Z")))
    neighbour = neighbour_in_the_same_shard()
    pipeline.register("proj_big", "org_big")
    pipeline.register(neighbour, "org_big")
    pipeline.register("proj_other", "org_other")
    big = drifting_agents()
    small = [
        RefSample(p, "s-1", "vm-1", HOUR + timedelta(minutes=10), 600, Decimal(2), Decimal(2), Decimal(2), 5, 5)
        for p in (neighbour, "proj_other")
    ]
    every = [*big, *small]
    for offset in range(0, len(every), 1000):
        pipeline.send([s.as_json() for s in every[offset : offset + 1000]])

    # WHEN the rollup runs once
    first = pipeline.rollup().run()
    # THEN everything, the big project's org hour included, is rolled in that run
    assert first.remaining == 0
    items = pipeline.client.query(
        TableName=pipeline.names["rollups"],
        KeyConditionExpression="pk = :pk",
        ExpressionAttributeValues={":pk": {"S": "C#org_big#2026-11-26T09:00:00Z"}},
    )["Items"]
    assert len([i for i in items if i["sk"]["S"].startswith("proj_big")]) > 1  # the edges needed more than one item
    for project_id, samples in (("proj_big", big), (neighbour, small[:1]), ("proj_other", small[1:])):
        assert_series(pipeline, SeriesOwner.PROJECT, project_id, samples)
    assert_series(pipeline, SeriesOwner.ORG, "org_big", [*big, small[0]])
    assert_series(pipeline, SeriesOwner.ORG, "org_other", small[1:])
    hour = expected_buckets([*big, small[0]], "H")[HOUR]
    assert 1400 < hour.peak <= INSTANCES + 1
