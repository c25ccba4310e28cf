"""GET /api/usage: the organization's usage per project and bucket, or one project's (scope ``usage:read``)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage import wiring
from ocore_usage.api import reads
from ocore_usage.api.http_api import READ_SCOPE, caller_of, create_resolver
from ocore_usage.api.queries import UsageQuery, parse_query
from ocore_usage.api.representation import ReadRequest, read_answers, respond
from ocore_usage.api.responses import UsageReport
from ocore_usage.api.routing import Response
from ocore_usage.domain.endpoints import USAGE, rule

logger = Logger()
app = create_resolver()


@app.get(
    rule(USAGE),
    operation_id="getUsage",
    summary="Usage report",
    description="Usage per project and bucket for the caller's whole organization, or for one project with "
    "project_id; totals over the range (organization-wide: the org-wide instance peak). Requires the scope "
    "usage:read.",
    responses=read_answers(UsageQuery, UsageReport, not_found=True),
)
def get_usage() -> Response:
    caller = caller_of(app).require(READ_SCOPE)
    query = parse_query(UsageQuery, app.current_event.raw_event)
    answer = reads.usage(wiring.read_service(), caller.read_org, query)
    return respond(answer, ReadRequest.of(app.current_event.raw_event), query.format)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
