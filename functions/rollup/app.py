"""Rollup: turns pending samples into hourly, daily and monthly rollups.

- ``{"dispatch": true}`` (what the schedule sends): start worker invocations of this function
  for the shards with work; returns ``{"processed": 0, "remaining": <pending marks>, "workers": [...]}``;
- ``{"shards": [0, 5, ...]}`` (a worker): roll those shards;
- ``{"shardCount": n}``: grow the number of pending-work shards to ``n``, then roll every shard;
- any other event: roll every shard in this invocation.

Rolling returns ``{"processed": <samples>, "remaining": <pending marks>}``.
"""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage.domain.timeline import now_micros
from ocore_usage.usecases.rollup import Deadline, RollupRequest
from ocore_usage.wiring import rollup_dispatcher, rollup_service

logger = Logger()
metrics = Metrics()


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: Any, context: LambdaContext) -> dict[str, Any]:
    request = RollupRequest.of(event)
    if request.dispatch:
        dispatch = rollup_dispatcher(context.invoked_function_arn).dispatch()
        metrics.add_metric(name="RollupWorkersStarted", unit=MetricUnit.Count, value=len(dispatch.workers))
        metrics.add_metric(name="RollupWorkerLaunchFailures", unit=MetricUnit.Count, value=dispatch.launch_failures)
        metrics.add_metric(name="PendingMarksRemaining", unit=MetricUnit.Count, value=dispatch.remaining)
        metrics.add_metric(
            name="OldestPendingMarkAge", unit=MetricUnit.Seconds, value=dispatch.oldest_pending_age_seconds
        )
        logger.info("rollup dispatch", extra={**dispatch.as_response(), "running": dispatch.running})
        return dispatch.as_response()
    if request.grow_to is not None:
        logger.info("rollup shard count", extra={"shards": rollup_service().work.grow(request.grow_to, now_micros())})
    result = rollup_service().run(request.shards, Deadline(context.get_remaining_time_in_millis))
    metrics.add_metric(name="SamplesProcessed", unit=MetricUnit.Count, value=result.processed)
    metrics.add_metric(name="BucketsWritten", unit=MetricUnit.Count, value=result.buckets_written)
    metrics.add_metric(name="PendingMarksRemaining", unit=MetricUnit.Count, value=result.remaining)
    metrics.add_metric(name="OldestPendingMarkAge", unit=MetricUnit.Seconds, value=result.oldest_mark_age_seconds)
    metrics.add_metric(name="RollupFailures", unit=MetricUnit.Count, value=result.failures)
    logger.info("rollup run", extra={**result.as_response(), "failed": result.failed})
    return result.as_response()
