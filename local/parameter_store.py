"""SSM Parameter Store for the local stack: moto's server in a thread, holding the stack's secrets.

The functions read their secrets from SSM by the names the template gives them in their
environment (``JWT_SECRET_PARAMETER``: the HS256 secret the authorizer verifies tokens with;
``PAGINATION_KEY_PARAMETER``: the key that signs pagination tokens; per stage unless the
template's parameters name others), through Powertools parameters and botocore's
``AWS_ENDPOINT_URL_SSM``. Locally the runner puts them there, as an
operator does before ``sam deploy``: the JWT secret is the fixed local one (so ``make token``
works against any local stack), the pagination key is fresh on each start.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from local.template import REGION, Template

if TYPE_CHECKING:
    from mypy_boto3_ssm.client import SSMClient

LOCAL_JWT_SECRET = "ocore-local-dev-secret-not-for-production"

SECRET_PARAMETERS: dict[str, Callable[[], str]] = {
    "JWT_SECRET_PARAMETER": lambda: LOCAL_JWT_SECRET,
    "PAGINATION_KEY_PARAMETER": lambda: secrets.token_urlsafe(32),
}
"""Function environment variable naming an SSM parameter -> the local value to store under that name."""


def local_secrets(template: Template) -> dict[str, str]:
    """SSM parameter name -> value, for each secret some function of ``template`` reads."""
    names = {
        variable: function.environment[variable]
        for function in template.functions.values()
        for variable in SECRET_PARAMETERS
        if function.environment.get(variable)
    }
    return {name: SECRET_PARAMETERS[variable]() for variable, name in names.items()}


class LocalParameterStore:
    """moto's SSM (any moto service, in fact) served on 127.0.0.1 in a daemon thread."""

    def __init__(self, port: int = 0) -> None:
        from moto.server import ThreadedMotoServer

        logging.getLogger("werkzeug").setLevel(logging.ERROR)  # no access log line per SSM call
        self._server = ThreadedMotoServer(ip_address="127.0.0.1", port=port, verbose=False)
        self._server.start()
        host, bound = self._server.get_host_and_port()
        self.endpoint = f"http://{host}:{bound}"

    def client(self) -> SSMClient:
        import boto3

        return boto3.client(
            "ssm",
            endpoint_url=self.endpoint,
            region_name=REGION,
            aws_access_key_id="local",
            aws_secret_access_key="local",
        )

    def put_secrets(self, values: Mapping[str, str]) -> None:
        ssm = self.client()
        for name, value in values.items():
            ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)

    def stop(self) -> None:
        self._server.stop()
