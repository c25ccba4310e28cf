"""The planner against brute force: it covers each record exactly, with the fewest stored items,
in the fewest queries that read nothing else, and the value it assembles is the sum of the hours."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, datetime
from itertools import pairwise
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.periods import Period
from ocore_usage.domain.planner import SeriesRead, StoredBucket, TimeRange, output_buckets, plan_reads
from ocore_usage.domain.timeline import Granularity
from ocore_usage.domain.zones import calendar
from tests.support.read_api import derived_series
from tests.support.read_reference import (
    HOUR_US,
    aligned_buckets_from,
    calendar_buckets,
    fewest_buckets,
    merge_hours,
    to_dt,
    to_us,
)

FIRST = to_us(datetime(2023, 11, 1, tzinfo=UTC)) // HOUR_US
LAST = to_us(datetime(2027, 3, 1, tzinfo=UTC)) // HOUR_US
MAX_HOURS = {Period.HOURLY: 24 * 12, Period.DAILY: 24 * 500, Period.MONTHLY: 24 * 800, Period.TOTAL: 24 * 800}


@st.composite
def ranges(draw, period: Period) -> TimeRange:
    start = draw(st.integers(FIRST, LAST))
    length = draw(st.integers(1, MAX_HOURS[period]))
    # bias towards the calendar's edges: whole days and months, and a few hours either side
    if draw(st.booleans()):
        moment = to_dt(start * HOUR_US).replace(day=1, hour=0)
        start = to_us(moment) // HOUR_US + draw(st.sampled_from([0, 1, 23, 24, -1, -24]))
    return TimeRange(start * HOUR_US, (start + length) * HOUR_US)


def bucket_ends(start: int) -> dict[Granularity, int]:
    ends = aligned_buckets_from(start)
    return dict(zip((Granularity.HOUR, Granularity.DAY, Granularity.MONTH)[: len(ends)], ends, strict=True))


periods = st.sampled_from(list(Period))


@settings(max_examples=150, deadline=None)
@given(data=st.data(), period=periods)
def test_records_tile_the_range_in_calendar_buckets(data, period):
    time_range = data.draw(ranges(period))
    buckets = output_buckets(time_range, period)
    if period is Period.TOTAL:
        assert [(b.period_start, b.start, b.end) for b in buckets] == [(time_range.start,) * 2 + (time_range.end,)]
    else:
        expected = [
            (own_start, max(own_start, time_range.start), min(own_end, time_range.end))
            for own_start, own_end in calendar_buckets(time_range.start, time_range.end, period.value)
        ]
        assert [(b.period_start, b.start, b.end) for b in buckets] == expected


@settings(max_examples=150, deadline=None)
@given(data=st.data(), period=periods)
def test_each_record_is_tiled_by_the_fewest_stored_buckets(data, period):
    time_range = data.draw(ranges(period))
    for bucket in output_buckets(time_range, period):
        # the parts tile the record's stretch exactly, in order, each a whole calendar bucket
        cursor = bucket.start
        for part in bucket.parts:
            assert part.start == cursor
            ends = bucket_ends(cursor)
            assert part.granularity in ends
            cursor = ends[part.granularity]
        assert cursor == bucket.end
        # and no tiling has fewer pieces
        assert len(bucket.parts) == fewest_buckets(bucket.start, bucket.end)


BOUNDS = {
    Period.HOURLY: {Granularity.HOUR: 1},
    Period.DAILY: {Granularity.HOUR: 2, Granularity.DAY: 1},
    Period.MONTHLY: {Granularity.HOUR: 2, Granularity.DAY: 2, Granularity.MONTH: 1},
    Period.TOTAL: {Granularity.HOUR: 2, Granularity.DAY: 2, Granularity.MONTH: 1},
}


def keys_read(run: SeriesRead) -> list[StoredBucket]:
    """Every key from a Query's first to its last (all it touches), in order."""
    keys, cursor = [], run.first
    while cursor <= run.last:
        keys.append(StoredBucket(run.granularity, cursor))
        cursor = bucket_ends(cursor)[run.granularity]
    return keys


@settings(max_examples=150, deadline=None)
@given(data=st.data(), period=periods)
def test_queries_read_exactly_the_planned_items_in_maximal_runs(data, period):
    time_range = data.draw(ranges(period))
    plan = plan_reads(time_range, period)
    planned = {part for bucket in plan.buckets for part in bucket.parts}
    read: set[StoredBucket] = set()
    per_series: dict[Granularity, list[tuple[int, int]]] = defaultdict(list)
    for run in plan.reads:
        keys = keys_read(run)
        # every key between first and last (all a Query touches) is planned, and counted once
        assert len(keys) == run.count and set(keys) <= planned and not set(keys) & read
        read |= set(keys)
        per_series[run.granularity].append((run.first, bucket_ends(keys[-1].start)[run.granularity]))
    assert read == planned
    assert plan.item_count == len(planned)
    for granularity, spans in per_series.items():
        # runs of one series never touch: fewer queries would read unplanned items
        spans.sort()
        assert all(end < following for (_, end), (following, _) in pairwise(spans))
        assert len(spans) <= BOUNDS[period][granularity]


usages = st.builds(
    Usage.of,
    cpu=st.integers(0, 10**15),
    ram=st.integers(0, 10**15),
    disk=st.integers(0, 10**15),
    instance=st.integers(1, 10**10),
    bytes_in=st.integers(0, 10**12),
    bytes_out=st.integers(0, 10**12),
    peak=st.integers(1, 50),
)


def stored_buckets(hours: dict[int, Usage]) -> dict[StoredBucket, Usage]:
    """The stored series of these hours (hours, days, months), by key."""
    return {
        StoredBucket(granularity, start): usage
        for granularity, buckets in derived_series(hours).items()
        for start, usage in buckets.items()
    }


@settings(max_examples=100, deadline=None)
@given(data=st.data(), period=periods)
def test_assembled_values_equal_the_sum_of_their_hours(data, period):
    time_range = data.draw(ranges(period))
    span_hours = (time_range.end - time_range.start) // HOUR_US
    offsets = data.draw(st.lists(st.integers(-30 * 24, span_hours + 30 * 24), max_size=40))
    hours = {time_range.start + o * HOUR_US: data.draw(usages) for o in offsets}
    plan = plan_reads(time_range, period)
    assert plan.assemble(stored_buckets(hours)) == [merge_hours(hours, b.start, b.end) for b in plan.buckets]


# ---------------------------------------------------------------- local calendars (tz)

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu"]


@settings(max_examples=150, deadline=None)
@given(data=st.data(), period=st.sampled_from([Period.DAILY, Period.MONTHLY]), zone=st.sampled_from(ZONES))
def test_local_records_are_the_hours_of_their_local_date_read_exactly_from_utc_buckets(data, period, zone):
    # GIVEN a range and a zone's daily or monthly records
    time_range = data.draw(ranges(period))
    plan = plan_reads(time_range, period, calendar(zone))
    tz = ZoneInfo(zone)

    def local_key(hour: int) -> object:
        moment = to_dt(hour).astimezone(tz)
        return moment.date() if period is Period.DAILY else (moment.year, moment.month)

    # THEN every hour of the range is in the record of its local date (month), by zoneinfo
    expected: dict[object, list[int]] = defaultdict(list)
    for hour in range(time_range.start, time_range.end, HOUR_US):
        expected[local_key(hour)].append(hour)
    assert [(b.start, b.end) for b in plan.buckets] == [(hs[0], hs[-1] + HOUR_US) for hs in expected.values()]
    # AND each is tiled by the fewest stored UTC buckets, read in runs that touch nothing else
    planned = {part for bucket in plan.buckets for part in bucket.parts}
    for bucket in plan.buckets:
        assert len(bucket.parts) == fewest_buckets(bucket.start, bucket.end)
    read = {key for run in plan.reads for key in keys_read(run)}
    assert read == planned and plan.item_count == len(planned)
    # AND the value assembled from stored buckets is the sum of the record's hours
    offsets = data.draw(st.lists(st.integers(-48, (time_range.end - time_range.start) // HOUR_US + 48), max_size=30))
    hours = {time_range.start + o * HOUR_US: data.draw(usages) for o in offsets}
    assert plan.assemble(stored_buckets(hours)) == [merge_hours(hours, b.start, b.end) for b in plan.buckets]
