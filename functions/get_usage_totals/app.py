"""GET /api/usage/totals: per-project totals of the caller's organization (scope ``usage:read``)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage import wiring
from ocore_usage.api import reads
from ocore_usage.api.http_api import READ_SCOPE, caller_of, create_resolver
from ocore_usage.api.queries import TotalsQuery, parse_query
from ocore_usage.api.representation import ReadRequest, read_answers, respond
from ocore_usage.api.responses import UsageTotals
from ocore_usage.api.routing import Response
from ocore_usage.domain.endpoints import USAGE_TOTALS, rule

logger = Logger()
app = create_resolver()


@app.get(
    rule(USAGE_TOTALS),
    operation_id="getUsageTotals",
    summary="Usage totals",
    description="One record per project of the caller's organization that is active or had usage in the range, "
    "ordered by projectId. Default range: the current UTC month to now. One page holds every record unless limit "
    "asks for fewer (default 5000) or they would pass 5 MB of JSON; nextToken then leads to the next page. "
    "Requires the scope usage:read.",
    responses=read_answers(TotalsQuery, UsageTotals),
)
def get_usage_totals() -> Response:
    caller = caller_of(app).require(READ_SCOPE)
    query = parse_query(TotalsQuery, app.current_event.raw_event)
    answer = reads.usage_totals(wiring.read_service(), caller.read_org, query)
    return respond(answer, ReadRequest.of(app.current_event.raw_event), query.format)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
