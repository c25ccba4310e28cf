"""Authorizer: verifies the bearer JWT of an HTTP API request (payload 2.0, simple responses).

Answers ``{"isAuthorized": true, "context": {"orgId", "sub", "scopes"}}`` or
``{"isAuthorized": false}``; the rules live in ``ocore_usage.api.auth``.
"""

from functools import cache
from typing import Any

from aws_lambda_powertools import Logger
from aws_lambda_powertools.logging import correlation_paths
from aws_lambda_powertools.utilities.typing import LambdaContext

from ocore_usage.api.auth import TokenVerifier, authorize, verifier_from_settings
from ocore_usage.settings import TokenSettings

logger = Logger()


@cache
def verifier() -> TokenVerifier:
    """One verifier per process: its SSM secret and JWKS client caches outlive invocations."""
    return verifier_from_settings(TokenSettings.from_environ())


@logger.inject_lambda_context(correlation_id_path=correlation_paths.API_GATEWAY_HTTP)
def lambda_handler(event: dict[str, Any], context: LambdaContext) -> dict[str, Any]:
    return authorize(event, verifier()).asdict()
