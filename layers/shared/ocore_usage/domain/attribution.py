"""How one usage sample splits over the UTC hours it overlaps (docs/pipeline.md, "Attribution").

A sample covers ``[start, start + duration)``. Each hour it overlaps by ``o`` receives
``rate x o`` of every allocation integral and ``o`` of instance time; bytes are split by
cumulative overlap so the integer parts add up to the sample's bytes exactly. Pure.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, replace

from ocore_usage.domain.aggregation import Occupancy, Usage
from ocore_usage.domain.timeline import MICROS_PER_HOUR, floor_hour


@dataclass(frozen=True, slots=True)
class MeteredInterval:
    """The numbers of one sample that attribution needs, in integer units.

    ``cpu``, ``ram`` and ``disk`` are micro-units (the 6-decimal values times 10^6); ``start``
    and ``duration`` are microseconds.
    """

    instance_id: str
    start: int
    duration: int
    cpu: int
    ram: int
    disk: int
    bytes_in: int
    bytes_out: int

    @property
    def end(self) -> int:
        return self.start + self.duration

    def hours(self) -> list[int]:
        """Starts of the hours this interval overlaps (one or two for a sample of up to 1 h)."""
        return list(range(floor_hour(self.start), self.end, MICROS_PER_HOUR))


def split_by_hour(interval: MeteredInterval) -> dict[int, Usage]:
    """The usage ``interval`` contributes to each hour it overlaps, keyed by hour start.

    The ``peak`` of each part is 1: the instance runs at some instant of every hour it overlaps.
    """
    parts: dict[int, Usage] = {}
    covered = 0
    for hour in interval.hours():
        overlap = min(interval.end, hour + MICROS_PER_HOUR) - max(interval.start, hour)
        before, covered = covered, covered + overlap
        parts[hour] = Usage(
            cpu=interval.cpu * overlap,
            ram=interval.ram * overlap,
            disk=interval.disk * overlap,
            instance=overlap,
            bytes_in=_share(interval.bytes_in, covered, interval.duration)
            - _share(interval.bytes_in, before, interval.duration),
            bytes_out=_share(interval.bytes_out, covered, interval.duration)
            - _share(interval.bytes_out, before, interval.duration),
            peak=1,
        )
    return parts


def _share(total: int, covered: int, duration: int) -> int:
    return total * covered // duration


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
