"""Least privilege in template.yaml: each function may call exactly what its code calls, per stage.

The policies are read from the template and evaluated with the local runner's intrinsics (the
same ``!If``/``!Sub``/``!GetAtt`` the stack resolves), for each stage and key configuration.
A second test runs every function's handler on moto, records the DynamoDB calls it makes, and
checks each one is granted: a code path calling something new fails here before it fails in AWS.
"""

from __future__ import annotations

import copy
import json
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from local.template import ACCOUNT_ID, REGION, Intrinsics, Template, load_yaml, resource_arn
from tests.support.read_api import LambdaContext, api_event, deployed_functions

ROOT = Path(__file__).resolve().parents[2]
TEMPLATE = ROOT / "template.yaml"
EVENTS = ROOT / "events"
KMS_KEY = f"arn:aws:kms:{REGION}:{ACCOUNT_ID}:key/1234abcd-12ab-34cd-56ef-1234567890ab"
PROD = {"Stage": "prod", "JwtAlgorithms": "RS256,ES256", "JwksUrl": "https://auth.ocore.dev/.well-known/jwks.json"}

READ_FUNCTIONS = ("GetProjectUsageFunction", "GetUsageFunction", "GetUsageTotalsFunction")  # the paging ones too


def table(name: str) -> str:
    return resource_arn("AWS::DynamoDB::Table", name)


def parameter_arn(name: str) -> str:
    return f"arn:aws:ssm:{REGION}:{ACCOUNT_ID}:parameter{name}"


EXPECTED_DYNAMODB = {
    "AuthorizerFunction": set(),
    "ApiDocsFunction": set(),
    "GetProjectUsageFunction": {
        ("dynamodb:GetItem", table("ProjectsTable")),
        ("dynamodb:Query", table("RollupsTable")),
        ("dynamodb:BatchGetItem", table("WorkTable")),
    },
    "GetUsageFunction": {
        ("dynamodb:GetItem", table("ProjectsTable")),
        ("dynamodb:BatchGetItem", table("ProjectsTable")),
        ("dynamodb:Query", table("ProjectsTable") + "/index/ActiveByOrg"),
        ("dynamodb:Query", table("RollupsTable")),
        ("dynamodb:BatchGetItem", table("WorkTable")),
    },
    "GetUsageTotalsFunction": {
        ("dynamodb:BatchGetItem", table("ProjectsTable")),
        ("dynamodb:Query", table("ProjectsTable") + "/index/ActiveByOrg"),
        ("dynamodb:Query", table("RollupsTable")),
        ("dynamodb:BatchGetItem", table("WorkTable")),
    },
    "ProjectSyncFunction": {
        ("dynamodb:GetItem", table("ProjectsTable")),
        ("dynamodb:UpdateItem", table("ProjectsTable")),
        ("dynamodb:Query", table("WorkTable")),
        ("dynamodb:BatchWriteItem", table("WorkTable")),
        ("dynamodb:UpdateItem", table("WorkTable")),
    },
}
"""What each function's code calls (see storage/): the write path's two functions are checked by the
no-scan rule and by the recorded calls below, not pinned here."""


WITHOUT_DYNAMODB = {"AuthorizerFunction", "ApiDocsFunction"}
"""Functions that never call DynamoDB (the authorizer, the docs page), so are not driven below."""


def document() -> dict[str, Any]:
    return load_yaml(TEMPLATE.read_text(encoding="utf-8"))


def functions() -> list[str]:
    return [name for name, r in document()["Resources"].items() if r["Type"] == "AWS::Serverless::Function"]


def policies(function: str, **overrides: str) -> list[Any]:
    """The function's ``Policies`` with every intrinsic evaluated for these parameter values."""
    doc = document()
    values = {name: str(spec.get("Default", "")) for name, spec in doc["Parameters"].items()}
    values.update(overrides)
    resolved: list[Any] = Intrinsics(doc, values).resolve(doc["Resources"][function]["Properties"].get("Policies", []))
    return resolved


def statements(function: str, **overrides: str) -> list[dict[str, Any]]:
    """The function's inline policy statements (SAM policy templates and managed policies aside)."""
    found = [policy for policy in policies(function, **overrides) if isinstance(policy, dict) and "Statement" in policy]
    return [statement for policy in found for statement in policy["Statement"]]


def grants(function: str, **overrides: str) -> set[tuple[str, str]]:
    """Every ``(action, resource)`` an Allow statement of the function grants."""
    granted = set()
    for statement in statements(function, **overrides):
        assert statement["Effect"] == "Allow", statement
        actions, resources = statement["Action"], statement["Resource"]
        for action in [actions] if isinstance(actions, str) else actions:
            for resource in [resources] if isinstance(resources, str) else resources:
                granted.add((action, resource))
    return granted


def of_service(granted: set[tuple[str, str]], service: str) -> set[tuple[str, str]]:
    return {(action, resource) for action, resource in granted if action.startswith(f"{service}:")}


# ---------------------------------------------------------------- DynamoDB


@pytest.mark.parametrize("function", sorted(EXPECTED_DYNAMODB))
def test_each_function_may_call_exactly_the_dynamodb_actions_it_calls(function):
    # GIVEN / WHEN the function's policies, resolved
    # THEN its DynamoDB grants are exactly the calls its code makes, on exactly those tables
    assert of_service(grants(function), "dynamodb") == EXPECTED_DYNAMODB[function]


def test_every_function_of_the_template_is_checked():
    # GIVEN / WHEN / THEN no function escapes these tests (the write path's two by the rules below)
    assert set(functions()) == set(EXPECTED_DYNAMODB) | {"IngestSamplesFunction", "RollupFunction"}


@pytest.mark.parametrize("function", functions())
def test_no_function_may_scan_or_use_partiql(function):
    # GIVEN the function's policies
    found = policies(function)

    # THEN none is a SAM DynamoDB policy template (DynamoDBReadPolicy and its kin grant Scan and PartiQL)
    templates = [name for policy in found if isinstance(policy, dict) for name in policy if name != "Statement"]
    managed = [policy for policy in found if isinstance(policy, str)]
    assert not [name for name in templates + managed if "dynamodb" in name.lower()], found
    # AND no statement grants Scan, PartiQL, or DynamoDB actions by wildcard
    for action, _ in grants(function):
        assert action != "*"
        if action.startswith("dynamodb:"):
            assert "*" not in action and action != "dynamodb:Scan" and not action.startswith("dynamodb:PartiQL")


# ---------------------------------------------------------------- SSM and KMS, per stage


def ssm_parameter_of(function: str, variable: str, **overrides: str) -> str:
    """The SSM parameter the template tells the function to read (its environment)."""
    return Template.load(TEMPLATE, overrides).function(function).environment[variable]


NAMED = {"JwtSecretParameterName": "/custom/jwt", "PaginationKeyParameterName": "/custom/page-key"}


@pytest.mark.parametrize(
    ("overrides", "secret", "key"),
    [
        ({"Stage": "dev"}, "/ocore/usage/dev/jwt-secret", "/ocore/usage/dev/pagination-key"),
        ({"Stage": "staging"}, "/ocore/usage/staging/jwt-secret", "/ocore/usage/staging/pagination-key"),
        (PROD, None, "/ocore/usage/prod/pagination-key"),  # RS256/ES256 through the issuer's JWKS: no secret
        (NAMED, "/custom/jwt", "/custom/page-key"),
    ],
    ids=["dev", "staging", "prod", "named"],
)
def test_each_function_reads_only_its_stages_secret_and_pagination_key(overrides, secret, key):
    # GIVEN a stage (HS256 unless prod) and its parameter names, default or given
    # WHEN / THEN the authorizer may read that secret, if any, and nothing else in SSM (not another stage's)
    expected = {("ssm:GetParameter", parameter_arn(secret))} if secret else set()
    assert of_service(grants("AuthorizerFunction", **overrides), "ssm") == expected
    if secret:
        assert ssm_parameter_of("AuthorizerFunction", "JWT_SECRET_PARAMETER", **overrides) == secret
    # AND the paging read functions that pagination key; the rest nothing in SSM
    for function in set(functions()) - {"AuthorizerFunction"}:
        granted = of_service(grants(function, **overrides), "ssm")
        if function in READ_FUNCTIONS:
            assert ssm_parameter_of(function, "PAGINATION_KEY_PARAMETER", **overrides) == key
            assert granted == {("ssm:GetParameter", parameter_arn(key))}
        else:
            assert granted == set(), function


@pytest.mark.parametrize("overrides", [{}, PROD], ids=["dev", "prod"])
def test_the_aws_managed_ssm_key_needs_no_kms_grant(overrides):
    # GIVEN no customer-managed key (alias/aws/ssm encrypts the parameters)
    # WHEN / THEN no function is granted anything in KMS
    for function in functions():
        assert of_service(grants(function, **overrides), "kms") == set(), function


@pytest.mark.parametrize("overrides", [{}, PROD], ids=["dev", "prod"])
def test_a_customer_managed_key_decrypts_only_the_functions_parameters_through_ssm(overrides):
    # GIVEN SecureString parameters under a customer-managed KMS key
    stage = overrides.get("Stage", "dev")
    readers: dict[str, tuple[str, ...]] = {f"/ocore/usage/{stage}/pagination-key": READ_FUNCTIONS}
    if overrides.get("JwtAlgorithms", "HS256") == "HS256":
        readers[f"/ocore/usage/{stage}/jwt-secret"] = ("AuthorizerFunction",)
    reading = {function: name for name, fns in readers.items() for function in fns}

    for function in functions():
        found = [s for s in statements(function, SsmKmsKeyArn=KMS_KEY, **overrides) if "kms" in str(s["Action"])]
        if function not in reading:
            # THEN functions that read no parameter get nothing
            assert found == [], function
            continue
        # THEN the others may decrypt with that key only, only through SSM in this region, only their parameter
        assert found == [
            {
                "Effect": "Allow",
                "Action": ["kms:Decrypt"],
                "Resource": KMS_KEY,
                "Condition": {
                    "StringEquals": {
                        "kms:ViaService": f"ssm.{REGION}.amazonaws.com",
                        "kms:EncryptionContext:PARAMETER_ARN": parameter_arn(reading[function]),
                    }
                },
            }
        ], function


def test_the_authorizer_keeps_its_invoke_permission():
    # GIVEN / WHEN / THEN API Gateway may invoke the HTTP API's Lambda authorizer
    authorizers = document()["Resources"]["UsageApi"]["Properties"]["Auth"]["Authorizers"]
    assert authorizers["JwtLambdaAuthorizer"]["EnableFunctionDefaultPermissions"] is True


# ---------------------------------------------------------------- what the code really calls


class CallRecorder:
    """Records, per function, the DynamoDB ``(action, resource)`` pairs a client is asked for."""

    def __init__(self, client: Any) -> None:
        self.function = ""
        self.calls: dict[str, set[tuple[str, str]]] = defaultdict(set)
        client.meta.events.register("before-parameter-build.dynamodb", self.on_call)

    def on_call(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        operation, found = model.name, self.calls[self.function]
        if operation in ("BatchGetItem", "BatchWriteItem"):
            found.update((f"dynamodb:{operation}", table(name)) for name in params["RequestItems"])
        elif operation in ("TransactWriteItems", "TransactGetItems"):
            for item in params["TransactItems"]:
                ((kind, body),) = item.items()  # Put, Update, Delete, ConditionCheck or Get
                found.add((f"dynamodb:{kind}Item", table(body["TableName"])))
        else:
            index = f"/index/{params['IndexName']}" if params.get("IndexName") else ""
            found.add((f"dynamodb:{operation}", table(params["TableName"]) + index))


def event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


class RollupContext(LambdaContext):
    def get_remaining_time_in_millis(self) -> int:
        return 300_000


def drive_every_function(recorder: CallRecorder) -> None:
    """Register a project, ingest samples of the last hour, roll them up, read them every way
    (one project, the org, a second page, totals), delete the project and read the org again."""
    from functions.get_project_usage import app as project_app
    from functions.get_usage import app as usage_app
    from functions.get_usage_totals import app as totals_app
    from functions.ingest_samples import app as ingest_app
    from functions.project_sync import app as sync_app
    from functions.rollup import app as rollup_app
    from ocore_usage import wiring

    def run(function: str, handler: Any, payload: Any, context: Any = None) -> Any:
        recorder.function = function
        return handler(payload, context or LambdaContext())

    def read(function: str, handler: Any, route: str, query: dict[str, str]) -> dict[str, Any]:
        wiring.read_service.cache_clear()  # each function runs in its own process, with its own watermark cache
        request = api_event(route, query, org_id="org_demo", project_id="proj_web")
        response = run(function, handler, copy.deepcopy(request))
        assert response["statusCode"] == 200, response["body"]
        body: dict[str, Any] = json.loads(response["body"])
        return body

    assert run("ProjectSyncFunction", sync_app.lambda_handler, event("project_upserted.json"))["outcome"] == "applied"
    hour = time.strftime("%Y-%m-%dT%H:00:00Z", time.gmtime(time.time() - 3600))
    ingest = event("ingest_samples.json")
    samples = json.loads(ingest["body"])["samples"]
    ingest["body"] = json.dumps({"samples": [{**s, "projectId": "proj_web", "intervalStart": hour} for s in samples]})
    assert run("IngestSamplesFunction", ingest_app.lambda_handler, ingest)["statusCode"] == 202
    for _ in range(5):
        if run("RollupFunction", rollup_app.lambda_handler, event("rollup.json"), RollupContext())["remaining"] == 0:
            break

    project, usage = project_app.lambda_handler, usage_app.lambda_handler
    read("GetProjectUsageFunction", project, "project", {})
    page = read("GetProjectUsageFunction", project, "project", {"limit": "1"})
    read("GetProjectUsageFunction", project, "project", {"limit": "1", "next_token": page["nextToken"]})
    read("GetUsageFunction", usage, "usage", {"project_id": "proj_web"})
    page = read("GetUsageFunction", usage, "usage", {"fill": "zero", "limit": "1"})
    read("GetUsageFunction", usage, "usage", {"fill": "zero", "limit": "1", "next_token": page["nextToken"]})
    assert read("GetUsageTotalsFunction", totals_app.lambda_handler, "totals", {})["totals"]
    # a deleted project is still listed for the usage it had
    assert run("ProjectSyncFunction", sync_app.lambda_handler, event("project_deleted.json"))["outcome"] == "applied"
    read("GetUsageFunction", usage, "usage", {"fill": "zero"})
    assert read("GetUsageTotalsFunction", totals_app.lambda_handler, "totals", {})["totals"]


@pytest.fixture(scope="module")
def recorded() -> Iterator[dict[str, set[tuple[str, str]]]]:
    """The DynamoDB calls each function made while :func:`drive_every_function` ran, on moto."""
    from ocore_usage import wiring

    def clear() -> None:
        for cached in (wiring.rollup_service, wiring.project_sync):
            cached.cache_clear()

    with pytest.MonkeyPatch.context() as monkeypatch, deployed_functions(monkeypatch):
        clear()
        try:
            recorder = CallRecorder(wiring.dynamodb_client())  # the functions' own (cached) client
            drive_every_function(recorder)
            yield dict(recorder.calls)
        finally:
            clear()


def test_every_function_was_driven(recorded):
    assert set(recorded) == set(functions()) - WITHOUT_DYNAMODB


@pytest.mark.parametrize("function", sorted(set(functions()) - WITHOUT_DYNAMODB))
def test_each_function_calls_only_what_the_template_grants_it(recorded, function):
    # GIVEN the DynamoDB calls the function made WHEN / THEN each one is granted to it
    assert sorted(recorded[function] - of_service(grants(function), "dynamodb")) == []


@pytest.mark.parametrize("function", READ_FUNCTIONS)
def test_the_read_functions_use_every_grant_they_have(recorded, function):
    # GIVEN / WHEN / THEN nothing is granted to them "just in case"
    assert recorded[function] == EXPECTED_DYNAMODB[function]
