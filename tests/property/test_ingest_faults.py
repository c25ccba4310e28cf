"""Every sample counted once whatever an ingest or a rollup goes through: crashes at every request, retries, races.

The write path's promise: the stored samples equal the accepted requests applied one at a time
in some order, and each sample counts once, as its last applied version. Checked here against
the reference model (exact Fractions, a sweep-line peak) on moto:

- an ingest that dies after its k-th DynamoDB request, for every k, then the agent's retry of
  the same body, with the rollup running before the retry or not;
- two agents whose requests interleave request by request (different versions of the same
  samples, and two identical retries), with rollups in between;
- a rollup that dies after its k-th DynamoDB request, for every k, while it resolves corrections
  (tombstones, marks, identities, the indexed set) and writes buckets, then the next rollup.

Batches carry new samples, duplicates and corrections that move samples across hours, days
and months (the scenarios of ``tests/support/scenarios.py``).
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator
from datetime import timedelta
from decimal import Decimal
from random import Random

import boto3
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ocore_usage.api import jsonnum
from ocore_usage.domain.timeline import to_micros
from ocore_usage.storage.wire import decode_with_json
from ocore_usage.storage.work import WorkQueue
from tests.support.faults import CrashAfterRequests, InjectedCrash
from tests.support.pipeline import Clock, Pipeline
from tests.support.reference import RefSample
from tests.support.scenarios import NOW, PROJECT_ORGS, assert_rollups_match, samples, standing
from tests.support.template import create_tables

batches = st.lists(samples(), min_size=1, max_size=8)
_FIGURES = (Decimal(2), Decimal("1.5"), Decimal(0), 1000, 3)
"""cpu, ram, disk, bytes in and out of the hand-written samples."""


@contextlib.contextmanager
def registered_pipeline() -> Iterator[Pipeline]:
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        decode_with_json(client)  # read answers decoded as the service's own client decodes them
        create_tables(client)
        pipeline = Pipeline(client, Clock(to_micros(NOW)))
        for project_id, org_id in PROJECT_ORGS.items():
            pipeline.register(project_id, org_id)
        yield pipeline


def send(pipeline: Pipeline, batch: list[RefSample]) -> None:
    pipeline.send([s.as_json() for s in batch])


def requests_of_a_clean_ingest(first: list[RefSample], second: list[RefSample]) -> int:
    with registered_pipeline() as pipeline:
        send(pipeline, first)
        counting = CrashAfterRequests(pipeline.client, survive=10**6)
        send(Pipeline(counting, pipeline.clock), second)
        return counting.made


@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=batches, second=batches, roll_before_retry=st.booleans())
def test_a_crash_after_any_request_then_the_retry_counts_every_sample_once(first, second, roll_before_retry):
    for crash_after in range(requests_of_a_clean_ingest(first, second)):
        with registered_pipeline() as pipeline:
            # GIVEN a first batch, stored and rolled
            send(pipeline, first)
            pipeline.roll_until_done()
            # WHEN the second batch dies after its k-th DynamoDB request (no 202) ...
            dying = Pipeline(CrashAfterRequests(pipeline.client, survive=crash_after), pipeline.clock)
            with pytest.raises(InjectedCrash):
                send(dying, second)
            if roll_before_retry:  # ... the rollup may see what it left ...
                pipeline.roll_until_done()
            send(pipeline, second)  # ... and the agent sends it again
            pipeline.roll_until_done()
            # THEN the rollups equal the two batches applied once each, in order
            assert_rollups_match(pipeline, standing(first, second))


def requests_of_a_clean_rollup(first: list[RefSample], second: list[RefSample]) -> int:
    with registered_pipeline() as pipeline:
        send(pipeline, first)
        pipeline.roll_until_done()
        send(pipeline, second)
        counting = CrashAfterRequests(pipeline.client, survive=10**6)
        pipeline.rollup(client=counting).run()
        return counting.made


MOVED_ACROSS_A_MONTH = (
    [
        RefSample("p-a", "s1", "i0", NOW.replace(day=1, hour=0, minute=58) - timedelta(days=1), 300, *_FIGURES),
        RefSample("p-c", "s2", "i1", NOW.replace(day=2, hour=5), 3600, *_FIGURES),
    ],
    [
        RefSample("p-a", "s1", "i0", NOW.replace(day=1, hour=0, minute=30), 600, *_FIGURES),  # to another month
        RefSample("p-c", "s2", "i1", NOW.replace(day=2, hour=5), 3600, *_FIGURES),  # a retry of the same
        RefSample("p-b", "s3", "i2", NOW.replace(day=2, hour=7), 60, *_FIGURES),  # new
    ],
)


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(first=st.lists(samples(), min_size=1, max_size=4), second=st.lists(samples(), min_size=1, max_size=4))
@example(*MOVED_ACROSS_A_MONTH)
def test_a_rollup_dying_after_any_request_then_the_next_one_counts_every_sample_once(first, second):
    for crash_after in range(requests_of_a_clean_rollup(first, second)):
        with registered_pipeline() as pipeline:
            # GIVEN a first batch, stored and rolled, and a second one (corrections among them) stored
            send(pipeline, first)
            pipeline.roll_until_done()
            send(pipeline, second)
            # WHEN the rollup dies after its k-th DynamoDB request, holding its leases ...
            dying = pipeline.rollup(client=CrashAfterRequests(pipeline.client, survive=crash_after))
            with contextlib.suppress(InjectedCrash):
                dying.run()
            pipeline.clock.advance(10 * 60 * 1_000_000)  # ... which run out before the next rollup
            pipeline.roll_until_done()
            # THEN the rollups equal the two batches applied once each, in order
            assert_rollups_match(pipeline, standing(first, second))


ACROSS_A_GROWTH = (
    [
        RefSample("p-b", "s4", "i3", NOW.replace(day=2, hour=1, minute=58), 300, *_FIGURES),
        RefSample("p-a", "s5", "i0", NOW.replace(day=2, hour=1), 60, *_FIGURES),
        RefSample("p-b", "s7", "i4", NOW.replace(day=2, hour=4), 60, *_FIGURES),  # its hour marked only under 16
    ],
    [
        RefSample("p-b", "s4", "i3", NOW.replace(day=2, hour=9), 300, *_FIGURES),  # moved
        RefSample("p-b", "s6", "i3", NOW.replace(day=2, hour=1), 60, *_FIGURES),  # new
    ],
)
"""Samples of p-b, whose shard changes when the count grows from 16 to 32, and of p-a (same org), whose does not."""


def _around_a_growth(pipeline: Pipeline, rollup_dies_first: bool, client: object) -> None:
    """The first batch, a growth to 32 shards and the second batch (sent by an ingest that knows the
    count), with a rollup on ``client`` before the growth or after the second batch."""
    send(pipeline, ACROSS_A_GROWTH[0])
    dying = pipeline.rollup(client=client)
    if rollup_dies_first:
        with contextlib.suppress(InjectedCrash):
            dying.run()
    WorkQueue(pipeline.table("work")).grow(32, pipeline.clock())
    ingest = pipeline.ingest
    ingest.work.heads()
    ingest.ingest_body(jsonnum.dumps({"samples": [s.as_json() for s in ACROSS_A_GROWTH[1]]}))
    if not rollup_dies_first:
        with contextlib.suppress(InjectedCrash):
            dying.run()


@pytest.mark.parametrize("rollup_dies_first", [True, False], ids=["dies before the growth", "dies after it"])
def test_a_rollup_dying_after_any_request_around_a_shard_count_growth_loses_and_doubles_nothing(rollup_dies_first):
    with registered_pipeline() as pipeline:
        counting = CrashAfterRequests(pipeline.client, survive=10**6)
        _around_a_growth(pipeline, rollup_dies_first, counting)
        requests = counting.made
    for crash_after in range(requests):
        with registered_pipeline() as pipeline:
            # GIVEN a rollup that dies after its k-th request, holding its leases, before the count
            # grows to 32 or after, with marks of a moving project in its old shard and its new one
            _around_a_growth(pipeline, rollup_dies_first, CrashAfterRequests(pipeline.client, survive=crash_after))
            # WHEN a rollup runs while the dead worker's leases are held, then after they run out
            pipeline.rollup().run()
            pipeline.clock.advance(10 * 60 * 1_000_000)
            pipeline.roll_until_done()
            # THEN the rollups equal the two batches applied once each, in order
            assert_rollups_match(pipeline, standing(*ACROSS_A_GROWTH))


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    first=batches,
    racing=st.lists(batches, min_size=2, max_size=3),
    definitive=batches,
    seed=st.integers(0, 2**32 - 1),
)
def test_racing_writers_then_a_definitive_version_count_every_sample_once(first, racing, definitive, seed):
    with registered_pipeline() as pipeline:
        send(pipeline, first)
        # WHEN several agents send different versions of the same samples at once, request by
        # request in a random interleaving, with rollups running between their requests
        _interleave(pipeline, racing, Random(seed))
        # and then one definitive version of each sample they sent arrives (a later duplicate in
        # one batch wins, so the drawn definitive versions override resent racing ones)
        final_versions = [*(s for batch in racing for s in batch), *definitive]
        send(pipeline, final_versions)
        pipeline.roll_until_done()
        # THEN every sample counts once, as its definitive version
        assert_rollups_match(pipeline, standing(first, *racing, final_versions))


def test_two_identical_retries_racing_count_once():
    batch = [
        RefSample(
            "p-a", "s1", "i0", NOW.replace(day=1, hour=0, minute=58), 300, Decimal(2), Decimal(1), Decimal(0), 1000, 3
        ),
        RefSample("p-b", "s2", "i1", NOW.replace(day=1, hour=5), 3600, Decimal(1), Decimal(1), Decimal(1), 7, 0),
    ]
    with registered_pipeline() as pipeline:
        _interleave(pipeline, [batch, batch], rng=None)
        pipeline.roll_until_done()
        assert_rollups_match(pipeline, standing(batch))


def _interleave(pipeline: Pipeline, writers: list[list[RefSample]], rng: Random | None) -> None:
    """Run one ingest per batch at once, letting one DynamoDB request through at a time.

    ``rng`` picks which waiting writer goes next and when a rollup runs in between; without it
    the writers take turns in order.
    """
    gates = [_Gated(pipeline.client) for _ in writers]
    threads = [
        threading.Thread(target=send, args=(Pipeline(gate, pipeline.clock), batch), daemon=True)
        for gate, batch in zip(gates, writers, strict=True)
    ]
    for thread in threads:
        thread.start()
    while any(thread.is_alive() for thread in threads):
        waiting = [gate for gate in gates if gate.waiting]
        if not waiting:
            threading.Event().wait(0.001)
            continue
        gate = rng.choice(waiting) if rng is not None else waiting[0]
        gate.release_one()
        if rng is not None and rng.random() < 0.3:
            pipeline.rollup().run()
    for thread in threads:
        thread.join()


class _Gated:
    """A client whose requests each wait for the test to let them through."""

    def __init__(self, client: object) -> None:
        self._client = client
        self._lock = threading.Lock()
        self._queue: list[threading.Event] = []

    @property
    def waiting(self) -> bool:
        with self._lock:
            return bool(self._queue)

    def release_one(self) -> None:
        with self._lock:
            event = self._queue.pop(0)
        event.set()
        event.done.wait()  # type: ignore[attr-defined]

    def __getattr__(self, name: str) -> object:
        operation = getattr(self._client, name)
        if not callable(operation) or name in ("get_paginator", "can_paginate"):
            return operation

        def call(*args: object, **kwargs: object) -> object:
            event = threading.Event()
            event.done = threading.Event()  # type: ignore[attr-defined]
            with self._lock:
                self._queue.append(event)
            event.wait()
            try:
                return operation(*args, **kwargs)
            finally:
                event.done.set()  # type: ignore[attr-defined]

        return call
