"""GET /api/projects/{id}/usage: one project's usage per bucket, with totals (scope ``usage:read``)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage import wiring
from ocore_usage.api import reads
from ocore_usage.api.http_api import READ_SCOPE, caller_of, create_resolver
from ocore_usage.api.queries import ProjectUsageQuery, parse_query, path_project_id
from ocore_usage.api.representation import ReadRequest, respond

logger = Logger()
app = create_resolver()


# API Gateway routed the request here by its {id} segment and hands the path over percent-decoded,
# so the segment may hold any character: match it whole, and take the id as delivered in
# pathParameters (decoded once, like project_id in the query string).
@app.get("/api/projects/[^/]+/usage")
def get_project_usage() -> Response[str]:
    caller = caller_of(app).require(READ_SCOPE)
    project_id = path_project_id(app.current_event.raw_event)
    query = parse_query(ProjectUsageQuery, app.current_event.raw_event)
    answer = reads.project_usage(wiring.read_service(), caller.read_org, project_id, query)
    return respond(answer, ReadRequest.of(app.current_event.raw_event), query.format)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
