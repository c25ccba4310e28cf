"""SampleRepository: raw samples, copied into every hour they overlap, and their identities.

A sample's identity item (``I#{projectId}`` / ``{sampleId}``) records which hour partitions hold
its copies, so a correction that moves the sample can delete the copies it leaves behind.
"""

from __future__ import annotations

from collections.abc import Sequence

from ocore_usage.attribution import MeteredInterval
from ocore_usage.samples import Sample
from ocore_usage.storage.keys import identity_pk, sample_hour_pk
from ocore_usage.storage.tables import Item, Table
from ocore_usage.timeline import format_instant, parse_rfc3339


def _copy_item(sample: Sample, hour: int) -> Item:
    interval = sample.interval
    return {
        "pk": sample_hour_pk(sample.project_id, hour),
        "sk": sample.sample_id,
        "instanceId": interval.instance_id,
        "start": interval.start,
        "duration": interval.duration,
        "cpu": interval.cpu,
        "ram": interval.ram,
        "disk": interval.disk,
        "bytesIn": interval.bytes_in,
        "bytesOut": interval.bytes_out,
    }


def _interval(item: Item) -> MeteredInterval:
    return MeteredInterval(
        instance_id=item["instanceId"],
        start=int(item["start"]),
        duration=int(item["duration"]),
        cpu=int(item["cpu"]),
        ram=int(item["ram"]),
        disk=int(item["disk"]),
        bytes_in=int(item["bytesIn"]),
        bytes_out=int(item["bytesOut"]),
    )


class SampleRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def stored_hours(self, keys: Sequence[tuple[str, str]]) -> dict[tuple[str, str], list[int]]:
        """For each already stored ``(projectId, sampleId)``, the hours its copies sit in."""
        items = self.table.batch_get([{"pk": identity_pk(p), "sk": s} for p, s in keys], consistent=True)
        return {
            (item["pk"].removeprefix("I#"), item["sk"]): [parse_rfc3339(h) for h in item.get("hours", [])]
            for item in items
        }

    def store(self, samples: Sequence[Sample], previous: dict[tuple[str, str], list[int]]) -> None:
        """Write each sample's copies and identity; delete copies a correction moved away from."""
        puts: list[Item] = []
        deletes: list[Item] = []
        for sample in samples:
            hours = sample.interval.hours()
            puts += [_copy_item(sample, hour) for hour in hours]
            puts.append(
                {
                    "pk": identity_pk(sample.project_id),
                    "sk": sample.sample_id,
                    "hours": [format_instant(h) for h in hours],
                }
            )
            deletes += [
                {"pk": sample_hour_pk(sample.project_id, old), "sk": sample.sample_id}
                for old in previous.get(sample.key, [])
                if old not in hours
            ]
        self.table.batch_write(puts, deletes)

    def in_hour(self, project_id: str, hour: int) -> dict[str, MeteredInterval]:
        """Every sample of ``project_id`` that overlaps ``hour``, by sample id (strongly consistent)."""
        items = self.table.query(sample_hour_pk(project_id, hour), consistent=True)
        return {item["sk"]: _interval(item) for item in items}
