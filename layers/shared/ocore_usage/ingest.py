"""Storing a batch of samples durably, and marking the hours it makes stale.

Order matters for crash safety: samples are written first, marks after. A crash in between
returns no ``202``, so the agent sends the batch again, and a resent batch marks its hours again
even though its samples are unchanged. Once ``202`` is returned every sample is stored and
every hour it touched (or left, on a correction) is marked for the rollup.
"""

from __future__ import annotations

from collections.abc import Callable

from ocore_usage.samples import Sample, parse_batch
from ocore_usage.storage.keys import Scope
from ocore_usage.storage.samples import SampleRepository
from ocore_usage.storage.work import WorkQueue
from ocore_usage.timeline import now_micros


class IngestService:
    def __init__(self, samples: SampleRepository, work: WorkQueue, clock: Callable[[], int] = now_micros) -> None:
        self.samples = samples
        self.work = work
        self.clock = clock

    def ingest_body(self, body: str | bytes | None) -> int:
        """Validate ``body`` whole, then store it; returns how many samples were accepted."""
        now = self.clock()
        batch = parse_batch(body, now)
        self.store(batch, now)
        return len(batch)

    def store(self, batch: list[Sample], now: int) -> None:
        previous = self.samples.stored_hours([sample.key for sample in batch])
        self.samples.store(batch, previous)
        stale = {(s.project_id, hour) for s in batch for hour in s.interval.hours()}
        stale |= {(project_id, hour) for (project_id, _), hours in previous.items() for hour in hours}
        self.work.mark(Scope.PROJECT, stale, now)
