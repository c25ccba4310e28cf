"""``python -m local <command>``: the commands behind ``make dev``, ``make token``, ``make invoke``, ``make seed``.

- ``dev``: the whole stack in the foreground, seeded unless ``SEED=0``; Ctrl-C or SIGTERM stops it.
- ``token --org ORG --scope SCOPES [--ttl S]``: a local token, on the last line: a tenant's
  (``--org org_demo --scope usage:read``) or a metering agent's (``--org "" --scope usage:write``);
  an org with ``usage:write`` is refused.
- ``invoke <LogicalId> [--event FILE|-]``: one function in this process, like ``sam local invoke``,
  against ``DYNAMODB_ENDPOINT`` or a DynamoDB Local started for the occasion; prints its result.
  The function may invoke itself asynchronously (the rollup's dispatcher does): an Invoke API
  serves it on a free port until those invocations have run.
- ``seed``: the demo data, into a stack that is running (``API_PORT``/``LAMBDA_PORT``).

``--env-vars`` and ``--parameter-overrides`` mean what they mean to ``sam local``.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import signal
import sys
import threading
from pathlib import Path
from types import FrameType
from typing import Any

from local import environment
from local.client import LocalStackClient
from local.demo_chart import DEMO_CHART_PATH
from local.dynamodb import DynamoDBLocalError
from local.environment import EnvOverrides
from local.lambda_api import LambdaInvokeApi
from local.processes import free_port
from local.seed import seed_demo
from local.server import RunningServer
from local.stack import HOST, Backends, LocalStack, StackConfig, StackError, load_functions, say
from local.template import TemplateError
from local.tokens import DEFAULT_SUBJECT, DEFAULT_TTL_SECONDS, TokenRefused, mint_token


def parameter_overrides(values: list[str]) -> dict[str, str]:
    """SAM's ``--parameter-overrides``: ``Key=Value`` or ``ParameterKey=Key,ParameterValue=Value``."""
    overrides: dict[str, str] = {}
    for value in values:
        if value.startswith("ParameterKey="):
            key_part, _, value_part = value.partition(",ParameterValue=")
            overrides[key_part.removeprefix("ParameterKey=")] = value_part
            continue
        key, separator, text = value.partition("=")
        if not separator:
            raise TemplateError(f"--parameter-overrides expects Key=Value, got {value!r}")
        overrides[key] = text
    return overrides


def _config(arguments: argparse.Namespace) -> StackConfig:
    return StackConfig.from_environ(
        env_vars=arguments.env_vars,
        parameter_overrides=parameter_overrides(arguments.parameter_overrides),
    )


def _stop_on_signals() -> None:
    """SIGTERM and SIGINT both stop the stack (SIGINT explicitly: a shell may start us with it ignored)."""

    def stop(signum: int, frame: FrameType | None) -> None:
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)


def command_dev(arguments: argparse.Namespace) -> int:
    _stop_on_signals()
    stack = LocalStack(_config(arguments))
    try:
        stack.start()
        if stack.config.seed:
            try:
                say(str(seed_demo(stack.client())))
            except Exception as error:  # the stack still serves; say why there is no demo data
                say(f"warning: demo data not seeded: {error}")
        say(f"demo chart: {stack.base_url}{DEMO_CHART_PATH} · API docs: {stack.api_url}/docs")
        print(f"ready: API {stack.api_url} · Lambda {stack.lambda_url}", flush=True)
        threading.Event().wait()
    except KeyboardInterrupt:
        say("stopping")
    finally:
        stack.stop()
    return 0


def command_token(arguments: argparse.Namespace) -> int:
    template = _config(arguments).template()
    print(
        mint_token(
            template.parameters,
            org=arguments.org or None,
            scope=arguments.scope,
            ttl=arguments.ttl,
            subject=arguments.sub,
        )
    )
    return 0


def _read_event(source: str | None) -> Any:
    if source is None:
        return {}
    text = sys.stdin.read() if source == "-" else Path(source).read_text(encoding="utf-8")
    return json.loads(text) if text.strip() else {}


def command_invoke(arguments: argparse.Namespace) -> int:
    config = _config(arguments)
    template = config.template()
    function = template.function(arguments.function)
    event = _read_event(arguments.event)
    overrides = EnvOverrides.read(config.env_vars)
    backends = Backends(config, template)
    output = sys.stdout
    invoke_api: RunningServer | None = None
    lambda_port = free_port()
    try:
        backends.start()
        aws = backends.aws_environment(f"http://{HOST}:{lambda_port}")
        variables = {**environment.function_environment(function, overrides), **aws}
        # The function's logs go to stderr, so stdout carries only the result (as with sam local invoke).
        with contextlib.redirect_stdout(sys.stderr):
            host = load_functions([function], variables)
            backends.create_tables()
            invoke_api = RunningServer(LambdaInvokeApi(host), HOST, lambda_port, "lambda")
            invocation = host.invoke(function.logical_id, event)
            host.wait_for_events()
    finally:
        if invoke_api is not None:
            invoke_api.stop()
        backends.stop()
    print(json.dumps(invocation.result, indent=2), file=output)
    return 1 if invocation.error else 0


def command_seed(arguments: argparse.Namespace) -> int:
    config = _config(arguments)
    client = LocalStackClient(
        f"http://{HOST}:{config.api_port}", f"http://{HOST}:{config.lambda_port}", config.template().parameters
    )
    say(str(seed_demo(client)))
    return 0


def parser() -> argparse.ArgumentParser:
    root = argparse.ArgumentParser(prog="python -m local", description=__doc__.splitlines()[0].strip("`"))
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("--env-vars", type=Path, help='env.json: {"Parameters": {...}, "<LogicalId>": {...}}')
    common.add_argument(
        "--parameter-overrides", nargs="*", default=[], metavar="KEY=VALUE", help="template parameter values"
    )
    commands = root.add_subparsers(dest="command", required=True)
    commands.add_parser("dev", parents=[common], help="run the stack in the foreground").set_defaults(run=command_dev)
    token = commands.add_parser("token", parents=[common], help="print a local token")
    token.add_argument(
        "--org", default="", help="org_id claim (empty for a usage:write service token, which carries none)"
    )
    token.add_argument(
        "--scope", default="usage:read", help="space-separated, e.g. usage:read (with --org) or usage:write (without)"
    )
    token.add_argument("--ttl", type=int, default=DEFAULT_TTL_SECONDS, help="seconds until exp")
    token.add_argument("--sub", default=DEFAULT_SUBJECT, help="sub claim")
    token.set_defaults(run=command_token)
    invoke = commands.add_parser("invoke", parents=[common], help="run one function in-process")
    invoke.add_argument("function", help="logical id, e.g. RollupFunction")
    invoke.add_argument("--event", "-e", help="event JSON file, or - for stdin (default: {})")
    invoke.set_defaults(run=command_invoke)
    commands.add_parser("seed", parents=[common], help="seed demo data into a running stack").set_defaults(
        run=command_seed
    )
    return root


def main(argv: list[str] | None = None) -> int:
    arguments = parser().parse_args(argv)
    try:
        code: int = arguments.run(arguments)
    except (TemplateError, StackError, DynamoDBLocalError, TokenRefused) as error:
        say(f"error: {error}")
        return 2
    return code


if __name__ == "__main__":
    sys.exit(main())
