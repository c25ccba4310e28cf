"""The reads on the wire, through the Lambda handlers on moto: dataThrough and partial from the rollup's
heads, ETag and If-None-Match (304), Last-Modified, Cache-Control, and CSV (Accept or format=csv)."""

from __future__ import annotations

import base64
import csv
import hashlib
import io
from collections.abc import Iterator
from decimal import Decimal
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest

from ocore_usage.api.responses import CSV_COLUMNS
from ocore_usage.domain.aggregation import Usage
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.freshness import RollupWatermark
from ocore_usage.wiring import Tables
from tests.support.read_api import Answer, ReadApi
from tests.support.read_reference import HOUR_US
from tests.support.read_reference import instant as t
from tests.support.template import LOGICAL_TABLE_NAMES

NOW = "2026-11-26T02:30:00Z"
PROBLEM_JSON = "application/problem+json"
CLOSED = {"period": "hourly", "start_date": "2026-11-25T00:00:00Z", "end_date": "2026-11-25T06:00:00Z"}
NAME = 'Web, "shop"\nEU'  # a comma, quotes and a line break: all three need quoting in CSV


@pytest.fixture
def api(dynamodb, monkeypatch) -> Iterator[ReadApi]:
    api = ReadApi.install(Tables(dynamodb, LOGICAL_TABLE_NAMES), monkeypatch, now=NOW)
    # the heads are read for every request here (the tests change them)
    api.reports.watermark = RollupWatermark(WorkQueue(api.tables.work), api.clock, max_age=0)
    api.project("proj_a", "org_a", NAME)
    api.project("proj_b", "org_a", "Batch")
    hours = {t("2026-11-25T00:00:00Z") + i * HOUR_US: _usage(i) for i in range(26)}
    for project_id in ("proj_a", "proj_b"):
        api.store(SeriesOwner.PROJECT, project_id, hours)
        api.tables.rollup_repository.note_usage_months("org_a", project_id, [t("2026-11-01T00:00:00Z")])
    api.store(SeriesOwner.ORG, "org_a", hours)
    yield api


def _usage(i: int) -> Usage:
    unit = 10**6 * HOUR_US
    return Usage.of(cpu=(i + 1) * unit // 3, ram=unit, disk=unit, instance=HOUR_US, bytes_in=i, bytes_out=7, peak=1)


# ---------------------------------------------------------------- dataThrough and partial


def test_with_nothing_pending_data_through_is_the_minute_of_the_check(api):
    answer = api.get("project", CLOSED, project_id="proj_a")
    assert answer.body["dataThrough"] == "2026-11-26T02:30:00Z"
    assert not any("partial" in item for item in answer.body["items"]) and "partial" not in answer.body["totals"]


def test_records_ending_after_the_oldest_pending_sample_are_partial(api):
    # GIVEN a sample received at 03:10 on the 25th, not yet rolled up: its project hour marked stale
    WorkQueue(api.tables.work).mark(
        SeriesOwner.PROJECT, [("proj_a", t("2026-11-25T03:00:00Z"))], t("2026-11-25T03:10:00Z")
    )
    # WHEN the hours of that morning are read
    answer = api.get("project", CLOSED, project_id="proj_a")
    # THEN dataThrough is its time, and the hours ending after it are partial, the others untouched
    assert answer.body["dataThrough"] == "2026-11-25T03:10:00Z"
    flags = [(item["periodStart"][11:16], item.get("partial")) for item in answer.body["items"]]
    assert flags[:3] == [("00:00", None), ("01:00", None), ("02:00", None)]
    assert flags[3:] == [("03:00", True), ("04:00", True), ("05:00", True)]
    assert answer.body["totals"]["partial"] is True
    assert answer.headers["cache-control"] == "private, max-age=60"
    assert answer.headers["last-modified"] == "Wed, 25 Nov 2026 03:10:00 GMT"


@pytest.mark.parametrize("route", ["project", "usage", "totals"])
def test_open_buckets_are_partial_and_cached_briefly(api, route):
    # the default range ends at now ceiled: its totals, and the current hour's record, are still open
    answer = api.get(route, {"fill": "zero"} if route == "usage" else {}, project_id="proj_a")
    if route == "totals":
        assert all(record["partial"] is True for record in answer.body["totals"])
    else:
        assert answer.body["totals"]["partial"] is True
        partial = [(item["projectId"], item["periodStart"]) for item in answer.body["items"] if "partial" in item]
        projects = ["proj_a"] if route == "project" else ["proj_a", "proj_b"]
        assert partial == [(project_id, "2026-11-26T02:00:00Z") for project_id in projects]
    assert answer.headers["cache-control"] == "private, max-age=60"


@pytest.mark.parametrize("route", ["project", "usage", "totals"])
def test_a_closed_rolled_range_is_cached_for_an_hour(api, route):
    query = {k: v for k, v in CLOSED.items() if route != "totals" or k != "period"}
    answer = api.get(route, query, project_id="proj_a")
    assert answer.headers["cache-control"] == "private, max-age=3600"
    assert answer.headers["last-modified"] == "Thu, 26 Nov 2026 02:30:00 GMT"
    assert answer.headers["vary"] == "Accept"


# ---------------------------------------------------------------- ETag and If-None-Match


def strong_tag(body: bytes) -> str:
    return '"' + base64.urlsafe_b64encode(hashlib.sha256(body).digest()).rstrip(b"=").decode() + '"'


@pytest.mark.parametrize("route", ["project", "usage", "totals"])
def test_the_etag_is_the_hash_of_the_body_and_stable(api, route):
    query, kwargs = (CLOSED, {"project_id": "proj_a"}) if route != "totals" else ({}, {})
    first, again = api.get(route, query, **kwargs), api.get(route, query, **kwargs)
    assert first.headers["etag"] == strong_tag(first.text.encode()) == again.headers["etag"]


@pytest.mark.parametrize("if_none_match", ["{tag}", "W/{tag}", '"other", {tag}', '"a",W/"b" , {tag}', "*", " * "])
def test_if_none_match_naming_the_answer_gets_304_without_a_body(api, if_none_match):
    tag = api.get("project", CLOSED, project_id="proj_a").headers["etag"]
    answer = api.get("project", CLOSED, project_id="proj_a", headers={"If-None-Match": if_none_match.format(tag=tag)})
    assert (answer.status, answer.text) == (304, "")
    assert answer.headers["etag"] == tag
    assert answer.headers["cache-control"] == "private, max-age=3600"
    assert "last-modified" in answer.headers and "content-type" not in answer.headers


@pytest.mark.parametrize("if_none_match", ['"other"', 'W/"other"', "", "garbage", '"{tag}x"'])
def test_if_none_match_naming_something_else_gets_the_answer(api, if_none_match):
    tag = api.get("project", CLOSED, project_id="proj_a").headers["etag"].strip('"')
    answer = api.get("project", CLOSED, project_id="proj_a", headers={"If-None-Match": if_none_match.format(tag=tag)})
    assert answer.status == 200 and answer.body["items"]


def test_new_data_changes_the_etag(api):
    tag = api.get("project", CLOSED, project_id="proj_a").headers["etag"]
    # a late sample rolled into one of the hours (or a rename): the body changes, so does the tag
    api.store(SeriesOwner.PROJECT, "proj_a", {t("2026-11-25T02:00:00Z") + i * HOUR_US: _usage(i + 1) for i in range(2)})
    answer = api.get("project", CLOSED, project_id="proj_a", headers={"If-None-Match": tag})
    assert answer.status == 200 and answer.headers["etag"] != tag


def test_errors_are_never_304_nor_csv(api):
    answer = api.get("usage", {"period": "weekly"}, headers={"If-None-Match": "*", "Accept": "text/csv"})
    assert (answer.status, answer.content_type, answer.body["code"]) == (400, PROBLEM_JSON, "invalid_period")
    answer = api.get("project", {"format": "csv"}, project_id="proj_nobody")
    assert (answer.status, answer.content_type) == (404, PROBLEM_JSON)


# ---------------------------------------------------------------- CSV


def rows(answer: Answer) -> list[list[str]]:
    return list(csv.reader(io.StringIO(answer.text, newline="")))


def as_csv_row(record: dict[str, Any]) -> list[str]:
    def text(column: str) -> str:
        value = record.get(column)
        if column == "partial":
            return "true" if value else "false"
        if value is None:
            return ""
        if isinstance(value, Decimal):
            return format(value.normalize(), "f") if value != 0 else "0"
        return str(value)

    return [text(column) for column in CSV_COLUMNS]


@pytest.mark.parametrize(
    ("headers", "query", "is_csv"),
    [
        ({"Accept": "text/csv"}, {}, True),
        ({"Accept": "text/csv;q=0.5, application/json"}, {}, False),
        ({"Accept": "application/json;q=0.1, text/csv"}, {}, True),
        ({"Accept": "text/*"}, {}, True),
        ({"Accept": "*/*"}, {}, False),
        ({"Accept": "text/csv, application/json"}, {}, False),
        ({"Accept": "text/csv;q=0"}, {}, False),
        ({}, {"format": "csv"}, True),
        ({"Accept": "application/json"}, {"format": "csv"}, True),
        ({"Accept": "text/csv"}, {"format": "json"}, False),
        ({}, {}, False),
    ],
)
def test_the_format_follows_format_then_accept(api, headers, query, is_csv):
    answer = api.get("usage", {**CLOSED, **query}, headers=headers)
    assert answer.status == 200
    assert answer.content_type == ("text/csv; charset=utf-8; header=present" if is_csv else "application/json")


@pytest.mark.parametrize("route", ["project", "usage"])
def test_csv_holds_the_items_in_order_with_a_header_row(api, route):
    json_answer = api.get(route, CLOSED, project_id="proj_a")
    answer = api.get(route, CLOSED, project_id="proj_a", headers={"Accept": "text/csv"})
    # RFC 4180: CRLF after every row, the header first, fields quoted where needed
    assert answer.text.endswith("\r\n") and answer.text.count("\r\n") == len(json_answer.body["items"]) + 1
    header, *records = rows(answer)
    assert header == list(CSV_COLUMNS)
    assert records == [as_csv_row(item) for item in json_answer.body["items"]]
    # a name with a comma, quotes and a line break is one quoted field, its quotes doubled
    assert '"Web, ""shop""\nEU"' in answer.text
    assert answer.headers["etag"] != json_answer.headers["etag"]


def test_csv_of_totals_holds_one_row_per_project(api):
    json_answer = api.get("totals", {"start_date": "2026-11-25", "end_date": "2026-11-26"})
    _, *records = rows(api.get("totals", {"start_date": "2026-11-25", "end_date": "2026-11-26", "format": "csv"}))
    assert [r[0] for r in records] == ["proj_a", "proj_b"]
    assert records == [as_csv_row(record) for record in json_answer.body["totals"]]


def test_csv_of_nothing_is_the_header_row(api):
    answer = api.get("usage", {**CLOSED, "start_date": "2026-11-01", "end_date": "2026-11-02", "format": "csv"})
    assert answer.text == ",".join(CSV_COLUMNS) + "\r\n"


def test_csv_pages_follow_link_and_concatenate_to_the_json_list(api):
    whole = api.get("usage", {**CLOSED, "fill": "zero"}).body["items"]
    query: dict[str, str] = {**CLOSED, "fill": "zero", "limit": "5", "format": "csv"}
    records: list[list[str]] = []
    for _ in range(10):
        answer = api.get("usage", query)
        records += rows(answer)[1:]
        if "link" not in answer.headers:
            assert "x-next-token" not in answer.headers
            break
        # the Link is this request with next_token set; X-Next-Token is the token itself
        target, relation = answer.headers["link"].split(">; ")
        assert relation == 'rel="next"'
        url = urlsplit(target.removeprefix("<"))
        assert url.path == "/api/usage"
        query = dict(parse_qsl(url.query))
        assert query["next_token"] == answer.headers["x-next-token"] and query["format"] == "csv"
    assert records == [as_csv_row(item) for item in whole]
    assert len(whole) == 12


def test_a_csv_token_pages_json_too(api):
    first = api.get("usage", {**CLOSED, "fill": "zero", "limit": "5", "format": "csv"})
    token = first.headers["x-next-token"]
    second = api.get("usage", {**CLOSED, "fill": "zero", "limit": "5", "next_token": token})
    assert second.status == 200 and second.body["items"][0]["periodStart"] == "2026-11-25T05:00:00Z"
