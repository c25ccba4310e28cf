"""The reports against the brute-force reference model, on in-memory repositories.

Random projects (some deleted, some idle), random hourly usage around month boundaries, random
ranges, periods, fill modes, page sizes, time zones (across the DST changes of New York, Berlin
and Lord Howe's 30-minute shift, and Kolkata's half-hour offset) and rollup watermarks (so some
records are partial): every answer equals the reference, pages
concatenate to the whole list with the same totals on each, and a one-page answer reads no
more than its plan. The org's usage months are what the rollup notes plus random extra months
without usage (they may over-approximate), and the reference never looks at them.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from ocore_usage import wiring
from ocore_usage.api import reads
from ocore_usage.api.queries import ProjectUsageQuery, TotalsQuery, UsageQuery, read_parameters
from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.periods import Period
from ocore_usage.domain.planner import TimeRange, plan_reads
from ocore_usage.domain.problems import Problem, ProblemCode
from ocore_usage.domain.zones import calendar
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project
from ocore_usage.usecases.reports.service import Reports
from tests.support.read_api import MemoryProjects, MemoryRollups, StaticKey, org_hours_of, usage_months
from tests.support.read_reference import HOUR_US, ReadReference, RefProject, iso, to_us

BASE = to_us(datetime(2026, 1, 28, tzinfo=UTC))  # data around the ends of January and February
SPAN_HOURS = 24 * 70
NOW = BASE + 24 * 80 * HOUR_US
MAX_LENGTH = {"hourly": 72, "daily": SPAN_HOURS, "monthly": SPAN_HOURS}
# January 28 to early April 2026: New York (March 8) and Berlin (March 29) start DST, Lord Howe ends
# its 30-minute DST (April 5); Kolkata's days start half-way through a UTC hour
ZONES = [None, "UTC", "America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]


@dataclass
class FixedWatermark:
    instant: int

    def data_through(self) -> int:
        return self.instant


EXTRA_MONTHS = [to_us(datetime(2025, 12, 1, tzinfo=UTC))] + [
    to_us(datetime(2026, m, 1, tzinfo=UTC)) for m in (1, 2, 3, 4)
]

usages = st.builds(
    lambda cpu, ram, instance, b_in, b_out, peak: Usage.of(
        cpu=cpu, ram=ram, disk=cpu // 3, instance=instance, bytes_in=b_in, bytes_out=b_out, peak=peak
    ),
    st.integers(0, 4 * 10**12),
    st.integers(0, 10**13),
    st.integers(1, 4 * 3600 * 10**6),
    st.integers(0, 10**12),
    st.integers(0, 10**12),
    st.integers(1, 4),
)


@st.composite
def worlds(draw) -> tuple[Reports, MemoryRollups, ReadReference]:
    ids = draw(st.lists(st.sampled_from(["p1", "p2", "p3", "p4", "q1"]), min_size=1, max_size=4, unique=True))
    rollups, projects, reference = MemoryRollups(), MemoryProjects(), ReadReference()
    for project_id in ids:
        org_id = "org_b" if project_id.startswith("q") else "org_a"
        deleted = draw(st.booleans())
        projects.add(Project(project_id, org_id, f"name of {project_id}", deleted))
        reference.projects[project_id] = RefProject(project_id, org_id, f"name of {project_id}", deleted)
        offsets = draw(st.lists(st.integers(-24, SPAN_HOURS), max_size=25, unique=True))
        hours = {BASE + offset * HOUR_US: draw(usages) for offset in offsets}
        reference.project_hours[project_id] = hours
        rollups.store_hours(SeriesOwner.PROJECT, project_id, hours)
        extra = draw(st.sets(st.sampled_from(EXTRA_MONTHS), max_size=2))
        rollups.note_usage_months(org_id, project_id, usage_months(hours) | extra)
    for org_id in ("org_a", "org_b"):
        org = org_hours_of([reference.project_hours[p.project_id] for p in reference.org_projects(org_id)])
        reference.org_hours[org_id] = org
        rollups.store_hours(SeriesOwner.ORG, org_id, org)
    # the rollup's watermark somewhere in the data (records ending after it are partial), or now
    reference.data_through = draw(st.sampled_from([NOW, BASE + draw(st.integers(0, SPAN_HOURS * 60)) * 60_000_000]))
    reference.tz = draw(st.sampled_from(ZONES))
    watermark = FixedWatermark(reference.data_through)
    reports = wiring.reads_on(projects, rollups, StaticKey(), clock=lambda: NOW, watermark=watermark)
    return reports, rollups, reference


@st.composite
def ranges(draw, period: str) -> tuple[int, int]:
    start = BASE + draw(st.integers(-30, SPAN_HOURS)) * HOUR_US
    return start, start + draw(st.integers(1, MAX_LENGTH[period])) * HOUR_US


periods = st.sampled_from(["hourly", "daily", "monthly"])
fills = st.sampled_from([None, "zero", "none"])


def query(model: Any, **values: str | None) -> Any:
    return read_parameters(model, {k: v for k, v in values.items() if v is not None})


def all_pages(fetch: Any) -> list[dict]:
    pages, token = [], None
    for _ in range(1000):
        page = fetch(token).body()
        pages.append(page)
        token = page.get("nextToken")
        if token is None:
            return pages
    raise AssertionError("pagination did not end")


@settings(max_examples=120, deadline=None)
@given(data=st.data(), world=worlds(), period=periods, fill=fills)
def test_one_projects_usage_equals_the_reference_page_by_page(data, world, period, fill):
    reports, rollups, reference = world
    start, end = data.draw(ranges(period))
    project_id = data.draw(st.sampled_from(sorted(reference.projects)))
    org_id = reference.projects[project_id].org_id
    limit = data.draw(st.sampled_from([None, "1", "2", "5", "40"]))
    expected = reference.project_usage(project_id, start, end, period, fill or "zero")
    asked = {"period": period, "start_date": iso(start), "end_date": iso(end), "fill": fill, "limit": limit}

    def fetch(token: str | None) -> Any:
        q = query(ProjectUsageQuery, **asked, next_token=token, tz=reference.tz)
        return reads.project_usage(reports, org_id, project_id, q)

    rollups.queries = rollups.items_read = 0
    pages = all_pages(fetch)
    assert [item for page in pages for item in page["items"]] == expected["items"]
    for page in pages:
        assert {k: v for k, v in page.items() if k not in ("items", "nextToken")} == {
            k: v for k, v in expected.items() if k != "items"
        }
    if len(pages) == 1:
        # one page: the plan's reads and nothing more (totals come from the records)
        plan = plan_reads(TimeRange(start, end), Period(period), calendar(reference.tz))
        assert rollups.queries <= len(plan.reads) and rollups.items_read <= plan.item_count


@settings(max_examples=120, deadline=None)
@given(data=st.data(), world=worlds(), period=periods, fill=fills)
def test_org_usage_equals_the_reference_page_by_page(data, world, period, fill):
    reports, _, reference = world
    start, end = data.draw(ranges(period))
    org_id = data.draw(st.sampled_from(["org_a", "org_b"]))
    limit = data.draw(st.sampled_from([None, "1", "3", "17"]))
    expected = reference.org_usage(org_id, start, end, period, fill or "none")
    asked = {"period": period, "start_date": iso(start), "end_date": iso(end), "fill": fill, "limit": limit}

    def fetch(token: str | None) -> Any:
        return reads.usage(reports, org_id, query(UsageQuery, **asked, next_token=token, tz=reference.tz))

    pages = all_pages(fetch)
    assert [item for page in pages for item in page["items"]] == expected["items"]
    assert all(page["totals"] == expected["totals"] for page in pages)
    assert all(len(page["items"]) == int(limit or 1000) for page in pages[:-1])


@settings(max_examples=80, deadline=None)
@given(data=st.data(), world=worlds())
def test_usage_totals_equal_the_reference(data, world):
    reports, _, reference = world
    start, end = data.draw(ranges("daily"))
    org_id = data.draw(st.sampled_from(["org_a", "org_b"]))
    q = query(TotalsQuery, start_date=iso(start), end_date=iso(end), tz=reference.tz)
    answer = reads.usage_totals(reports, org_id, q).body()
    assert answer == reference.usage_totals(org_id, start, end)


@settings(max_examples=80, deadline=None)
@given(data=st.data(), world=worlds())
def test_pages_of_usage_totals_concatenate_to_the_reference(data, world):
    reports, _, reference = world
    start, end = data.draw(ranges("daily"))
    org_id = data.draw(st.sampled_from(["org_a", "org_b"]))
    limit = data.draw(st.sampled_from(["1", "2", "3"]))
    expected = reference.usage_totals(org_id, start, end)

    def fetch(token: str | None) -> Any:
        q = query(TotalsQuery, start_date=iso(start), end_date=iso(end), limit=limit, next_token=token, tz=reference.tz)
        return reads.usage_totals(reports, org_id, q)

    pages = all_pages(fetch)
    assert [record for page in pages for record in page["totals"]] == expected["totals"]
    assert all(len(page["totals"]) == int(limit) for page in pages[:-1])
    assert all((page["startDate"], page["endDate"]) == (expected["startDate"], expected["endDate"]) for page in pages)


@settings(max_examples=60, deadline=None)
@given(data=st.data(), world=worlds())
def test_a_project_is_only_visible_to_its_own_org(data, world):
    reports, _, reference = world
    project_id = data.draw(st.sampled_from(sorted(reference.projects)))
    owner = reference.projects[project_id].org_id
    stranger = "org_b" if owner == "org_a" else "org_a"
    for ask in (
        lambda: reads.project_usage(reports, stranger, project_id, ProjectUsageQuery()),
        lambda: reads.usage(reports, stranger, UsageQuery(project_id=project_id)),
    ):
        try:
            ask()
        except Problem as problem:
            assert problem.code is ProblemCode.PROJECT_NOT_FOUND
        else:
            raise AssertionError("another org's project was readable")
