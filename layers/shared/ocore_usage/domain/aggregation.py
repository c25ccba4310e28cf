"""Exact usage sums, the instance peak, and how both are rendered as API numbers.

A :class:`Usage` holds integrals in integer units, so adding any number of them is exact:

- ``cpu``, ``ram``, ``disk``: micro-units (cores, GB) times microseconds;
- ``instance``: instance-microseconds;
- ``bytes_in``, ``bytes_out``: bytes;
- ``peak``: the peak number of distinct instances running at one instant. It is never summed:
  merging two usages keeps the larger peak, which is right for buckets that do not overlap
  in time. Peaks of usages that do overlap in time (several projects in one hour) come from
  their :class:`Occupancy` instead.

Rendering turns integrals into hours rounded half-even to 6 decimals, as exact ``Decimal``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from itertools import accumulate

from ocore_usage.domain.timeline import MICROS_PER_HOUR

MICRO = 1_000_000
# unit integral -> millionths of an hour-based metric
_UNIT_HOURS_DIVISOR = MICROS_PER_HOUR  # micro-units x us / (1e6 x 3.6e9) x 1e6
_INSTANCE_HOURS_DIVISOR = MICROS_PER_HOUR // MICRO  # us / 3.6e9 x 1e6


@dataclass(frozen=True, slots=True)
class Usage:
    """Exact usage of one scope over one stretch of time (see the module doc for units)."""

    cpu: int = 0
    ram: int = 0
    disk: int = 0
    instance: int = 0
    bytes_in: int = 0
    bytes_out: int = 0
    peak: int = 0

    def merge(self, other: Usage) -> Usage:
        """Usage of two disjoint stretches of time: sums add, the peak is the larger one."""
        return Usage(
            cpu=self.cpu + other.cpu,
            ram=self.ram + other.ram,
            disk=self.disk + other.disk,
            instance=self.instance + other.instance,
            bytes_in=self.bytes_in + other.bytes_in,
            bytes_out=self.bytes_out + other.bytes_out,
            peak=max(self.peak, other.peak),
        )

    @property
    def is_empty(self) -> bool:
        """True when nothing ran: every sample has a positive duration, so instance time says it all."""
        return self.instance == 0

    def as_dict(self) -> dict[str, int]:
        return {f.name: getattr(self, f.name) for f in fields(self)}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Usage:
        return cls(**{f.name: int(data.get(f.name, 0)) for f in fields(cls)})  # type: ignore[call-overload]


ZERO = Usage()


def merge_all(usages: Iterable[Usage]) -> Usage:
    """Merge usages of disjoint stretches of time (``ZERO`` for none)."""
    total = ZERO
    for usage in usages:
        total = total.merge(usage)
    return total


def round_millionths(numerator: int, divisor: int) -> Decimal:
    """``numerator / divisor`` millionths, rounded half-even, as an exact 6-decimal Decimal."""
    quotient, remainder = divmod(numerator, divisor)
    twice = 2 * remainder
    if twice > divisor or (twice == divisor and quotient % 2 == 1):
        quotient += 1
    return Decimal(quotient).scaleb(-6)


def render_metrics(usage: Usage) -> dict[str, int | Decimal]:
    """The seven metric fields of an API usage record."""
    return {
        "bandwidthInBytes": usage.bytes_in,
        "bandwidthOutBytes": usage.bytes_out,
        "cpuCoreHours": round_millionths(usage.cpu, _UNIT_HOURS_DIVISOR),
        "diskGbHours": round_millionths(usage.disk, _UNIT_HOURS_DIVISOR),
        "instanceCount": usage.peak,
        "instanceHours": round_millionths(usage.instance, _INSTANCE_HOURS_DIVISOR),
        "ramGbHours": round_millionths(usage.ram, _UNIT_HOURS_DIVISOR),
    }


@dataclass(frozen=True, slots=True)
class Occupancy:
    """How many distinct instances run over time: a step function as ``(instant, change)`` edges.

    Edges are sorted by instant with at most one edge per instant; occupancies of different
    instances (of different projects too) add up by concatenating their edges.
    """

    edges: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of_instances(cls, intervals: Mapping[str, Iterable[tuple[int, int]]]) -> Occupancy:
        """The occupancy of instances given their half-open running intervals.

        An instance whose intervals overlap counts once while any of them covers an instant.
        """
        changes: dict[int, int] = defaultdict(int)
        for spans in intervals.values():
            for start, end in _union(spans):
                changes[start] += 1
                changes[end] -= 1
        return cls(tuple((t, d) for t, d in sorted(changes.items()) if d))

    @classmethod
    def combine(cls, parts: Iterable[Occupancy]) -> Occupancy:
        changes: dict[int, int] = defaultdict(int)
        for part in parts:
            for instant, change in part.edges:
                changes[instant] += change
        return cls(tuple((t, d) for t, d in sorted(changes.items()) if d))

    @property
    def peak(self) -> int:
        return max(accumulate(change for _, change in self.edges), default=0)


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            if end > merged[-1][1]:
                merged[-1] = (merged[-1][0], end)
        else:
            merged.append((start, end))
    return merged
