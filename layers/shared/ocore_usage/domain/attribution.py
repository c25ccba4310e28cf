"""How one usage sample splits over the UTC hours it overlaps (docs/pipeline.md, "Attribution").

A sample covers ``[start, start + duration)``; each hour it overlaps receives the part of every
metric its kind's rule gives (:mod:`ocore_usage.domain.metrics`). Pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ocore_usage.domain.aggregation import Occupancy, Usage
from ocore_usage.domain.metered import MeteredInterval
from ocore_usage.domain.metrics import METRICS
from ocore_usage.domain.timeline import MICROS_PER_HOUR

_SPLITS = tuple(metric.kind.split for metric in METRICS)


def split_by_hour(interval: MeteredInterval) -> dict[int, Usage]:
    """The usage ``interval`` contributes to each hour it overlaps, keyed by hour start.

    The ``peak`` of each part is 1: the instance runs at some instant of every hour it overlaps.
    """
    parts: dict[int, Usage] = {}
    covered = 0
    duration = interval.duration
    for hour in interval.hours():
        overlap = min(interval.end, hour + MICROS_PER_HOUR) - max(interval.start, hour)
        before, covered = covered, covered + overlap
        sums = tuple(
            split(value, before, covered, duration) for split, value in zip(_SPLITS, interval.values, strict=True)
        )
        parts[hour] = Usage(sums, peak=1)
    return parts


@dataclass(frozen=True, slots=True)
class HourUsage:
    """Everything one project's samples add to one hour: exact sums and the instance occupancy."""

    usage: Usage
    occupancy: Occupancy


def hour_usage(hour: int, intervals: Iterable[MeteredInterval]) -> HourUsage:
    """Usage within ``[hour, hour + 1h)`` of the given intervals (those outside add nothing)."""
    sums = Usage()
    running: dict[str, list[tuple[int, int]]] = defaultdict(list)
    end_of_hour = hour + MICROS_PER_HOUR
    for interval in intervals:
        part = split_by_hour(interval).get(hour)
        if part is None:
            continue
        sums = sums.merge(part)
        running[interval.instance_id].append((max(interval.start, hour), min(interval.end, end_of_hour)))
    occupancy = Occupancy.of_instances(running)
    return HourUsage(usage=replace(sums, peak=occupancy.peak), occupancy=occupancy)
