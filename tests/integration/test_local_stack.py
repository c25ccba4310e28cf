"""The local stack answers as the AWS services it stands in for: API Gateway, Lambda, DynamoDB."""

from __future__ import annotations

import json
import uuid
from typing import Any

import boto3
import pytest

from local.dynamodb import client as dynamodb_client
from ocore_usage.domain.timeline import MICROS_PER_SECOND, parse_rfc3339
from ocore_usage.storage.keys import MAX_SHARDS, SeriesOwner, shard_of
from ocore_usage.storage.leases import LeaseLost
from ocore_usage.storage.tables import Table
from ocore_usage.storage.work import WorkQueue
from tests.integration.conftest import RunningStack
from tests.support.template import LOGICAL_TABLE_NAMES, local_template, table_definitions

pytestmark = pytest.mark.integration


def authorizer_runs(stack: RunningStack) -> int:
    """How many times the authorizer has run (the runner logs a REPORT line per invocation)."""
    return sum(1 for line in stack.log_text().splitlines() if line.startswith("REPORT AuthorizerFunction "))


def test_gateway_answers_with_api_gateway_messages(local_stack: RunningStack) -> None:
    # a missing token, a bad one, an expired one, no route, no route for the method
    missing = local_stack.request("GET", "/usage")
    forged = local_stack.request("GET", "/usage", token="not-a-jwt")
    expired = local_stack.request("GET", "/usage", token=local_stack.token(org="org_x", ttl=-120))
    no_route = local_stack.request("GET", "/nothing-here", token=local_stack.token(org="org_x"))
    no_method = local_stack.request("DELETE", "/usage", token=local_stack.token(org="org_x"))

    assert (missing.status, missing.json()) == (401, {"message": "Unauthorized"})
    assert (forged.status, forged.json()) == (403, {"message": "Forbidden"})
    assert (expired.status, expired.json()) == (403, {"message": "Forbidden"})
    assert (no_route.status, no_route.json()) == (404, {"message": "Not Found"})
    assert (no_method.status, no_method.json()) == (404, {"message": "Not Found"})
    assert missing.headers["content-type"] == "application/json"


def test_authorizer_answers_are_cached_per_token(local_stack: RunningStack) -> None:
    # GIVEN a token nobody has used yet
    token = local_stack.token(org=f"org_{uuid.uuid4().hex[:8]}")
    before = authorizer_runs(local_stack)

    # WHEN it is used three times, and a missing header once
    statuses = [local_stack.request("GET", "/usage/totals", token=token).status for _ in range(3)]
    local_stack.request("GET", "/usage/totals")

    # THEN the authorizer ran once: API Gateway reuses its answer for ReauthorizeEvery seconds
    assert statuses == [200, 200, 200]
    assert authorizer_runs(local_stack) == before + 1


def test_each_read_endpoint_answers_a_reader(local_stack: RunningStack) -> None:
    org = f"org_{uuid.uuid4().hex[:8]}"
    project = f"prj_{uuid.uuid4().hex[:8]}"
    local_stack.register_project(project, org, "smoke")
    token = local_stack.token(org=org)

    for path in ("/usage", "/usage/totals", f"/projects/{project}/usage"):
        response = local_stack.request("GET", path, token=token)
        assert response.status == 200, (path, response.body)
    assert local_stack.request("GET", "/usage/totals", token=token).json()["totals"][0]["projectName"] == "smoke"


def test_scopes_reach_the_functions_through_the_authorizer_context(local_stack: RunningStack) -> None:
    reader = local_stack.token(org="org_x", scope="usage:read")
    refused = local_stack.request("POST", "/usage/samples", token=reader, body={"samples": []})
    assert refused.status == 403
    assert refused.json()["code"] == "insufficient_scope"


def test_the_invoke_api_serves_boto3(local_stack: RunningStack) -> None:
    client = boto3.client(
        "lambda",
        endpoint_url=local_stack.lambda_url,
        region_name="us-east-1",
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )

    rollup = client.invoke(FunctionName="RollupFunction", Payload=b"{}")
    assert rollup["StatusCode"] == 200
    assert set(json.loads(rollup["Payload"].read())) >= {"processed", "remaining"}

    broken = client.invoke(FunctionName="ProjectSyncFunction", Payload=b'{"detail-type": "Nonsense"}')
    assert broken["FunctionError"] == "Unhandled"
    assert {"errorMessage", "errorType"} <= set(json.loads(broken["Payload"].read()))

    with pytest.raises(client.exceptions.ResourceNotFoundException):
        client.invoke(FunctionName="NoSuchFunction", Payload=b"{}")


def test_tables_are_the_templates(local_stack: RunningStack) -> None:
    dynamodb = dynamodb_client(local_stack.dynamodb_endpoint)
    declared = table_definitions()
    assert set(dynamodb.list_tables()["TableNames"]) == set(declared)
    for name, properties in declared.items():
        table = dynamodb.describe_table(TableName=name)["Table"]
        assert table["KeySchema"] == properties["KeySchema"]
        assert sorted(table["AttributeDefinitions"], key=str) == sorted(properties["AttributeDefinitions"], key=str)
        indexes = {i["IndexName"]: i["KeySchema"] for i in table.get("GlobalSecondaryIndexes", [])}
        assert indexes == {i["IndexName"]: i["KeySchema"] for i in properties.get("GlobalSecondaryIndexes", [])}


def test_growing_the_shard_count_sets_every_head_in_one_transaction(local_stack: RunningStack) -> None:
    # GIVEN a work table of its own on the stack's DynamoDB Local (the stack's keeps its count), and
    # a worker holding a shard's lease under 16 shards
    dynamodb = dynamodb_client(local_stack.dynamodb_endpoint)
    request = local_template().tables[LOGICAL_TABLE_NAMES["work"]].create_table_request()
    name = f"{request['TableName']}-{uuid.uuid4().hex[:8]}"
    dynamodb.create_table(**{**request, "TableName": name})
    try:
        _grow_with_a_worker_holding_a_lease(dynamodb, name)
    finally:
        dynamodb.delete_table(TableName=name)


def _grow_with_a_worker_holding_a_lease(dynamodb: Any, name: str) -> None:
    work = WorkQueue(Table(dynamodb, name))
    work.mark(SeriesOwner.PROJECT, [("prj_a", parse_rfc3339("2026-11-25T00:00:00Z"))], 1)
    head = next(h for h in work.heads() if h.kind is SeriesOwner.PROJECT and h.shard == shard_of("prj_a"))
    lease = work.acquire(head, "worker-1", 2, 60 * MICROS_PER_SECOND)
    assert lease is not None

    # WHEN the count grows to the most there can be: both kinds' 50 heads, one transaction of 100
    assert WorkQueue(Table(dynamodb, name)).grow(MAX_SHARDS, 3) == MAX_SHARDS

    # THEN every head holds it, a smaller count changes nothing, and the worker can clear no mark
    heads = WorkQueue(Table(dynamodb, name)).heads()
    assert (len(heads), {h.shards for h in heads}) == (2 * MAX_SHARDS, {MAX_SHARDS})
    assert work.grow(32, 4) == MAX_SHARDS
    with pytest.raises(LeaseLost):
        work.clear(work.pending(SeriesOwner.PROJECT, head.shard, 10), lease)
