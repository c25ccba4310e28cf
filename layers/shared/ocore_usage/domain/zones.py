"""Local calendars for the read API's ``tz``: days and months of a time zone as runs of whole UTC hours. Pure.

A request's ``tz`` (an IANA name, default ``UTC``) picks the calendar of its daily and monthly
buckets; hourly buckets stay UTC hours whatever the zone. Every bucket of an answer is a run of
whole UTC hours, so each figure is an exact sum of stored hours (the peak, their maximum) and
a range's totals are exactly the sum of its buckets.

The rule (docs/read-api.md, "Time zones", gives worked examples): **a local day or month holds the
UTC hours that start within it.** Its bucket runs from the first whole UTC hour at or after the
local midnight that opens it, to the first whole UTC hour at or after the next one: the local day
itself where the offset is whole hours; where it has minutes, the UTC hour a local midnight falls
in started the day before and belongs to it (a Kolkata day runs from 00:30 to 00:30 local time).

A bucket is labelled by its local date's first instant with the zone's offset
(``2026-03-29T00:00:00+01:00``), the ``periodStart`` clients group by; for a zone with minutes in
its offset that is half an hour before the bucket's first UTC hour. ``UTC`` is the published
calendar: the labels end in ``Z`` and every boundary is the timeline's (:mod:`ocore_usage.domain.timeline`).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta, tzinfo
from functools import lru_cache
from typing import Final

from ocore_usage.domain.timeline import (
    MICROS_PER_DAY,
    MICROS_PER_HOUR,
    MICROS_PER_SECOND,
    Granularity,
    ceil_hour,
    floor_hour,
    format_instant,
    from_micros,
    to_micros,
)

UTC_NAME: Final = "UTC"
MAX_NAME_LENGTH: Final = 64

# IANA names: ASCII letters, digits, "_", "+", "-", in "/"-separated parts, the first capitalized
# (which also leaves out files such as "localtime" or "posixrules" that are not zones of the database).
_ZONE_NAME = re.compile(r"[A-Z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*", re.ASCII)
_ORDINAL_1970 = date(1970, 1, 1).toordinal()


class UnknownZone(ValueError):
    """Not the name of a time zone of the IANA database."""


@dataclass(frozen=True, slots=True)
class Calendar:
    """The days and months of one zone, as hour-aligned microsecond instants.

    ``unit`` indexes number days (proleptic ordinals) and months (``year * 12 + month - 1``); the
    hour unit is the UTC hour in every zone.
    """

    name: str
    zone: tzinfo | None
    """``None`` for UTC (the fast path of plain arithmetic)."""

    @property
    def is_utc(self) -> bool:
        return self.zone is None

    # ------------------------------------------------------------ units and their boundaries

    def unit_start(self, index: int, granularity: Granularity) -> int:
        """The first UTC hour of day or month ``index`` (hours: ``index`` is the hour itself)."""
        if granularity is Granularity.HOUR:
            return index * MICROS_PER_HOUR
        day = index if granularity is Granularity.DAY else date(index // 12, index % 12 + 1, 1).toordinal()
        if self.zone is None:
            return (day - _ORDINAL_1970) * MICROS_PER_DAY
        return ceil_hour(self._first_instant(date.fromordinal(day)))

    def unit_of(self, instant: int, granularity: Granularity) -> int:
        """The index of the day or month (or hour) whose bucket holds ``instant``."""
        if granularity is Granularity.HOUR:
            return instant // MICROS_PER_HOUR
        if self.zone is None:
            day = instant // MICROS_PER_DAY + _ORDINAL_1970
        else:
            # The local date of the instant, moved to the bucket that holds it: an instant between
            # a local midnight and the whole hour after it still belongs to the day before.
            day = from_micros(floor_hour(instant)).astimezone(self.zone).date().toordinal()
            while self.unit_start(day, Granularity.DAY) > instant:
                day -= 1
            while self.unit_start(day + 1, Granularity.DAY) <= instant:
                day += 1
        if granularity is Granularity.DAY:
            return day
        moment = date.fromordinal(day)
        return moment.year * 12 + moment.month - 1

    def bucket_start(self, instant: int, granularity: Granularity) -> int:
        return self.unit_start(self.unit_of(instant, granularity), granularity)

    def bucket_end(self, start: int, granularity: Granularity) -> int:
        """The end (exclusive) of the bucket that holds ``start``."""
        return self.unit_start(self.unit_of(start, granularity) + 1, granularity)

    def buckets(self, start: int, end: int, granularity: Granularity) -> Iterator[int]:
        """Starts of the buckets that overlap ``[start, end)``, in order."""
        index = self.unit_of(start, granularity)
        cursor = self.unit_start(index, granularity)
        while cursor < end:
            yield cursor
            index += 1
            cursor = self.unit_start(index, granularity)

    # ------------------------------------------------------------ what requests name

    def date_start(self, day: date) -> int:
        """Where a date-only ``start_date``/``end_date`` puts the range: the start of that local day's bucket."""
        return self.unit_start(day.toordinal(), Granularity.DAY)

    def days_later(self, instant: int, days: int) -> int:
        """The same point ``days`` local days later: the same offset into the same bucket, or the same
        wall-clock time, whichever is later (so a range of whole local days is never cut short by DST)."""
        if self.zone is None:
            return instant + days * MICROS_PER_DAY
        index = self.unit_of(instant, Granularity.DAY)
        by_bucket = self.unit_start(index + days, Granularity.DAY) + instant - self.unit_start(index, Granularity.DAY)
        return max(by_bucket, self._wall_clock_later(instant, days=days))

    def months_later(self, instant: int, months: int) -> int:
        """The same day and time ``months`` calendar months later (the day clamped to the month's end),
        and never before the start of the month that many months after ``instant``'s."""
        index = self.unit_of(instant, Granularity.MONTH)
        return max(self.unit_start(index + months, Granularity.MONTH), self._wall_clock_later(instant, months=months))

    # ------------------------------------------------------------ labels

    def label(self, bucket_start: int, granularity: Granularity) -> str:
        """The ``periodStart`` of a bucket: its local date's first instant, with the zone's offset
        (``Z`` in UTC; hours are always UTC hours)."""
        if self.zone is None or granularity is Granularity.HOUR:
            return format_instant(bucket_start)
        day = date.fromordinal(self.unit_of(bucket_start, Granularity.DAY))
        if granularity is Granularity.MONTH:
            day = day.replace(day=1)
        return self.format_local(self._first_instant(day))

    def format_local(self, instant: int) -> str:
        """RFC 3339 with the zone's offset at ``instant`` (``Z`` in UTC). An offset with seconds (local
        mean times, none after 1972) is cut to whole minutes, and the wall time follows it, so the
        text still names the same instant."""
        if self.zone is None:
            return format_instant(instant)
        offset = from_micros(instant).astimezone(self.zone).utcoffset() or timedelta(0)
        minutes = int(offset / timedelta(minutes=1))  # toward zero
        text = format_instant(instant + minutes * 60 * MICROS_PER_SECOND).removesuffix("Z")
        sign = "+" if minutes >= 0 else "-"
        return f"{text}{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"

    # ------------------------------------------------------------ zone arithmetic

    def _first_instant(self, day: date) -> int:
        """The first instant of a local date: its midnight, or the end of a DST gap that skips it
        (zoneinfo reads a wall time in a gap with the offset before the change: fold=0)."""
        return to_micros(datetime(day.year, day.month, day.day, tzinfo=self.zone))

    def _wall_clock_later(self, instant: int, *, days: int = 0, months: int = 0) -> int:
        zone = self.zone or UTC
        local = from_micros(instant).astimezone(zone).replace(tzinfo=None)
        index = local.year * 12 + local.month - 1 + months
        year, month = index // 12, index % 12 + 1
        following = date(year + (month == 12), month % 12 + 1, 1)
        last_day = (following - timedelta(days=1)).day
        moved = local.replace(year=year, month=month, day=min(local.day, last_day)) + timedelta(days=days)
        return to_micros(moved.replace(tzinfo=zone))


UTC_CALENDAR: Final = Calendar(UTC_NAME, None)


def calendar(name: str | None) -> Calendar:
    """The calendar of an IANA zone name (``None``: UTC); :class:`UnknownZone` for any other text."""
    if name is None or name == UTC_NAME:
        return UTC_CALENDAR
    return _zone_calendar(name)


@lru_cache(maxsize=128)
def _zone_calendar(name: str) -> Calendar:
    if len(name) > MAX_NAME_LENGTH or not _ZONE_NAME.fullmatch(name):
        raise UnknownZone(name)
    from zoneinfo import ZoneInfo, ZoneInfoNotFoundError  # only requests that name a zone load it

    try:
        zone = ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError, OSError):
        raise UnknownZone(name) from None
    return Calendar(name, zone)
