"""An independent reference model of usage, for the tests: exact Fractions and a sweep-line.

It shares nothing with the service's code but the attribution rules (docs/pipeline.md): given the samples
that finally stand (last write per (projectId, sampleId)) and which org owns each project, it
computes every bucket's value directly from the samples, and the instance peak by sweeping over
the instants where instances start and stop.
"""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from decimal import ROUND_HALF_EVEN, Decimal
from fractions import Fraction

HOUR = timedelta(hours=1)


@dataclass(frozen=True)
class RefSample:
    project_id: str
    sample_id: str
    instance_id: str
    start: datetime
    seconds: int
    cpu: Decimal
    ram: Decimal
    disk: Decimal
    bytes_in: int
    bytes_out: int

    @property
    def end(self) -> datetime:
        return self.start + timedelta(seconds=self.seconds)

    def as_json(self) -> dict[str, object]:
        return {
            "sampleId": self.sample_id,
            "projectId": self.project_id,
            "instanceId": self.instance_id,
            "intervalStart": self.start.isoformat().replace("+00:00", "Z"),
            "intervalSeconds": self.seconds,
            "cpuCores": self.cpu,
            "ramGb": self.ram,
            "diskGb": self.disk,
            "bandwidthInBytes": self.bytes_in,
            "bandwidthOutBytes": self.bytes_out,
        }


@dataclass
class RefBucket:
    cpu: Fraction = Fraction(0)
    ram: Fraction = Fraction(0)
    disk: Fraction = Fraction(0)
    instance_hours: Fraction = Fraction(0)
    bytes_in: int = 0
    bytes_out: int = 0
    peak: int = 0


def _six(value: Decimal) -> Fraction:
    return Fraction(value.quantize(Decimal("0.000001"), rounding=ROUND_HALF_EVEN))


def _hours_of(sample: RefSample) -> list[datetime]:
    hour = sample.start.replace(minute=0, second=0, microsecond=0)
    found = []
    while hour < sample.end:
        found.append(hour)
        hour += HOUR
    return found


def _overlap_seconds(a0: datetime, a1: datetime, b0: datetime, b1: datetime) -> Fraction:
    lo, hi = max(a0, b0), min(a1, b1)
    return Fraction((hi - lo) // timedelta(microseconds=1), 1_000_000) if hi > lo else Fraction(0)


def _byte_parts(sample: RefSample, total: int) -> dict[datetime, int]:
    """The byte rule: part k = floor(B*Ck/d) - floor(B*C(k-1)/d), overlaps in time order."""
    parts = {}
    cumulative = Fraction(0)
    for hour in _hours_of(sample):
        before = cumulative
        cumulative += _overlap_seconds(sample.start, sample.end, hour, hour + HOUR)
        parts[hour] = int(total * cumulative // sample.seconds) - int(total * before // sample.seconds)
    return parts


def sweep_peak(spans: list[tuple[tuple[str, str], datetime, datetime]]) -> int:
    """Peak number of distinct instances covering one instant; spans are half-open."""
    events = []
    for instance, start, end in spans:
        if end > start:
            events.append((start, 1, instance))
            events.append((end, -1, instance))
    events.sort(key=lambda e: (e[0], e[1]))  # at one instant, stops come before starts
    active: dict[tuple[str, str], int] = defaultdict(int)
    running = peak = 0
    for _, change, instance in events:
        if change == 1:
            active[instance] += 1
            if active[instance] == 1:
                running += 1
        else:
            active[instance] -= 1
            if active[instance] == 0:
                running -= 1
        peak = max(peak, running)
    return peak


def bucket_value(samples: list[RefSample], start: datetime, end: datetime) -> RefBucket:
    """The exact usage of ``samples`` within ``[start, end)`` (whole hours)."""
    bucket = RefBucket()
    spans = []
    for sample in samples:
        overlap = _overlap_seconds(sample.start, sample.end, start, end)
        if not overlap:
            continue
        bucket.cpu += _six(sample.cpu) * overlap / 3600
        bucket.ram += _six(sample.ram) * overlap / 3600
        bucket.disk += _six(sample.disk) * overlap / 3600
        bucket.instance_hours += overlap / 3600
        for hour, part in _byte_parts(sample, sample.bytes_in).items():
            bucket.bytes_in += part if start <= hour < end else 0
        for hour, part in _byte_parts(sample, sample.bytes_out).items():
            bucket.bytes_out += part if start <= hour < end else 0
        spans.append(((sample.project_id, sample.instance_id), max(sample.start, start), min(sample.end, end)))
    bucket.peak = sweep_peak(spans)
    return bucket


def _bucket_of(hour: datetime, granularity: str) -> tuple[datetime, datetime]:
    """Start and end of the H, D or M bucket that holds ``hour``."""
    if granularity == "H":
        return hour, hour + HOUR
    if granularity == "D":
        return hour.replace(hour=0), hour.replace(hour=0) + timedelta(days=1)
    return hour.replace(day=1, hour=0), datetime(hour.year + hour.month // 12, hour.month % 12 + 1, 1, tzinfo=UTC)


def expected_buckets(samples: list[RefSample], granularity: str) -> dict[datetime, RefBucket]:
    """Every non-empty bucket (H, D or M) of ``samples``."""
    buckets = {_bucket_of(hour, granularity) for sample in samples for hour in _hours_of(sample)}
    return {start: bucket_value(samples, start, end) for start, end in buckets}
