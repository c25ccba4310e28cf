"""The rollup's dispatcher: the schedule's invocation hands the shards with work to worker invocations.

The steps, the bound on workers and the lag it reports are docs/pipeline.md, "The schedule, the dispatcher and the
workers".
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

from aws_lambda_powertools import Logger

from ocore_usage.domain.timeline import MICROS_PER_SECOND, now_micros
from ocore_usage.usecases.ports import PendingShards

if TYPE_CHECKING:
    from mypy_boto3_lambda.client import LambdaClient
else:
    LambdaClient = Any

logger = Logger(service="ocore-usage", child=True)


class WorkerLauncher(Protocol):
    def start(self, event: dict[str, Any]) -> None:
        """Start one worker on ``event`` without waiting for it."""


class AsyncInvoker:
    """Starts workers as asynchronous invocations (``InvocationType: Event``) of one function."""

    def __init__(self, client: LambdaClient, function: str) -> None:
        self.client = client
        self.function = function

    def start(self, event: dict[str, Any]) -> None:
        self.client.invoke(FunctionName=self.function, InvocationType="Event", Payload=json.dumps(event).encode())


@dataclass(slots=True)
class Dispatch:
    workers: list[list[int]] = field(default_factory=list)
    """The shards handed to each worker started."""
    running: int = 0
    """Workers that were already running (holding shard leases)."""
    remaining: int = 0
    """Marks pending in the shards with work when the workers were started."""
    oldest_pending_age_seconds: float = 0.0
    launch_failures: int = 0

    def as_response(self) -> dict[str, Any]:
        return {"processed": 0, "remaining": self.remaining, "workers": self.workers}


@dataclass
class RollupDispatcher:
    work: PendingShards
    launcher: WorkerLauncher
    workers: int
    clock: Callable[[], int] = now_micros

    def dispatch(self) -> Dispatch:
        heads = self.work.heads()
        now = self.clock()
        running = {head.lease_owner for head in heads if head.leased(now)}
        result = Dispatch(running=len(running))
        oldest: dict[int, int] = {}  # shard number -> since when its oldest free work waits
        for head in heads:
            if head.pending_since:
                age = max(0, now - head.pending_since) / MICROS_PER_SECOND
                result.oldest_pending_age_seconds = max(result.oldest_pending_age_seconds, age)
            if head.due(now) and not head.leased(now):
                since = head.pending_since or now
                oldest[head.shard] = min(oldest.get(head.shard, since), since)
        shards = sorted(oldest, key=lambda shard: (oldest[shard], shard))
        slots = min(max(0, self.workers - len(running)), len(shards))
        for share in (sorted(shards[index::slots]) for index in range(slots)):
            try:
                self.launcher.start({"shards": share})
                result.workers.append(share)
            except Exception:
                result.launch_failures += 1
                logger.exception(
                    "rollup worker not started; its shards wait for the next dispatch", extra={"shards": share}
                )
        # Counted once the workers are on their way: it is the answer's "remaining", not a reason to wait.
        result.remaining = sum(self.work.count(head.kind, head.shard) for head in heads if head.due(now))
        return result
