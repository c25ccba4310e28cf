"""The periods a request can ask for and the stored calendar units that answer them: one table of each. Pure.

:data:`UNITS` holds the stored rollup series (hourly, daily, monthly), coarsest first, each with
its bucket math in UTC and the finer series the rollup sums it from; a unit's ``Granularity``
value is the letter of its series in stored keys (``P#{projectId}#H``, see ``storage.keys``).
:data:`PERIODS` holds what a request names (``hourly``, ``daily``, ``monthly``, and ``total``
for ``/usage/totals``): the calendar unit of its output buckets, the start of a range given no
``start_date``, and its longest range (docs/read-api.md). The planner, the rollup, the query
rules and the published document read these tables, so a new period is one row here (and a new
unit, with its local-calendar math in :mod:`ocore_usage.domain.zones`, if it needs one).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum

from ocore_usage.domain.timeline import (
    MICROS_PER_DAY,
    MICROS_PER_HOUR,
    Granularity,
    add_months,
    floor_day,
    floor_hour,
    floor_month,
)
from ocore_usage.domain.zones import Calendar

# ---------------------------------------------------------------- stored units


@dataclass(frozen=True, slots=True)
class Unit:
    """A stored calendar unit: the buckets of one rollup series, in UTC."""

    granularity: Granularity
    start: Callable[[int], int]
    """The start of the bucket that holds an instant."""
    next: Callable[[int], int]
    """The start of the bucket after the one that starts at a bucket start: that bucket's end."""
    built_from: Granularity | None
    """The finer series the rollup sums each bucket from (``None``: from the samples)."""
    shortest: int
    """The length of its shortest bucket: a shorter stretch cannot hold one (a cheap first test)."""


UNITS = (
    Unit(Granularity.MONTH, floor_month, lambda start: add_months(start, 1), Granularity.DAY, 28 * MICROS_PER_DAY),
    Unit(Granularity.DAY, floor_day, lambda start: start + MICROS_PER_DAY, Granularity.HOUR, MICROS_PER_DAY),
    Unit(Granularity.HOUR, floor_hour, lambda start: start + MICROS_PER_HOUR, None, MICROS_PER_HOUR),
)
"""Coarsest first: the planner tries the largest bucket before smaller ones; each unit nests in the
one before it (UTC hours, days and months form a laminar family)."""
_UNITS = {unit.granularity: unit for unit in UNITS}


def unit(granularity: Granularity) -> Unit:
    return _UNITS[granularity]


def bucket_start(instant: int, granularity: Granularity) -> int:
    """The start of the bucket of ``granularity`` that holds ``instant``."""
    return _UNITS[granularity].start(instant)


# ---------------------------------------------------------------- requested periods


class Period(StrEnum):
    """What a request asks for: one record per calendar bucket, or one for the whole range."""

    HOURLY = "hourly"
    DAILY = "daily"
    MONTHLY = "monthly"
    TOTAL = "total"

    @property
    def rule(self) -> PeriodRule:
        return _PERIODS[self]

    @property
    def granularity(self) -> Granularity | None:
        """The calendar unit of the output buckets (``None`` for ``total``)."""
        return _PERIODS[self].granularity


@dataclass(frozen=True, slots=True)
class PeriodRule:
    """One period's row: its output buckets, its default start and its longest range."""

    period: Period
    granularity: Granularity | None
    """The calendar unit of the output buckets (``None``: one bucket over the whole range)."""
    named: bool
    """A value of the ``period`` query parameter (``total`` is ``/usage/totals``' own)."""
    default_start: Callable[[int, Calendar], int]
    """The start of a range without ``start_date``, from its end, in a zone's days and months."""
    within_longest: Callable[[int, int, Calendar], bool]
    """Whether ``[start, end)`` is no longer than the longest range, in a zone's days and months."""
    longest: str
    """The longest range, as the ``range_too_large`` message names it."""


MAX_HOURLY_DAYS = 93
MAX_DAILY_DAYS = 1830
MAX_MONTHS = 120


def _months_back(end: int, zone: Calendar, months: int) -> int:
    """The start of ``zone``'s month ``months`` before the one that holds ``end``."""
    return zone.unit_start(zone.unit_of(end, Granularity.MONTH) - months, Granularity.MONTH)


def _within_months(start: int, end: int, zone: Calendar) -> bool:
    """``end`` no later than the same day and time ``MAX_MONTHS`` of ``zone``'s months after ``start``."""
    return end <= zone.months_later(start, MAX_MONTHS)


PERIODS = (
    PeriodRule(
        Period.HOURLY,
        Granularity.HOUR,
        named=True,
        default_start=lambda end, zone: end - 24 * MICROS_PER_HOUR,
        within_longest=lambda start, end, zone: end - start <= MAX_HOURLY_DAYS * MICROS_PER_DAY,
        longest=f"{MAX_HOURLY_DAYS} days",
    ),
    PeriodRule(
        Period.DAILY,
        Granularity.DAY,
        named=True,
        default_start=lambda end, zone: zone.unit_start(zone.unit_of(end, Granularity.DAY) - 30, Granularity.DAY),
        within_longest=lambda start, end, zone: end <= zone.days_later(start, MAX_DAILY_DAYS),
        longest=f"{MAX_DAILY_DAYS} days",
    ),
    PeriodRule(
        Period.MONTHLY,
        Granularity.MONTH,
        named=True,
        default_start=lambda end, zone: _months_back(end, zone, 11),
        within_longest=_within_months,
        longest=f"{MAX_MONTHS} months",
    ),
    PeriodRule(
        Period.TOTAL,
        None,
        named=False,
        # the month that holds the range's last hour
        default_start=lambda end, zone: _months_back(end - MICROS_PER_HOUR, zone, 0),
        within_longest=_within_months,
        longest=f"{MAX_MONTHS} months",
    ),
)
"""Every period, in the order the published document lists them."""
_PERIODS = {rule.period: rule for rule in PERIODS}

NAMED_PERIODS = tuple(rule.period for rule in PERIODS if rule.named)
"""The values of the ``period`` query parameter."""
