"""GET /api/usage/totals through its Lambda handler: on moto against the reference model, and its pages
against Lambda's response limit on in-memory repositories."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

import pytest

from ocore_usage import wiring
from ocore_usage.storage.projects import Project
from ocore_usage.usecases.reports.service import Reports
from tests.support.read_api import LambdaContext, MemoryProjects, MemoryRollups, StaticKey, WorldProject, api_event
from tests.support.read_reference import instant as t
from tests.support.read_reference import to_us

FIRST_HOUR = to_us(datetime(2026, 9, 20, tzinfo=UTC))
HOURS = 24 * 68
WORLD = [
    WorldProject("proj_a", "org_a", "Web shop", density=0.6),
    WorldProject("proj_c", "org_a", "Idle", density=0.0),
    WorldProject("proj_gone", "org_a", "Gone", deleted=True, density=0.0),
    WorldProject("proj_old", "org_a", "Old site", deleted=True, density=0.2),
    WorldProject("proj_x", "org_b", "Other tenant", density=0.5),
]


def test_default_range_is_the_current_month_to_now_ceiled(api, world):
    # GIVEN now = 2026-11-26T02:30Z WHEN no dates are given
    answer = api.get("totals")
    # THEN the range is 2026-11-01 to 03:00, one record per listed project
    assert answer.status == 200
    assert (answer.body["startDate"], answer.body["endDate"]) == ("2026-11-01T00:00:00Z", "2026-11-26T03:00:00Z")
    assert answer.body == world.usage_totals("org_a", t("2026-11-01"), t("2026-11-26T03:00:00Z"))


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-09-20", "2026-11-27"), ("2026-10-15T03:30:00Z", "2026-10-15T04:00:00Z"), ("2026-10-31T23:00:00Z", None)],
)
def test_totals_over_a_range_equal_the_reference(api, world, start, end):
    query = {"start_date": start, **({"end_date": end} if end else {})}
    answer = api.get("totals", query)
    wide_start = t(start) - t(start) % 3_600_000_000
    assert answer.body == world.usage_totals("org_a", wide_start, t(end) if end else t("2026-11-26T03:00:00Z"))


def test_active_projects_and_deleted_ones_with_usage_are_listed(api):
    answer = api.get("totals", {"start_date": "2026-09-20", "end_date": "2026-11-27"})
    listed = [(r["projectId"], r["projectName"], r["periodType"]) for r in answer.body["totals"]]
    assert listed == [("proj_a", "Web shop", "total"), ("proj_c", "Idle", "total"), ("proj_old", "Old site", "total")]
    idle = answer.body["totals"][1]
    assert idle["instanceHours"] == idle["cpuCoreHours"] == idle["bandwidthInBytes"] == idle["instanceCount"] == 0
    assert all(r["periodStart"] == "2026-09-20T00:00:00Z" for r in answer.body["totals"])


def test_the_end_date_alone_sets_the_month_of_its_last_hour(api):
    answer = api.get("totals", {"end_date": "2026-11-01T00:00:00Z"})
    assert (answer.body["startDate"], answer.body["endDate"]) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")


def test_in_the_last_hour_of_a_month_the_default_is_still_that_month(api, monkeypatch):
    monkeypatch.setattr(api.clock, "now", t("2026-10-31T23:59:59Z"))
    answer = api.get("totals")
    assert (answer.body["startDate"], answer.body["endDate"]) == ("2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z")


def test_totals_take_no_read_parameters_of_the_other_endpoints(api):
    for name in ("period", "project_id", "fill"):
        answer = api.get("totals", {name: "1"})
        assert (answer.status, answer.body["code"]) == (400, "unknown_parameter")
        assert answer.body["errors"] == [{"field": name, "message": "unknown parameter"}]


RANGE = {"start_date": "2026-09-20", "end_date": "2026-11-27"}


def test_without_limit_the_answer_is_one_page_as_published(api):
    answer = api.get("totals", RANGE)
    assert "nextToken" not in answer.body
    assert set(answer.body) == {"totals", "startDate", "endDate", "dataThrough"}


@pytest.mark.parametrize("limit", ["1", "2", "3"])
def test_pages_of_totals_concatenate_to_the_unpaged_answer(api, limit):
    # GIVEN the unpaged answer WHEN it is read limit projects at a time
    whole = api.get("totals", RANGE).body
    pages = api.pages("totals", {**RANGE, "limit": limit})
    # THEN the pages hold at most limit records each, and together the whole answer in order
    assert all(len(page["totals"]) == int(limit) for page in pages[:-1])
    assert [r for page in pages for r in page["totals"]] == whole["totals"]
    assert all((page["startDate"], page["endDate"]) == (whole["startDate"], whole["endDate"]) for page in pages)


def test_a_totals_page_keeps_the_first_pages_range_as_the_clock_moves_on(api, monkeypatch):
    first = api.get("totals", {"limit": "1"})
    monkeypatch.setattr(api.clock, "now", t("2026-12-02T00:00:00Z"))  # the default range would now be December
    second = api.get("totals", {"limit": "1", "next_token": first.body["nextToken"]})
    assert (second.body["startDate"], second.body["endDate"]) == (first.body["startDate"], first.body["endDate"])
    assert second.body["totals"][0]["projectId"] == "proj_c"


@pytest.mark.parametrize(
    ("query", "kwargs"),
    [({**RANGE, "end_date": "2026-11-26"}, {}), (RANGE, {"org_id": "org_b"})],
    ids=["other parameters", "another org"],
)
def test_a_totals_token_is_bound_to_its_org_and_parameters(api, query, kwargs):
    token = api.get("totals", {**RANGE, "limit": "1"}).body["nextToken"]
    answer = api.get("totals", {**query, "limit": "1", "next_token": token}, **kwargs)
    assert (answer.status, answer.body["code"]) == (400, "invalid_token")


def test_a_token_of_another_endpoint_is_not_a_totals_token(api):
    token = api.get("usage", {**RANGE, "period": "daily", "limit": "1"}).body["nextToken"]
    answer = api.get("totals", {**RANGE, "next_token": token})
    assert (answer.status, answer.body["code"]) == (400, "invalid_token")
    totals_token = api.get("totals", {**RANGE, "limit": "1"}).body["nextToken"]
    answer = api.get("usage", {**RANGE, "period": "daily", "next_token": totals_token})
    assert (answer.status, answer.body["code"]) == (400, "invalid_token")


@pytest.mark.parametrize(
    ("name", "value", "code"),
    [("limit", "0", "invalid_limit"), ("limit", "5001", "invalid_limit"), ("next_token", "nope", "invalid_token")],
)
def test_bad_paging_parameters_of_totals(api, name, value, code):
    answer = api.get("totals", {name: value})
    assert (answer.status, answer.body["code"]) == (400, code)


# ---------------------------------------------------------------- one response stays under Lambda's 6 MB

LAMBDA_RESPONSE_LIMIT = 6 * 1024 * 1024


def _org_of(count: int, name: str) -> Reports:
    projects, rollups = MemoryProjects(), MemoryRollups()
    for i in range(count):
        projects.add(Project(f"proj_{i:05d}", "org_a", name))
    return wiring.reads_on(projects, rollups, StaticKey(), clock=lambda: t("2026-11-26T02:30:00Z"))


def _pages(monkeypatch, service: Reports) -> list[str]:
    from functions.get_usage_totals import app

    monkeypatch.setattr(wiring, "read_service", lambda: service)
    handler: Any = app.lambda_handler  # takes the test's stand-in for Lambda's context
    texts, token = [], None
    while True:
        response = handler(api_event("totals", {"next_token": token} if token else {}), LambdaContext())
        texts.append(json.dumps(response))  # what the Lambda runtime sends back
        token = json.loads(response["body"]).get("nextToken")
        if token is None:
            return texts


def test_a_realistic_org_gets_its_totals_in_one_page_without_limit(monkeypatch):
    # GIVEN 5,000 active projects with everyday names WHEN the totals are asked for without limit
    (text,) = _pages(monkeypatch, _org_of(5000, "web-frontend (production)"))
    # THEN one page, as published, well under Lambda's limit
    assert len(json.loads(json.loads(text)["body"])["totals"]) == 5000
    assert len(text) < LAMBDA_RESPONSE_LIMIT


def test_totals_that_would_not_fit_one_response_are_paged_even_without_limit(monkeypatch):
    # GIVEN 2,000 projects named with 256 characters that JSON escapes as 12 bytes each
    texts = _pages(monkeypatch, _org_of(2000, "\U0001f600" * 256))
    # THEN every response fits, and the pages hold every project once, in order
    assert len(texts) > 1 and all(len(text) < LAMBDA_RESPONSE_LIMIT for text in texts)
    ids = [r["projectId"] for text in texts for r in json.loads(json.loads(text)["body"])["totals"]]
    assert ids == [f"proj_{i:05d}" for i in range(2000)]
