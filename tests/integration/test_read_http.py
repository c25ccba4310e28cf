"""Beyond the published API, over HTTP on the local stack: ETag and If-None-Match (304), Cache-Control and
Last-Modified by freshness, CSV (Accept and format=csv, pages by Link), and tz, against the samples.

Samples of a fresh org are posted over HTTP (two days of hourly samples, two days ago) and rolled
up through the Invoke API, then read back through the API Gateway stand-in and the authorizer.
"""

from __future__ import annotations

import csv
import io
import uuid
from collections import defaultdict
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any
from urllib.parse import urljoin, urlsplit
from urllib.request import Request
from zoneinfo import ZoneInfo

import pytest

from ocore_usage.api.responses import CSV_COLUMNS
from ocore_usage.domain.timeline import parse_rfc3339
from tests.support.http import request
from tests.support.reference import RefSample, bucket_value

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)
CSV_TYPE = "text/csv; charset=utf-8; header=present"


@pytest.fixture(scope="module")
def org(local_stack) -> dict[str, Any]:
    """A fresh org, one project with a sample in each of 48 hours ending at midnight UTC yesterday."""
    org_id = f"org_http_{uuid.uuid4().hex[:10]}"
    project_id = f"prj_http_{uuid.uuid4().hex[:8]}"
    local_stack.register_project(project_id, org_id, 'Web, "shop"')
    end = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0) - timedelta(days=1)
    first = end - 48 * HOUR
    samples = [
        RefSample(
            project_id=project_id,
            sample_id=f"h-{n}",
            instance_id=f"vm-{n % 3}",
            start=first + n * HOUR + timedelta(minutes=10),
            seconds=1800,
            cpu=Decimal(n % 5 + 1),
            ram=Decimal("2.5"),
            disk=Decimal(20),
            bytes_in=1000 + n,
            bytes_out=n,
        )
        for n in range(48)
    ]
    writer = local_stack.token(scope="usage:write")
    status, body = request(
        "POST", f"{local_stack.api_url}/usage/samples", writer, {"samples": [s.as_json() for s in samples]}
    )
    assert status == 202, body
    local_stack.rollup_until_done()
    return {
        "org_id": org_id,
        "project_id": project_id,
        "samples": samples,
        "first": first,
        "end": end,
        "reader": local_stack.token(org=org_id, scope="usage:read"),
    }


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def closed_range(org: dict[str, Any]) -> dict[str, str]:
    return {"period": "hourly", "start_date": iso(org["first"]), "end_date": iso(org["end"])}


def test_an_unchanged_answer_is_304_and_a_closed_one_is_cached_for_an_hour(local_stack, org):
    path = f"/projects/{org['project_id']}/usage"
    # GIVEN an answer over hours that are closed and rolled up
    first = local_stack.request("GET", path, token=org["reader"], query=closed_range(org))
    assert first.status == 200
    tag = first.headers["etag"]
    assert tag.startswith('"') and tag.endswith('"')
    assert first.headers["cache-control"] == "private, max-age=3600"
    assert first.headers["last-modified"].endswith(" GMT") and first.headers["vary"] == "Accept"
    # WHEN it is asked for again with its ETag (also weak, also in a list)
    for validator in (tag, f"W/{tag}", f'"stale", {tag}'):
        again = local_stack.request(
            "GET", path, token=org["reader"], query=closed_range(org), headers={"If-None-Match": validator}
        )
        # THEN 304, no body, the same validators
        assert (again.status, again.body) == (304, b"")
        assert again.headers["etag"] == tag and again.headers["cache-control"] == "private, max-age=3600"
    # AND another tag gets the whole answer
    other = local_stack.request(
        "GET", path, token=org["reader"], query=closed_range(org), headers={"If-None-Match": '"stale"'}
    )
    assert other.status == 200 and other.body == first.body


def test_an_open_range_is_cached_briefly_and_its_last_hour_is_partial(local_stack, org):
    answer = local_stack.request("GET", f"/projects/{org['project_id']}/usage", token=org["reader"])
    body = answer.json()
    assert answer.headers["cache-control"] == "private, max-age=60"
    data_through = parse_rfc3339(body["dataThrough"])
    assert data_through <= parse_rfc3339(body["endDate"])
    for item in body["items"]:
        ends = parse_rfc3339(item["periodStart"]) + 3_600_000_000
        assert item.get("partial", False) is (ends > data_through), item
    assert body["totals"]["partial"] is True


def test_csv_pages_follow_link_and_hold_the_json_records(local_stack, org):
    query = {**closed_range(org), "limit": "20"}
    json_items: list[dict[str, Any]] = []
    token = None
    while True:
        page = local_stack.request(
            "GET", "/usage", token=org["reader"], query={**query, **({"next_token": token} if token else {})}
        ).json()
        json_items += page["items"]
        token = page.get("nextToken")
        if token is None:
            break
    # WHEN the same list is asked for as CSV, following each page's Link
    rows: list[list[str]] = []
    answer = local_stack.request("GET", "/usage", token=org["reader"], query=query, headers={"Accept": "text/csv"})
    pages = 0
    while True:
        assert (answer.status, answer.headers["content-type"]) == (200, CSV_TYPE)
        text = answer.body.decode()
        assert text.endswith("\r\n")
        header, *records = list(csv.reader(io.StringIO(text, newline="")))
        assert header == list(CSV_COLUMNS)
        rows += records
        pages += 1
        if "link" not in answer.headers:
            break
        target = answer.headers["link"].split(">;")[0].removeprefix("<")
        url = urlsplit(urljoin(local_stack.api_url, target))
        assert url.path == "/api/usage" and answer.headers["x-next-token"] in url.query
        answer = _get_url(local_stack, org["reader"], f"{url.path}?{url.query}")
    # THEN the rows are the JSON items, in order, pages of 20
    assert pages == 3 and len(rows) == len(json_items) == 48
    assert [row[0] for row in rows] == [item["projectId"] for item in json_items]
    assert [row[1] for row in rows] == ['Web, "shop"'] * 48
    assert [row[3] for row in rows] == [item["periodStart"] for item in json_items]
    assert [int(row[4]) for row in rows] == [item["bandwidthInBytes"] for item in json_items]


def _get_url(local_stack, token: str, path_and_query: str) -> Any:
    """GET a path of the API's origin (a Link target), as CSV."""
    headers = {"Authorization": f"Bearer {token}", "Accept": "text/csv"}
    return local_stack._send(Request(local_stack.base_url + path_and_query, headers=headers))


def test_kolkata_days_hold_the_utc_hours_that_start_in_them(local_stack, org):
    # GIVEN the days of the samples in Kolkata (+05:30): each day's bucket is the UTC hours that start
    # on that local date, so 19:00Z to 19:00Z
    tz = ZoneInfo("Asia/Kolkata")
    start = org["first"].astimezone(tz).date()
    end = (org["end"].astimezone(tz) + timedelta(days=1)).date()
    query = {"period": "daily", "start_date": start.isoformat(), "end_date": end.isoformat(), "tz": "Asia/Kolkata"}
    body = local_stack.request("GET", f"/projects/{org['project_id']}/usage", token=org["reader"], query=query).json()
    # THEN every record equals the samples' usage over the hours of its local date (brute force)
    hours: dict[Any, list[datetime]] = defaultdict(list)
    cursor = datetime.fromisoformat(body["startDate"])
    while cursor < datetime.fromisoformat(body["endDate"]):
        hours[cursor.astimezone(tz).date()].append(cursor)
        cursor += HOUR
    assert [item["periodStart"] for item in body["items"]] == [
        datetime(d.year, d.month, d.day, tzinfo=tz).isoformat() for d in hours
    ]
    for item, group in zip(body["items"], hours.values(), strict=True):
        value = bucket_value(org["samples"], group[0], group[-1] + HOUR)
        assert (item["bandwidthInBytes"], item["instanceCount"]) == (value.bytes_in, value.peak)
    # AND the totals are exactly the sum of the records (bytes) and the largest peak
    assert sum(item["bandwidthInBytes"] for item in body["items"]) == body["totals"]["bandwidthInBytes"]
    assert max(item["instanceCount"] for item in body["items"]) == body["totals"]["instanceCount"]
    assert body["startDate"].endswith("T19:00:00Z")


def test_an_unknown_zone_is_a_problem_even_when_csv_is_asked_for(local_stack, org):
    answer = local_stack.request(
        "GET", "/usage", token=org["reader"], query={"tz": "Mars/Olympus_Mons"}, headers={"Accept": "text/csv"}
    )
    assert (answer.status, answer.headers["content-type"]) == (400, "application/problem+json")
    assert answer.json()["code"] == "invalid_timezone"
