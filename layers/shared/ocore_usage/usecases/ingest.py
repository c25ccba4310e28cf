"""Storing a batch of samples durably, once, and marking the hours it makes stale.

The three writes, in order (a refused correction writes nothing; ``202`` only after the marks), are docs/pipeline.md,
"1. Ingest"; why a retry or two requests racing cannot count a sample twice is its "Exactly once" (the rollup resolves
the versions, ``rollup.py``).
"""

from __future__ import annotations

from collections.abc import Callable

from aws_lambda_powertools import Logger

from ocore_usage.domain.metered import Sample
from ocore_usage.domain.problems import FieldError, Problem, ProblemCode
from ocore_usage.domain.samples import WINDOW_PAST, parse_batch
from ocore_usage.domain.timeline import format_instant, now_micros
from ocore_usage.domain.versions import new_version
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.usecases.ports import SampleLog, StaleHours

logger = Logger(service="ocore-usage", child=True)


class IngestService:
    def __init__(self, samples: SampleLog, work: StaleHours, clock: Callable[[], int] = now_micros) -> None:
        self.samples = samples
        self.work = work
        self.clock = clock

    def ingest_body(self, body: str | bytes | None, writer: str = "") -> int:
        """Validate ``body`` whole, then store it as written by ``writer``; returns how many samples were accepted."""
        now = self.clock()
        batch = parse_batch(body, now)
        self._refuse_closed_corrections(batch, now)
        version = new_version(now)
        pages = self.samples.append(batch, version=version, writer=writer, written_at=now)
        stale = {(sample.project_id, hour) for sample in batch for hour in sample.interval.hours()}
        self.work.mark(SeriesOwner.PROJECT, stale, now)
        logger.info(
            "samples stored",
            extra={"version": version, "writer": writer, "samples": len(batch), "pages": pages},
        )
        return len(batch)

    def _refuse_closed_corrections(self, batch: list[Sample], now: int) -> None:
        """A sample whose stored version starts before the window is closed: it cannot be corrected."""
        opens = now - WINDOW_PAST
        stored = self.samples.stored_starts(sample.key for sample in batch)
        closed = [
            FieldError(
                "samples",
                f"{project_id}/{sample_id}: the stored version starts at {format_instant(start)}, "
                "before the 35-day correction window",
            )
            for (project_id, sample_id), start in sorted(stored.items())
            if start < opens
        ]
        if closed:
            raise Problem(ProblemCode.SAMPLE_OUT_OF_WINDOW, f"{len(closed)} sample(s) correct a closed version", closed)
