"""One tenant never stalls another: failing projects and orgs are parked and retried, marks are taken
fairly, a worker that lost its lease changes nothing, and the shard count grows without losing marks."""

from __future__ import annotations

import itertools
import threading
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.exceptions import ClientError

from functions.rollup import app as rollup_app
from ocore_usage.api import jsonnum
from ocore_usage.domain.timeline import MICROS_PER_HOUR, MICROS_PER_SECOND, Granularity, parse_rfc3339
from ocore_usage.storage.keys import SHARDS, SeriesOwner, shard_of
from ocore_usage.storage.leases import Lease, LeaseLost
from ocore_usage.storage.rollups import RollupRepository
from ocore_usage.storage.samples import SampleRepository
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.rollup import RETRY_CAP, Deadline, RollupResult, retry_delay
from tests.support.pipeline import Clock, Pipeline, count_requests
from tests.support.read_api import LambdaContext
from tests.support.samples import sample

NOW = "2026-11-26T02:30:00Z"
FIRST_HOUR = datetime(2026, 11, 25, tzinfo=UTC)
MINUTE = 60 * MICROS_PER_SECOND


@pytest.fixture
def pipeline(dynamodb) -> Pipeline:
    return Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))


def neighbours(of: str, count: int) -> list[str]:
    """``count`` project ids in the same shard as ``of``."""
    found = (f"prj_{i}" for i in itertools.count())
    return list(itertools.islice((p for p in found if shard_of(p) == shard_of(of)), count))


def samples(project_id: str, hours: int, instances: int = 2, start: datetime = FIRST_HOUR) -> list[dict[str, Any]]:
    """One 30-minute sample per instance and half hour, over ``hours`` hours from ``start``."""
    return [
        sample(
            sampleId=f"{project_id}-{i}-{start:%d%H}-{n}",
            projectId=project_id,
            instanceId=f"vm-{i}",
            intervalStart=(start + timedelta(minutes=30 * n)).isoformat().replace("+00:00", "Z"),
            intervalSeconds=1800,
            cpuCores=1,
            ramGb=2,
            diskGb=10,
            bandwidthInBytes=100,
            bandwidthOutBytes=10,
        )
        for i in range(instances)
        for n in range(2 * hours)
    ]


def moving_project() -> str:
    """A project id whose shard changes when the count grows from 16 to 32."""
    return next(p for p in (f"prj_{i}" for i in itertools.count()) if shard_of(p, 32) != shard_of(p))


def seed(pipeline: Pipeline, project_id: str, hours: int, org_id: str = "org_a") -> None:
    pipeline.register(project_id, org_id)
    pipeline.send(samples(project_id, hours=hours))


class FailingRollups(RollupRepository):
    """Rollups whose series writes fail for the ids in ``failing`` (an item over 400 KB, say)."""

    def __init__(self, table: Any, failing: set[str]) -> None:
        super().__init__(table)
        self.failing = failing

    def write_series(self, scope: SeriesOwner, identifier: str, granularity: Granularity, buckets: Any) -> None:
        if identifier in self.failing:
            code, message = "ValidationException", "Item size has exceeded the maximum allowed size"
            raise ClientError({"Error": {"Code": code, "Message": message}}, "BatchWriteItem")
        super().write_series(scope, identifier, granularity, buckets)


def hours_of(pipeline: Pipeline, scope: SeriesOwner, identifier: str) -> int:
    return len(pipeline.stored_series(scope, identifier, Granularity.HOUR))


def test_a_failing_project_is_parked_while_its_shard_and_other_orgs_roll_then_retried(pipeline):
    # GIVEN a project whose rollup fails, two neighbours in its shard (one in its org, one in
    # another org) and a project of a third org elsewhere
    bad = "prj_bad"
    same_org, other_org = neighbours(bad, 2)
    elsewhere = next(p for p in (f"prj_x{i}" for i in itertools.count()) if shard_of(p) != shard_of(bad))
    orgs = {bad: "org_a", same_org: "org_a", other_org: "org_b", elsewhere: "org_c"}
    for project_id, org_id in orgs.items():
        seed(pipeline, project_id, hours=3, org_id=org_id)
    failing: set[str] = set()
    rollups = FailingRollups(pipeline.table("rollups"), failing)
    assert _run(pipeline, rollups).failures == 0  # three hours of each, rolled

    # WHEN a fourth hour arrives for each, and the bad project's rollup fails from now on
    failing.add(bad)
    for project_id in orgs:
        pipeline.send(samples(project_id, hours=1, start=FIRST_HOUR + timedelta(hours=3)))
    result = _run(pipeline, rollups)

    # THEN the failure is counted and the others are rolled in the same run, orgs included
    assert (result.failures, result.failed) == (1, [bad])
    assert result.remaining == 0  # parked marks are not pending work for this run
    for project_id in (same_org, other_org, elsewhere):
        assert hours_of(pipeline, SeriesOwner.PROJECT, project_id) == 4, project_id
    assert hours_of(pipeline, SeriesOwner.PROJECT, bad) == 3
    for org_id in ("org_a", "org_b", "org_c"):
        assert hours_of(pipeline, SeriesOwner.ORG, org_id) == 4, org_id
    # AND the shard records when the parked project is due
    head = _head(pipeline, SeriesOwner.PROJECT, shard_of(bad))
    assert head.parked and head.retry_at > pipeline.clock.now and not head.has_work

    # WHEN the rollup runs again before the retry is due THEN the bad project is left alone
    assert _run(pipeline, rollups).failures == 0

    # WHEN it is due and still failing THEN it is parked again, for longer
    pipeline.clock.advance(retry_delay(1) + 1)
    assert _run(pipeline, rollups).failed == [bad]
    assert _head(pipeline, SeriesOwner.PROJECT, shard_of(bad)).retry_at >= pipeline.clock.now + retry_delay(2) - 10**6

    # WHEN the fault is gone and the retry is due THEN it rolls, and its org follows
    failing.clear()
    before = pipeline.stored_series(SeriesOwner.ORG, "org_a", Granularity.HOUR)
    pipeline.clock.advance(retry_delay(2) + 1)
    result = _run(pipeline, rollups)
    assert (result.failures, result.remaining) == (0, 0)
    assert hours_of(pipeline, SeriesOwner.PROJECT, bad) == 4
    after = pipeline.stored_series(SeriesOwner.ORG, "org_a", Granularity.HOUR)
    assert max(after).hour == 3 and after[max(after)] != before[max(after)]
    head = _head(pipeline, SeriesOwner.PROJECT, shard_of(bad))
    assert (head.parked, head.retry_at, head.pending_since) == (False, 0, 0)
    assert WorkQueue(pipeline.table("work")).retries(SeriesOwner.PROJECT, shard_of(bad)) == {}


def test_a_failing_org_is_parked_while_other_orgs_roll(pipeline):
    # GIVEN two orgs, the first of which fails to store its series
    for project_id, org_id in (("prj_one", "org_broken"), ("prj_two", "org_fine")):
        seed(pipeline, project_id, hours=2, org_id=org_id)
    rollups = FailingRollups(pipeline.table("rollups"), {"org_broken"})

    # WHEN the rollup runs
    result = _run(pipeline, rollups)

    # THEN both projects and the healthy org are rolled; the broken org is parked and reported
    assert (result.failures, result.failed) == (1, ["org_broken"])
    assert hours_of(pipeline, SeriesOwner.PROJECT, "prj_one") == hours_of(pipeline, SeriesOwner.ORG, "org_fine") == 2
    assert hours_of(pipeline, SeriesOwner.ORG, "org_broken") == 0
    # AND once fixed and due, it rolls
    rollups.failing.clear()
    pipeline.clock.advance(retry_delay(1) + 1)
    assert _run(pipeline, rollups).failures == 0
    assert hours_of(pipeline, SeriesOwner.ORG, "org_broken") == 2


def test_a_shard_that_cannot_be_read_does_not_stop_the_other_shards(pipeline):
    # GIVEN two projects in different shards, and the first one's shard throttled beyond retries
    first = "prj_a"
    second = next(p for p in (f"prj_b{i}" for i in itertools.count()) if shard_of(p) != shard_of(first))
    for project_id in (first, second):
        seed(pipeline, project_id, hours=1)
    service = pipeline.rollup()
    take = service.work.take

    def throttled(kind: SeriesOwner, shard: int, *args: Any, **kwargs: Any) -> Any:
        if kind is SeriesOwner.PROJECT and shard == shard_of(first):
            code = "ProvisionedThroughputExceededException"
            raise ClientError({"Error": {"Code": code, "Message": "Rate exceeded"}}, "Query")
        return take(kind, shard, *args, **kwargs)

    service.work.take = throttled

    # WHEN the rollup runs THEN the other shard and the org are rolled, the failure counted, the shard left due
    result = service.run()
    assert (result.failures, result.remaining) == (1, 1)
    assert (hours_of(pipeline, SeriesOwner.PROJECT, first), hours_of(pipeline, SeriesOwner.PROJECT, second)) == (0, 1)
    assert hours_of(pipeline, SeriesOwner.ORG, "org_a") == 1
    # AND the next run, unthrottled, rolls it
    assert pipeline.roll_until_done()[-1].remaining == 0
    assert hours_of(pipeline, SeriesOwner.PROJECT, first) == 1


def test_the_backoff_doubles_and_is_capped():
    delays = [retry_delay(attempts) // MICROS_PER_SECOND for attempts in range(1, 9)]
    assert delays == [30, 60, 120, 240, 480, 900, 900, 900]
    assert retry_delay(10_000) == RETRY_CAP


def test_a_project_renewing_its_marks_every_batch_does_not_starve_its_shard(pipeline):
    # GIVEN a busy project whose marks sort first in its shard and are renewed while each batch is
    # rolled (its agents keep sending), and quiet neighbours after it
    busy = "prj_0aaa"
    quiet = [p for p in neighbours(busy, 40) if p > busy][:3]
    seed(pipeline, busy, hours=12)
    for project_id in quiet:
        seed(pipeline, project_id, hours=1)
    writer = WorkQueue(pipeline.table("work"))

    class RenewingRollups(RollupRepository):
        def write_series(self, scope: SeriesOwner, identifier: str, granularity: Granularity, buckets: Any) -> None:
            super().write_series(scope, identifier, granularity, buckets)
            if identifier == busy and granularity is Granularity.HOUR:
                writer.mark(SeriesOwner.PROJECT, [(busy, hour) for hour in buckets], pipeline.clock())

    service = pipeline.rollup()
    service.rollups = RenewingRollups(pipeline.table("rollups"))
    service.batch_marks = 5  # fewer than the busy project's 12 marks

    # WHEN a worker runs for a limited time (about 25 batches)
    result = service.run(deadline=_budget(calls=25))

    # THEN every quiet neighbour was rolled although the busy project's marks never cleared
    for project_id in quiet:
        assert hours_of(pipeline, SeriesOwner.PROJECT, project_id) == 1, project_id
    assert hours_of(pipeline, SeriesOwner.PROJECT, busy) == 12
    assert result.remaining >= 12
    assert {m.identifier for m in writer.pending(SeriesOwner.PROJECT, shard_of(busy), 100)} == {busy}


def test_a_worker_that_lost_its_lease_deletes_no_mark(pipeline):
    # GIVEN a worker holding a shard's lease, and marks it read
    work = WorkQueue(pipeline.table("work"))
    hours = [parse_rfc3339("2026-11-25T00:00:00Z") + h * MICROS_PER_HOUR for h in range(3)]
    work.mark(SeriesOwner.PROJECT, [("prj_a", h) for h in hours], pipeline.clock())
    head = _head(pipeline, SeriesOwner.PROJECT, shard_of("prj_a"))
    lease = work.acquire(head, "worker-1", pipeline.clock(), 10 * MICROS_PER_SECOND)
    assert lease is not None
    marks = work.pending(SeriesOwner.PROJECT, head.shard, 10)

    # WHEN its lease runs out and another worker takes the shard
    pipeline.clock.advance(11 * MICROS_PER_SECOND)
    assert work.acquire(head, "worker-2", pipeline.clock(), 10 * MICROS_PER_SECOND) is not None

    # THEN the first worker can delete nothing
    with pytest.raises(LeaseLost):
        work.clear(marks, lease)
    assert len(work.pending(SeriesOwner.PROJECT, head.shard, 10)) == 3


def test_a_worker_losing_its_lease_mid_batch_leaves_its_hours_marked_for_the_new_holder(pipeline):
    # GIVEN a project with samples, and a rollup whose lease is taken over while it writes
    seed(pipeline, "prj_a", hours=2)
    work = WorkQueue(pipeline.table("work"))
    shard = shard_of("prj_a")

    class StolenDuringWrite(RollupRepository):
        def write_series(self, scope: SeriesOwner, identifier: str, granularity: Granularity, buckets: Any) -> None:
            super().write_series(scope, identifier, granularity, buckets)
            head = _head(pipeline, SeriesOwner.PROJECT, shard)
            pipeline.clock.advance(400 * MICROS_PER_SECOND)  # past any lease
            work.acquire(head, "other-worker", pipeline.clock(), MINUTE)

    service = pipeline.rollup()
    service.rollups = StolenDuringWrite(pipeline.table("rollups"))

    # WHEN it runs THEN it reports the loss and leaves the marks in place (renewed)
    result = service.run()
    assert result.failures == 1
    assert {m.identifier for m in work.pending(SeriesOwner.PROJECT, shard, 10)} == {"prj_a"}
    # AND once the other lease ends, a normal run rolls them
    pipeline.clock.advance(61 * MICROS_PER_SECOND)
    assert pipeline.roll_until_done()[-1].remaining == 0
    assert hours_of(pipeline, SeriesOwner.PROJECT, "prj_a") == 2


def test_the_lease_lasts_the_invocation_plus_a_margin(pipeline):
    seed(pipeline, "prj_a", hours=1)
    service = pipeline.rollup()
    leases: list[int] = []
    acquire = service.work.acquire

    def recording(head, owner, now, lease):
        leases.append(lease)
        return acquire(head, owner, now, lease)

    service.work.acquire = recording
    # WHEN a worker has less time left than a batch needs THEN it takes no shard
    result = service.run(deadline=Deadline(lambda: 20_000))
    assert (leases, result.processed, result.remaining) == ([], 0, 1)
    # WHEN it has two minutes left THEN it holds each shard for two minutes and a margin
    assert service.run(deadline=Deadline(lambda: 120_000)).processed == 4
    assert leases and all(lease == 135 * MICROS_PER_SECOND for lease in leases)


def test_growing_the_shard_count_loses_no_marks(pipeline, monkeypatch):
    # GIVEN an agent's ingest (one process: it keeps what it learns) and projects with marks under 16 shards
    projects = [f"prj_{i}" for i in range(24)]
    ingest = pipeline.ingest

    def send(hour: int) -> None:
        batch = [s for p in projects for s in samples(p, hours=1, start=FIRST_HOUR + timedelta(hours=hour))]
        ingest.ingest_body(jsonnum.dumps({"samples": batch}))

    for project_id in projects:
        pipeline.register(project_id, f"org_{int(project_id[4:]) % 3}")
    send(0)
    assert ingest.work.shard_count == SHARDS

    # WHEN an operator grows the shard count to 32 through the function (which then rolls everything)
    monkeypatch.setattr(rollup_app, "rollup_service", lambda: pipeline.rollup())
    assert rollup_app.lambda_handler({"shardCount": 32}, _Context())["remaining"] == 0

    # THEN the agent's next batch still goes under 16, and the head it bumps tells it about 32
    send(1)
    assert ingest.work.shard_count == 32
    send(2)
    work = WorkQueue(pipeline.table("work"))
    assert sum(work.count(SeriesOwner.PROJECT, shard) for shard in range(SHARDS, 32)) > 0  # marks in the new shards

    # AND every mark, in old shards and new, is rolled
    assert rollup_app.lambda_handler({}, _Context())["remaining"] == 0
    for project_id in projects:
        assert hours_of(pipeline, SeriesOwner.PROJECT, project_id) == 3, project_id
    assert all(work.count(kind, shard) == 0 for kind in SeriesOwner for shard in range(32))
    assert rollup_app.lambda_handler({"shards": [31]}, _Context()) == {"processed": 0, "remaining": 0}
    with pytest.raises(ValueError, match="shard numbers"):
        pipeline.rollup().run(shards=[32])
    # AND the count never shrinks
    assert work.grow(16, pipeline.clock()) == 32


def test_while_a_worker_of_the_count_before_a_growth_may_roll_a_project_no_other_worker_does(pipeline, monkeypatch):
    # GIVEN a project that moves to another shard when the count grows from 16 to 32, a sample's
    # first version sent under 16, and a worker of its old shard that has read the sample's identity
    project_id = moving_project()
    pipeline.register(project_id, "org_a")
    ingest = pipeline.ingest
    version = samples(project_id, hours=1, instances=1)[0]

    def send(hours_later: int) -> None:
        start = FIRST_HOUR + timedelta(hours=hours_later, minutes=10)
        body = {"samples": [{**version, "intervalStart": start.isoformat().replace("+00:00", "Z")}]}
        pipeline.clock.advance(MICROS_PER_SECOND)
        ingest.ingest_body(jsonnum.dumps(body))

    send(0)
    identities = SampleRepository.identities
    has_read, go_on = threading.Event(), threading.Event()

    def read_then_wait(self: SampleRepository, *args: Any) -> Any:
        found = identities(self, *args)
        if threading.current_thread().name == "old worker":
            has_read.set()
            assert go_on.wait(10)
        return found

    monkeypatch.setattr(SampleRepository, "identities", read_then_wait)
    old_results: list[RollupResult] = []
    old_worker = threading.Thread(
        target=lambda: old_results.append(pipeline.rollup().run(shards=[shard_of(project_id)])), name="old worker"
    )
    old_worker.start()
    assert has_read.wait(10)

    # WHEN the count grows meanwhile, a later version (three hours on) is sent under 32, and the
    # project's new shard is rolled
    WorkQueue(pipeline.table("work")).grow(32, pipeline.clock())
    ingest.work.heads()  # the ingest learns the count
    send(3)
    new_shard = pipeline.rollup().run(shards=[shard_of(project_id, 32)])

    # THEN the new shard's worker leaves it for now: the old worker may be rolling its project
    assert (new_shard.processed, new_shard.remaining) == (0, 1)
    # AND once the old worker is done (finding the count grown, it gives its shard back), the
    # sample counts once, as its later version
    go_on.set()
    old_worker.join()
    # (a growth is no failure, and the marks it left for the next run are reported)
    assert old_results[0].failures == 0 and old_results[0].remaining > 0
    monkeypatch.undo()
    pipeline.roll_until_done()
    latest, corrected = FIRST_HOUR + timedelta(hours=3), FIRST_HOUR + timedelta(hours=5)
    assert list(pipeline.stored_series(SeriesOwner.PROJECT, project_id, Granularity.HOUR)) == [latest]
    # AND a correction after it replaces it
    send(5)
    pipeline.roll_until_done()
    assert list(pipeline.stored_series(SeriesOwner.PROJECT, project_id, Granularity.HOUR)) == [corrected]


def test_after_the_count_grows_a_project_is_rolled_only_in_its_new_shard(pipeline):
    # GIVEN a project that moves to another shard when the count grows, with marks in its old shard
    project_id = moving_project()
    seed(pipeline, project_id, hours=2)
    work = WorkQueue(pipeline.table("work"))
    old, new = shard_of(project_id), shard_of(project_id, 32)
    assert work.count(SeriesOwner.PROJECT, old) == 2

    # WHEN the count grows (every head in one request) and the old shard is rolled
    counts = count_requests(pipeline.client)
    assert work.grow(32, pipeline.clock()) == 32
    assert counts["TransactWriteItems"] == 1 and counts["UpdateItem"] == 0
    assert all(head.shards == 32 for head in work.heads())
    pipeline.rollup().run(shards=[old])

    # THEN its marks moved to the new shard, unrolled
    assert (work.count(SeriesOwner.PROJECT, old), work.count(SeriesOwner.PROJECT, new)) == (0, 2)
    assert hours_of(pipeline, SeriesOwner.PROJECT, project_id) == 0
    # AND the new shard's worker rolls them
    pipeline.rollup().run(shards=[new])
    assert hours_of(pipeline, SeriesOwner.PROJECT, project_id) == 2


def test_after_a_growth_a_worker_leaves_its_shard_only_while_a_lease_that_may_hold_its_projects_lasts(pipeline):
    # GIVEN leases of project shards 3 and 4 and of org shard 3, taken under 16 shards
    work = WorkQueue(pipeline.table("work"))
    for kind, shard in ((SeriesOwner.PROJECT, 3), (SeriesOwner.PROJECT, 4), (SeriesOwner.ORG, 3)):
        assert work.acquire(_head(pipeline, kind, shard), f"old-{kind}{shard}", pipeline.clock(), MINUTE)
    # WHEN the count doubles
    work.grow(32, pipeline.clock())

    def leaves(kind: SeriesOwner, shard: int) -> bool:
        lease = work.acquire(_head(pipeline, kind, shard), "new", pipeline.clock(), MINUTE)
        assert lease is not None and lease.shards == 32
        return work.outgrown_lease_held(lease, pipeline.clock())

    # THEN a project shard whose ids lay in old shard 3 or 4 is left, another is not, nor is an org shard
    assert [leaves(SeriesOwner.PROJECT, shard) for shard in (19, 20, 21)] == [True, True, False]
    assert leaves(SeriesOwner.ORG, 21) is False
    # AND a lease of a growth longer ago than any lease lasts reads nothing
    ancient = Lease(SeriesOwner.PROJECT, 19, "new", pipeline.clock.now + MICROS_PER_SECOND, shards=32, grown_at=1)
    counts = count_requests(pipeline.client)
    assert not work.outgrown_lease_held(ancient, pipeline.clock())
    assert not counts
    # AND once the old leases have run out, nothing is left
    pipeline.clock.advance(61 * MICROS_PER_SECOND)
    assert leaves(SeriesOwner.PROJECT, 19) is False


def test_a_parked_project_whose_shard_changes_is_retried_in_its_new_shard(pipeline):
    # GIVEN a project parked in its shard under 16 shards, which moves to another one under 32
    project_id = moving_project()
    seed(pipeline, project_id, hours=1)
    assert _run(pipeline, FailingRollups(pipeline.table("rollups"), {project_id})).failed == [project_id]
    work = WorkQueue(pipeline.table("work"))
    assert set(work.retries(SeriesOwner.PROJECT, shard_of(project_id))) == {project_id}
    # WHEN the count grows and the retry is due
    work.grow(32, pipeline.clock())
    pipeline.clock.advance(retry_delay(1) + 1)
    pipeline.roll_until_done()
    # THEN it is rolled in its new shard, and its old shard keeps no parked record of it
    assert hours_of(pipeline, SeriesOwner.PROJECT, project_id) == 1
    assert work.retries(SeriesOwner.PROJECT, shard_of(project_id)) == {}
    assert not _head(pipeline, SeriesOwner.PROJECT, shard_of(project_id)).parked


def test_a_worker_whose_shard_count_was_outgrown_deletes_no_mark(pipeline):
    # GIVEN a worker holding a shard's lease under 16 shards, and marks it read
    work = WorkQueue(pipeline.table("work"))
    work.mark(SeriesOwner.PROJECT, [("prj_a", parse_rfc3339("2026-11-25T00:00:00Z"))], pipeline.clock())
    head = _head(pipeline, SeriesOwner.PROJECT, shard_of("prj_a"))
    lease = work.acquire(head, "worker-1", pipeline.clock(), MINUTE)
    assert lease is not None and lease.shards == SHARDS
    marks = work.pending(SeriesOwner.PROJECT, head.shard, 10)
    # WHEN the count grows while it rolls THEN it can delete nothing
    WorkQueue(pipeline.table("work")).grow(32, pipeline.clock())
    with pytest.raises(LeaseLost):
        work.clear(marks, lease)
    assert len(work.pending(SeriesOwner.PROJECT, head.shard, 10)) == 1


def test_the_lag_of_a_shard_starts_with_its_first_mark_and_ends_when_it_is_rolled(pipeline):
    pipeline.register("prj_a", "org_a")
    first = pipeline.clock.now
    pipeline.send(samples("prj_a", hours=1))
    pipeline.clock.advance(MINUTE)
    pipeline.send(samples("prj_a", hours=2))  # a later write keeps the first one's time
    head = _head(pipeline, SeriesOwner.PROJECT, shard_of("prj_a"))
    assert first <= head.pending_since < first + MICROS_PER_SECOND
    pipeline.roll_until_done()
    assert _head(pipeline, SeriesOwner.PROJECT, shard_of("prj_a")).pending_since == 0
    assert _head(pipeline, SeriesOwner.ORG, shard_of("org_a")).pending_since == 0


# ---------------------------------------------------------------- helpers


def _run(pipeline: Pipeline, rollups: RollupRepository):
    service = pipeline.rollup()
    service.rollups = rollups
    return service.run()


def _head(pipeline: Pipeline, kind: SeriesOwner, shard: int):
    return next(h for h in WorkQueue(pipeline.table("work")).heads() if h.kind is kind and h.shard == shard)


def _budget(calls: int) -> Deadline:
    """A deadline that runs out after ``calls`` looks at the time left (about one per batch)."""
    looks = itertools.count()
    return Deadline(lambda: 300_000 if next(looks) < calls else 0)


class _Context(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 300_000
