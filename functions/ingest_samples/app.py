"""POST /api/usage/samples: metering agents send usage samples (service scope ``usage:write``)."""

from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage.api.http_api import (
    FAULT,
    FORBIDDEN,
    UNAUTHORIZED,
    WRITE_SCOPE,
    caller_of,
    create_resolver,
    problem_answers,
)
from ocore_usage.api.routing import Response, json_response
from ocore_usage.domain.endpoints import USAGE_SAMPLES, rule
from ocore_usage.domain.problems import ProblemCode
from ocore_usage.domain.samples import request_body
from ocore_usage.wiring import ingest_service

logger = Logger()
app = create_resolver()


@app.post(
    rule(USAGE_SAMPLES),
    operation_id="postUsageSamples",
    summary="Ingest usage samples",
    description="Metering agents send 1 to 1000 samples; all-or-nothing validation; idempotent per "
    "(projectId, sampleId). Requires the service scope usage:write.",
    responses={
        202: {
            "description": "Every sample is stored.",
            "content": {
                "application/json": {
                    "schema": {
                        "type": "object",
                        "required": ["accepted"],
                        "additionalProperties": False,
                        "properties": {"accepted": {"type": "integer", "minimum": 1}},
                    }
                }
            },
        },
        400: problem_answers(
            "The body is empty or not JSON.",
            ProblemCode.MALFORMED_REQUEST,
            examples={ProblemCode.MALFORMED_REQUEST: "POST /api/usage/samples with a body that is not JSON"},
        ),
        401: UNAUTHORIZED,
        403: FORBIDDEN,
        413: problem_answers("Too many samples, or too large a body.", ProblemCode.PAYLOAD_TOO_LARGE),
        422: problem_answers(
            "Samples not acceptable; errors lists each bad sample by index and field.",
            ProblemCode.VALIDATION_ERROR,
            ProblemCode.SAMPLE_OUT_OF_WINDOW,
        ),
        500: FAULT,
    },
)
def post_samples() -> Response:
    caller = caller_of(app).require(WRITE_SCOPE)
    event = app.current_event
    body = request_body(event.body, event.is_base64_encoded)
    accepted = ingest_service().ingest_body(body, writer=caller.subject)
    logger.info("samples accepted", extra={"accepted": accepted, "writer": caller.subject})
    return json_response({"accepted": accepted}, status=202)


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return app.resolve(event, context)
