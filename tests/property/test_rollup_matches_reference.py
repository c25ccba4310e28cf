"""The rollup's stored hourly/daily/monthly buckets, per project and per org, equal the reference model.

Random batches of samples cross hour, day and month boundaries, with 1 s to 3600 s intervals,
duplicates, corrections (some moving a sample to another month), late samples and projects
registered only after their first samples. Between batches the rollup runs normally, crashes
part-way, or finds shards leased by a worker that died; at the end it runs until nothing remains.
Every stored bucket must equal the reference exactly, and no other bucket may exist.
"""

from __future__ import annotations

import contextlib
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ocore_usage.domain.timeline import MICROS_PER_HOUR, to_micros
from ocore_usage.storage.keys import SHARDS
from ocore_usage.storage.work import WorkQueue
from tests.support.faults import CrashingTable, InjectedCrash
from tests.support.pipeline import Clock, Pipeline
from tests.support.reference import RefSample
from tests.support.scenarios import NOW, PROJECT_ORGS, assert_rollups_match, samples
from tests.support.template import create_tables

actions = st.sampled_from(["none", "rollup", "crash", "dead_worker"])


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    batches=st.lists(st.lists(samples(), min_size=1, max_size=8), min_size=1, max_size=4),
    after_each=st.lists(actions, min_size=4, max_size=4),
    crash_after=st.integers(0, 6),
    late=st.sets(st.sampled_from(sorted(PROJECT_ORGS))),
)
def test_rollups_equal_the_reference_model(batches, after_each, crash_after, late):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        pipeline = Pipeline(client, Clock(to_micros(NOW)))
        # GIVEN projects registered up front, except the late ones
        for project_id, org_id in PROJECT_ORGS.items():
            if project_id not in late:
                pipeline.register(project_id, org_id)

        # WHEN batches arrive with rollups that run, crash, or meet a dead worker's lease in between
        final: dict[tuple[str, str], RefSample] = {}
        for index, batch in enumerate(batches):
            assert pipeline.send([s.as_json() for s in batch]) == len({(s.project_id, s.sample_id) for s in batch})
            for sample in batch:
                final[(sample.project_id, sample.sample_id)] = sample
            _act(pipeline, after_each[index], crash_after)
            if index == 0:
                for project_id in sorted(late):
                    pipeline.register(project_id, PROJECT_ORGS[project_id])
        pipeline.clock.advance(10 * 60 * 1_000_000)  # past any lease left by a dead worker
        pipeline.roll_until_done()

        # THEN every stored bucket equals the reference, and nothing else is stored
        assert_rollups_match(pipeline, list(final.values()))
        # and a run with nothing new finds nothing to do
        assert pipeline.rollup().run().as_response() == {"processed": 0, "remaining": 0}


def _act(pipeline: Pipeline, action: str, crash_after: int) -> None:
    if action == "rollup":
        pipeline.rollup().run()
    elif action == "crash":
        crashing = CrashingTable(pipeline.client, pipeline.names["rollups"], survive=crash_after)
        with contextlib.suppress(InjectedCrash):
            pipeline.rollup(rollups_table=crashing).run()
    elif action == "dead_worker":
        # a worker took half the shards and died holding their leases
        work = WorkQueue(pipeline.table("work"))
        for head in work.heads():
            if head.shard % 2 == 0:
                work.acquire(head, "dead-worker", pipeline.clock(), 360 * 1_000_000)
        result = pipeline.rollup().run()
        assert result.remaining >= 0
        pipeline.clock.advance(MICROS_PER_HOUR // 6)


def test_shard_count_is_fixed():
    # The count heads without one mean: lowering it would strand the marks of the shards above it
    # (the count grows through the rollup's {"shardCount": n}, stored on the heads).
    assert SHARDS == 16


def test_reference_sweep_counts_an_instance_once_and_stops_before_starts():
    from tests.support.reference import sweep_peak

    t0 = datetime(2026, 1, 1, tzinfo=UTC)
    t = [t0 + timedelta(seconds=s) for s in range(5)]
    # overlapping samples of one instance count once; back-to-back instances never overlap
    assert sweep_peak([(("p", "a"), t[0], t[2]), (("p", "a"), t[1], t[3])]) == 1
    assert sweep_peak([(("p", "a"), t[0], t[1]), (("p", "b"), t[1], t[2])]) == 1
    assert sweep_peak([(("p", "a"), t[0], t[2]), (("q", "a"), t[1], t[3])]) == 2
    assert Decimal("0.0000005").quantize(Decimal("0.000001")) == Decimal("0.000000")
