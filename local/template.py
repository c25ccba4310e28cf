"""Reads template.yaml into what the local stack runs: tables, functions, HTTP routes, the authorizer.

The one parser of template.yaml (the tests read it through here too). It reads what template.yaml
uses, and refuses anything else with a :class:`TemplateError` naming the thing and the resource,
rather than half-run it:

- intrinsics: ``!Ref`` (a parameter gives its value, ``Default`` or a ``--parameter-overrides``
  value; a pseudo parameter a fixed local value; a resource its logical id, which is also the
  local name of tables and functions), ``!GetAtt X.Arn`` (an ARN built from the logical id),
  ``!Sub`` (both forms), ``!If`` on the template's ``Conditions`` (``!Equals``, ``!Not``) and
  ``AWS::NoValue``, which removes the key or element holding it;
- ``Globals.Function``, merged into each function as SAM does (maps merge, lists concatenate,
  scalars are replaced);
- ``AWS::Serverless::HttpApi`` with stage variables, a CORS configuration and Lambda authorizers
  answering simple responses in payload format 2.0, identified by headers;
- ``HttpApi`` events routing one method on a path of literal segments and ``{name}`` parameters.

Events of other types (the schedule, EventBridge rules) are not run locally; ``make dev`` and the
tests invoke those functions through the Invoke API.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass
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
    "AWS::StackName": STACK_NAME,
}
INTRINSICS = ("Ref", "Fn::GetAtt", "Fn::Sub", "Fn::If", "Fn::Equals", "Fn::Not")
"""The intrinsic functions the local runner evaluates: those template.yaml uses."""
HTTP_METHODS = frozenset({"GET", "POST", "PUT", "PATCH", "DELETE", "HEAD", "OPTIONS"})
ROUTE_PATH = re.compile(r"(/([A-Za-z0-9._~-]+|\{[A-Za-z_][A-Za-z0-9_]*\}))+")
"""A route path the local router takes: literal segments and ``{name}`` parameters."""
LAYER = "AWS::Serverless::LayerVersion"
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
    """Evaluates the :data:`INTRINSICS` against parameters, resources and conditions."""

    def __init__(self, document: Mapping[str, Any], parameters: Mapping[str, str]) -> None:
        self.resources: Mapping[str, Any] = document.get("Resources") or {}
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
            ((name, argument),) = value.items()
            if name == "Ref" or name.startswith("Fn::"):
                return self._call(name, argument)
        resolved = {k: self.resolve(v) for k, v in value.items()}
        return {k: v for k, v in resolved.items() if v is not NO_VALUE}

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            if name not in self.condition_definitions:
                raise TemplateError(f"unknown condition {name!r}")
            try:
                self._conditions[name] = bool(self.resolve(self.condition_definitions[name]))
            except TemplateError as error:
                raise TemplateError(f"condition {name}: {error}") from None
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
        raise TemplateError(f"Ref to unknown name {name!r}")

    def get_att(self, logical_id: str, attribute: str) -> str:
        if logical_id not in self.resources:
            raise TemplateError(f"Fn::GetAtt of unknown resource {logical_id!r}")
        if attribute != "Arn":
            raise TemplateError(f"Fn::GetAtt {logical_id}.{attribute} is not supported locally (only .Arn)")
        return resource_arn(str(self.resources[logical_id].get("Type", "")), logical_id)

    def _call(self, name: str, argument: Any) -> Any:
        match name:
            case "Ref":
                return self.ref(str(argument))
            case "Fn::GetAtt":
                logical_id, attribute = self.resolve(argument)
                return self.get_att(str(logical_id), str(attribute))
            case "Fn::Sub":
                return self._sub(argument)
            case "Fn::If":
                condition, if_true, if_false = argument
                return self.resolve(if_true if self.condition(str(condition)) else if_false)
            case "Fn::Equals":
                left, right = self.resolve(argument)
                return str(left) == str(right)
            case "Fn::Not":
                (operand,) = self.resolve(argument)
                return not operand
            case _:
                raise TemplateError(f"{name} is not supported locally (the runner evaluates {', '.join(INTRINSICS)})")

    def _sub(self, argument: Any) -> str:
        text, variables = (argument, {}) if isinstance(argument, str) else argument
        values = self.resolve(variables)

        def replace(match: re.Match[str]) -> str:
            expression = match.group(1)
            if expression in values:
                return str(values[expression])
            logical_id, dot, attribute = expression.partition(".")
            return self.get_att(logical_id, attribute) if dot else str(self.ref(expression))

        return re.sub(r"\$\{([^}]+)\}", replace, str(text))


def resource_arn(resource_type: str, logical_id: str) -> str:
    """A local ARN for a resource, named by its logical id."""
    if resource_type == "AWS::Serverless::Function":
        return f"arn:aws:lambda:{REGION}:{ACCOUNT_ID}:function:{logical_id}"
    if resource_type == "AWS::DynamoDB::Table":
        return f"arn:aws:dynamodb:{REGION}:{ACCOUNT_ID}:table/{logical_id}"
    service = resource_type.split("::")[1].lower() if resource_type.count("::") == 2 else "local"
    return f"arn:aws:{service}:{REGION}:{ACCOUNT_ID}:{logical_id}"


def function_name_of(arn_or_name: str) -> str:
    """``Name`` from ``arn:aws:lambda:region:account:function:Name``, or a plain name."""
    return arn_or_name.rsplit(":function:", 1)[-1]


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
    """An ``AWS::DynamoDB::Table``, named by its logical id: what ``CreateTable`` needs."""

    logical_id: str
    key_schema: list[dict[str, str]]
    attribute_definitions: list[dict[str, str]]
    global_secondary_indexes: list[dict[str, Any]]

    def create_table_request(self) -> dict[str, Any]:
        """Keyword arguments of boto3 ``create_table`` (on-demand billing, as locally it makes no odds)."""
        request: dict[str, Any] = {
            "TableName": self.logical_id,
            "KeySchema": self.key_schema,
            "AttributeDefinitions": self.attribute_definitions,
            "BillingMode": "PAY_PER_REQUEST",
        }
        if self.global_secondary_indexes:
            request["GlobalSecondaryIndexes"] = [
                {k: v for k, v in index.items() if k in ("IndexName", "KeySchema", "Projection")}
                for index in self.global_secondary_indexes
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
    """A Lambda authorizer of an HTTP API (simple responses, payload format 2.0, header identity)."""

    name: str
    function: str
    identity_headers: tuple[str, ...]
    reauthorize_every: int


@dataclass(frozen=True, slots=True)
class Cors:
    """An HTTP API's ``CorsConfiguration``: API Gateway answers preflights from it."""

    allow_origins: tuple[str, ...]
    allow_methods: tuple[str, ...]
    allow_headers: tuple[str, ...]
    max_age: int | None

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


@dataclass(frozen=True, slots=True)
class Template:
    """Everything the local stack takes from template.yaml."""

    path: Path
    parameters: dict[str, str]
    tables: dict[str, TableSpec]
    functions: dict[str, FunctionSpec]
    apis: dict[str, HttpApiSpec]

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
        """Read ``path`` with ``parameter_overrides`` applied to its parameters."""
        path = path.resolve()
        overrides = parameter_overrides or {}
        document = load_yaml(path.read_text(encoding="utf-8"))
        declared: Mapping[str, Any] = document.get("Parameters") or {}
        unknown = sorted(set(overrides) - set(declared))
        if unknown:
            raise TemplateError(f"parameter overrides name no parameter of the template: {', '.join(unknown)}")
        parameters = {name: str(spec.get("Default", "")) for name, spec in declared.items()}
        parameters.update(overrides)
        intrinsics = Intrinsics(document, parameters)
        resources: Mapping[str, Any] = document.get("Resources") or {}
        global_sections: Mapping[str, Any] = document.get("Globals") or {}
        extra_globals = sorted(set(global_sections) - {"Function"})
        if extra_globals:
            raise TemplateError(f"Globals {', '.join(extra_globals)} are not supported locally (only Function)")
        for logical_id, resource in resources.items():
            if "Condition" in resource:
                raise TemplateError(f"{logical_id}: a resource Condition is not supported locally")

        def properties_of(logical_id: str) -> dict[str, Any]:
            raw = resources[logical_id].get("Properties") or {}
            if resources[logical_id]["Type"] == "AWS::Serverless::Function":
                raw = merge_globals(global_sections.get("Function") or {}, raw)
            try:
                resolved: dict[str, Any] = intrinsics.resolve(raw)
            except TemplateError as error:
                raise TemplateError(f"{logical_id}: {error}") from None
            return resolved

        def of_type(resource_type: str) -> dict[str, dict[str, Any]]:
            return {lid: properties_of(lid) for lid, r in resources.items() if r.get("Type") == resource_type}

        layers = {lid: path.parent / str(p.get("ContentUri", "")) for lid, p in of_type(LAYER).items()}
        tables = {lid: _table(lid, p) for lid, p in of_type("AWS::DynamoDB::Table").items()}
        apis = {lid: _http_api(lid, p) for lid, p in of_type("AWS::Serverless::HttpApi").items()}
        functions = {
            lid: _function(lid, p, path.parent, apis, layers) for lid, p in of_type("AWS::Serverless::Function").items()
        }
        return cls(path=path, parameters=parameters, tables=tables, functions=functions, apis=apis)


def _table(logical_id: str, properties: Mapping[str, Any]) -> TableSpec:
    return TableSpec(
        logical_id=logical_id,
        key_schema=list(properties["KeySchema"]),
        attribute_definitions=list(properties["AttributeDefinitions"]),
        global_secondary_indexes=list(properties.get("GlobalSecondaryIndexes") or []),
    )


def _http_api(logical_id: str, properties: Mapping[str, Any]) -> HttpApiSpec:
    auth: Mapping[str, Any] = properties.get("Auth") or {}
    authorizers = {name: _authorizer(logical_id, name, spec) for name, spec in (auth.get("Authorizers") or {}).items()}
    default = auth.get("DefaultAuthorizer")
    if default is not None and default not in authorizers:
        raise TemplateError(f"{logical_id}: DefaultAuthorizer {default!r} is not one of its Authorizers")
    cors = properties.get("CorsConfiguration")
    if cors is not None and not isinstance(cors, dict):
        raise TemplateError(f"{logical_id}: CorsConfiguration {cors!r} is not supported locally (give the map)")
    return HttpApiSpec(
        logical_id=logical_id,
        authorizers=authorizers,
        default_authorizer=default,
        stage_variables={k: str(v) for k, v in (properties.get("StageVariables") or {}).items()},
        cors=None if cors is None else _cors(cors),
    )


def _authorizer(api_id: str, name: str, spec: Mapping[str, Any]) -> LambdaAuthorizer:
    identity: Mapping[str, Any] = spec.get("Identity") or {}
    if "FunctionArn" not in spec:
        unsupported = "a JWT authorizer"
    elif spec.get("EnableSimpleResponses") is not True:
        unsupported = "an IAM policy response (EnableSimpleResponses is not true)"
    elif str(spec.get("AuthorizerPayloadFormatVersion")) != "2.0":
        unsupported = f"payload format {spec.get('AuthorizerPayloadFormatVersion')}"
    elif set(identity) - {"Headers", "ReauthorizeEvery"}:
        unsupported = f"identity {', '.join(sorted(set(identity) - {'Headers', 'ReauthorizeEvery'}))}"
    else:
        return LambdaAuthorizer(
            name=name,
            function=function_name_of(str(spec["FunctionArn"])),
            identity_headers=tuple(identity.get("Headers") or ()),
            reauthorize_every=int(identity.get("ReauthorizeEvery", 300)),
        )
    raise TemplateError(
        f"{api_id} authorizer {name}: {unsupported} is not supported locally (only Lambda authorizers "
        "with simple responses in payload format 2.0, identified by headers)"
    )


def _cors(configuration: Mapping[str, Any]) -> Cors:
    max_age = configuration.get("MaxAge")
    return Cors(
        allow_origins=tuple(str(o) for o in configuration.get("AllowOrigins") or ()),
        allow_methods=tuple(str(m) for m in configuration.get("AllowMethods") or ()),
        allow_headers=tuple(str(h) for h in configuration.get("AllowHeaders") or ()),
        max_age=None if max_age is None else int(max_age),
    )


def _route(logical_id: str, event_name: str, properties: Mapping[str, Any], apis: Mapping[str, HttpApiSpec]) -> Route:
    where = f"{logical_id} event {event_name}"
    method = str(properties.get("Method", "ANY")).upper()
    path = str(properties.get("Path", "$default"))
    api = apis.get(str(properties.get("ApiId")))
    if api is None:
        raise TemplateError(f"{where}: ApiId must name an AWS::Serverless::HttpApi of the template")
    if method not in HTTP_METHODS:
        raise TemplateError(
            f"{where}: method {method} is not supported locally (one of {', '.join(sorted(HTTP_METHODS))})"
        )
    if not ROUTE_PATH.fullmatch(path):
        raise TemplateError(f"{where}: path {path} is not supported locally (literal segments and {{name}} only)")
    authorizer = (properties.get("Auth") or {}).get("Authorizer") or api.default_authorizer
    if authorizer not in (None, "NONE", *api.authorizers):
        raise TemplateError(f"{where}: authorizer {authorizer!r} is not one of {api.logical_id}'s Authorizers")
    return Route(method, path, logical_id, api.logical_id, None if authorizer in (None, "NONE") else str(authorizer))


def _function(
    logical_id: str,
    properties: Mapping[str, Any],
    root: Path,
    apis: Mapping[str, HttpApiSpec],
    layers: Mapping[str, Path],
) -> FunctionSpec:
    variables: Mapping[str, Any] = (properties.get("Environment") or {}).get("Variables") or {}
    unknown_layers = [str(layer) for layer in properties.get("Layers") or () if str(layer) not in layers]
    if unknown_layers:
        raise TemplateError(f"{logical_id}: layers {unknown_layers} are not {LAYER} resources of the template")
    events: Mapping[str, Any] = properties.get("Events") or {}
    return FunctionSpec(
        logical_id=logical_id,
        code_uri=root / str(properties.get("CodeUri", ".")),
        handler=str(properties["Handler"]),
        timeout=int(properties.get("Timeout", DEFAULT_TIMEOUT)),
        memory_size=int(properties.get("MemorySize", DEFAULT_MEMORY)),
        environment={name: _env_value(v) for name, v in variables.items()},
        layers=tuple(layers[str(layer)] for layer in properties.get("Layers") or ()),
        routes=tuple(
            _route(logical_id, name, event.get("Properties") or {}, apis)
            for name, event in events.items()
            if event.get("Type") == "HttpApi"
        ),
        reserved_concurrency=(
            int(properties["ReservedConcurrentExecutions"]) if "ReservedConcurrentExecutions" in properties else None
        ),
    )


def _env_value(value: Any) -> str:
    """An environment value as Lambda stores it: a string (``true``/``false`` for booleans)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)
