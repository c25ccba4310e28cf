"""ProjectSync: applies ``ocore.projects`` EventBridge events to the project registry."""

from typing import Any

from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.metrics import MetricUnit
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage.usecases.projects import Outcome
from ocore_usage.wiring import project_sync

logger = Logger()
metrics = Metrics()

_METRIC = {
    Outcome.APPLIED: "ProjectEventsApplied",
    Outcome.STALE: "ProjectEventsStale",
    Outcome.ORG_CONFLICT: "ProjectOrgChangesRefused",
}


@metrics.log_metrics
@logger.inject_lambda_context
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    result = project_sync().apply(event)
    metrics.add_metric(name=_METRIC[result.outcome], unit=MetricUnit.Count, value=1)
    if result.outcome is Outcome.ORG_CONFLICT:
        logger.warning("project event names another org; refused", extra={"projectId": result.project_id})
    else:
        logger.info("project event", extra={"projectId": result.project_id, "outcome": result.outcome})
    return {"projectId": result.project_id, "outcome": result.outcome.value, "releasedHours": result.released_hours}
