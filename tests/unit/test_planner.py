"""The query planner on examples: output buckets, their decomposition, and the queries that read them."""

from __future__ import annotations

import pytest

from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.periods import Period
from ocore_usage.domain.planner import (
    SeriesRead,
    StoredBucket,
    TimeRange,
    decompose,
    output_buckets,
    plan_buckets,
    plan_reads,
)
from ocore_usage.domain.timeline import Granularity, format_instant
from ocore_usage.domain.timeline import parse_rfc3339 as t

H, D, M = Granularity.HOUR, Granularity.DAY, Granularity.MONTH


def span(start: str, end: str) -> TimeRange:
    return TimeRange(t(start), t(end))


def keys(parts: tuple[StoredBucket, ...]) -> list[tuple[str, str]]:
    return [(p.granularity.value, format_instant(p.start)) for p in parts]


def runs(reads: tuple[SeriesRead, ...]) -> list[tuple[str, str, str, int]]:
    return [(r.granularity.value, format_instant(r.first), format_instant(r.last), r.count) for r in reads]


def test_whole_months_are_read_from_the_monthly_series():
    # GIVEN a calendar year WHEN planned monthly
    plan = plan_reads(span("2025-01-01T00:00:00Z", "2026-01-01T00:00:00Z"), Period.MONTHLY)
    # THEN twelve records, each one monthly item, all in one query
    assert [format_instant(b.period_start) for b in plan.buckets][:2] == [
        "2025-01-01T00:00:00Z",
        "2025-02-01T00:00:00Z",
    ]
    assert len(plan.buckets) == 12
    assert all(len(b.parts) == 1 and b.parts[0].granularity is M for b in plan.buckets)
    assert runs(plan.reads) == [("M", "2025-01-01T00:00:00Z", "2025-12-01T00:00:00Z", 12)]
    assert plan.item_count == 12


def test_a_range_cut_on_both_ends_needs_five_queries_for_its_total():
    # GIVEN a range that starts and ends mid-day, more than a month apart
    plan = plan_reads(span("2025-01-15T05:00:00Z", "2026-01-10T07:00:00Z"), Period.TOTAL)
    # THEN one record, starting at the range start
    (total,) = plan.buckets
    assert (total.period_start, total.start, total.end) == (t("2025-01-15T05:00:00Z"),) * 2 + (
        t("2026-01-10T07:00:00Z"),
    )
    # AND its parts: ragged hours, whole days, whole months, whole days, ragged hours
    assert runs(plan.reads) == [
        ("M", "2025-02-01T00:00:00Z", "2025-12-01T00:00:00Z", 11),
        ("D", "2025-01-16T00:00:00Z", "2025-01-31T00:00:00Z", 16),
        ("D", "2026-01-01T00:00:00Z", "2026-01-09T00:00:00Z", 9),
        ("H", "2025-01-15T05:00:00Z", "2025-01-15T23:00:00Z", 19),
        ("H", "2026-01-10T00:00:00Z", "2026-01-10T06:00:00Z", 7),
    ]
    assert plan.item_count == 11 + 16 + 9 + 19 + 7


def test_clipped_buckets_keep_their_own_start():
    # GIVEN a daily range that starts at 05:00 and ends at 03:00
    buckets = output_buckets(span("2026-10-30T05:00:00Z", "2026-11-02T03:00:00Z"), Period.DAILY)
    # THEN the first and last days are clipped but keep their own periodStart
    assert [(format_instant(b.period_start), format_instant(b.start), format_instant(b.end)) for b in buckets] == [
        ("2026-10-30T00:00:00Z", "2026-10-30T05:00:00Z", "2026-10-31T00:00:00Z"),
        ("2026-10-31T00:00:00Z", "2026-10-31T00:00:00Z", "2026-11-01T00:00:00Z"),
        ("2026-11-01T00:00:00Z", "2026-11-01T00:00:00Z", "2026-11-02T00:00:00Z"),
        ("2026-11-02T00:00:00Z", "2026-11-02T00:00:00Z", "2026-11-02T03:00:00Z"),
    ]
    # AND the clipped days are read from hours, the whole days from days
    assert [len(b.parts) for b in buckets] == [19, 1, 1, 3]
    assert runs(plan_buckets(buckets).reads) == [
        ("D", "2026-10-31T00:00:00Z", "2026-11-01T00:00:00Z", 2),
        ("H", "2026-10-30T05:00:00Z", "2026-10-30T23:00:00Z", 19),
        ("H", "2026-11-02T00:00:00Z", "2026-11-02T02:00:00Z", 3),
    ]


def test_a_clipped_month_is_read_from_days_and_hours():
    assert keys(decompose(t("2026-02-27T22:00:00Z"), t("2026-03-02T01:00:00Z"))) == [
        ("H", "2026-02-27T22:00:00Z"),
        ("H", "2026-02-27T23:00:00Z"),
        ("D", "2026-02-28T00:00:00Z"),
        ("D", "2026-03-01T00:00:00Z"),
        ("H", "2026-03-02T00:00:00Z"),
    ]


def test_leap_day_and_month_lengths_come_from_the_calendar():
    assert keys(decompose(t("2024-02-01T00:00:00Z"), t("2024-03-01T00:00:00Z"))) == [("M", "2024-02-01T00:00:00Z")]
    assert len(decompose(t("2024-02-01T00:00:00Z"), t("2024-02-29T00:00:00Z"))) == 28


def test_hourly_is_one_query_of_hours():
    plan = plan_reads(span("2026-11-01T00:00:00Z", "2026-11-04T00:00:00Z"), Period.HOURLY)
    assert len(plan.buckets) == 72
    assert runs(plan.reads) == [("H", "2026-11-01T00:00:00Z", "2026-11-03T23:00:00Z", 72)]


def test_a_page_of_buckets_reads_only_its_own_parts():
    buckets = output_buckets(span("2026-01-01T00:00:00Z", "2026-12-31T00:00:00Z"), Period.DAILY)
    page = plan_buckets(buckets[10:20])
    assert runs(page.reads) == [("D", "2026-01-11T00:00:00Z", "2026-01-20T00:00:00Z", 10)]


def test_assemble_adds_sums_and_keeps_the_largest_peak():
    plan = plan_reads(span("2026-10-31T22:00:00Z", "2026-11-01T02:00:00Z"), Period.TOTAL)
    stored = {
        StoredBucket(H, t("2026-10-31T22:00:00Z")): Usage.of(cpu=1, instance=10, bytes_in=3, peak=2),
        StoredBucket(H, t("2026-11-01T01:00:00Z")): Usage.of(cpu=5, instance=20, bytes_in=4, peak=3),
        # a bucket outside the plan is ignored
        StoredBucket(H, t("2026-11-01T02:00:00Z")): Usage.of(cpu=100, instance=100, peak=9),
    }
    assert plan.assemble(stored) == [Usage.of(cpu=6, instance=30, bytes_in=7, peak=3)]


def test_an_empty_total_has_no_parts():
    plan = plan_reads(TimeRange(t("2026-11-01T00:00:00Z"), t("2026-11-01T00:00:00Z")), Period.TOTAL)
    assert len(plan.buckets) == 1 and plan.reads == () and plan.assemble({}) == [Usage()]


@pytest.mark.parametrize(
    ("start", "end"),
    [("2026-11-01T00:30:00Z", "2026-11-01T02:00:00Z"), ("2026-11-01T03:00:00Z", "2026-11-01T02:00:00Z")],
)
def test_a_time_range_is_whole_hours_in_order(start, end):
    with pytest.raises(ValueError):
        span(start, end)
