"""GET /api/projects/{id}/usage: one project's usage per bucket, with totals (scope ``usage:read``)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage import wiring
from ocore_usage.api import reads
from ocore_usage.api.http_api import READ_SCOPE, caller_of, create_resolver
from ocore_usage.api.queries import ProjectUsageQuery, parse_query, path_project_id
from ocore_usage.api.representation import ReadRequest, read_answers, respond
from ocore_usage.api.responses import UsageReport
from ocore_usage.api.routing import Response
from ocore_usage.domain.endpoints import PROJECT_USAGE, rule

logger = Logger()
app = create_resolver()


# the id as delivered in pathParameters: decoded once, like project_id in the query string
@app.get(
    rule(PROJECT_USAGE),
    operation_id="getProjectUsage",
    summary="Project usage",
    description="Usage of one project of the caller's organization, per bucket, with totals over the range. "
    "Requires the scope usage:read.",
    responses=read_answers(ProjectUsageQuery, UsageReport, not_found=True, path_id=True),
)
def get_project_usage() -> Response:
    caller = caller_of(app).require(READ_SCOPE)
    project_id = path_project_id(app.current_event.raw_event)
    query = parse_query(ProjectUsageQuery, app.current_event.raw_event)
    answer = reads.project_usage(wiring.read_service(), caller.read_org, project_id, query)
    return respond(answer, ReadRequest.of(app.current_event.raw_event), query.format)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
