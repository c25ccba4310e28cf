"""The local runner reads template.yaml (and its own test template) as SAM would, and refuses with a
clear error what template.yaml does not use."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from local.template import Intrinsics, Template, TemplateError, function_name_of, load_yaml, merge_globals
from tests.support.template import table_definitions, template

ROOT = Path(__file__).resolve().parents[2]
FIXTURE = Path(__file__).resolve().parent / "local_stack_fixture" / "template.yaml"


@pytest.fixture(scope="module")
def service() -> Template:
    return Template.load(ROOT / "template.yaml")


@pytest.fixture(scope="module")
def fixture() -> Template:
    return Template.load(FIXTURE)


# ---------------------------------------------------------------- the service's template


def test_tables_are_the_templates_named_by_logical_id(service: Template) -> None:
    # GIVEN the tables as the template writes them
    declared = table_definitions()

    # THEN the runner creates the same tables, with the same keys and indexes
    assert set(service.tables) == set(declared)
    for logical_id, table in service.tables.items():
        request = table.create_table_request()
        assert request["TableName"] == logical_id
        assert request["KeySchema"] == declared[logical_id]["KeySchema"]
        assert request["AttributeDefinitions"] == declared[logical_id]["AttributeDefinitions"]
        assert request.get("GlobalSecondaryIndexes", []) == declared[logical_id].get("GlobalSecondaryIndexes", [])


def test_functions_merge_globals_and_resolve_refs(service: Template) -> None:
    rollup = service.function("RollupFunction")
    assert rollup.timeout == 300  # its own
    assert rollup.memory_size == 1024
    assert service.function("ProjectSyncFunction").timeout == 10  # from Globals
    assert rollup.handler == "app.lambda_handler"
    assert rollup.code_uri == ROOT / "functions" / "rollup"
    assert rollup.layers == (ROOT / "layers" / "shared",)
    assert rollup.environment["SAMPLES_TABLE"] == "SamplesTable"
    assert rollup.environment["STAGE"] == "dev"
    authorizer = service.function("AuthorizerFunction").environment
    assert authorizer["JWT_SECRET_PARAMETER"] == "/ocore/usage/dev/jwt-secret"
    assert authorizer["JWT_ISSUER"] == "https://auth.ocore.dev/"
    assert authorizer["POWERTOOLS_SERVICE_NAME"] == "ocore-usage"  # Globals merged with its own
    assert service.function("GetUsageFunction").environment["PAGINATION_KEY_PARAMETER"] == (
        "/ocore/usage/dev/pagination-key"
    )


def test_routes_and_authorizer(service: Template) -> None:
    routes = {route.route_key: route for route in service.routes}
    docs = {"GET /api/openapi.json", "GET /api/docs", "GET /api/docs/{asset}"}
    api = {"GET /api/projects/{id}/usage", "GET /api/usage", "GET /api/usage/totals", "POST /api/usage/samples"}
    assert set(routes) == api | docs
    assert routes["GET /api/usage"].function == "GetUsageFunction"
    assert {route.authorizer for key, route in routes.items() if key not in docs} == {"JwtLambdaAuthorizer"}
    assert {route.authorizer for key, route in routes.items() if key in docs} == {None}  # public
    authorizer = service.apis["UsageApi"].authorizers["JwtLambdaAuthorizer"]
    assert authorizer.function == "AuthorizerFunction"
    assert authorizer.identity_headers == ("Authorization",)
    assert authorizer.reauthorize_every == 300
    assert service.apis["UsageApi"].stage_variables == {"stage": "dev"}


def test_parameter_overrides_flow_into_the_environment() -> None:
    template = Template.load(ROOT / "template.yaml", {"Stage": "staging", "JwtSecretParameterName": "/x/secret"})
    assert template.function("RollupFunction").environment["STAGE"] == "staging"
    assert template.function("AuthorizerFunction").environment["JWT_SECRET_PARAMETER"] == "/x/secret"


def test_an_override_of_an_unknown_parameter_is_refused() -> None:
    with pytest.raises(TemplateError, match="Stag"):
        Template.load(ROOT / "template.yaml", {"Stag": "prod"})


def test_an_unknown_function_names_the_known_ones(service: Template) -> None:
    with pytest.raises(TemplateError, match="RollupFunction"):
        service.function("Rollup")


# ---------------------------------------------------------------- intrinsics and Globals, on the test template


def test_intrinsics(fixture: Template) -> None:
    echo = fixture.function("EchoFunction").environment
    assert echo["GREETING"] == "hello"
    assert echo["TABLE_ARN"] == "arn:aws:dynamodb:us-east-1:123456789012:table/ThingsTable"
    assert echo["TABLE_INDEX"] == "arn:aws:dynamodb:us-east-1:123456789012:table/ThingsTable/index/ByOwner"
    assert echo["THINGS_TABLE"] == "ThingsTable"
    assert "ONLY_IN_PROD" not in echo  # !If ... AWS::NoValue removes the variable
    assert fixture.function("AuthorizerFunction").environment["ISSUER"] == "https://us-east-1.example/hello"
    assert fixture.function("EchoFunction").memory_size == 256


def test_conditions_choose_values() -> None:
    prod = Template.load(FIXTURE, {"Stage": "prod"})
    assert prod.function("EchoFunction").environment["ONLY_IN_PROD"] == "yes"
    assert prod.function("EchoFunction").memory_size == 1024


def test_route_level_auth_none_and_default_authorizer(fixture: Template) -> None:
    routes = {route.route_key: route for route in fixture.routes}
    assert routes["GET /api/public/{name}"].authorizer is None
    assert routes["GET /api/things/{id}"].authorizer == "TokenAuthorizer"
    assert fixture.apis["Api"].cors is not None
    assert fixture.apis["Api"].cors.max_age == 600


def test_short_tags_read_as_long_form() -> None:
    document = load_yaml("a: !Ref X\nb: !GetAtt T.Arn\nc: !GetAtt [T, Arn]\nd: !Sub '${X}'\ne: !Not [!Equals [a, b]]\n")
    assert document == {
        "a": {"Ref": "X"},
        "b": {"Fn::GetAtt": ["T", "Arn"]},
        "c": {"Fn::GetAtt": ["T", "Arn"]},
        "d": {"Fn::Sub": "${X}"},
        "e": {"Fn::Not": [{"Fn::Equals": ["a", "b"]}]},
    }


def test_sub_with_variables() -> None:
    intrinsics = Intrinsics({"Resources": {"Fn": {"Type": "AWS::Serverless::Function"}}}, {"P": "v"})
    text = intrinsics.resolve({"Fn::Sub": ["${P}/${Local}/${Fn.Arn}/${AWS::Partition}", {"Local": "l"}]})
    assert text == "v/l/arn:aws:lambda:us-east-1:123456789012:function:Fn/aws"


def test_unknown_refs_are_errors() -> None:
    with pytest.raises(TemplateError, match="Nope"):
        Intrinsics({}, {}).resolve({"Ref": "Nope"})


def test_globals_merge_like_sam() -> None:
    merged = merge_globals(
        {"Environment": {"Variables": {"A": "1", "B": "1"}}, "Layers": ["x"], "Timeout": 3},
        {"Environment": {"Variables": {"B": "2"}}, "Layers": ["y"], "Timeout": 9},
    )
    assert merged == {"Environment": {"Variables": {"A": "1", "B": "2"}}, "Layers": ["x", "y"], "Timeout": 9}


@pytest.mark.parametrize("given", ["RollupFunction", "arn:aws:lambda:us-east-1:123456789012:function:RollupFunction"])
def test_function_names_from_arns(given: str) -> None:
    assert function_name_of(given) == "RollupFunction"


# ---------------------------------------------------------------- what template.yaml does not use is refused


@pytest.mark.parametrize(
    ("old", "new", "error"),
    [
        # intrinsics
        ("GREETING: !Ref Greeting", 'GREETING: !Join ["-", [a, b]]', "EchoFunction: Fn::Join is not supported locally"),
        ("!If [IsProd, 1024, 256]", "!FindInMap [M, K, V]", "AuthorizerFunction: Fn::FindInMap"),
        ("!Equals [!Ref Stage, prod]", "!Or [!Equals [!Ref Stage, prod], x]", "condition IsProd: Fn::Or"),
        ("!GetAtt ThingsTable.Arn", "!GetAtt ThingsTable.StreamArn", "EchoFunction: Fn::GetAtt ThingsTable.StreamArn"),
        # route shapes
        ("public/{name}", "public/{rest+}", "EchoFunction event Public: path /api/public/{rest+}"),
        ("Path: /api/plain", "Path: $default", "PlainFunction event Plain: path $default"),
        ("Method: POST", "Method: ANY", "EchoFunction event Create: method ANY"),
        ("ApiId: !Ref Api\n            Path: /api/plain", "Path: /api/plain", "PlainFunction event Plain: ApiId"),
        # authorizers
        (
            "EnableSimpleResponses: true",
            "EnableSimpleResponses: false",
            "Api authorizer TokenAuthorizer: an IAM policy",
        ),
        ('AuthorizerPayloadFormatVersion: "2.0"', 'AuthorizerPayloadFormatVersion: "1.0"', "payload format 1.0"),
        ("Headers: [Authorization]", "QueryStrings: [token]", "identity QueryStrings"),
        ("FunctionArn: !GetAtt AuthorizerFunction.Arn", "JwtConfiguration: {}", "a JWT authorizer"),
        # resources
        (
            "  MissingFunction:\n",
            "  MissingFunction:\n    Condition: IsProd\n",
            "MissingFunction: a resource Condition",
        ),
    ],
)
def test_what_template_yaml_does_not_use_is_an_error_naming_it_and_the_resource(
    tmp_path: Path, old: str, new: str, error: str
) -> None:
    text = FIXTURE.read_text(encoding="utf-8")
    assert old in text
    changed = tmp_path / "template.yaml"
    changed.write_text(text.replace(old, new), encoding="utf-8")
    with pytest.raises(TemplateError, match=re.escape(error)):
        Template.load(changed)


def test_the_tests_read_the_same_document(service: Template) -> None:
    assert set(template()["Resources"]) >= set(service.functions) | set(service.tables) | set(service.apis)
