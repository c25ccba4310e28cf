"""The local stack: what ``make dev`` and the integration tests run, assembled from the template.

:class:`Backends` are what AWS provides around the functions: DynamoDB (DynamoDB Local, or the
one at ``DYNAMODB_ENDPOINT``) holding the template's tables, SSM Parameter Store holding the
secrets, and the environment pointing the functions at both. :class:`LocalStack` adds the
functions (in this process) and serves them as the HTTP API and the Lambda Invoke API.

Configuration comes from the environment, as in the Makefile: ``API_PORT`` (3000),
``LAMBDA_PORT`` (3001), ``DYNAMODB_PORT`` (8000), ``DYNAMODB_ENDPOINT`` (unset: start DynamoDB
Local), ``SEED`` (``0`` skips the demo data).
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import TracebackType

from local import dynamodb, environment
from local.client import API_BASE_PATH, LocalStackClient
from local.demo_chart import DemoChart
from local.environment import EnvOverrides
from local.functions import FunctionHost
from local.http_api import HttpApiGateway
from local.lambda_api import LambdaInvokeApi
from local.parameter_store import LocalParameterStore, local_secrets
from local.processes import port_is_free
from local.server import RunningServer
from local.template import FunctionSpec, Template

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


class StackError(RuntimeError):
    """The stack cannot start as configured."""


def say(message: str) -> None:
    """Progress for the developer, on stderr (stdout belongs to results and the functions' logs)."""
    print(message, file=sys.stderr, flush=True)


@dataclass(frozen=True, slots=True)
class StackConfig:
    template_path: Path = ROOT / "template.yaml"
    api_port: int = 3000
    lambda_port: int = 3001
    dynamodb_port: int = 8000
    dynamodb_endpoint: str | None = None
    seed: bool = True
    env_vars: Path | None = None
    parameter_overrides: dict[str, str] = field(default_factory=dict)

    @classmethod
    def from_environ(
        cls,
        environ: Mapping[str, str] = os.environ,
        *,
        env_vars: Path | None = None,
        parameter_overrides: Mapping[str, str] | None = None,
    ) -> StackConfig:
        """Ports and switches from ``API_PORT``, ``LAMBDA_PORT``, ``DYNAMODB_PORT``, ``DYNAMODB_ENDPOINT``, ``SEED``."""
        return cls(
            api_port=int(environ.get("API_PORT") or 3000),
            lambda_port=int(environ.get("LAMBDA_PORT") or 3001),
            dynamodb_port=int(environ.get("DYNAMODB_PORT") or 8000),
            dynamodb_endpoint=environ.get("DYNAMODB_ENDPOINT") or None,
            seed=(environ.get("SEED") or "1") != "0",
            env_vars=env_vars,
            parameter_overrides=dict(parameter_overrides or {}),
        )

    def template(self) -> Template:
        return Template.load(self.template_path, self.parameter_overrides)


class Backends:
    """DynamoDB with the template's tables, and SSM with its secrets; stopped in reverse order."""

    def __init__(self, config: StackConfig, template: Template) -> None:
        self.config = config
        self.template = template
        self.dynamodb_local: dynamodb.DynamoDBLocal | None = None
        self.parameter_store: LocalParameterStore | None = None
        self.dynamodb_endpoint = config.dynamodb_endpoint or f"http://{HOST}:{config.dynamodb_port}"

    def start(self) -> None:
        """Launch both (DynamoDB Local first: it boots in the background while the rest loads)."""
        if self.config.dynamodb_endpoint is None:
            log = ROOT / ".local" / f"dynamodb-{self.config.dynamodb_port}.log"
            self.dynamodb_local = dynamodb.DynamoDBLocal(ROOT, self.config.dynamodb_port, log)
        self.parameter_store = LocalParameterStore()
        self.parameter_store.put_secrets(local_secrets(self.template))

    def aws_environment(self, lambda_endpoint: str | None = None) -> dict[str, str]:
        """What points the functions at these backends (and at ``lambda_endpoint``, the Invoke API)."""
        ssm = self.parameter_store.endpoint if self.parameter_store else None
        return environment.aws_environment(self.dynamodb_endpoint, ssm, lambda_endpoint)

    def create_tables(self) -> None:
        """Wait for DynamoDB, then create the template's absent tables."""
        if self.dynamodb_local is not None:
            self.dynamodb_local.wait_until_ready()
        elif not dynamodb.answers(self.dynamodb_endpoint):
            raise dynamodb.DynamoDBLocalError(f"nothing answers on DYNAMODB_ENDPOINT={self.dynamodb_endpoint}")
        created = dynamodb.create_tables(dynamodb.client(self.dynamodb_endpoint), self.template.tables.values())
        if created:
            say(f"created tables {', '.join(created)} on {self.dynamodb_endpoint}")

    def stop(self) -> None:
        if self.parameter_store is not None:
            self.parameter_store.stop()
            self.parameter_store = None
        if self.dynamodb_local is not None:
            self.dynamodb_local.stop()
            self.dynamodb_local = None


def load_functions(functions: Iterable[FunctionSpec], variables: Mapping[str, str]) -> FunctionHost:
    """Set the functions' environment, then import each one (reporting any that cannot load)."""
    environment.apply(variables)
    host = FunctionHost(functions)
    for logical_id in host.functions:
        error = host.warm(logical_id)
        if error is not None:
            say(f"warning: {logical_id} cannot load: {error.error_type}: {error.error_message}")
    return host


class LocalStack:
    """Backends, functions and both APIs; use as a context manager or call start/stop."""

    def __init__(self, config: StackConfig) -> None:
        self.config = config
        self.template = config.template()
        self.overrides = EnvOverrides.read(config.env_vars)
        self.backends = Backends(config, self.template)
        self.functions: FunctionHost | None = None
        self.servers: list[RunningServer] = []

    @property
    def base_url(self) -> str:
        return f"http://{HOST}:{self.config.api_port}"

    @property
    def api_url(self) -> str:
        return self.base_url + API_BASE_PATH

    @property
    def lambda_url(self) -> str:
        return f"http://{HOST}:{self.config.lambda_port}"

    @property
    def dynamodb_endpoint(self) -> str:
        return self.backends.dynamodb_endpoint

    def client(self) -> LocalStackClient:
        return LocalStackClient(self.base_url, self.lambda_url, self.template.parameters)

    def start(self) -> None:
        started = time.monotonic()
        for name, port in (("API_PORT", self.config.api_port), ("LAMBDA_PORT", self.config.lambda_port)):
            if not port_is_free(port, HOST):
                raise StackError(f"port {port} is taken: set {name} to another port")
        try:
            self.backends.start()
            functions = list(self.template.functions.values())
            for ignored in environment.ignored_overrides(functions, self.overrides):
                say(f"warning: env-vars override ignored: {ignored}")
            aws = self.backends.aws_environment(self.lambda_url)
            shared = environment.shared_environment(functions, self.overrides, aws)
            for conflict in shared.conflicts:
                say(f"warning: functions share one process, first value kept: {conflict}")
            self.functions = load_functions(functions, shared.variables)
            self.backends.create_tables()
            gateway = HttpApiGateway(self.template.routes, self.template.apis, self.functions)
            api = DemoChart(gateway, self.template.parameters)  # + the local-only /demo/usage.html
            self.servers.append(RunningServer(api, HOST, self.config.api_port, "api"))
            self.servers.append(RunningServer(LambdaInvokeApi(self.functions), HOST, self.config.lambda_port, "lambda"))
        except BaseException:
            self.stop()
            raise
        say(f"stack up in {time.monotonic() - started:.1f}s (DynamoDB {self.dynamodb_endpoint})")

    def stop(self) -> None:
        while self.servers:
            self.servers.pop().stop()
        self.backends.stop()

    def __enter__(self) -> LocalStack:
        self.start()
        return self

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self.stop()
