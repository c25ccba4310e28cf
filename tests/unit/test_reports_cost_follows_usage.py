"""Reads cost what the answer needs, not what the org ever registered: an org of 1,000 projects.

``org_big`` registered 1,000 projects: 5 active ones with usage in every hour, 995 deleted ones
without usage in the ranges asked for (each noted in the org's usage months for a month before
them, as a month whose usage moved away would be). ``org_gone`` has 1,000 deleted projects and
no usage at all. Requests are counted on the botocore client; each answer must equal the
reference model, and cost at most 4 requests per active project plus a constant.
"""

from __future__ import annotations

from collections import Counter
from datetime import UTC, datetime

from tests.support.read_api import RequestLog, WorldProject
from tests.support.read_reference import instant as t
from tests.support.read_reference import merge_hours, record, to_us

FIRST_HOUR = to_us(datetime(2025, 11, 1, tzinfo=UTC))
NOW = "2026-02-05T02:30:00Z"
END = "2026-02-05T03:00:00Z"  # now, ceiled to the hour
HOURS = (t(END) - FIRST_HOUR) // 3_600_000_000
ACTIVE = 5
BUDGET = 4 * ACTIVE + 10


def _world() -> list[WorldProject]:
    projects = [WorldProject(f"p{i:04d}", "org_big", f"Project {i}", deleted=True, density=0.0) for i in range(1000)]
    for i in (3, 250, 499, 500, 998):  # active, among the deleted ones
        projects[i] = WorldProject(f"p{i:04d}", "org_big", f"Project {i}", density=1.0)
    projects += [WorldProject(f"g{i:04d}", "org_gone", f"Gone {i}", deleted=True, density=0.0) for i in range(1000)]
    return projects


WORLD = _world()


def _report(name: str, log: RequestLog) -> None:
    total = sum(log.calls.values())
    print(f"\n{name}: {total} requests {dict(sorted(log.calls.items()))}, items read {log.items}")
    assert total <= BUDGET, (name, log.calls)


def test_totals_read_the_active_projects_and_the_projects_with_usage(api, world, log):
    # WHEN the totals of this month are asked for
    answer = api.get("totals", org_id="org_big")
    # THEN the 5 active projects are listed, as before, from 2 index Queries and their totals plans
    assert answer.body == world.usage_totals("org_big", t("2026-02-01"), t(END))
    assert len(answer.body["totals"]) == ACTIVE
    assert log.calls == Counter({"Query": 2 + ACTIVE * 2})  # each: Feb 1-4 from days, Feb 5 from hours
    _report("/usage/totals", log)


def test_org_usage_by_default_reads_the_projects_with_usage(api, world, log):
    answer = api.get("usage", org_id="org_big")  # hourly, the last 24 hours, fill=none
    assert answer.body == world.org_usage("org_big", t(END) - 24 * 3_600_000_000, t(END), "hourly")
    # the usage months, the candidates' registry entries, a Query per project, the org totals
    assert log.calls == Counter({"Query": 1 + ACTIVE + 1, "BatchGetItem": 1})
    _report("/usage (default)", log)


def test_hourly_over_93_days_reads_one_page(api, world, log):
    start = "2025-11-04T03:00:00Z"
    answer = api.get("usage", {"start_date": start, "end_date": END}, org_id="org_big")
    # the first page: the first active project's first 1,000 hours; the org totals of the range
    first_page = world.project_usage("p0003", t(start), t(start) + 1000 * 3_600_000_000, "hourly", "none")
    org_usage = merge_hours(world.org_hours["org_big"], t(start), t(END))
    org_totals = record(org_usage, t(start), "total", None, None, partial=True)  # the range ends after now
    assert answer.body["items"] == first_page["items"] and answer.body["totals"] == org_totals
    assert "nextToken" in answer.body
    # the usage months, the registry entries, one Query of the first project's 1,000 hours, and the
    # org totals over 93 days (hours, days, two months, days, hours)
    assert log.calls == Counter({"Query": 1 + 1 + 5, "BatchGetItem": 1})
    _report("/usage hourly 93 days", log)


def test_fill_zero_reads_the_active_projects_and_those_with_usage(api, world, log):
    answer = api.get("usage", {"fill": "zero"}, org_id="org_big")
    assert answer.body == world.org_usage("org_big", t(END) - 24 * 3_600_000_000, t(END), "hourly", "zero")
    assert log.calls == Counter({"Query": 2 + ACTIVE + 1})
    _report("/usage fill=zero", log)


def test_fill_zero_of_an_org_whose_projects_are_all_deleted_reads_no_project(api, world, log):
    answer = api.get("usage", {"fill": "zero", "period": "daily"}, org_id="org_gone")
    assert answer.body == world.org_usage("org_gone", t("2026-01-06"), t(END), "daily", "zero")
    assert answer.body["items"] == []
    # the (empty) active projects, the (empty) usage months, the org totals plan (days, hours)
    assert log.calls == Counter({"Query": 2 + 2})
    _report("/usage fill=zero, every project deleted", log)
