"""Scheduled rollup: turns pending samples into hourly, daily and monthly rollups.

Invoked with any event. ``{"shards": [0, 5, ...]}`` limits the run to those pending-work shards
(for workers that share the load); otherwise it takes every shard. Returns
``{"processed": <samples>, "remaining": <pending marks>}``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage.rollup import shards_of_event
from ocore_usage.wiring import rollup_service

SAFETY_MARGIN_MS = 30_000
"""Stop taking new batches this long before the function times out."""

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, int]:
    result = rollup_service().run(
        shards_of_event(event),
        has_time=lambda: context.get_remaining_time_in_millis() > SAFETY_MARGIN_MS,
    )
    metrics.add_metric(name="SamplesProcessed", unit=MetricUnit.Count, value=result.processed)
    metrics.add_metric(name="BucketsWritten", unit=MetricUnit.Count, value=result.buckets_written)
    metrics.add_metric(name="PendingMarksRemaining", unit=MetricUnit.Count, value=result.remaining)
    metrics.add_metric(name="OldestPendingMarkAge", unit=MetricUnit.Seconds, value=result.oldest_mark_age_seconds)
    logger.info("rollup run", extra=result.as_response())
    return result.as_response()
