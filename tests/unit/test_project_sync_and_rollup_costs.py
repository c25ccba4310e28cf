"""Project sync rules (docs/pipeline.md, "Projects") and the request cost of rollup runs."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from functions.rollup import app as rollup_app
from ocore_usage.domain.timeline import Granularity, parse_rfc3339
from ocore_usage.storage.identities import FOLD_BYTES, GROUP_BYTES, HINT_MIN_IDS, HINT_RATIO
from ocore_usage.storage.keys import SeriesOwner, shard_of
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.rollup import shards_of_event
from tests.support.pipeline import Clock, Pipeline, count_requests
from tests.support.read_api import LambdaContext
from tests.support.samples import sample


class RollupContext(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


NOW = "2026-11-26T02:30:00Z"


@pytest.fixture
def pipeline(dynamodb) -> Pipeline:
    return Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))


def agent_batch(count: int, project_id: str = "proj_web", start: str = "2026-11-25T00:00:00Z") -> list[dict]:
    """``count`` 5-minute samples of 4 instances, from ``start`` on."""
    first = datetime.fromisoformat(start)
    return [
        sample(
            sampleId=f"{project_id}-{i}",
            projectId=project_id,
            instanceId=f"vm-{i % 4}",
            intervalStart=(first + timedelta(minutes=5 * (i // 4))).isoformat().replace("+00:00", "Z"),
            cpuCores=1.5,
            ramGb=2,
            diskGb=10,
            bandwidthInBytes=1000 + i,
            bandwidthOutBytes=i,
        )
        for i in range(count)
    ]


def test_samples_of_an_unregistered_project_are_held_until_it_is_registered(pipeline):
    # GIVEN samples of a project nobody registered yet
    pipeline.send(agent_batch(8, "proj_new"))
    assert pipeline.roll_until_done()[-1].remaining == 0
    assert pipeline.stored_series(SeriesOwner.PROJECT, "proj_new", Granularity.DAY) == {}
    # WHEN it is registered THEN its usage is rolled up, for its org too
    pipeline.register("proj_new", "org_demo")
    pipeline.roll_until_done()
    (day,) = pipeline.stored_series(SeriesOwner.PROJECT, "proj_new", Granularity.DAY).values()
    assert day.peak == 4
    assert pipeline.stored_series(SeriesOwner.ORG, "org_demo", Granularity.DAY) == {
        datetime(2026, 11, 25, tzinfo=UTC): day
    }


def test_a_project_never_moves_to_another_org_and_old_events_are_ignored(pipeline):
    at = datetime(2026, 11, 20, tzinfo=UTC)
    pipeline.register("proj_web", "org_demo", "web", at=at)
    # another org's claim is refused
    assert pipeline.register("proj_web", "org_evil", "mine now", at=at + timedelta(days=1)).outcome == "org_conflict"
    # an older rename arriving late is ignored; a newer one applies; a tie lets the later delivery win
    pipeline.register("proj_web", "org_demo", "old name", at=at - timedelta(hours=1))
    assert pipeline.sync.projects.get("proj_web").name == "web"
    pipeline.register("proj_web", "org_demo", "new name", at=at + timedelta(hours=1))
    pipeline.register("proj_web", "org_demo", "tie name", at=at + timedelta(hours=1))
    project = pipeline.sync.projects.get("proj_web")
    assert (project.org_id, project.name, project.deleted) == ("org_demo", "tie name", False)
    # a deletion keeps the org and name; usage arriving afterwards is still counted
    pipeline.register("proj_web", "org_demo", "tie name", at=at + timedelta(hours=2), deleted=True)
    pipeline.send(agent_batch(4))
    pipeline.roll_until_done()
    assert pipeline.sync.projects.get("proj_web").deleted
    assert len(pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.HOUR)) == 1


def test_an_empty_run_reads_the_shard_heads_in_one_request(pipeline):
    counts = count_requests(pipeline.client)
    result = pipeline.rollup().run()
    assert result.as_response() == {"processed": 0, "remaining": 0}
    assert dict(counts) == {"BatchGetItem": 1}


def test_rolling_1000_new_samples_costs_requests_in_proportion_to_stale_hours(pipeline, capsys):
    # GIVEN 1,000 new samples: 4 instances x 250 five-minute intervals, about 21 hours of one project
    pipeline.fold_bytes, pipeline.group_bytes = FOLD_BYTES, GROUP_BYTES  # the service's own index
    pipeline.hint_ratio, pipeline.hint_min_ids = HINT_RATIO, HINT_MIN_IDS
    pipeline.register("proj_web", "org_demo")
    pipeline.send(agent_batch(1000))
    counts = count_requests(pipeline.client)
    # WHEN one run rolls them up
    result = pipeline.rollup().run()
    # THEN every sample is processed, and requests grow with the stale hours, not the samples
    assert result.as_response() == {"processed": 1000, "remaining": 0}
    stale_hours = len(pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.HOUR))
    total = sum(counts.values())
    with capsys.disabled():
        print(f"\nrollup of 1000 samples over {stale_hours} hours: {total} requests {dict(sorted(counts.items()))}")
    assert counts["Query"] <= 3 * stale_hours + 10
    assert total <= 6 * stale_hours + 30


def test_the_rollup_handler_takes_the_shards_it_is_given(pipeline, monkeypatch):
    monkeypatch.setattr(rollup_app, "rollup_service", lambda: pipeline.rollup())
    pipeline.register("proj_web", "org_demo")
    pipeline.send(agent_batch(8))
    context = RollupContext()
    assert rollup_app.lambda_handler({"shards": []}, context) == {"processed": 0, "remaining": 0}
    assert rollup_app.lambda_handler({"source": "aws.scheduler"}, context) == {"processed": 8, "remaining": 0}
    with pytest.raises(ValueError, match="shard numbers"):
        shards_of_event({"shards": [16]})


def test_clearing_marks_keeps_the_ones_a_writer_renewed(pipeline):
    # GIVEN marks of three hours read by a worker
    work = WorkQueue(pipeline.table("work"))
    hours = [parse_rfc3339(f"2026-11-25T0{h}:00:00Z") for h in range(3)]
    work.mark(SeriesOwner.PROJECT, [("proj_web", h) for h in hours], pipeline.clock())
    read = work.pending(SeriesOwner.PROJECT, shard_of("proj_web"), 10)
    # WHEN a writer renews one of them before the worker clears what it read
    work.mark(SeriesOwner.PROJECT, [("proj_web", hours[1])], pipeline.clock())
    cleared = work.clear(read)
    # THEN the renewed mark stays for the next run, the others are gone
    assert cleared == 2
    assert [m.hour for m in work.pending(SeriesOwner.PROJECT, shard_of("proj_web"), 10)] == [hours[1]]
    # and clearing marks nobody renewed takes one request
    counts = count_requests(pipeline.client)
    assert work.clear(work.pending(SeriesOwner.PROJECT, shard_of("proj_web"), 10)) == 1
    assert counts["TransactWriteItems"] == 1 and counts["DeleteItem"] == 0
