"""Every bad input is a 4xx problem: bodies that are not UTF-8 or not JSON, numbers and instants
out of any range, dates, limits and ids that only look right (full-width digits, a trailing
newline), and one decoding rule for a project id in the path and in ``project_id``."""

from __future__ import annotations

import base64
import copy
import json
from datetime import UTC, datetime
from typing import Any

import pytest

from functions.ingest_samples import app as ingest_app
from ocore_usage.domain.problems import Problem, ProblemCode
from ocore_usage.domain.samples import MAX_BODY_BYTES, parse_batch
from ocore_usage.domain.timeline import parse_full_date, parse_rfc3339, to_micros
from tests.support.pipeline import Clock, Pipeline
from tests.support.read_api import LambdaContext, WorldProject
from tests.support.read_reference import to_us
from tests.support.samples import INGEST_EVENT, NOW, sample


def wide(digits: str) -> str:
    """The same digits, full-width (U+FF10..U+FF19): ``int()`` and ``\\d`` take them, an ASCII parser must not."""
    return "".join(chr(0xFF10 + int(d)) for d in digits)


def one_sample_body(field: str, raw_json_value: str) -> str:
    """A batch of one sample whose ``field`` holds ``raw_json_value`` as written (not re-encoded)."""
    text = json.dumps({"samples": [sample(**{field: "@@"})]})
    return text.replace('"@@"', raw_json_value)


@pytest.fixture
def post(dynamodb, monkeypatch):
    """POST a raw body to the ingest handler as API Gateway hands it over (text, or base64 bytes)."""
    pipeline = Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))
    monkeypatch.setattr(ingest_app, "ingest_service", lambda: pipeline.ingest)

    def send(body: str | bytes, *, base64_encoded: bool | None = None) -> tuple[int, str, dict[str, Any]]:
        event = copy.deepcopy(INGEST_EVENT)
        encode = isinstance(body, bytes) if base64_encoded is None else base64_encoded
        if isinstance(body, bytes):
            body = base64.b64encode(body).decode()
        event["body"], event["isBase64Encoded"] = body, encode
        handler: Any = ingest_app.lambda_handler  # takes the test's stand-in for Lambda's context
        response = handler(event, LambdaContext())
        return response["statusCode"], response["headers"]["Content-Type"], json.loads(response["body"])

    return send


# ---------------------------------------------------------------- POST /usage/samples: the body


@pytest.mark.parametrize(
    "body",
    [
        pytest.param(b"\xff\xfe", id="not UTF-8, base64"),
        pytest.param(b'{"samples": [\xff]}', id="invalid byte inside JSON, base64"),
        pytest.param(json.dumps({"samples": [sample()]}).encode("utf-16"), id="UTF-16 JSON, base64"),
        pytest.param("[" * 100_000, id="100,000 nested arrays"),
        pytest.param("not base64 at all!", id="flagged base64 but is not"),
        pytest.param("{", id="truncated JSON"),
    ],
)
def test_a_body_that_is_not_utf8_json_is_400(post, body):
    flagged = True if body == "not base64 at all!" else None
    status, content_type, problem = post(body, base64_encoded=flagged)
    assert (status, content_type, problem["code"]) == (400, "application/problem+json", "validation_error")


def test_deep_json_that_parses_is_a_field_error(post):
    status, _, problem = post('{"samples": [' + "[" * 5000 + "]" * 5000 + "]}")
    assert (status, problem["code"], problem["errors"][0]["field"]) == (422, "validation_error", "samples[0]")


def test_a_batch_sent_base64_encoded_is_accepted(post):
    # GIVEN a valid batch that API Gateway base64-encoded (e.g. sent without a text content type)
    status, _, body = post(json.dumps({"samples": [sample()]}).encode())
    assert (status, body) == (202, {"accepted": 1})


@pytest.mark.parametrize(
    ("field", "raw", "code"),
    [
        ("cpuCores", "1e99999999999999999999", "validation_error"),
        ("ramGb", "-1e99999999999999999999", "validation_error"),
        ("diskGb", "1E+999999999999999999999999", "validation_error"),
        ("bandwidthInBytes", "1e99999999999999999999", "validation_error"),
        ("bandwidthOutBytes", "9" * 5000, "validation_error"),
        ("intervalSeconds", "-" + "9" * 5000, "validation_error"),
        ("intervalStart", '"0001-01-01T00:00:00+01:00"', "sample_out_of_window"),
        ("intervalStart", '"9999-12-31T23:59:59-01:00"', "sample_out_of_window"),
        ("intervalStart", '"\\uff12\\uff10\\uff12\\uff16-11-26T01:55:00Z"', "validation_error"),  # full-width
        ("intervalStart", '"2026-11-26T01:55:00Z\\n"', "validation_error"),
        ("sampleId", '"s-1\\n"', "validation_error"),
        ("projectId", '"proj_web\\n"', "validation_error"),
    ],
)
def test_a_field_out_of_any_range_is_422_naming_it(post, field, raw, code):
    status, content_type, problem = post(one_sample_body(field, raw))
    assert (status, content_type, problem["code"]) == (422, "application/problem+json", code)
    assert [e["field"] for e in problem["errors"]] == [f"samples[0].{field}"]


def test_a_vanishingly_small_allocation_rounds_to_zero(post):
    status, _, body = post(one_sample_body("cpuCores", "1e-99999999999999999999"))
    assert (status, body) == (202, {"accepted": 1})


def test_the_body_limit_counts_utf8_bytes_not_characters():
    now = parse_rfc3339(NOW)
    # GIVEN a body of fewer characters than the limit but more bytes ("é" is two bytes in UTF-8)
    padded = '{"samples": [], "pad": "' + "é" * (MAX_BODY_BYTES // 2) + '"}'
    assert len(padded) < MAX_BODY_BYTES < len(padded.encode())
    with pytest.raises(Problem) as raised:
        parse_batch(padded, now)
    assert (raised.value.code, raised.value.status) == (ProblemCode.PAYLOAD_TOO_LARGE, 413)

    # AND a body of exactly the limit in bytes is read (and found wanting for other reasons)
    exact = '{"samples": [], "pad": "' + "x" * (MAX_BODY_BYTES - 26) + '"}'
    assert len(exact.encode()) == MAX_BODY_BYTES
    with pytest.raises(Exception) as wanting:
        parse_batch(exact, now)
    assert getattr(wanting.value, "status", None) == 422


def test_an_oversized_body_is_413_also_when_base64_encoded(post):
    status, _, problem = post(b"[" + b" " * MAX_BODY_BYTES + b"]")
    assert (status, problem["code"]) == (413, "payload_too_large")


# ---------------------------------------------------------------- instants and dates


@pytest.mark.parametrize(
    "text",
    [
        wide("2026") + "-11-26T01:55:00Z",  # full-width digits
        "2026-11-26T0" + wide("1") + ":55:00Z",
        "2026-11-26T01:55:00Z\n",
        "2026-11-26T01:55:00+01:00\n",
        "\n2026-11-26T01:55:00Z",
        "2026-11-26T01:55:00." + wide("1") + "Z",
        "2026-11-26T01:55:00+0" + wide("1") + ":00",
    ],
)
def test_instants_are_ascii_and_whole(text):
    with pytest.raises(ValueError):
        parse_rfc3339(text)


@pytest.mark.parametrize("text", [wide("2026") + "-11-26", "2026-11-26\n", "2026-1" + wide("1") + "-26", " 2026-11-26"])
def test_full_dates_are_ascii_and_whole(text):
    with pytest.raises(ValueError):
        parse_full_date(text)


def test_instants_at_the_ends_of_the_calendar_do_not_overflow():
    hour, first, last = 3600 * 10**6, datetime(1, 1, 1, tzinfo=UTC), datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)
    assert parse_rfc3339("0001-01-01T00:00:00+01:00") == to_micros(first) - hour
    assert parse_rfc3339("9999-12-31T23:59:59-01:00") == to_micros(last) + hour


# ---------------------------------------------------------------- the read routes


# the conftest's api: this WORLD, seeded on moto for the day of FIRST_HOUR, read at NOW
WORLD = [WorldProject("p1", "org_a", "One", density=0.3), WorldProject("proj_a", "org_a", "A", density=0.3)]
FIRST_HOUR, HOURS = to_us(datetime(2026, 11, 25, tzinfo=UTC)), 24


@pytest.mark.parametrize(
    ("route", "query", "code"),
    [
        ("usage", [("start_date", wide("2026") + "-11-26T01:55:00Z")], "invalid_date"),
        ("usage", [("end_date", wide("2026") + "-11-26")], "invalid_date"),
        ("totals", [("start_date", "2026-11-01\n")], "invalid_date"),
        ("project", [("end_date", "2026-11-26T01:00:00Z\n")], "invalid_date"),
        ("usage", [("limit", "5\n")], "invalid_limit"),
        ("project", [("limit", wide("5"))], "invalid_limit"),
        ("usage", [("limit", "\n5")], "invalid_limit"),
        ("usage", [("period", "daily\n")], "invalid_period"),
        ("usage", [("fill", "zero\n")], "validation_error"),
    ],
)
def test_dates_limits_and_enums_are_parsed_whole_and_ascii(api, route, query, code):
    answer = api.get(route, query)
    assert (answer.status, answer.content_type, answer.body["code"]) == (400, "application/problem+json", code)


@pytest.mark.parametrize("project_id", ["p1\n", "\uff501", "p%31", "p1 ", "x" * 5000])
def test_an_id_that_only_looks_like_one_is_not_found(api, project_id):
    for answer in (api.get("project", project_id=project_id), api.get("usage", [("project_id", project_id)])):
        assert (answer.status, answer.body["code"]) == (404, "project_not_found")


def test_the_path_id_and_project_id_name_the_same_project(api):
    # GIVEN the id as API Gateway delivers it in both places (percent-decoded once)
    by_path = api.get("project", [("period", "daily")], project_id="p1")
    by_query = api.get("usage", [("period", "daily"), ("project_id", "p1")])
    assert by_path.status == by_query.status == 200
    assert by_path.body == by_query.body
