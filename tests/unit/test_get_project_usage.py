"""GET /api/projects/{id}/usage through its Lambda handler, on moto, against the reference model."""

from __future__ import annotations

import pytest

from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.timeline import parse_rfc3339
from tests.support.read_api import WorldProject
from tests.support.read_reference import instant as t
from tests.support.read_reference import record

FIRST_HOUR = parse_rfc3339("2026-09-28T00:00:00Z")
HOURS = 24 * 60  # to 2026-11-27


WORLD = [
    WorldProject("proj_a", "org_a", "Web shop", density=0.9),
    WorldProject("proj_b", "org_a", "Batch", density=0.05),
    WorldProject("proj_old", "org_a", "Old site", deleted=True, density=0.3),
    WorldProject("proj_x", "org_b", "Other tenant", density=0.5),
]


@pytest.mark.parametrize(
    ("period", "start", "end"),
    [
        ("hourly", "2026-10-31T20:00:00Z", "2026-11-01T04:00:00Z"),
        ("hourly", "2026-10-31T20:15:00Z", "2026-11-01T03:05:00+01:00"),
        ("daily", "2026-10-29T05:00:00Z", "2026-11-02T03:00:00Z"),
        ("daily", "2026-10-01", "2026-11-01"),
        ("monthly", "2026-09-28T07:00:00Z", "2026-11-26T19:00:00Z"),
        ("monthly", "2026-10-01", "2026-11-01"),
    ],
)
def test_records_and_totals_equal_the_reference(api, world, period, start, end):
    # GIVEN a range at a period, clipped or whole
    # WHEN the project's usage is asked for
    answer = api.get("project", {"period": period, "start_date": start, "end_date": end}, project_id="proj_a")
    # THEN it is exactly the brute-force answer over the stored hours (range widened to whole hours)
    assert answer.status == 200, answer.body
    assert answer.content_type == "application/json"
    wide_start = t(start) - t(start) % 3_600_000_000
    wide_end = -(-t(end) // 3_600_000_000) * 3_600_000_000
    assert answer.body == world.project_usage("proj_a", wide_start, wide_end, period)


def test_every_record_has_exactly_the_eleven_fields_of_the_reference(api, world):
    answer = api.get("project", {"period": "daily"}, project_id="proj_b")
    fields = set(record(Usage(), 0, "daily", None, None))
    assert len(fields) == 11
    assert set(answer.body) == {"items", "period", "totals", "startDate", "endDate", "dataThrough"}
    # the records of days closed and rolled up have exactly the published fields; today's adds partial
    *closed, today = answer.body["items"]
    assert all(set(item) == fields for item in closed) and len(closed) == 30
    assert set(today) == fields | {"partial"} and today["partial"] is True
    assert set(answer.body["totals"]) == fields | {"partial"}  # the range ends after dataThrough


def test_defaults_are_hourly_for_the_last_24_hours_with_zero_records(api, world):
    # GIVEN now = 2026-11-26T02:30Z and no parameters
    answer = api.get("project", {}, project_id="proj_b")
    # THEN 24 hourly records ending at now ceiled to the hour, empty hours as zeros
    assert answer.body["period"] == "hourly"
    assert (answer.body["startDate"], answer.body["endDate"]) == ("2026-11-25T03:00:00Z", "2026-11-26T03:00:00Z")
    assert len(answer.body["items"]) == 24
    assert answer.body == world.project_usage("proj_b", t("2026-11-25T03:00:00Z"), t("2026-11-26T03:00:00Z"), "hourly")


def test_fill_none_leaves_out_buckets_without_usage(api, world):
    query = {"period": "hourly", "start_date": "2026-11-01", "end_date": "2026-11-08", "fill": "none"}
    answer = api.get("project", query, project_id="proj_b")
    expected = world.project_usage("proj_b", t("2026-11-01T00:00:00Z"), t("2026-11-08T00:00:00Z"), "hourly", "none")
    assert answer.body == expected
    assert 0 < len(answer.body["items"]) < 7 * 24


def test_a_deleted_project_keeps_its_name_and_stays_readable(api, world):
    answer = api.get("project", {"period": "daily", "start_date": "2026-10-01"}, project_id="proj_old")
    assert answer.status == 200
    assert {item["projectName"] for item in answer.body["items"]} == {"Old site"}
    assert answer.body["totals"]["instanceHours"] > 0


def test_another_orgs_project_and_an_unknown_one_get_the_same_404(api, world):
    # GIVEN proj_x of org_b, and an id nobody registered, both asked for by org_a
    other = api.get("project", {}, project_id="proj_x")
    unknown = api.get("project", {}, project_id="proj_unknown")
    # THEN both are 404 project_not_found, alike but for the id they name
    assert (other.status, other.body["code"]) == (unknown.status, unknown.body["code"]) == (404, "project_not_found")
    assert other.content_type == "application/problem+json"
    assert other.text.replace("proj_x", "ID") == unknown.text.replace("proj_unknown", "ID")


@pytest.mark.parametrize("project_id", ["a" * 65, "bad id", "x%00y", "ünïcode", "a" * 3000])
def test_an_id_that_cannot_exist_is_not_found_without_a_5xx(api, world, project_id):
    answer = api.get("project", {}, project_id=project_id)
    assert (answer.status, answer.body["code"]) == (404, "project_not_found")


def test_pages_concatenate_to_the_whole_and_carry_the_same_totals(api, world):
    query = {"period": "hourly", "start_date": "2026-11-01T05:00:00Z", "end_date": "2026-11-03T01:00:00Z"}
    whole = api.get("project", query, project_id="proj_a").body
    pages = api.pages("project", {**query, "limit": "7"}, project_id="proj_a")
    assert [item for page in pages for item in page["items"]] == whole["items"]
    assert len(pages) == -(-len(whole["items"]) // 7)
    assert all(page["totals"] == whole["totals"] for page in pages)
    assert all(len(page["items"]) == 7 for page in pages[:-1])


def test_a_token_is_bound_to_its_parameters_its_project_and_its_org(api, world):
    query = {"period": "daily", "start_date": "2026-10-01", "end_date": "2026-11-01", "limit": "10"}
    token = api.get("project", query, project_id="proj_a").body["nextToken"]

    def follow(q=query, project_id="proj_a", org_id="org_a", next_token=token):
        return api.get("project", {**q, "next_token": next_token}, project_id=project_id, org_id=org_id)

    # the same parameters, another limit: fine
    assert follow({**query, "limit": "3"}).status == 200
    # other parameters, another project of the same org, another org, an altered token: refused
    for answer in [
        follow({**query, "period": "hourly"}),
        follow({**query, "end_date": "2026-10-31"}),
        follow({**query, "fill": "none"}),
        follow(project_id="proj_b"),
        follow(org_id="org_b", project_id="proj_x"),
        follow(next_token=token[:-2] + ("AA" if not token.endswith("AA") else "BB")),
        follow(next_token="garbage"),
    ]:
        assert (answer.status, answer.body["code"]) == (400, "invalid_token"), answer.body


def test_reading_needs_the_read_scope_and_an_org(api, world):
    for scopes, org_id in [("usage:write", "org_a"), ("", "org_a"), ("usage:read", None)]:
        answer = api.get("project", {}, project_id="proj_a", scopes=scopes, org_id=org_id)
        assert (answer.status, answer.body["code"]) == (403, "insufficient_scope")


def test_project_id_is_not_a_parameter_of_this_route(api, world):
    answer = api.get("project", {"project_id": "proj_b"}, project_id="proj_a")
    assert (answer.status, answer.body["code"]) == (400, "unknown_parameter")
