"""What a year of usage costs to read: DynamoDB requests and items, counted on the client.

Every hour of a year holds usage (so every planned bucket is stored and read). botocore's
``after-call`` events report each request and, for a Query, how many items it returned
(``Count``) and examined (``ScannedCount``). The counts must equal the planner's lower bound:
one Query per maximal run of planned keys, and exactly the fewest stored items that tile each
record (computed independently, by dynamic programming over the hours).
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

import pytest

from ocore_usage.domain.periods import Period
from ocore_usage.domain.planner import TimeRange, output_buckets, plan_reads
from tests.support.read_api import WorldProject
from tests.support.read_reference import calendar_buckets, fewest_buckets, to_us
from tests.support.read_reference import instant as t

FIRST_HOUR = to_us(datetime(2025, 1, 1, tzinfo=UTC))
HOURS = 24 * 376  # 2025-01-01 to 2026-01-12, every hour busy
NOW = "2026-02-05T00:00:00Z"
WORLD = [
    WorldProject("proj_a", "org_a", "Web shop", density=1.0),
    WorldProject("proj_b", "org_a", "Batch", density=1.0),
]


YEAR_CLIPPED = ("2025-01-15T05:00:00Z", "2026-01-10T07:00:00Z")
YEAR_WHOLE = ("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z")


def lower_bound(start: int, end: int, period: str) -> int:
    """The fewest stored items any plan needs: each record's own fewest tiling, added up."""
    if period == "total":
        return fewest_buckets(start, end)
    return sum(fewest_buckets(max(s, start), min(e, end)) for s, e in calendar_buckets(start, end, period))


@pytest.mark.parametrize(
    ("period", "dates", "records", "queries", "items"),
    [
        # 361 days: 359 whole days in one Query, the two clipped days from hours (19 + 7)
        ("daily", YEAR_CLIPPED, 361, 3, 359 + 19 + 7),
        ("daily", YEAR_WHOLE, 365, 1, 365),
        # 13 months: 11 whole months, 16 + 9 whole days and 19 + 7 hours at the ragged ends
        ("monthly", YEAR_CLIPPED, 13, 5, 11 + 16 + 9 + 19 + 7),
        ("monthly", YEAR_WHOLE, 12, 1, 12),
    ],
)
def test_a_year_of_one_project_reads_the_planners_lower_bound(api, log, period, dates, records, queries, items):
    start, end = dates
    # WHEN a year of one project is asked for (one page: the totals come from the records)
    answer = api.get("project", {"period": period, "start_date": start, "end_date": end}, project_id="proj_a")
    assert answer.status == 200 and len(answer.body["items"]) == records and "nextToken" not in answer.body
    # THEN one GetItem for the project, and exactly the planned Queries and items
    plan = plan_reads(TimeRange(t(start), t(end)), Period(period))
    assert (len(plan.reads), plan.item_count) == (queries, items)
    assert plan.item_count == lower_bound(t(start), t(end), period)
    assert log.calls == Counter({"GetItem": 1, "Query": queries})
    assert log.items == log.scanned == items
    print(f"\n{period} {start}..{end}: {dict(log.calls)}, items read {log.items}, lower bound {items}")


def test_hourly_at_its_longest_range_reads_one_page_and_the_totals_plan(api, log):
    # GIVEN 93 days of hours, more than one page (1000 records by default)
    start, end = "2025-03-01T00:00:00Z", "2025-06-02T00:00:00Z"
    answer = api.get("project", {"period": "hourly", "start_date": start, "end_date": end}, project_id="proj_a")
    assert len(answer.body["items"]) == 1000 and "nextToken" in answer.body
    # THEN the page's 1000 hours in one Query, and the range's totals from 3 months and 1 day
    total_plan = plan_reads(TimeRange(t(start), t(end)), Period.TOTAL)
    assert (len(total_plan.reads), total_plan.item_count) == (2, 3 + 1)
    assert log.calls == Counter({"GetItem": 1, "Query": 1 + 2})
    assert log.items == log.scanned == 1000 + 4
    print(f"\nhourly 93 days, first page: {dict(log.calls)}, items read {log.items}")


@pytest.mark.parametrize(
    ("period", "per_project_queries", "per_project_items"), [("daily", 3, 385), ("monthly", 5, 62)]
)
def test_a_year_of_the_whole_org_reads_each_projects_plan_and_the_org_totals(
    api, log, period, per_project_queries, per_project_items
):
    start, end = YEAR_CLIPPED
    answer = api.get("usage", {"period": period, "start_date": start, "end_date": end, "limit": "5000"})
    assert len(answer.body["items"]) == 2 * len(output_buckets(TimeRange(t(start), t(end)), Period(period)))
    # THEN the projects with usage (one Query of the org's usage months: 13 months x 2 projects), their
    # registry entries (one BatchGetItem), each project's plan, and the org series' totals plan
    # (5 Queries, 62 items)
    assert log.calls == Counter({"Query": 1 + 2 * per_project_queries + 5, "BatchGetItem": 1})
    assert log.items == log.scanned == 2 * 13 + 2 * per_project_items + 62
    print(f"\norg-wide {period} 2 projects: {dict(log.calls)}, items read {log.items}")


def test_totals_of_a_year_read_each_projects_total_plan(api, log):
    start, end = YEAR_CLIPPED
    answer = api.get("totals", {"start_date": start, "end_date": end})
    assert len(answer.body["totals"]) == 2
    # THEN the active projects (one Query on the ActiveByOrg index), the projects with usage (one Query
    # of the org's usage months), and each project's totals plan
    assert log.calls == Counter({"Query": 2 + 2 * 5})
    assert log.items == log.scanned == 2 + 2 * 13 + 2 * 62
    print(f"\n/usage/totals 2 projects: {dict(log.calls)}, items read {log.items}")
