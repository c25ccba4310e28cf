"""The metrics: one table of what is metered, and one rule per kind of metric. Pure.

:data:`METRICS` lists each metric: its name (the attribute of stored rollup items), its kind, the
field an agent sends it in (``None`` when no agent sends it), and its field in answers. A kind
says how a sample's value is read (a JSON value to integer units), how it splits over the hours a
sample overlaps (docs/pipeline.md, "Attribution"), and how a sum is answered:

- an allocation (cores, GB) is a 6-decimal average, held as integer micro-units; an hour receives
  ``value x overlap`` and the sum is answered in hours (core-hours, GB-hours) rounded half-even to
  6 decimals;
- a counter (bytes) is an integer; it is split by cumulative overlap, so the hours' integer parts
  add up to the sample's count exactly, and answered as the exact integer;
- instance time is no value of the sample but its overlap itself, answered in instance-hours.

Sample validation, the stored sample pages and rollup items, merging, rendering (JSON and CSV)
and the published document all follow this table, in its order; the instance peak
(``instanceCount``) is not a sum and keeps its own rule (:mod:`ocore_usage.domain.aggregation`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal
from typing import Any

from ocore_usage.domain.timeline import MICROS_PER_HOUR

MICRO = 1_000_000
MAX_ALLOCATION = Decimal(1_000_000)
MAX_BYTES = 10**15
_MICRO = Decimal("0.000001")


def round_millionths(numerator: int, divisor: int) -> Decimal:
    """``numerator / divisor`` millionths, rounded half-even, as an exact 6-decimal Decimal."""
    quotient, remainder = divmod(numerator, divisor)
    twice = 2 * remainder
    if twice > divisor or (twice == divisor and quotient % 2 == 1):
        quotient += 1
    return Decimal(f"{quotient}E-6")


# ---------------------------------------------------------------- reading a sample's value
#
# Messages are worded as pydantic words them (the published 422 details).


@dataclass(frozen=True, slots=True)
class Reading:
    """How a JSON value is read (``ValueError`` with the message when it is not acceptable), and
    its JSON Schema in the published document."""

    read: Callable[[Any], Any]
    schema: dict[str, Any]


def whole(least: int, most: int) -> Reading:
    """A JSON integer (not a fraction, not a boolean) from ``least`` to ``most``."""

    def read(value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError("Input should be a valid integer")
        if value < least:
            raise ValueError(f"Input should be greater than or equal to {least}")
        if value > most:
            raise ValueError(f"Input should be less than or equal to {most}")
        return value

    return Reading(read, {"maximum": most, "minimum": least, "type": "integer"})


def _allocation(value: Any) -> int:
    """A JSON number in [0, 1e6], rounded half-even to 6 decimals, as integer micro-units."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("Value error, must be a number")
    number = Decimal(value)
    if not number.is_finite() or number < 0 or number > MAX_ALLOCATION:
        raise ValueError("Value error, must be a number from 0 to 1000000")
    return int(number.quantize(_MICRO, rounding=ROUND_HALF_EVEN) * MICRO)  # at most 13 digits: quantize cannot fail


# ---------------------------------------------------------------- the kinds


def _by_overlap(value: int, before: int, covered: int, duration: int) -> int:
    return value * (covered - before)


def _by_cumulative_share(value: int, before: int, covered: int, duration: int) -> int:
    return value * covered // duration - value * before // duration


def _overlap(value: int, before: int, covered: int, duration: int) -> int:
    return covered - before


_HOURS = {"description": "Exact value rounded half-even to 6 decimals.", "minimum": 0, "type": "number"}


@dataclass(frozen=True, slots=True)
class Kind:
    """What every metric of one kind shares: how it is read, split over hours and answered."""

    reading: Reading | None
    """How an agent's value is read (``None``: agents do not send it)."""
    split: Callable[[int, int, int, int], int]
    """The part of a sample's ``value`` that falls in an hour, given the sample's time covered
    before that hour and up to its end (``before``, ``covered``) and its ``duration``."""
    render: Callable[[int], int | Decimal]
    """A sum as answered."""
    answer_schema: dict[str, Any]
    """Its field's JSON Schema in answers."""


ALLOCATION = Kind(
    Reading(_allocation, {"description": "Average allocation.", "maximum": 1000000, "minimum": 0, "type": "number"}),
    _by_overlap,
    lambda total: round_millionths(total, MICROS_PER_HOUR),  # micro-units x us / (1e6 x 3.6e9) x 1e6
    _HOURS,
)
COUNTER = Kind(
    whole(0, MAX_BYTES),
    _by_cumulative_share,
    lambda total: total,
    {"description": "Exact number of bytes.", "minimum": 0, "type": "integer"},
)
INSTANCE_TIME = Kind(
    None,
    _overlap,
    lambda total: round_millionths(total, MICROS_PER_HOUR // MICRO),  # us / 3.6e9 x 1e6
    _HOURS,
)


# ---------------------------------------------------------------- the table


@dataclass(frozen=True, slots=True)
class Metric:
    """One metered figure."""

    name: str
    """Its attribute in stored rollup items (``cpu``)."""
    kind: Kind
    sample_field: str | None
    """Its field in a sample (``cpuCores``); ``None`` when agents do not send it."""
    answer_field: str
    """Its field in answers and CSV columns (``cpuCoreHours``)."""


METRICS = (
    Metric("cpu", ALLOCATION, "cpuCores", "cpuCoreHours"),
    Metric("ram", ALLOCATION, "ramGb", "ramGbHours"),
    Metric("disk", ALLOCATION, "diskGb", "diskGbHours"),
    Metric("instance", INSTANCE_TIME, None, "instanceHours"),
    Metric("bytes_in", COUNTER, "bandwidthInBytes", "bandwidthInBytes"),
    Metric("bytes_out", COUNTER, "bandwidthOutBytes", "bandwidthOutBytes"),
)
"""Every metric. The order is that of a sample's fields and of the values in stored sample pages
(those agents send), and of the figures of a usage; append a new one at the end."""

INDEX = {metric.name: index for index, metric in enumerate(METRICS)}
"""Each metric's position in :data:`METRICS` (and in the values of a usage or a sample)."""


def position(name: str) -> int:
    """The position of the metric called ``name`` in :data:`METRICS`; ``AttributeError`` for a name
    no metric has (a usage or an interval reads its metrics' values as attributes: ``usage.cpu``)."""
    index = INDEX.get(name)
    if index is None:
        raise AttributeError(name)
    return index


@dataclass(frozen=True, slots=True)
class SampledMetric:
    """A metric agents send: its position in :data:`METRICS`, its sample field and how it is read."""

    index: int
    sample_field: str
    reading: Reading


SAMPLED = tuple(
    SampledMetric(index, metric.sample_field, metric.kind.reading)
    for index, metric in enumerate(METRICS)
    if metric.sample_field is not None and metric.kind.reading is not None
)
"""The metrics agents send, in the order of the sample's fields and of the values in stored sample pages."""

PEAK = "peak"
"""The stored attribute of the instance peak: the most distinct instances running at one instant."""
PEAK_FIELD = "instanceCount"
PEAK_SCHEMA: dict[str, Any] = {
    "description": "Peak number of distinct instances running at one instant (never summed).",
    "minimum": 0,
    "type": "integer",
}
