"""The schedule's dispatcher: shards with work are handed to at most N worker invocations, which roll everything."""

from __future__ import annotations

import json
from typing import Any

import pytest

from functions.rollup import app as rollup_app
from ocore_usage.domain.timeline import MICROS_PER_SECOND, Granularity, parse_rfc3339
from ocore_usage.storage.keys import SeriesOwner, shard_of
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.dispatch import AsyncInvoker, RollupDispatcher
from tests.support.pipeline import Clock, Pipeline, count_requests
from tests.support.read_api import LambdaContext
from tests.support.template import local_template, template
from tests.unit.test_rollup_isolation import samples

NOW = "2026-11-26T02:30:00Z"
PROJECTS = {f"prj_{i}": f"org_{i % 4}" for i in range(20)}


class RecordingLauncher:
    """Starts nothing: records the worker events, to run them later (or never)."""

    def __init__(self) -> None:
        self.events: list[dict[str, Any]] = []

    def start(self, event: dict[str, Any]) -> None:
        self.events.append(event)


@pytest.fixture
def pipeline(dynamodb) -> Pipeline:
    pipeline = Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))
    for project_id, org_id in PROJECTS.items():
        pipeline.register(project_id, org_id)
        pipeline.send(samples(project_id, hours=2))
    return pipeline


def dispatcher(pipeline: Pipeline, workers: int) -> tuple[RollupDispatcher, RecordingLauncher]:
    launcher = RecordingLauncher()
    return RollupDispatcher(WorkQueue(pipeline.table("work")), launcher, workers, pipeline.clock), launcher


def test_the_shards_with_work_are_shared_among_at_most_n_workers(pipeline):
    # GIVEN 20 projects with new samples, spread over many project shards
    with_work = {shard_of(p) for p in PROJECTS}
    assert len(with_work) > 3
    # WHEN the dispatcher may start 3 workers
    found, launcher = dispatcher(pipeline, workers=3)
    dispatch = found.dispatch()
    # THEN it starts 3, each with its share, every shard with work handed out exactly once
    shares = [event["shards"] for event in launcher.events]
    assert len(shares) == 3 and dispatch.workers == shares
    assert sorted(s for share in shares for s in share) == sorted(with_work)
    assert max(map(len, shares)) - min(map(len, shares)) <= 1
    assert dispatch.remaining == 2 * len(PROJECTS)  # two stale hours each
    assert dispatch.as_response() == {"processed": 0, "remaining": 40, "workers": shares}


def test_running_workers_count_against_the_bound_and_keep_their_shards(pipeline):
    # GIVEN a worker already holding two shards with work
    work = WorkQueue(pipeline.table("work"))
    held = sorted({shard_of(p) for p in PROJECTS})[:2]
    for head in work.heads():
        if head.kind is SeriesOwner.PROJECT and head.shard in held:
            assert work.acquire(head, "running-worker", pipeline.clock(), 300 * MICROS_PER_SECOND)
    # WHEN the dispatcher may run 3 workers in all
    found, launcher = dispatcher(pipeline, workers=3)
    dispatch = found.dispatch()
    # THEN it starts 2 more, and hands out no shard the running worker holds
    assert dispatch.running == 1 and len(launcher.events) == 2
    assert not {s for event in launcher.events for s in event["shards"]} & set(held)
    # AND with every slot taken it starts none
    found, launcher = dispatcher(pipeline, workers=1)
    assert found.dispatch().workers == [] and launcher.events == []


def test_the_workers_roll_everything_and_then_nothing_remains(pipeline):
    # GIVEN the workers a dispatch asked for
    found, launcher = dispatcher(pipeline, workers=4)
    found.dispatch()
    # WHEN each runs (as its own invocation would)
    results = [pipeline.rollup().run(event["shards"]) for event in launcher.events]
    # THEN every project and org is rolled, the org hours included, though no worker was given org shards
    assert sum(r.processed for r in results) == 4 * 2 * len(PROJECTS)
    for project_id, org_id in PROJECTS.items():
        assert len(pipeline.stored_series(SeriesOwner.PROJECT, project_id, Granularity.HOUR)) == 2
        assert len(pipeline.stored_series(SeriesOwner.ORG, org_id, Granularity.HOUR)) == 2
    # AND the next dispatch finds nothing: one request, no worker, no lag
    found, launcher = dispatcher(pipeline, workers=4)
    counts = count_requests(pipeline.client)
    dispatch = found.dispatch()
    assert (dispatch.workers, dispatch.remaining, dispatch.oldest_pending_age_seconds) == ([], 0, 0.0)
    assert dict(counts) == {"BatchGetItem": 1}


def test_the_dispatcher_reports_how_long_the_oldest_work_has_waited(pipeline):
    pipeline.clock.advance(600 * MICROS_PER_SECOND)
    found, _ = dispatcher(pipeline, workers=0)
    dispatch = found.dispatch()
    assert dispatch.workers == []
    assert 600 <= dispatch.oldest_pending_age_seconds < 610


def test_a_worker_that_cannot_be_started_is_reported_and_the_others_start(pipeline):
    class FlakyLauncher(RecordingLauncher):
        def start(self, event: dict[str, Any]) -> None:
            if not self.events:
                self.events.append({"failed": event})
                raise RuntimeError("Rate exceeded")
            super().start(event)

    launcher = FlakyLauncher()
    dispatch = RollupDispatcher(WorkQueue(pipeline.table("work")), launcher, 3, pipeline.clock).dispatch()
    assert dispatch.launch_failures == 1 and len(dispatch.workers) == 2


def test_the_scheduled_event_dispatches_through_the_handler(pipeline, monkeypatch):
    # GIVEN the handler wired to a dispatcher whose workers are recorded
    launcher = RecordingLauncher()
    made: list[str] = []

    def make(function: str) -> RollupDispatcher:
        made.append(function)
        return RollupDispatcher(WorkQueue(pipeline.table("work")), launcher, 4, pipeline.clock)

    monkeypatch.setattr(rollup_app, "rollup_dispatcher", make)
    # WHEN the schedule's event arrives
    response = rollup_app.lambda_handler({"dispatch": True}, LambdaContext())
    # THEN workers are started on this very function, and the answer says how much is pending
    assert made == [LambdaContext().invoked_function_arn]
    assert response == {"processed": 0, "remaining": 40, "workers": [e["shards"] for e in launcher.events]}
    assert 1 <= len(launcher.events) <= 4


def test_workers_are_asynchronous_invocations_of_the_function():
    class Client:
        def __init__(self) -> None:
            self.calls: list[dict[str, Any]] = []

        def invoke(self, **call: Any) -> dict[str, Any]:
            self.calls.append(call)
            return {"StatusCode": 202}

    client, arn = Client(), "arn:aws:lambda:us-east-1:123456789012:function:stack-rollup"
    AsyncInvoker(client, arn).start({"shards": [1, 7]})  # type: ignore[arg-type]
    assert client.calls == [{"FunctionName": arn, "InvocationType": "Event", "Payload": b'{"shards": [1, 7]}'}]


def test_the_template_schedules_the_dispatcher_and_bounds_the_workers():
    # GIVEN / WHEN the template as the local runner reads it
    rollup = local_template().function("RollupFunction")
    schedule = template()["Resources"]["RollupFunction"]["Properties"]["Events"]
    # THEN the schedule sends the dispatch event, and the dispatcher's bound is the reserved concurrency
    assert json.loads(schedule["Every5Minutes"]["Properties"]["Input"]) == {"dispatch": True}
    assert rollup.reserved_concurrency == int(rollup.environment["ROLLUP_CONCURRENCY"]) == 5
