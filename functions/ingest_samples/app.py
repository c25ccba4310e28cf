"""POST /api/usage/samples: metering agents send usage samples (service scope ``usage:write``)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.event_handler import Response
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage.api.http_api import WRITE_SCOPE, caller_of, create_resolver, json_response
from ocore_usage.domain.samples import request_body
from ocore_usage.wiring import ingest_service

logger = Logger()
app = create_resolver()


@app.post("/api/usage/samples")
def post_samples() -> Response[str]:
    caller = caller_of(app).require(WRITE_SCOPE)
    event = app.current_event
    body = request_body(event.body, event.is_base64_encoded)
    accepted = ingest_service().ingest_body(body, writer=caller.subject)
    logger.info("samples accepted", extra={"accepted": accepted, "writer": caller.subject})
    return json_response({"accepted": accepted}, status=202)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
