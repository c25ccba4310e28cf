"""POST /api/usage/samples through its handler on moto: validation, idempotency, corrections, faults."""

from __future__ import annotations

import copy
import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from functions.ingest_samples import app as ingest_app
from ocore_usage.domain.timeline import Granularity, parse_rfc3339
from ocore_usage.storage.keys import SeriesOwner
from tests.support.faults import ThrottlingClient
from tests.support.pipeline import Clock, Pipeline
from tests.support.read_api import LambdaContext
from tests.support.samples import INGEST_EVENT, NOW, sample


@pytest.fixture
def pipeline(dynamodb) -> Pipeline:
    return Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))


@pytest.fixture
def post(pipeline, monkeypatch):
    """POST a raw body (or a JSON value) to the handler as API Gateway would, with the given scopes."""
    monkeypatch.setattr(ingest_app, "ingest_service", lambda: pipeline.ingest)

    def send(body: Any, scopes: str = "usage:write") -> tuple[int, str, dict[str, Any]]:
        event = copy.deepcopy(INGEST_EVENT)
        event["body"] = body if isinstance(body, str) else json.dumps(body)
        event["requestContext"]["authorizer"]["lambda"]["scopes"] = scopes
        response = ingest_app.lambda_handler(event, LambdaContext())  # type: ignore[arg-type]
        return response["statusCode"], response["headers"]["Content-Type"], json.loads(response["body"])

    return send


def stored_item_count(pipeline: Pipeline) -> int:
    return sum(pipeline.client.scan(TableName=pipeline.names[t], Select="COUNT")["Count"] for t in ("samples", "work"))


def test_the_recorded_event_is_accepted(post):
    # GIVEN the committed example event WHEN it is posted THEN both samples are accepted
    status, content_type, body = post(INGEST_EVENT["body"])
    assert (status, content_type, body) == (202, "application/json", {"accepted": 2})


def test_accepted_samples_are_stored_and_marked(post, pipeline):
    status, _, body = post({"samples": [sample(), sample(sampleId="s-2", intervalStart="2026-11-26T00:58:00Z")]})
    assert (status, body) == (202, {"accepted": 2})
    # ONE page item per start hour (s-2 starts at 00:58), with who wrote it and when; nothing else
    pages = pipeline.client.scan(TableName="SamplesTable")["Items"]
    assert sorted(p["pk"]["S"] for p in pages) == ["S#proj_web#2026-11-26T00:00:00Z", "S#proj_web#2026-11-26T01:00:00Z"]
    assert {p["writer"]["S"] for p in pages} == {"metering-agent-eu-1"}
    assert len({p["writtenAt"]["N"] for p in pages}) == 1
    # s-2 spans 00:58-01:03: both hours it overlaps are marked
    marks = [m for m in pipeline.client.scan(TableName="WorkTable")["Items"] if m["sk"]["S"].startswith("M#")]
    assert sorted(m["sk"]["S"] for m in marks) == ["M#proj_web#2026-11-26T00:00:00Z", "M#proj_web#2026-11-26T01:00:00Z"]


BAD_BODIES = [
    ("", 400, "validation_error"),
    ("   ", 400, "validation_error"),
    ("{not json", 400, "validation_error"),
    ('{"samples": [NaN]}', 400, "validation_error"),
    ("[]", 422, "validation_error"),
    ({"samples": []}, 422, "validation_error"),
    ({"samples": {}}, 422, "validation_error"),
    ({"samples": [sample()], "extra": 1}, 422, "validation_error"),
    ({"samples": [sample(cpuCores=-1)]}, 422, "validation_error"),
    ({"samples": [sample(cpuCores="2")]}, 422, "validation_error"),
    ({"samples": [sample(cpuCores=True)]}, 422, "validation_error"),
    ({"samples": [sample(ramGb=1_000_000.5)]}, 422, "validation_error"),
    ({"samples": [sample(bandwidthInBytes=1.5)]}, 422, "validation_error"),
    ({"samples": [sample(bandwidthInBytes=-1)]}, 422, "validation_error"),
    ({"samples": [sample(bandwidthOutBytes=10**15 + 1)]}, 422, "validation_error"),
    ({"samples": [sample(intervalSeconds=0)]}, 422, "validation_error"),
    ({"samples": [sample(intervalSeconds=3601)]}, 422, "validation_error"),
    ({"samples": [sample(intervalSeconds=60.0)]}, 422, "validation_error"),
    ({"samples": [sample(intervalStart="2026-11-26T01:55:00")]}, 422, "validation_error"),
    ({"samples": [sample(intervalStart="2026-11-26")]}, 422, "validation_error"),
    ({"samples": [sample(intervalStart=1795650000)]}, 422, "validation_error"),
    ({"samples": [sample(sampleId="bad id")]}, 422, "validation_error"),
    ({"samples": [sample(projectId="p#1")]}, 422, "validation_error"),
    ({"samples": [sample(instanceId="")]}, 422, "validation_error"),
    ({"samples": [sample(cpuCore=1)]}, 422, "validation_error"),
    ({"samples": [{k: v for k, v in sample().items() if k != "diskGb"}]}, 422, "validation_error"),
    ({"samples": [sample(intervalStart="2026-10-20T00:00:00Z")]}, 422, "sample_out_of_window"),
    ({"samples": [sample(intervalStart="2026-11-26T02:33:00Z")]}, 422, "sample_out_of_window"),
    ({"samples": [sample(sampleId=f"s{i}") for i in range(1001)]}, 413, "payload_too_large"),
    ('{"samples": [' + ",".join(['"' + "x" * 1000 + '"'] * 1100) + "]}", 413, "payload_too_large"),
]


@pytest.mark.parametrize(("body", "status", "code"), BAD_BODIES)
def test_bad_input_is_a_problem_and_stores_nothing(post, pipeline, body, status, code):
    # GIVEN a good sample first, so a half-written batch would show
    if isinstance(body, dict) and isinstance(body.get("samples"), list) and len(body["samples"]) == 1:
        body = {**body, "samples": [sample(sampleId="good"), *body["samples"]]}
    # WHEN it is posted
    got_status, content_type, problem = post(body)
    # THEN a problem+json answer, and not one item stored
    assert (got_status, problem["code"]) == (status, code), problem
    assert content_type == "application/problem+json"
    assert set(problem) >= {"type", "title", "status", "detail", "code"}
    assert problem["status"] == status
    assert stored_item_count(pipeline) == 0


def test_every_bad_sample_is_listed_by_index_and_field(post):
    samples = [sample(), sample(sampleId="s-2", cpuCores=-1), sample(sampleId="s-3", typo=1, diskGb=None)]
    status, _, problem = post({"samples": samples})
    fields = sorted(e["field"] for e in problem["errors"])
    assert (status, fields) == (422, ["samples[1].cpuCores", "samples[2].diskGb", "samples[2].typo"])


def test_a_reader_token_cannot_write(post, pipeline):
    status, _, problem = post({"samples": [sample()]}, scopes="usage:read")
    assert (status, problem["code"]) == (403, "insufficient_scope")
    assert stored_item_count(pipeline) == 0


def test_allocations_are_rounded_half_even_to_six_decimals(post, pipeline):
    pipeline.register("proj_web", "org_demo")
    tiny = sample(cpuCores=0.0000005, ramGb=0.0000015, intervalSeconds=3600, intervalStart="2026-11-26T01:00:00Z")
    assert post({"samples": [tiny]})[0] == 202
    pipeline.roll_until_done()
    (usage,) = pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.HOUR).values()
    assert (usage.cpu, usage.ram) == (0, 2 * 3_600_000_000)


def test_resending_changes_nothing_and_a_correction_moves_the_sample(post, pipeline):
    # GIVEN a registered project and a sample in October, rolled up
    pipeline.register("proj_web", "org_demo")
    october = sample(intervalStart="2026-10-31T23:59:00Z", intervalSeconds=120, bandwidthInBytes=120)
    post({"samples": [october]})
    pipeline.roll_until_done()
    before = pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.MONTH)
    assert sorted(d.month for d in before) == [10, 11]

    # WHEN the same sample is sent again THEN nothing changes
    post({"samples": [october]})
    pipeline.roll_until_done()
    assert pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.MONTH) == before

    # WHEN a correction moves it into November THEN October is empty and November holds it
    post({"samples": [{**october, "intervalStart": "2026-11-20T10:00:00Z"}]})
    pipeline.roll_until_done()
    months = pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.MONTH)
    assert list(months) == [datetime(2026, 11, 1, tzinfo=UTC)]
    assert months[datetime(2026, 11, 1, tzinfo=UTC)].bytes_in == 120
    assert list(pipeline.stored_series(SeriesOwner.ORG, "org_demo", Granularity.MONTH)) == list(months)


def test_a_later_duplicate_in_one_batch_wins(post, pipeline):
    pipeline.register("proj_web", "org_demo")
    status, _, body = post({"samples": [sample(bandwidthInBytes=1), sample(bandwidthInBytes=2)]})
    assert (status, body) == (202, {"accepted": 1})
    pipeline.roll_until_done()
    (day,) = pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.DAY).values()
    assert day.bytes_in == 2


def test_unprocessed_items_are_retried_until_stored(pipeline):
    # GIVEN DynamoDB leaves part of every batch unprocessed
    throttled = ThrottlingClient(pipeline.client)
    flaky = Pipeline(throttled, pipeline.clock)
    start = datetime(2026, 11, 25, tzinfo=UTC)
    starts = [(start + timedelta(minutes=5 * i)).isoformat().replace("+00:00", "Z") for i in range(60)]
    batch = [sample(sampleId=f"s{i}", intervalStart=at) for i, at in enumerate(starts)]
    flaky.register("proj_web", "org_demo")
    # WHEN a batch is ingested and rolled up through it
    assert flaky.send(batch) == 60
    flaky.roll_until_done()
    # THEN everything arrived, exactly as without faults
    assert throttled.throttled > 0
    (day,) = pipeline.stored_series(SeriesOwner.PROJECT, "proj_web", Granularity.DAY).values()
    assert day.bytes_in == 60 * 1000
    assert day.instance == 60 * 300 * 1_000_000
