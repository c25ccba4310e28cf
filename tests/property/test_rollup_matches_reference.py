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
from fractions import Fraction

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ocore_usage.storage.keys import SHARDS, Scope
from ocore_usage.storage.work import WorkQueue
from ocore_usage.timeline import MICROS_PER_HOUR, Granularity
from tests.support.faults import CrashingTable, InjectedCrash
from tests.support.pipeline import Clock, Pipeline, micros
from tests.support.reference import RefSample, expected_buckets
from tests.support.template import create_tables

NOW = datetime(2026, 11, 3, 12, tzinfo=UTC)
PROJECT_ORGS = {"p-a": "org-1", "p-b": "org-1", "p-c": "org-2"}
# Two clusters: around the October/November boundary, and early October (another month).
CLUSTERS = [datetime(2026, 10, 31, 21, tzinfo=UTC), datetime(2026, 10, 5, 23, tzinfo=UTC)]
HOURS = (Granularity.HOUR, "H"), (Granularity.DAY, "D"), (Granularity.MONTH, "M")

allocations = st.decimals(min_value=0, max_value=64, places=7, allow_nan=False, allow_infinity=False)


@st.composite
def samples(draw: st.DrawFn) -> RefSample:
    base = draw(st.sampled_from(CLUSTERS))
    offset = draw(st.integers(0, 5 * 3600 * 1_000_000))
    start = base + timedelta(microseconds=offset)
    if draw(st.booleans()):  # most agents send whole seconds
        start = start.replace(microsecond=0)
    return RefSample(
        project_id=draw(st.sampled_from(sorted(PROJECT_ORGS))),
        sample_id=draw(st.sampled_from([f"s{i}" for i in range(6)])),
        instance_id=draw(st.sampled_from(["i0", "i1", "i2"])),
        start=start,
        seconds=draw(st.one_of(st.integers(1, 3600), st.sampled_from([1, 60, 300, 3599, 3600]))),
        cpu=draw(allocations),
        ram=draw(allocations),
        disk=draw(allocations),
        bytes_in=draw(st.integers(0, 10**15)),
        bytes_out=draw(st.integers(0, 10**6)),
    )


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
        pipeline = Pipeline(client, Clock(micros(NOW)))
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
        stood = list(final.values())
        for project_id in PROJECT_ORGS:
            mine = [s for s in stood if s.project_id == project_id]
            _assert_series(pipeline, Scope.PROJECT, project_id, mine)
        for org_id in set(PROJECT_ORGS.values()):
            theirs = [s for s in stood if PROJECT_ORGS[s.project_id] == org_id]
            _assert_series(pipeline, Scope.ORG, org_id, theirs)
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


def _assert_series(pipeline: Pipeline, scope: Scope, identifier: str, samples_: list[RefSample]) -> None:
    for granularity, code in HOURS:
        stored = pipeline.stored_series(scope, identifier, granularity)
        expected = expected_buckets(samples_, code)
        assert sorted(stored) == sorted(expected), (scope, identifier, code)
        for start, want in expected.items():
            got = stored[start]
            assert Fraction(got.cpu, 10**6 * MICROS_PER_HOUR) == want.cpu, (identifier, code, start, "cpu")
            assert Fraction(got.ram, 10**6 * MICROS_PER_HOUR) == want.ram, (identifier, code, start, "ram")
            assert Fraction(got.disk, 10**6 * MICROS_PER_HOUR) == want.disk, (identifier, code, start, "disk")
            assert Fraction(got.instance, MICROS_PER_HOUR) == want.instance_hours, (identifier, code, start)
            assert (got.bytes_in, got.bytes_out) == (want.bytes_in, want.bytes_out), (identifier, code, start)
            assert got.peak == want.peak, (identifier, code, start, "peak")


def test_shard_count_is_fixed():
    # Marks are found by recomputing their shard: changing SHARDS would strand pending work.
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
