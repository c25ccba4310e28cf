"""The local Invoke API runs ``InvocationType: Event`` for real: queued, in the background, bounded by
the function's ``ReservedConcurrentExecutions``, and reachable from functions through botocore's
own ``AWS_ENDPOINT_URL_LAMBDA``."""

from __future__ import annotations

import json
import time
from pathlib import Path

import boto3
import pytest

from local.environment import aws_environment
from local.events import HttpRequest
from local.functions import FunctionHost
from local.lambda_api import LambdaInvokeApi
from local.server import RunningServer
from local.template import FunctionSpec
from tests.support.template import local_template

HANDLER = '''
import json, time

def handler(event, context):
    """Record when it ran (start and end) in the file the event names, after a short pause."""
    started = time.monotonic()
    time.sleep(event.get("seconds", 0))
    with open(event["record"], "a") as record:
        record.write(json.dumps({"id": event["id"], "start": started, "end": time.monotonic()}) + "\\n")
    return {"ran": event["id"]}
'''


def spec(code: Path, reserved: int | None) -> FunctionSpec:
    return FunctionSpec(
        logical_id="RecordingFunction",
        code_uri=code,
        handler="app.handler",
        timeout=30,
        memory_size=128,
        environment={},
        layers=(),
        routes=(),
        reserved_concurrency=reserved,
    )


@pytest.fixture
def code(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(HANDLER)
    return tmp_path


def runs(record: Path) -> list[dict[str, float]]:
    return [json.loads(line) for line in record.read_text().splitlines()] if record.exists() else []


def event_request(event: dict[str, object]) -> HttpRequest:
    return HttpRequest(
        method="POST",
        path="/2015-03-31/functions/RecordingFunction/invocations",
        query="",
        headers=[("X-Amz-Invocation-Type", "Event")],
        body=json.dumps(event).encode(),
    )


def test_an_event_invocation_really_runs_the_function_in_the_background(code: Path, tmp_path: Path) -> None:
    # GIVEN the Invoke API over a function that records its runs
    host = FunctionHost([spec(code, reserved=None)])
    record = tmp_path / "runs.jsonl"
    # WHEN it is invoked with InvocationType Event
    response = LambdaInvokeApi(host)(event_request({"id": 1, "seconds": 0.2, "record": str(record)}))
    # THEN the caller gets 202 at once, and the function runs to its end afterwards
    assert response.status == 202 and runs(record) == []
    assert host.wait_for_events(timeout=10)
    assert [run["id"] for run in runs(record)] == [1]


def test_event_invocations_wait_for_a_slot_of_the_reserved_concurrency(code: Path, tmp_path: Path) -> None:
    # GIVEN a function reserved to 2 concurrent executions
    host = FunctionHost([spec(code, reserved=2)])
    record = tmp_path / "runs.jsonl"
    # WHEN 6 events arrive at once
    started = time.monotonic()
    for number in range(6):
        host.invoke_async("RecordingFunction", {"id": number, "seconds": 0.3, "record": str(record)})
    assert host.wait_for_events(timeout=30)
    # THEN all 6 ran, never more than 2 at a time (so in 3 rounds)
    done = runs(record)
    assert sorted(run["id"] for run in done) == list(range(6))
    edges = sorted([(run["start"], 1) for run in done] + [(run["end"], -1) for run in done])
    running = peak = 0
    for _, step in edges:
        running += step
        peak = max(peak, running)
    assert peak == 2
    assert time.monotonic() - started >= 0.9


def test_functions_reach_the_invoke_api_through_botocores_endpoint_variable(
    code: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # GIVEN the Invoke API served, and the variables the local stack gives its functions
    host = FunctionHost([spec(code, reserved=None)])
    server = RunningServer(LambdaInvokeApi(host), "127.0.0.1", 0, "lambda")
    try:
        for name, value in aws_environment("http://127.0.0.1:1", None, f"http://127.0.0.1:{server.port}").items():
            monkeypatch.setenv(name, value)
        record = tmp_path / "runs.jsonl"
        # WHEN code with no endpoint of its own invokes a function asynchronously, as the dispatcher does
        client = boto3.client("lambda")
        arn = "arn:aws:lambda:us-east-1:123456789012:function:RecordingFunction"
        answer = client.invoke(
            FunctionName=arn, InvocationType="Event", Payload=json.dumps({"id": 7, "record": str(record)})
        )
        # THEN Lambda's 202 comes back and the function runs
        assert answer["StatusCode"] == 202
        assert host.wait_for_events(timeout=10)
        assert [run["id"] for run in runs(record)] == [7]
    finally:
        server.stop()


def test_the_template_gives_the_rollup_its_reserved_concurrency() -> None:
    assert local_template().function("RollupFunction").reserved_concurrency == 5
    assert local_template().function("IngestSamplesFunction").reserved_concurrency is None
