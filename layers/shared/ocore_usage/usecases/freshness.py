"""``dataThrough``: up to when every received sample is counted in the stored series (a watermark).

Why the shard heads give it is docs/pipeline.md, "The watermark"; what the reads promise with it is docs/read-api.md,
"Freshness". :class:`RollupWatermark` reads the heads at most once per ``max_age`` per process. With work pending it
is the work's earliest origin; with none, when the rollup last finished a shard (or, before it ever has, the time the
heads were read, to the minute). Either moves only when the rollup makes progress, so an answer (and its ETag) stays
the same while nothing happens. It never moves back within a process (counted samples stay counted).
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Final

from ocore_usage.domain.timeline import MICROS_PER_SECOND, now_micros
from ocore_usage.usecases.ports import RollupProgress

MAX_AGE: Final = 10 * MICROS_PER_SECOND
"""How long a process reuses the heads it read."""
_MINUTE = 60 * MICROS_PER_SECOND


class RollupWatermark:
    """The reads' ``dataThrough``, from the rollup's shard heads (cached per process)."""

    def __init__(self, work: RollupProgress, clock: Callable[[], int] = now_micros, max_age: int = MAX_AGE) -> None:
        self._work = work
        self._clock = clock
        self._max_age = max_age
        self._lock = threading.Lock()
        self._value: int | None = None
        self._read_at = 0

    def data_through(self) -> int:
        with self._lock:
            now = self._clock()
            if self._value is not None and 0 <= now - self._read_at < self._max_age:
                return self._value
            progress = self._work.progress()
            value = progress.oldest_unrolled
            if value is None:
                value = progress.last_rolled or now - now % _MINUTE
            value = min(value, now)
            self._value = value if self._value is None else max(self._value, value)
            self._read_at = now
            return self._value
