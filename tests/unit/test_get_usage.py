"""GET /api/usage through its Lambda handler, on moto: org-wide and one project, against the reference."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.support.read_api import WorldProject
from tests.support.read_reference import instant as t
from tests.support.read_reference import to_us

FIRST_HOUR = to_us(datetime(2026, 9, 28, tzinfo=UTC))
HOURS = 24 * 60
WORLD = [
    WorldProject("proj_a", "org_a", "Web shop", density=0.6),
    WorldProject("proj_b", "org_a", "Batch", density=0.05),
    WorldProject("proj_c", "org_a", "Idle", density=0.0),
    WorldProject("proj_gone", "org_a", "Gone", deleted=True, density=0.0),
    WorldProject("proj_old", "org_a", "Old site", deleted=True, density=0.2),
    WorldProject("proj_x", "org_b", "Other tenant", density=0.5),
]


RANGES = [
    ("hourly", "2026-10-31T20:00:00Z", "2026-11-01T04:00:00Z"),
    ("daily", "2026-10-29T05:00:00Z", "2026-11-02T03:00:00Z"),
    ("monthly", "2026-09-28T07:00:00Z", "2026-11-26T19:00:00Z"),
]


@pytest.mark.parametrize(("period", "start", "end"), RANGES)
@pytest.mark.parametrize("fill", [None, "none", "zero"])
def test_org_wide_records_and_totals_equal_the_reference(api, world, period, start, end, fill):
    # GIVEN the whole org, a range at a period, each fill mode
    query = {"period": period, "start_date": start, "end_date": end, **({"fill": fill} if fill else {})}
    # WHEN asked without project_id
    answer = api.get("usage", query)
    # THEN records per project and bucket, ordered by project then time, and org totals
    assert answer.status == 200, answer.body
    assert answer.body == world.org_usage("org_a", t(start), t(end), period, fill or "none")


def test_org_wide_fill_zero_lists_the_projects_that_totals_lists(api, world):
    answer = api.get("usage", {"period": "daily", "start_date": "2026-10-01", "end_date": "2026-10-08", "fill": "zero"})
    listed = [item["projectId"] for item in answer.body["items"]]
    # active projects (even idle ones) and the deleted one with usage; not the deleted one without
    assert sorted(set(listed)) == ["proj_a", "proj_b", "proj_c", "proj_old"]
    assert listed == sorted(listed)
    assert len(listed) == 4 * 7


def test_org_totals_carry_the_org_wide_peak_and_no_project(api, world):
    answer = api.get("usage", {"period": "daily", "start_date": "2026-10-01", "end_date": "2026-11-01"})
    totals = answer.body["totals"]
    assert (totals["projectId"], totals["projectName"], totals["periodType"]) == (None, None, "total")
    assert totals["periodStart"] == "2026-10-01T00:00:00Z"
    # the org-wide peak (concurrent instances across projects) is above every project's own peak
    assert totals["instanceCount"] > max(item["instanceCount"] for item in answer.body["items"])


def test_project_id_narrows_to_one_project_with_its_defaults(api, world):
    query = {"project_id": "proj_b", "period": "daily", "start_date": "2026-10-01", "end_date": "2026-10-20"}
    answer = api.get("usage", query)
    assert answer.body == world.project_usage("proj_b", t("2026-10-01"), t("2026-10-20"), "daily", "zero")


@pytest.mark.parametrize("project_id", ["proj_x", "proj_nobody", "", "x" * 200])
def test_project_id_of_another_org_or_unknown_is_not_found(api, world, project_id):
    answer = api.get("usage", {"project_id": project_id})
    assert (answer.status, answer.body["code"]) == (404, "project_not_found")


def test_another_org_sees_only_its_own_projects(api, world):
    answer = api.get("usage", {"period": "monthly", "start_date": "2026-09-01"}, org_id="org_b")
    assert {item["projectId"] for item in answer.body["items"]} == {"proj_x"}
    assert answer.body == world.org_usage("org_b", t("2026-09-01"), t("2026-11-26T03:00:00Z"), "monthly")


@pytest.mark.parametrize("fill", ["none", "zero"])
@pytest.mark.parametrize("limit", [1, 5, 23, 1000])
def test_org_wide_pages_concatenate_to_the_whole(api, world, fill, limit):
    query = {"period": "hourly", "start_date": "2026-10-31T21:00:00Z", "end_date": "2026-11-01T03:00:00Z", "fill": fill}
    whole = world.org_usage("org_a", t(query["start_date"]), t(query["end_date"]), "hourly", fill)
    pages = api.pages("usage", {**query, "limit": str(limit)})
    assert all(page["totals"] == whole["totals"] for page in pages)
    assert all(len(page["items"]) == limit for page in pages[:-1]) and len(pages[-1]["items"]) <= limit
    assert [item for page in pages for item in page["items"]] == whole["items"]


def test_a_token_of_the_org_wide_list_does_not_serve_another_endpoint_or_org(api, world):
    query = {"period": "hourly", "start_date": "2026-10-31T18:00:00Z", "end_date": "2026-11-01T06:00:00Z"}
    token = api.get("usage", {**query, "limit": "2"}).body["nextToken"]
    for answer in [
        api.get("usage", {**query, "next_token": token}, org_id="org_b"),
        api.get("usage", {**query, "project_id": "proj_a", "next_token": token}),
        api.get("project", {**query, "next_token": token}, project_id="proj_a"),
    ]:
        assert (answer.status, answer.body["code"]) == (400, "invalid_token")


def test_pages_keep_the_first_pages_range_when_the_default_end_moves_on(api, world, monkeypatch):
    # GIVEN a first page with the default range, then the clock moving past the hour
    first = api.get("usage", {"period": "hourly", "fill": "zero", "limit": "50"}).body
    monkeypatch.setattr(api.clock, "now", api.clock.now + 3_600_000_000)
    rest = api.get("usage", {"period": "hourly", "fill": "zero", "next_token": first["nextToken"]}).body
    # THEN the next page continues the same range: together they are the first page's whole list
    assert (rest["startDate"], rest["endDate"]) == (first["startDate"], first["endDate"])
    whole = world.org_usage("org_a", t(first["startDate"]), t(first["endDate"]), "hourly", "zero")
    assert first["items"] + rest["items"] == whole["items"]
