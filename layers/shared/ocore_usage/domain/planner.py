"""The query planner: which stored rollup buckets answer a range at a period, read how. Pure.

A request asks for a half-open, hour-aligned range ``[start, end)`` at a period (``hourly``,
``daily``, ``monthly``, or ``total`` for one bucket over the whole range). Its output buckets
are the period's calendar buckets that overlap the range, each clipped to it; an output
bucket keeps its own start as ``period_start`` (the range start for ``total``).

Each output bucket's stretch of time is answered from stored rollups (the units of
:mod:`ocore_usage.domain.periods`: hourly ``H``, daily ``D`` and monthly ``M`` series): whole
months from ``M``, whole days from ``D``, the ragged edges from ``H``. Its value is the merge of those parts: they cover
disjoint stretches of time, so the sums add and the peak is their maximum.

Why this is the fewest items: UTC hours, days and months form a laminar family (two buckets
are either disjoint or one holds the other). The buckets that lie inside a stretch and are
maximal there (no larger bucket inside the stretch holds them) therefore partition it, and
every other partition into buckets refines that one, so it has at least as many pieces. The
greedy walk of :func:`decompose` (at each point, the largest bucket that starts there and
fits) produces exactly the maximal ones. Output buckets are disjoint, so the plan's item
count is the sum of these minima: no plan can read fewer stored items.

Time zones: a daily or monthly output bucket in a zone's calendar (:mod:`ocore_usage.domain.zones`)
is still a run of whole UTC hours, decomposed as any other stretch, so the same minimality holds
(what it reads: docs/read-api.md, "Time zones").

Reads: the planned keys of each series are grouped into maximal runs of consecutive buckets;
a run is one DynamoDB ``Query`` (``sk BETWEEN first AND last``) that touches no key outside
the plan. Two runs of one series are separated by a key the plan does not need, so fewer
queries would read items the answer does not use (the counts: docs/read-api.md, "What a request reads").
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from ocore_usage.domain.aggregation import ZERO, Usage, merge_all
from ocore_usage.domain.periods import UNITS, Period
from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity
from ocore_usage.domain.zones import UTC_CALENDAR, Calendar


@dataclass(frozen=True, slots=True)
class TimeRange:
    """A half-open range ``[start, end)`` of whole UTC hours (microsecond instants)."""

    start: int
    end: int

    def __post_init__(self) -> None:
        if self.start % MICROS_PER_HOUR or self.end % MICROS_PER_HOUR:
            raise ValueError("a time range must be aligned to whole hours")
        if self.end < self.start:
            raise ValueError("a time range must not end before it starts")


@dataclass(frozen=True, slots=True, order=True)
class StoredBucket:
    """One stored rollup bucket: the item at ``sk = start`` of a series of ``granularity``."""

    granularity: Granularity
    start: int


@dataclass(frozen=True, slots=True)
class OutputBucket:
    """One record of the answer: its ``period_start`` and the clipped stretch it counts."""

    period_start: int
    start: int
    end: int
    parts: tuple[StoredBucket, ...]


@dataclass(frozen=True, slots=True)
class SeriesRead:
    """One Query: the buckets of a series of ``granularity`` from ``first`` to ``last`` (inclusive)."""

    granularity: Granularity
    first: int
    last: int
    count: int
    """How many buckets the run holds (an absent one reads as zero)."""


@dataclass(frozen=True, slots=True)
class ReadPlan:
    """Output buckets, in order, and the queries that fetch every part they need."""

    buckets: tuple[OutputBucket, ...]
    reads: tuple[SeriesRead, ...]

    @property
    def item_count(self) -> int:
        """Stored items the plan consults: the minimum any plan for these buckets needs."""
        return sum(read.count for read in self.reads)

    def assemble(self, stored: Mapping[StoredBucket, Usage]) -> list[Usage]:
        """Each output bucket's value from the stored parts that were read (absent = zero)."""
        return [merge_all(stored.get(part, ZERO) for part in bucket.parts) for bucket in self.buckets]


def decompose(start: int, end: int) -> tuple[StoredBucket, ...]:
    """The fewest stored buckets that exactly cover the hour-aligned stretch ``[start, end)``."""
    parts: list[StoredBucket] = []
    cursor = start
    while cursor < end:
        for unit in UNITS:
            if end - cursor >= unit.shortest and unit.start(cursor) == cursor and unit.next(cursor) <= end:
                parts.append(StoredBucket(unit.granularity, cursor))
                cursor = unit.next(cursor)
                break
        else:  # pragma: no cover - TimeRange guarantees hour alignment
            raise ValueError("stretch not aligned to whole hours")
    return tuple(parts)


def output_buckets(
    time_range: TimeRange, period: Period, calendar: Calendar = UTC_CALENDAR
) -> tuple[OutputBucket, ...]:
    """The records a range yields at ``period``, in time order (exactly one for ``total``); days and
    months are ``calendar``'s (hours are UTC hours in every calendar)."""
    start, end = time_range.start, time_range.end
    granularity = period.granularity
    if granularity is None:
        return (OutputBucket(start, start, end, decompose(start, end)),)
    own_starts = list(calendar.buckets(start, end, granularity))
    following = calendar.bucket_end(own_starts[-1], granularity) if own_starts else end
    result = []
    for own_start, own_end in zip(own_starts, [*own_starts[1:], following], strict=True):
        clipped_start, clipped_end = max(own_start, start), min(own_end, end)
        result.append(OutputBucket(own_start, clipped_start, clipped_end, decompose(clipped_start, clipped_end)))
    return tuple(result)


def plan_buckets(selected: Sequence[OutputBucket]) -> ReadPlan:
    """The plan that reads the parts of ``selected`` (e.g. one page of a longer answer)."""
    return ReadPlan(tuple(selected), read_runs(part for bucket in selected for part in bucket.parts))


def plan_reads(time_range: TimeRange, period: Period, calendar: Calendar = UTC_CALENDAR) -> ReadPlan:
    """The whole plan of a range at a period."""
    return plan_buckets(output_buckets(time_range, period, calendar))


def read_runs(parts: Iterable[StoredBucket]) -> tuple[SeriesRead, ...]:
    """Stored buckets in maximal runs of consecutive buckets, one Query each: monthly, daily, hourly, in time order."""
    by_granularity: dict[Granularity, set[int]] = defaultdict(set)
    for part in parts:
        by_granularity[part.granularity].add(part.start)
    reads: list[SeriesRead] = []
    for unit in UNITS:
        runs: list[list[int]] = []
        for bucket in sorted(by_granularity[unit.granularity]):
            if runs and bucket == unit.next(runs[-1][-1]):
                runs[-1].append(bucket)
            else:
                runs.append([bucket])
        reads += [SeriesRead(unit.granularity, run[0], run[-1], len(run)) for run in runs]
    return tuple(reads)
