"""Exact usage sums, the instance peak, and how both are rendered as API numbers.

A :class:`Usage` holds one sum per metric of :data:`ocore_usage.domain.metrics.METRICS` in
integer units (allocations: micro-units times microseconds; instance time: microseconds;
counters: their count), so adding any number of them is exact. Its ``peak`` is the peak number
of distinct instances running at one instant. It is never summed: merging two usages keeps the
larger peak, which is right for buckets that do not overlap in time. Peaks of usages that do
overlap in time (several projects in one hour) come from their :class:`Occupancy` instead.

Rendering answers each sum as its metric's kind says (hours rounded half-even to 6 decimals,
as exact ``Decimal``, or exact integers), and the peak as ``instanceCount``.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from itertools import accumulate
from operator import add

from ocore_usage.domain.metrics import INDEX, INSTANCE_TIME, METRICS, PEAK, PEAK_FIELD, position

_NAMES = tuple(metric.name for metric in METRICS)
_NO_SUMS = (0,) * len(METRICS)
_INSTANCE_TIME = tuple(index for index, metric in enumerate(METRICS) if metric.kind is INSTANCE_TIME)


@dataclass(frozen=True, slots=True)
class Usage:
    """Exact usage of one scope over one stretch of time: one sum per metric, in the table's order,
    and the instance peak (see the module doc for units)."""

    sums: tuple[int, ...] = _NO_SUMS
    peak: int = 0

    @classmethod
    def of(cls, peak: int = 0, **sums: int) -> Usage:
        """The usage with the sums of the metrics named (``cpu=...``; absent ones are zero)."""
        unknown = sums.keys() - INDEX.keys()
        if unknown:
            raise TypeError(f"no metric named {', '.join(sorted(unknown))}")
        return cls(tuple(sums.get(name, 0) for name in _NAMES), peak)

    def __getattr__(self, metric: str) -> int:
        """The sum of the metric named ``metric`` (``usage.cpu``)."""
        return self.sums[position(metric)]

    def merge(self, other: Usage) -> Usage:
        """Usage of two disjoint stretches of time: sums add, the peak is the larger one."""
        return Usage(tuple(map(add, self.sums, other.sums)), max(self.peak, other.peak))

    @property
    def is_empty(self) -> bool:
        """True when nothing ran: every sample has a positive duration, so instance time says it all."""
        return not any(self.sums[index] for index in _INSTANCE_TIME)

    def as_dict(self) -> dict[str, int]:
        """Every sum by metric name, then the peak (the attributes of a stored rollup item)."""
        return {**dict(zip(_NAMES, self.sums, strict=True)), PEAK: self.peak}

    @classmethod
    def from_dict(cls, data: Mapping[str, object]) -> Usage:
        """The usage of a stored rollup item (an absent attribute is zero)."""
        return cls(tuple(int(data.get(name, 0)) for name in _NAMES), int(data.get(PEAK, 0)))  # type: ignore[call-overload]


ZERO = Usage()


def merge_all(usages: Iterable[Usage]) -> Usage:
    """Merge usages of disjoint stretches of time (``ZERO`` for none): :meth:`Usage.merge` of them all at once."""
    found = list(usages)
    if len(found) < 2:
        return found[0] if found else ZERO
    return Usage(tuple(map(sum, zip(*(usage.sums for usage in found), strict=True))), max(u.peak for u in found))


def render_metrics(usage: Usage) -> dict[str, int | Decimal]:
    """The metric fields of an API usage record, the peak included."""
    rendered = {
        metric.answer_field: metric.kind.render(total) for metric, total in zip(METRICS, usage.sums, strict=True)
    }
    rendered[PEAK_FIELD] = usage.peak
    return rendered


@dataclass(frozen=True, slots=True)
class Occupancy:
    """How many distinct instances run over time: a step function as ``(instant, change)`` edges.

    Edges are sorted by instant with at most one edge per instant; occupancies of different
    instances (of different projects too) add up by concatenating their edges.
    """

    edges: tuple[tuple[int, int], ...] = ()

    @classmethod
    def of_instances(cls, intervals: Mapping[str, Iterable[tuple[int, int]]]) -> Occupancy:
        """The occupancy of instances given their half-open running intervals (overlapping ones count once)."""
        spans = (span for running in intervals.values() for span in _union(running))
        return cls._summed(edge for start, end in spans for edge in ((start, 1), (end, -1)))

    @classmethod
    def combine(cls, parts: Iterable[Occupancy]) -> Occupancy:
        return cls._summed(edge for part in parts for edge in part.edges)

    @classmethod
    def _summed(cls, edges: Iterable[tuple[int, int]]) -> Occupancy:
        """The occupancy whose change at each instant is the sum of ``edges``' changes there."""
        changes: dict[int, int] = defaultdict(int)
        for instant, change in edges:
            changes[instant] += change
        return cls(tuple((t, d) for t, d in sorted(changes.items()) if d))

    @property
    def peak(self) -> int:
        return max(accumulate(change for _, change in self.edges), default=0)


def _union(spans: Iterable[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[tuple[int, int]] = []
    for start, end in sorted(spans):
        if merged and start <= merged[-1][1]:
            merged[-1] = (merged[-1][0], max(end, merged[-1][1]))
        else:
            merged.append((start, end))
    return merged
