"""Instants and calendar buckets in UTC.

An instant is an ``int`` of microseconds since the Unix epoch, so every interval sum is exact
integer arithmetic. Hours are half-open ``[h, h + 1h)``; days and months are UTC calendar days
and months. Everything here is pure.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from functools import lru_cache

MICROS_PER_SECOND = 1_000_000
MICROS_PER_HOUR = 3600 * MICROS_PER_SECOND
MICROS_PER_DAY = 24 * MICROS_PER_HOUR

_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)

# RFC 3339 date-time with a mandatory offset; fractions down to the microsecond. ASCII digits only
# (``\d`` would take full-width ones) and matched whole (``$`` would allow a trailing newline).
_RFC3339 = re.compile(
    r"([0-9]{4})-([0-9]{2})-([0-9]{2})[Tt]([0-9]{2}):([0-9]{2}):([0-9]{2})(?:\.([0-9]{1,6}))?"
    r"(?:([Zz])|([+-])([0-9]{2}):([0-9]{2}))",
    re.ASCII,
)
_FULL_DATE = re.compile(r"([0-9]{4})-([0-9]{2})-([0-9]{2})", re.ASCII)


class Granularity(StrEnum):
    """The calendar units of stored rollups (their bucket math is in :mod:`ocore_usage.domain.periods`);
    each one's value is the letter of its series in stored keys."""

    HOUR = "H"
    DAY = "D"
    MONTH = "M"


def parse_rfc3339(text: str) -> int:
    """Parse an RFC 3339 date-time with offset into microseconds; ``ValueError`` otherwise."""
    match = _RFC3339.fullmatch(text)
    if match is None:
        raise ValueError("expected an RFC 3339 date-time with offset, e.g. 2026-11-01T00:00:00Z")
    year, month, day, hour, minute, second = (int(g) for g in match.groups()[:6])
    fraction = int((match.group(7) or "").ljust(6, "0"))
    if second == 60:
        raise ValueError("leap seconds are not accepted")
    offset = 0
    if match.group(9):
        off_h, off_m = int(match.group(10)), int(match.group(11))
        if off_h > 23 or off_m > 59:
            raise ValueError("offset out of range")
        offset = (off_h * 60 + off_m) * 60 * MICROS_PER_SECOND * (1 if match.group(9) == "+" else -1)
    # The offset is applied to the integer, not the datetime: 0001-01-01T00:00:00+01:00 is a valid
    # instant before the first datetime, and callers judge ranges themselves.
    return to_micros(datetime(year, month, day, hour, minute, second, fraction, tzinfo=UTC)) - offset


def parse_full_date(text: str) -> int:
    """Parse ``YYYY-MM-DD`` into the microsecond instant of its 00:00 UTC."""
    match = _FULL_DATE.fullmatch(text)
    if match is None:
        raise ValueError("expected a full date YYYY-MM-DD")
    year, month, day = (int(g) for g in match.groups())
    return to_micros(datetime(year, month, day, tzinfo=UTC))


def to_micros(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * MICROS_PER_SECOND + delta.microseconds


def from_micros(instant: int) -> datetime:
    """The aware UTC datetime of an instant."""
    return _EPOCH + timedelta(microseconds=instant)


@lru_cache(maxsize=1 << 14)
def format_instant(instant: int) -> str:
    """RFC 3339 UTC with ``Z``; whole seconds unless the instant has a fraction.

    Kept for the instants asked again and again (bucket starts, hour by hour, request by request)."""
    moment = from_micros(instant)
    text = moment.strftime("%Y-%m-%dT%H:%M:%S")
    if moment.microsecond:
        text += f".{moment.microsecond:06d}".rstrip("0")
    return text + "Z"


def floor_hour(instant: int) -> int:
    return instant - instant % MICROS_PER_HOUR


def ceil_hour(instant: int) -> int:
    return -floor_hour(-instant)


def floor_day(instant: int) -> int:
    return instant - instant % MICROS_PER_DAY


def floor_month(instant: int) -> int:
    moment = from_micros(instant)
    return to_micros(datetime(moment.year, moment.month, 1, tzinfo=UTC))


def add_months(instant: int, months: int) -> int:
    """The first instant of the month ``months`` after the month of ``instant``."""
    moment = from_micros(instant)
    index = moment.year * 12 + moment.month - 1 + months
    return to_micros(datetime(index // 12, index % 12 + 1, 1, tzinfo=UTC))


def now_micros() -> int:
    """The current instant (the default clock; services take a clock so tests can set time)."""
    return to_micros(datetime.now(UTC))
