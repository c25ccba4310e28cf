"""A sample once read: its identity and its metered interval, in integer units. Pure.

What ingest stores, the sample pages hold and the rollup attributes; how a sample arrives over
the wire (and is validated) is :mod:`ocore_usage.domain.samples`' business.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocore_usage.domain.metrics import position
from ocore_usage.domain.timeline import MICROS_PER_HOUR, floor_hour


@dataclass(frozen=True, slots=True)
class MeteredInterval:
    """The numbers of one sample that attribution needs, in integer units.

    ``start`` and ``duration`` are microseconds; ``values`` holds one value per metric of
    :data:`ocore_usage.domain.metrics.METRICS`, in its order (allocations in micro-units, the
    6-decimal values times 10^6; counters as integers; zero for a metric agents do not send).
    """

    instance_id: str
    start: int
    duration: int
    values: tuple[int, ...]

    @property
    def end(self) -> int:
        return self.start + self.duration

    def __getattr__(self, metric: str) -> int:
        """The value of the metric named ``metric`` (``interval.cpu``)."""
        return self.values[position(metric)]

    def hours(self) -> list[int]:
        """Starts of the hours this interval overlaps (one or two for a sample of up to 1 h)."""
        return list(range(floor_hour(self.start), self.end, MICROS_PER_HOUR))


@dataclass(frozen=True, slots=True)
class Sample:
    """A sample: its identity and its metered interval."""

    project_id: str
    sample_id: str
    interval: MeteredInterval

    @property
    def key(self) -> tuple[str, str]:
        return (self.project_id, self.sample_id)
