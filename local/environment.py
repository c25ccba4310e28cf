"""The environment the local functions run in: the template's variables, env.json overrides, local AWS.

Variables come from the template (``Globals`` merged with each function's own) and may be
overridden by an env.json file as ``sam local --env-vars`` reads it: ``{"Parameters": {...}}``
applies to every function, ``{"<LogicalId>": {...}}`` to one (and wins over ``Parameters``).
As in SAM, an override only replaces a variable the template declares for that function;
others are ignored (and reported).

The runner adds what AWS would supply: a region, placeholder credentials (so that a developer's
real credentials never reach a local endpoint, and no call can reach real AWS with them), and
botocore's own per-service endpoint variables (``AWS_ENDPOINT_URL_DYNAMODB``,
``AWS_ENDPOINT_URL_SSM``, ``AWS_ENDPOINT_URL_LAMBDA`` for functions that invoke functions), so
product code has no local branches.

Functions run in one process (see :mod:`local.functions`), so they share one environment: the
union of their variables. That is sound here because every function declares the same values for
the variables they share (table names, log level); a conflicting override is reported.
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

from local.template import REGION, FunctionSpec, TemplateError

GLOBAL_OVERRIDES = "Parameters"

LOCAL_CREDENTIALS = {
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
}
"""Placeholder credentials: DynamoDB Local and the local SSM accept any."""

REMOVED_VARIABLES = (
    "AWS_PROFILE",
    "AWS_DEFAULT_PROFILE",
    "AWS_SESSION_TOKEN",
    "AWS_SECURITY_TOKEN",
    "AWS_ENDPOINT_URL",
    "AWS_IGNORE_CONFIGURED_ENDPOINT_URLS",
)
"""Variables of the developer's shell that would send local calls elsewhere or with real credentials."""


@dataclass(frozen=True, slots=True)
class EnvOverrides:
    """An env.json file: overrides for every function and per logical id."""

    shared: dict[str, str] = field(default_factory=dict)
    per_function: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def read(cls, path: Path | None) -> EnvOverrides:
        if path is None:
            return cls()
        try:
            document = json.loads(path.read_text(encoding="utf-8"))
        except (OSError, json.JSONDecodeError) as error:
            raise TemplateError(f"cannot read --env-vars {path}: {error}") from error
        if not isinstance(document, dict) or not all(isinstance(v, dict) for v in document.values()):
            raise TemplateError(f'{path}: expected {{"Parameters": {{...}}, "<LogicalId>": {{...}}}}')
        sections = {name: {k: _string(v) for k, v in values.items()} for name, values in document.items()}
        shared = sections.pop(GLOBAL_OVERRIDES, {})
        return cls(shared=shared, per_function=sections)

    def for_function(self, logical_id: str) -> dict[str, str]:
        return {**self.shared, **self.per_function.get(logical_id, {})}


def _string(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    return "" if value is None else str(value)


def function_environment(function: FunctionSpec, overrides: EnvOverrides) -> dict[str, str]:
    """The function's variables: the template's, with the overrides of those it declares."""
    wanted = overrides.for_function(function.logical_id)
    return {name: wanted.get(name, value) for name, value in function.environment.items()}


def ignored_overrides(functions: Iterable[FunctionSpec], overrides: EnvOverrides) -> list[str]:
    """Overrides that change nothing (unknown function, or a variable no function declares)."""
    functions = list(functions)
    declared = {name for f in functions for name in f.environment}
    logical_ids = {f.logical_id for f in functions}
    ignored = [f"{GLOBAL_OVERRIDES}.{n}" for n in overrides.shared if n not in declared]
    for logical_id, values in overrides.per_function.items():
        if logical_id not in logical_ids:
            ignored.append(f"{logical_id} (no such function)")
            continue
        own = next(f for f in functions if f.logical_id == logical_id).environment
        ignored += [f"{logical_id}.{n}" for n in values if n not in own]
    return ignored


def aws_environment(
    dynamodb_endpoint: str, ssm_endpoint: str | None, lambda_endpoint: str | None = None
) -> dict[str, str]:
    """Region, placeholder credentials and the local endpoints, through botocore's own variables."""
    variables = {
        "AWS_DEFAULT_REGION": REGION,
        "AWS_REGION": REGION,
        **LOCAL_CREDENTIALS,
        "AWS_ENDPOINT_URL_DYNAMODB": dynamodb_endpoint,
        "AWS_SAM_LOCAL": "true",  # what sam local sets: Powertools Tracer stays off (no X-Ray daemon here)
    }
    if ssm_endpoint:
        variables["AWS_ENDPOINT_URL_SSM"] = ssm_endpoint
    if lambda_endpoint:
        variables["AWS_ENDPOINT_URL_LAMBDA"] = lambda_endpoint
    return variables


@dataclass(frozen=True, slots=True)
class SharedEnvironment:
    """One process-wide environment for several functions, and the conflicts found building it."""

    variables: dict[str, str]
    conflicts: list[str]


def shared_environment(
    functions: Iterable[FunctionSpec], overrides: EnvOverrides, aws: Mapping[str, str]
) -> SharedEnvironment:
    """The union of the functions' environments (plus ``aws``); a variable with two values is a conflict."""
    variables: dict[str, str] = {}
    owners: dict[str, str] = {}
    conflicts: list[str] = []
    for function in functions:
        for name, value in function_environment(function, overrides).items():
            if name in variables and variables[name] != value:
                conflicts.append(f"{name}: {owners[name]}={variables[name]!r}, {function.logical_id}={value!r}")
                continue
            variables[name] = value
            owners.setdefault(name, function.logical_id)
    return SharedEnvironment(variables={**variables, **aws}, conflicts=conflicts)


def apply(variables: Mapping[str, str]) -> None:
    """Set ``variables`` in this process (before any function is imported) and drop risky shell ones."""
    for name in REMOVED_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(variables)
