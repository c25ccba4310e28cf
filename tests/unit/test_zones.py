"""Local calendars (ocore_usage/domain/zones.py) against zoneinfo by brute force: DST days of 23 and 25 hours,
Lord Howe's 30-minute shift, Kolkata's half-hour offset, labels, and the names a request may give."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity, format_instant, parse_rfc3339
from ocore_usage.domain.zones import UTC_CALENDAR, UnknownZone, calendar
from tests.support.read_reference import to_dt, to_us

ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata", "Asia/Kathmandu", "UTC"]
HOUR = MICROS_PER_HOUR


def day_hours(zone: str, day: str) -> list[str]:
    """The UTC hours of a local day's bucket, as the calendar has them."""
    cal = calendar(zone)
    start = cal.date_start(date.fromisoformat(day))
    end = cal.bucket_end(start, Granularity.DAY)
    return [format_instant(h) for h in range(start, end, HOUR)]


@pytest.mark.parametrize(
    ("zone", "day", "hours", "first", "label"),
    [
        # spring forward: 23 hours; fall back: 25
        ("America/New_York", "2026-03-08", 23, "2026-03-08T05:00:00Z", "2026-03-08T00:00:00-05:00"),
        ("America/New_York", "2026-11-01", 25, "2026-11-01T04:00:00Z", "2026-11-01T00:00:00-04:00"),
        ("Europe/Berlin", "2026-03-29", 23, "2026-03-28T23:00:00Z", "2026-03-29T00:00:00+01:00"),
        ("Europe/Berlin", "2026-10-25", 25, "2026-10-24T22:00:00Z", "2026-10-25T00:00:00+02:00"),
        # Lord Howe moves by 30 minutes: its midnight is 13:30Z (+10:30) or 13:00Z (+11:00); a day holds
        # the UTC hours that start in it, so it starts at 14:00Z (00:30 local) in standard time
        ("Australia/Lord_Howe", "2026-04-05", 25, "2026-04-04T13:00:00Z", "2026-04-05T00:00:00+11:00"),
        ("Australia/Lord_Howe", "2026-04-06", 24, "2026-04-05T14:00:00Z", "2026-04-06T00:00:00+10:30"),
        ("Australia/Lord_Howe", "2026-10-04", 23, "2026-10-03T14:00:00Z", "2026-10-04T00:00:00+10:30"),
        ("Australia/Lord_Howe", "2026-10-05", 24, "2026-10-04T13:00:00Z", "2026-10-05T00:00:00+11:00"),
        # Kolkata's midnight is 18:30Z: the hour 18:00-19:00Z starts at 23:30 the day before
        ("Asia/Kolkata", "2026-03-29", 24, "2026-03-28T19:00:00Z", "2026-03-29T00:00:00+05:30"),
        ("UTC", "2026-03-29", 24, "2026-03-29T00:00:00Z", "2026-03-29T00:00:00Z"),
    ],
)
def test_a_local_day_is_the_utc_hours_that_start_in_it(zone, day, hours, first, label):
    found = day_hours(zone, day)
    assert (len(found), found[0]) == (hours, first)
    cal = calendar(zone)
    assert cal.label(parse_rfc3339(first), Granularity.DAY) == label
    # every hour of the bucket starts on that local date (by zoneinfo), and the hours around it do not
    tz = ZoneInfo(zone)
    dates = {to_dt(parse_rfc3339(h)).astimezone(tz).date() for h in found}
    assert dates == {date.fromisoformat(day)}
    before, after = parse_rfc3339(found[0]) - HOUR, parse_rfc3339(found[-1]) + HOUR
    assert to_dt(before).astimezone(tz).date() < date.fromisoformat(day) < to_dt(after).astimezone(tz).date()


@pytest.mark.parametrize(
    ("zone", "month", "first", "label"),
    [
        ("Europe/Berlin", "2026-04", "2026-03-31T22:00:00Z", "2026-04-01T00:00:00+02:00"),
        ("Asia/Kolkata", "2026-03", "2026-02-28T19:00:00Z", "2026-03-01T00:00:00+05:30"),
        ("Australia/Lord_Howe", "2026-05", "2026-04-30T14:00:00Z", "2026-05-01T00:00:00+10:30"),
        ("America/New_York", "2026-11", "2026-11-01T04:00:00Z", "2026-11-01T00:00:00-04:00"),
    ],
)
def test_a_local_month_starts_with_its_first_days_bucket(zone, month, first, label):
    cal = calendar(zone)
    year, number = (int(p) for p in month.split("-"))
    start = cal.unit_start(year * 12 + number - 1, Granularity.MONTH)
    assert format_instant(start) == first
    assert cal.label(start, Granularity.MONTH) == label
    assert cal.bucket_start(start + 5 * 24 * HOUR, Granularity.MONTH) == start


@settings(max_examples=300, deadline=None)
@given(
    zone=st.sampled_from(ZONES),
    hour=st.integers(0, 24 * 366 * 3).map(lambda h: to_us(datetime(2025, 1, 1, tzinfo=UTC)) + h * HOUR),
)
def test_buckets_hold_the_hours_whose_local_date_is_theirs(zone, hour):
    # GIVEN any UTC hour of 2025-2027 in any zone
    cal, tz = calendar(zone), ZoneInfo(zone)
    local = to_dt(hour).astimezone(tz)
    for granularity, key in ((Granularity.DAY, local.date()), (Granularity.MONTH, (local.year, local.month))):
        # WHEN its day (month) bucket is asked for
        start = cal.bucket_start(hour, granularity)
        end = cal.bucket_end(start, granularity)
        # THEN it holds the hour, is whole hours, and every hour in it has the same local date (month)
        assert start <= hour < end and start % HOUR == 0 == end % HOUR
        for probe in (start, end - HOUR):
            moment = to_dt(probe).astimezone(tz)
            assert (moment.date() if granularity is Granularity.DAY else (moment.year, moment.month)) == key
        assert cal.bucket_start(end, granularity) == end  # the next bucket starts where this one ends
        # and its label is the local midnight that opens the date (month)
        first = local.date() if granularity is Granularity.DAY else local.date().replace(day=1)
        midnight = datetime(first.year, first.month, first.day, tzinfo=tz).isoformat()
        assert cal.label(start, granularity) == (midnight.replace("+00:00", "Z") if zone == "UTC" else midnight)


def test_utc_is_the_published_calendar():
    cal = calendar(None)
    assert cal is UTC_CALENDAR is calendar("UTC")
    hour = parse_rfc3339("2026-11-26T02:00:00Z")
    assert format_instant(cal.bucket_start(hour, Granularity.DAY)) == "2026-11-26T00:00:00Z"
    assert format_instant(cal.bucket_start(hour, Granularity.MONTH)) == "2026-11-01T00:00:00Z"
    assert cal.label(parse_rfc3339("2026-11-01T00:00:00Z"), Granularity.MONTH) == "2026-11-01T00:00:00Z"


def test_hours_stay_utc_hours_in_every_zone():
    hour = parse_rfc3339("2026-03-29T01:00:00Z")
    for zone in ZONES:
        cal = calendar(zone)
        assert cal.bucket_start(hour + 1, Granularity.HOUR) == hour
        assert cal.label(hour, Granularity.HOUR) == "2026-03-29T01:00:00Z"


def test_a_whole_number_of_local_days_is_within_days_later_across_dst():
    # 1,830 local days from a Lord Howe summer day (starting 00:00 +11:00) to a winter one (starting
    # 00:30 +10:30): the end lies half an hour after the same wall-clock time, and is still within
    cal = calendar("Australia/Lord_Howe")
    first, last = date(2026, 4, 4), date(2026, 4, 4) + timedelta(days=1830)
    start, end = cal.date_start(first), cal.date_start(last)
    assert cal.label(start, Granularity.DAY).endswith("+11:00") and cal.label(end, Granularity.DAY).endswith("+10:30")
    assert end <= cal.days_later(start, 1830) < cal.date_start(last + timedelta(days=1))


@pytest.mark.parametrize(
    "name",
    ["Mars/Olympus_Mons", "europe/berlin", "Europe/Berlin ", " UTC", "localtime", "posixrules", "America",
     "../etc/passwd", "/usr/share/zoneinfo/UTC", "Europe//Berlin", "", "Europe/Berlín", "E" * 65, "zone.tab"],
)  # fmt: skip
def test_only_names_of_the_time_zone_database_are_zones(name):
    with pytest.raises(UnknownZone):
        calendar(name)


@pytest.mark.parametrize("name", ["Europe/Berlin", "Etc/GMT+5", "America/Argentina/Buenos_Aires", "EST5EDT"])
def test_names_of_the_database_are_zones(name):
    assert calendar(name).name == name and not calendar(name).is_utc
