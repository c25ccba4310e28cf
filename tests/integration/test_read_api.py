"""The three read endpoints over HTTP on the real local stack, through the JWT authorizer.

Samples of a fresh org are posted over HTTP (34 days of them, so the range always holds a
month boundary), rolled up through the Lambda invoke API, and read back: every record and
total equals the sample-level reference (tests/support/reference.py), for clipped ranges at
each period, org-wide pages concatenated, /usage/totals, a deleted project, and the errors the
gateway and the functions answer.

Uses the ``local_stack`` fixture of tests/integration/conftest.py: ``api_url``,
``token(org, scope)``, ``invoke(name, event)``, ``register_project(pid, org, name, deleted=)``,
``rollup_until_done()``.
"""

from __future__ import annotations

import json
import random
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction
from typing import Any
from urllib.parse import urlencode

import pytest

from ocore_usage.api import jsonnum
from tests.support.reference import RefSample, bucket_value

pytestmark = pytest.mark.integration

HOUR = timedelta(hours=1)


def get(url: str, token: str | None, query: dict[str, str] | list[tuple[str, str]] | None = None) -> tuple[int, Any]:
    full = url + (f"?{urlencode(query)}" if query else "")
    request = urllib.request.Request(full, headers={"Authorization": f"Bearer {token}"} if token else {})
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, published(json.loads(response.read(), parse_float=Decimal))
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null", parse_float=Decimal)


def published(body: Any) -> Any:
    """The records with the published fields only: ``partial`` (a record ending after ``dataThrough``,
    which depends on when the rollup last ran; tests/integration/test_read_http.py checks it) set aside."""
    if not isinstance(body, dict):
        return body
    records = [*body.get("items", []), *(body["totals"] if isinstance(body.get("totals"), list) else [])]
    if isinstance(body.get("totals"), dict):
        records.append(body["totals"])
    for record in records:
        record.pop("partial", None)
    return body


def post(url: str, token: str, body: Any) -> tuple[int, Any]:
    data = jsonnum.dumps(body).encode()  # Decimal allocations as exact JSON numbers
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=120) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"null")


def six(value: Fraction) -> Decimal:
    exact = Decimal(value.numerator) / Decimal(value.denominator)
    return exact.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN)


def iso(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def record(samples: list[RefSample], start: datetime, end: datetime, period_start: datetime, period_type: str,
           project: tuple[str, str] | None) -> dict[str, Any]:  # fmt: skip
    value = bucket_value(samples, start, end)
    return {
        "bandwidthInBytes": value.bytes_in,
        "bandwidthOutBytes": value.bytes_out,
        "cpuCoreHours": six(value.cpu),
        "diskGbHours": six(value.disk),
        "instanceCount": value.peak,
        "instanceHours": six(value.instance_hours),
        "periodStart": iso(period_start),
        "periodType": period_type,
        "projectId": project[0] if project else None,
        "projectName": project[1] if project else None,
        "ramGbHours": six(value.ram),
    }


def calendar(start: datetime, end: datetime, period: str) -> list[tuple[datetime, datetime]]:
    if period == "hourly":
        cursor = start
    elif period == "daily":
        cursor = start.replace(hour=0)
    else:
        cursor = start.replace(day=1, hour=0)
    buckets = []
    while cursor < end:
        if period == "hourly":
            following = cursor + HOUR
        elif period == "daily":
            following = cursor + timedelta(days=1)
        else:
            following = (cursor.replace(day=28) + timedelta(days=4)).replace(day=1)
        buckets.append((cursor, following))
        cursor = following
    return buckets


@dataclass
class Org:
    org_id: str
    names: dict[str, str]
    deleted: set[str]
    samples: dict[str, list[RefSample]]
    first: datetime
    now: datetime

    def of(self, project_id: str) -> list[RefSample]:
        return self.samples.get(project_id, [])

    def all_samples(self) -> list[RefSample]:
        return [s for samples in self.samples.values() for s in samples]

    def project_items(self, project_id: str, start: datetime, end: datetime, period: str, fill: str) -> list[dict]:
        items = []
        for own_start, own_end in calendar(start, end, period):
            item = record(self.of(project_id), max(own_start, start), min(own_end, end), own_start, period,
                          (project_id, self.names[project_id]))  # fmt: skip
            if fill == "zero" or item["instanceHours"] or item["instanceCount"]:
                items.append(item)
        return items

    def listed(self, project_id: str, start: datetime, end: datetime) -> bool:
        return project_id not in self.deleted or bucket_value(self.of(project_id), start, end).instance_hours > 0


@pytest.fixture(scope="module")
def stack(local_stack: Any) -> Any:
    return local_stack


@pytest.fixture(scope="module")
def org(stack) -> Iterator[Org]:
    """A fresh org: proj_a and proj_b busy, proj_idle without samples, proj_old deleted with samples."""
    rng = random.Random(11)
    org_id = f"org_read_{uuid.uuid4().hex[:10]}"
    names = {"proj_a": "Web shop", "proj_b": "Batch jobs", "proj_idle": "Idle", "proj_old": "Old site"}
    prefix = org_id.removeprefix("org_read_")
    ids = {short: f"{short}_{prefix}" for short in names}
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=34)
    samples: dict[str, list[RefSample]] = {}
    for short, count in (("proj_a", 260), ("proj_b", 90), ("proj_old", 40)):
        project_id = ids[short]
        samples[project_id] = [
            RefSample(
                project_id=project_id,
                sample_id=f"s-{n}",
                instance_id=f"vm-{n % 4}",
                start=first + timedelta(seconds=rng.randrange(0, 33 * 86400)),
                seconds=rng.choice([300, 900, 3600, rng.randint(1, 3600)]),
                cpu=Decimal(rng.randint(0, 64_000_000)) / Decimal(1_000_000),
                ram=Decimal(rng.randint(0, 10**7)) / Decimal(1000),
                disk=Decimal(rng.randint(0, 500)),
                bytes_in=rng.randint(0, 10**12),
                bytes_out=rng.randint(0, 10**9),
            )
            for n in range(count)
        ]
    for short, project_id in ids.items():
        stack.register_project(project_id, org_id, names[short])
    writer = stack.token(scope="usage:write")
    for project_samples in samples.values():
        status, body = post(f"{stack.api_url}/usage/samples", writer,
                            {"samples": [s.as_json() for s in project_samples]})  # fmt: skip
        assert status == 202, body
    stack.register_project(ids["proj_old"], org_id, names["proj_old"], deleted=True,
                                 time=datetime.now(UTC) + timedelta(seconds=1))  # fmt: skip
    stack.rollup_until_done()
    yield Org(org_id, {ids[k]: v for k, v in names.items()}, {ids["proj_old"]}, samples, first, now)


@pytest.fixture(scope="module")
def reader(stack, org) -> str:
    return stack.token(org=org.org_id, scope="usage:read")


def project_of(org: Org, short: str) -> str:
    return next(p for p in org.names if p.startswith(short + "_"))


@pytest.mark.parametrize(
    ("period", "start_offset", "end_offset"),
    [
        ("monthly", timedelta(hours=5, minutes=30), timedelta(days=34)),  # clipped at both ends, a month boundary
        ("daily", timedelta(days=1, hours=7), timedelta(days=20, hours=2)),
        ("hourly", timedelta(days=10, hours=3), timedelta(days=12, hours=5)),
    ],
)
def test_one_projects_records_and_totals_equal_the_reference(stack, org, reader, period, start_offset,
                                                              end_offset):  # fmt: skip
    project_id = project_of(org, "proj_a")
    start, end = org.first + start_offset, org.first + end_offset
    query = {"period": period, "start_date": start.isoformat(), "end_date": end.isoformat()}
    status, body = get(f"{stack.api_url}/projects/{project_id}/usage", reader, query)
    assert status == 200, body
    wide_start = start.replace(minute=0)
    assert body["items"] == org.project_items(project_id, wide_start, end, period, "zero")
    assert body["totals"] == record(org.of(project_id), wide_start, end, wide_start, "total",
                                    (project_id, org.names[project_id]))  # fmt: skip
    assert (body["period"], body["startDate"], body["endDate"]) == (period, iso(wide_start), iso(end))


@pytest.mark.parametrize(("period", "fill", "limit"), [("daily", "none", "7"), ("daily", "zero", "11"),
                                                       ("monthly", "zero", "1")])  # fmt: skip
def test_org_wide_pages_concatenate_to_the_reference(stack, org, reader, period, fill, limit):
    start, end = org.first + timedelta(hours=3), org.now
    query = {"period": period, "fill": fill, "limit": limit, "start_date": iso(start), "end_date": iso(end)}
    items, pages, token = [], [], None
    while True:
        status, page = get(f"{stack.api_url}/usage", reader, {**query, **({"next_token": token} if token else {})})
        assert status == 200, page
        pages.append(page)
        items += page["items"]
        token = page.get("nextToken")
        if token is None:
            break
    expected = [
        item
        for project_id in sorted(org.names)
        if fill == "none" or org.listed(project_id, start, end)
        for item in org.project_items(project_id, start, end, period, fill)
    ]
    assert items == expected
    totals = record(org.all_samples(), start, end, start, "total", None)  # the org-wide peak, by sweep
    assert all(page["totals"] == totals for page in pages)


def test_usage_totals_list_active_projects_and_deleted_ones_with_usage(stack, org, reader):
    start, end = org.first, org.now + HOUR
    status, body = get(f"{stack.api_url}/usage/totals", reader, {"start_date": iso(start), "end_date": iso(end)})
    assert status == 200, body
    expected = [
        record(org.of(p), start, end, start, "total", (p, org.names[p]))
        for p in sorted(org.names)
        if org.listed(p, start, end)
    ]
    assert body["totals"] == expected
    assert [r["projectId"] for r in body["totals"]] == sorted(org.names)  # idle: zeros; old: deleted with usage


def test_a_deleted_project_stays_readable_under_its_last_name(stack, org, reader):
    project_id = project_of(org, "proj_old")
    status, body = get(f"{stack.api_url}/usage", reader, {"project_id": project_id, "period": "monthly",
                                                                  "start_date": iso(org.first)})  # fmt: skip
    assert status == 200, body
    assert {item["projectName"] for item in body["items"]} == {"Old site"}
    assert body["totals"]["instanceHours"] > 0


def test_errors_over_http(stack, org, reader):
    api = stack.api_url
    project_id = project_of(org, "proj_a")
    # the gateway: no token, a bad token
    assert get(f"{api}/usage", None) == (401, {"message": "Unauthorized"})
    assert get(f"{api}/usage", "not.a.jwt") == (403, {"message": "Forbidden"})
    # the functions: problem+json with the service's error codes
    cases = [
        (f"{api}/usage", reader, {"perid": "daily"}, 400, "unknown_parameter"),
        (f"{api}/usage", reader, [("period", "daily"), ("period", "hourly")], 400, "validation_error"),
        (f"{api}/usage", reader, {"period": "weekly"}, 400, "invalid_period"),
        (f"{api}/usage/totals", reader, {"start_date": "2026-02-30"}, 400, "invalid_date"),
        (f"{api}/usage", reader, {"start_date": "2026-11-02", "end_date": "2026-11-01"}, 400, "invalid_range"),
        (f"{api}/usage", reader, {"start_date": "2026-01-01", "end_date": "2026-06-01"}, 400, "range_too_large"),
        (f"{api}/usage", reader, {"limit": "5001"}, 400, "invalid_limit"),
        (f"{api}/usage", reader, {"next_token": "forged"}, 400, "invalid_token"),
        (f"{api}/projects/{project_id}/usage", stack.token(org="org_someone_else"), None, 404,
         "project_not_found"),
        (f"{api}/usage", stack.token(org=org.org_id, scope="openid"), None, 403, "insufficient_scope"),
    ]  # fmt: skip
    for url, token, query, status, code in cases:
        got_status, body = get(url, token, query)
        assert (got_status, body["code"]) == (status, code), (url, query, body)


def test_a_token_replayed_by_another_org_is_refused(stack, org, reader):
    query = {"period": "hourly", "start_date": iso(org.first), "end_date": iso(org.first + timedelta(days=2)),
             "fill": "zero", "limit": "5"}  # fmt: skip
    status, page = get(f"{stack.api_url}/usage", reader, query)
    assert status == 200 and "nextToken" in page
    stranger = stack.token(org="org_someone_else")
    status, body = get(f"{stack.api_url}/usage", stranger, {**query, "next_token": page["nextToken"]})
    assert (status, body["code"]) == (400, "invalid_token")
