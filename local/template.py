"""Reads template.yaml into what the local stack runs: tables, functions, HTTP routes, the authorizer.

The template stays the one source of truth: this module parses it (CloudFormation short tags
such as ``!Ref``/``!GetAtt``/``!Sub`` included), merges ``Globals`` into each resource as SAM
does (maps merge, lists concatenate, scalars are replaced), and resolves intrinsics the way a
local run needs them:

- ``!Ref`` of a parameter gives its value (``Default``, or a ``--parameter-overrides`` value);
  of a pseudo parameter a fixed local value (``AWS::Region`` is ``us-east-1``); of a resource its
  logical id, which is also the local name of tables and functions (``SamplesTable``).
- ``!GetAtt X.Arn`` gives an ARN built from the logical id; other attributes give ``X.Attr``.
- ``!Sub``, ``!Join``, ``!Select``, ``!Split``, ``!If`` and the condition functions, ``!FindInMap``
  and ``!Base64`` are evaluated; ``AWS::NoValue`` removes the key or element holding it.
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

REGION = "us-east-1"
ACCOUNT_ID = "123456789012"
STACK_NAME = "ocore-usage-local"
PSEUDO_PARAMETERS = {
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT_ID,
    "AWS::Partition": "aws",
    "AWS::URLSuffix": "amazonaws.com",
    "AWS::StackName": STACK_NAME,
    "AWS::StackId": f"arn:aws:cloudformation:{REGION}:{ACCOUNT_ID}:stack/{STACK_NAME}/local",
    "AWS::NotificationARNs": [],
}
DEFAULT_TIMEOUT = 3
DEFAULT_MEMORY = 128


class TemplateError(ValueError):
    """The template (or an override) cannot be read into a local stack."""


class _NoValue:
    """``AWS::NoValue``: removes the key or list element that holds it."""


NO_VALUE = _NoValue()


# ------------------------------------------------------------------ YAML with CloudFormation tags


class _CloudFormationLoader(yaml.SafeLoader):  # type: ignore[misc]  # PyYAML ships no types
    """A safe loader that reads ``!Tag value`` as the long form ``{"Fn::Tag": value}``."""


def _short_form(loader: yaml.SafeLoader, tag_suffix: str, node: yaml.Node) -> dict[str, Any]:
    value: Any
    if isinstance(node, yaml.ScalarNode):
        value = loader.construct_scalar(node)
    elif isinstance(node, yaml.SequenceNode):
        value = loader.construct_sequence(node, deep=True)
    else:
        value = loader.construct_mapping(node, deep=True)
    if tag_suffix == "Ref":
        return {"Ref": value}
    if tag_suffix == "Condition":
        return {"Condition": value}
    if tag_suffix == "GetAtt" and isinstance(value, str):
        value = value.split(".", 1)
    return {f"Fn::{tag_suffix}": value}


_CloudFormationLoader.add_multi_constructor("!", _short_form)


def load_yaml(text: str) -> dict[str, Any]:
    """Parse CloudFormation YAML (short-form intrinsics become their long form)."""
    document = yaml.load(text, Loader=_CloudFormationLoader)
    if not isinstance(document, dict):
        raise TemplateError("the template is not a mapping")
    return document


# ------------------------------------------------------------------ intrinsic functions


class Intrinsics:
    """Evaluates intrinsic functions against parameters, resources, conditions and mappings."""

    def __init__(self, document: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
        self.resources: Mapping[str, Any] = document.get("Resources") or {}
        self.mappings: Mapping[str, Any] = document.get("Mappings") or {}
        self.condition_definitions: Mapping[str, Any] = document.get("Conditions") or {}
        self.parameters = dict(parameters)
        self._conditions: dict[str, bool] = {}

    def resolve(self, value: Any) -> Any:
        """``value`` with every intrinsic evaluated; ``NO_VALUE`` entries removed."""
        if isinstance(value, list):
            return [v for v in (self.resolve(item) for item in value) if v is not NO_VALUE]
        if not isinstance(value, dict):
            return value
        if len(value) == 1:
            (name, argument), *_ = value.items()
            if name == "Ref" or name.startswith("Fn::") or name == "Condition":
                return self._call(name, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.condition_definitions:
                raise TemplateError(f"unknown condition {name!r}")
            self._conditions[name] = bool(self.resolve(self.condition_definitions[name]))
        return self._conditions[name]

    def ref(self, name: str) -> Any:
        if name == "AWS::NoValue":
            return NO_VALUE
        if name in self.parameters:
            return self.parameters[name]
        if name in PSEUDO_PARAMETERS:
            return PSEUDO_PARAMETERS[name]
        if name in self.resources:
            return name  # the local physical name of a resource is its logical id
        raise TemplateError(f"!Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise TemplateError(f"!GetAtt of unknown resource {logical_id!r}")
        if attribute != "Arn":
            return f"{logical_id}.{attribute}"
        return resource_arn(str(self.resources[logical_id].get("Type", "")), logical_id)

    def _call(self, name: str, argument: Any) -> Any:
        match name:
            case "Ref":
                return self.ref(str(argument))
            case "Condition":
                return self.condition(str(argument))
            case "Fn::GetAtt":
                logical_id, attribute = self.resolve(argument)
                return self.get_att(str(logical_id), str(attribute))
            case "Fn::Sub":
                return self._sub(argument)
            case "Fn::Join":
                delimiter, items = self.resolve(argument)
                return str(delimiter).join(str(i) for i in items)
            case "Fn::Select":
                index, items = self.resolve(argument)
                return items[int(index)]
            case "Fn::Split":
                delimiter, text = self.resolve(argument)
                return str(text).split(str(delimiter))
            case "Fn::If":
                condition, if_true, if_false = argument
                return self.resolve(if_true if self.condition(str(condition)) else if_false)
            case "Fn::Equals":
                left, right = self.resolve(argument)
                return str(left) == str(right)
            case "Fn::Not":
                return not self.resolve(argument)[0]
            case "Fn::And":
                return all(self.resolve(argument))
            case "Fn::Or":
                return any(self.resolve(argument))
            case "Fn::FindInMap":
                mapping, key, attribute = self.resolve(argument)
                return self.mappings[mapping][key][attribute]
            case "Fn::Base64":
                return base64.b64encode(str(self.resolve(argument)).encode()).decode()
            case "Fn::GetAZs":
                return [f"{REGION}{zone}" for zone in "abc"]
            case _:
                raise TemplateError(f"{name} cannot be evaluated locally")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = self.resolve(variables)

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression.startswith("!"):
                return "${" + expression[1:] + "}"  # ${!Literal} stays literal
            if expression in values:
                return str(values[expression])
            if "." in expression and expression.split(".", 1)[0] in self.resources:
                return self.get_att(*expression.split(".", 1))
            return str(self.ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


def resource_arn(resource_type: str, logical_id: str) -> str:
    """A local ARN for a resource, named by its logical id."""
    if resource_type in ("AWS::Serverless::Function", "AWS::Lambda::Function"):
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{logical_id}"
    if resource_type == "AWS::DynamoDB::Table":
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{logical_id}"
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "local"
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{logical_id}"


def merge_globals(global_value: Any, local_value: Any) -> Any:
    """SAM's Globals rule: maps merge key by key, lists concatenate, a local scalar wins."""
    if isinstance(global_value, dict) and isinstance(local_value, dict):
        merged = dict(global_value)
        for key, value in local_value.items():
            merged[key] = merge_globals(global_value[key], value) if key in global_value else value
        return merged
    if isinstance(global_value, list) and isinstance(local_value, list):
        return global_value + local_value
    return local_value


# ------------------------------------------------------------------ what the local stack runs


@dataclass(frozen=True, slots=True)
class TableSpec:
    """An ``AWS::DynamoDB::Table``: what ``CreateTable`` needs."""

    logical_id: str
    name: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)
    local_secondary_indexes: list[dict[str, Any]] = field(default_factory=list)

    def create_table_request(self) -> dict[str, Any]:
        """Keyword arguments of boto3 ``create_table`` (on-demand billing, as locally it makes no odds)."""
        request: dict[str, Any] = {
            "TableName": self.name,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.global_secondary_indexes:
            request["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in self.global_secondary_indexes
            ]
        if self.local_secondary_indexes:
            request["LocalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in self.local_secondary_indexes
            ]
        return request


@dataclass(frozen=True, slots=True)
class Route:
    """One ``HttpApi`` event of a function: ``METHOD /path`` on an API, behind an authorizer or not."""

    method: str
    path: str
    function: str
    api: str
    authorizer: str | None

    @property
    def route_key(self) -> str:
        return f"{self.method} {self.path}"


@dataclass(frozen=True, slots=True)
class LambdaAuthorizer:
    """A Lambda authorizer of an HTTP API (SAM ``Auth.Authorizers.<name>``)."""

    name: str
    function: str
    identity_headers: tuple[str, ...]
    identity_query_strings: tuple[str, ...]
    reauthorize_every: int
    simple_responses: bool
    payload_version: str

    @property
    def identity_sources(self) -> tuple[str, ...]:
        """The identity source expressions, as API Gateway names them."""
        return tuple(f"$request.header.{h}" for h in self.identity_headers) + tuple(
            f"$request.querystring.{q}" for q in self.identity_query_strings
        )


@dataclass(frozen=True, slots=True)
class Cors:
    """An HTTP API's ``CorsConfiguration``: API Gateway answers preflights from it."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    max_age: int | None

    @classmethod
    def of(cls, configuration: Any) -> Cors | None:
        if not isinstance(configuration, dict):
            return None  # ``CorsConfiguration: true`` or absent: nothing to answer locally
        max_age = configuration.get("MaxAge")
        return cls(
            allow_origins=tuple(str(o) for o in configuration.get("AllowOrigins") or ()),
            allow_methods=tuple(str(m) for m in configuration.get("AllowMethods") or ()),
            allow_headers=tuple(str(h) for h in configuration.get("AllowHeaders") or ()),
            max_age=None if max_age is None else int(max_age),
        )

    def allowed_origin(self, origin: str) -> str | None:
        if "*" in self.allow_origins:
            return "*"
        return origin if origin in self.allow_origins else None


@dataclass(frozen=True, slots=True)
class HttpApiSpec:
    """An ``AWS::Serverless::HttpApi``: its authorizers, stage variables and CORS configuration."""

    logical_id: str
    authorizers: dict[str, LambdaAuthorizer]
    default_authorizer: str | None
    stage_variables: dict[str, str]
    cors: Cors | None


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    """An ``AWS::Serverless::Function`` with ``Globals`` merged in."""

    logical_id: str
    code_uri: Path
    handler: str
    runtime: str
    timeout: int
    memory_size: int
    environment: dict[str, str]
    layers: tuple[Path, ...]
    routes: tuple[Route, ...]
    reserved_concurrency: int | None = None
    """``ReservedConcurrentExecutions``: at most this many invocations at once (None: no limit)."""

    @property
    def arn(self) -> str:
        return resource_arn("AWS::Serverless::Function", self.logical_id)


IMPLICIT_HTTP_API = "ServerlessHttpApi"
"""The API SAM creates for ``HttpApi`` events that name no ``ApiId``."""


@dataclass(frozen=True, slots=True)
class Template:
    """Everything the local stack takes from template.yaml."""

    path: Path
    parameters: dict[str, str]
    tables: dict[str, TableSpec]
    functions: dict[str, FunctionSpec]
    apis: dict[str, HttpApiSpec]

    @property
    def root(self) -> Path:
        return self.path.parent

    @property
    def routes(self) -> list[Route]:
        return [route for function in self.functions.values() for route in function.routes]

    def function(self, logical_id: str) -> FunctionSpec:
        try:
            return self.functions[logical_id]
        except KeyError:
            known = ", ".join(sorted(self.functions))
            raise TemplateError(f"no function {logical_id!r} in {self.path.name} (functions: {known})") from None

    @classmethod
    def load(cls, path: Path, parameter_overrides: Mapping[str, str] | None = None) -> Template:
        return read_template(path, parameter_overrides or {})


def read_template(path: Path, parameter_overrides: Mapping[str, str]) -> Template:
    """Read ``path`` with ``parameter_overrides`` applied to its parameters."""
    path = path.resolve()
    document = load_yaml(path.read_text(encoding="utf-8"))
    declared: Mapping[str, Any] = document.get("Parameters") or {}
    unknown = sorted(set(parameter_overrides) - set(declared))
    if unknown:
        raise TemplateError(f"parameter overrides name no parameter of the template: {', '.join(unknown)}")
    parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
    parameters.update(parameter_overrides)
    intrinsics = Intrinsics(document, parameters)
    resources: Mapping[str, Any] = document.get("Resources") or {}
    global_sections: Mapping[str, Any] = document.get("Globals") or {}
    root = path.parent

    def properties_of(logical_id: str, globals_section: str | None = None) -> dict[str, Any]:
        raw = resources[logical_id].get("Properties") or {}
        if globals_section:
            raw = merge_globals(global_sections.get(globals_section) or {}, raw)
        resolved: dict[str, Any] = intrinsics.resolve(raw)
        return resolved

    def included(logical_id: str) -> bool:
        condition = resources[logical_id].get("Condition")
        return condition is None or intrinsics.condition(str(condition))

    def of_type(*types: str) -> list[str]:
        return [lid for lid, r in resources.items() if r.get("Type") in types and included(lid)]

    tables = {lid: _table(lid, properties_of(lid)) for lid in of_type("AWS::DynamoDB::Table")}
    apis = {lid: _http_api(lid, properties_of(lid, "HttpApi")) for lid in of_type("AWS::Serverless::HttpApi")}
    layers = {
        lid: root / str(properties_of(lid).get("ContentUri", "")) for lid in of_type("AWS::Serverless::LayerVersion")
    }
    functions = {
        lid: _function(lid, properties_of(lid, "Function"), root, apis, layers)
        for lid in of_type("AWS::Serverless::Function")
    }
    return Template(path=path, parameters=parameters, tables=tables, functions=functions, apis=apis)


def _table(logical_id: str, properties: Mapping[str, Any]) -> TableSpec:
    return TableSpec(
        logical_id=logical_id,
        name=str(properties.get("TableName") or logical_id),
        key_schema=list(properties["KeySchema"]),
        attribute_definitions=list(properties["AttributeDefinitions"]),
        global_secondary_indexes=list(properties.get("GlobalSecondaryIndexes") or []),
        local_secondary_indexes=list(properties.get("LocalSecondaryIndexes") or []),
    )


def _http_api(logical_id: str, properties: Mapping[str, Any]) -> HttpApiSpec:
    auth: Mapping[str, Any] = properties.get("Auth") or {}
    authorizers: dict[str, LambdaAuthorizer] = {}
    for name, spec in (auth.get("Authorizers") or {}).items():
        if "FunctionArn" not in spec:
            continue  # JWT authorizers are API Gateway's own; only Lambda authorizers run locally
        identity: Mapping[str, Any] = spec.get("Identity") or {}
        authorizers[name] = LambdaAuthorizer(
            name=name,
            function=function_name_of(str(spec["FunctionArn"])),
            identity_headers=tuple(identity.get("Headers") or ()),
            identity_query_strings=tuple(identity.get("QueryStrings") or ()),
            reauthorize_every=int(identity.get("ReauthorizeEvery", 300)),
            simple_responses=bool(spec.get("EnableSimpleResponses", False)),
            payload_version=str(spec.get("AuthorizerPayloadFormatVersion", "2.0")),
        )
    return HttpApiSpec(
        logical_id=logical_id,
        authorizers=authorizers,
        default_authorizer=auth.get("DefaultAuthorizer"),
        stage_variables={k: str(v) for k, v in (properties.get("StageVariables") or {}).items()},
        cors=Cors.of(properties.get("CorsConfiguration")),
    )


def function_name_of(arn_or_name: str) -> str:
    """``Name`` from ``arn:aws:lambda:region:account:function:Name[:qualifier]``, or a plain name."""
    if arn_or_name.startswith("arn:"):
        parts = arn_or_name.split(":")
        return parts[6] if len(parts) > 6 else arn_or_name
    return arn_or_name.split(":", 1)[0]


def _function(
    logical_id: str,
    properties: Mapping[str, Any],
    root: Path,
    apis: Mapping[str, HttpApiSpec],
    layers: Mapping[str, Path],
) -> FunctionSpec:
    variables: Mapping[str, Any] = (properties.get("Environment") or {}).get("Variables") or {}
    routes: list[Route] = []
    for event in (properties.get("Events") or {}).values():
        if event.get("Type") != "HttpApi":
            continue
        event_properties: Mapping[str, Any] = event.get("Properties") or {}
        api_id = str(event_properties.get("ApiId") or IMPLICIT_HTTP_API)
        api = apis.get(api_id)
        authorizer = (event_properties.get("Auth") or {}).get("Authorizer") or (api and api.default_authorizer)
        routes.append(
            Route(
                method=str(event_properties.get("Method", "ANY")).upper(),
                path=str(event_properties.get("Path", "$default")),
                function=logical_id,
                api=api_id,
                authorizer=None if authorizer in (None, "NONE") else str(authorizer),
            )
        )
    return FunctionSpec(
        logical_id=logical_id,
        code_uri=root / str(properties.get("CodeUri", ".")),
        handler=str(properties["Handler"]),
        runtime=str(properties.get("Runtime", "")),
        timeout=int(properties.get("Timeout", DEFAULT_TIMEOUT)),
        memory_size=int(properties.get("MemorySize", DEFAULT_MEMORY)),
        environment={name: _env_value(v) for name, v in variables.items()},
        layers=tuple(layers[str(layer)] for layer in properties.get("Layers") or () if str(layer) in layers),
        routes=tuple(routes),
        reserved_concurrency=(
            int(properties["ReservedConcurrentExecutions"]) if "ReservedConcurrentExecutions" in properties else None
        ),
    )


def _env_value(value: Any) -> str:
    """An environment value as Lambda stores it: a string (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict | list):
        return ""  # an intrinsic that cannot be evaluated locally, as sam local does
    return str(value)
