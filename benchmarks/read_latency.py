"""Read latency of one project's daily usage against the floor: one raw Query of as many items.

DynamoDB Local (the local stack's, on a free port) holds one project with usage in every hour.
``GET /projects/{id}/usage?period=daily`` over a ragged 34-day range (2026-10-02T05Z to
2026-11-05T09Z: 35 records) reads 61 stored items: 33 whole days from the daily series and
19 + 9 hours at the ragged ends, in 3 Queries, beside the project lookup. The function's handler
runs in this process as Lambda would run it (warm), on the same DynamoDB client as the floor,
which is one Query returning 61 hourly items of the same project (no deserialization, no
handler). Both are timed interleaved, so drift affects both; the result is the ratio of their
medians. The target is a ratio of at most 1.5.

For comparison it also times the same GET with the reads' requests sent one after another (the
reads' executor replaced by one that runs each request in place), and, without any handler, the
plan's own Queries sent at once as raw requests on the service's client: what the requests alone
cost on this machine, where the client, DynamoDB Local and the handler share the same cores.
"""

from __future__ import annotations

import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from concurrent.futures import Executor, Future
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, ParamSpec, TypeVar, cast

if TYPE_CHECKING:
    from ocore_usage.domain.timeline import Granularity

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_READ_ROUNDS", "200"))
WARMUP = 20
TARGET = 1.5
PROJECT, ORG = "proj_bench", "org_bench"
RANGE = ("2026-10-02T05:00:00Z", "2026-11-05T09:00:00Z")
SEEDED = ("2026-09-25T00:00:00Z", "2026-11-12T00:00:00Z")  # every hour busy, around the range
ITEMS = 61

P = ParamSpec("P")
T = TypeVar("T")


@dataclass(frozen=True)
class _Context:
    function_name: str = "GetProjectUsageFunction"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:GetProjectUsageFunction"
    aws_request_id: str = "bench"


class _InPlace(Executor):
    """Runs each submitted call at once, in the caller's thread: requests one after another."""

    def submit(self, fn: Callable[P, T], /, *args: P.args, **kwargs: P.kwargs) -> Future[T]:
        future: Future[T] = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:  # handed to whoever waits, as a pool would
            future.set_exception(error)
        return future


def _event() -> dict[str, Any]:
    event: dict[str, Any] = json.loads((ROOT / "events" / "get_project_usage.json").read_text())
    query = {"period": "daily", "start_date": RANGE[0], "end_date": RANGE[1]}
    event["rawQueryString"] = "&".join(f"{k}={v}" for k, v in query.items())
    event["queryStringParameters"] = query
    event["rawPath"] = event["requestContext"]["http"]["path"] = f"/api/projects/{PROJECT}/usage"
    event["pathParameters"] = {"id": PROJECT}
    event["requestContext"]["authorizer"] = {"lambda": {"orgId": ORG, "sub": "bench", "scopes": "usage:read"}}
    return event


def _environment(endpoint: str, tables: dict[str, str]) -> None:
    os.environ.update(
        {
            "AWS_ENDPOINT_URL_DYNAMODB": endpoint,
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": "local",
            "AWS_SECRET_ACCESS_KEY": "local",
            "POWERTOOLS_SERVICE_NAME": "ocore-usage",
            "POWERTOOLS_METRICS_NAMESPACE": "oCore/Usage",
            "POWERTOOLS_LOG_LEVEL": "WARNING",
            "SAMPLES_TABLE": tables["SamplesTable"],
            "WORK_TABLE": tables["WorkTable"],
            "ROLLUPS_TABLE": tables["RollupsTable"],
            "PROJECTS_TABLE": tables["ProjectsTable"],
            "PAGINATION_KEY_PARAMETER": "/ocore/usage/bench/pagination-key",  # one page: never read
        }
    )
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL"):
        os.environ.pop(name, None)


def _seed() -> None:
    import random

    from ocore_usage.domain.aggregation import Usage, merge_all
    from ocore_usage.domain.periods import bucket_start
    from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity, parse_rfc3339
    from ocore_usage.storage.keys import SeriesOwner
    from ocore_usage.storage.projects import ProjectChange
    from ocore_usage.wiring import tables

    found = tables()
    found.project_repository.apply(ProjectChange(PROJECT, ORG, 1, deleted=False, name="bench"))
    rng = random.Random(1)
    first, end = (parse_rfc3339(text) for text in SEEDED)
    hourly = {
        hour: Usage.of(
            cpu=rng.randint(1, 4 * 10**6) * 3600 * 10**6,
            ram=rng.randint(1, 16 * 10**6) * 3600 * 10**6,
            disk=rng.randint(1, 100 * 10**6) * 3600 * 10**6,
            instance=rng.randint(1, 4) * 3600 * 10**6,
            bytes_in=rng.randint(0, 10**12),
            bytes_out=rng.randint(0, 10**12),
            peak=rng.randint(1, 4),
        )
        for hour in range(first, end, MICROS_PER_HOUR)
    }
    rollups = found.rollup_repository
    for granularity in Granularity:
        grouped: dict[int, list[Usage]] = {}
        for hour, usage in hourly.items():
            grouped.setdefault(bucket_start(hour, granularity), []).append(usage)
        rollups.write_series(SeriesOwner.PROJECT, PROJECT, granularity, {b: merge_all(us) for b, us in grouped.items()})


def _series_query(table: str, granularity: Granularity, first: int, last: int) -> dict[str, Any]:
    """The raw Query of the bench project's buckets of ``granularity`` from ``first`` to ``last``."""
    from ocore_usage.storage.keys import SeriesOwner, bucket_sk, series_pk

    return {
        "TableName": table,
        "KeyConditionExpression": "pk = :pk AND sk BETWEEN :lo AND :hi",
        "ExpressionAttributeValues": {
            ":pk": {"S": series_pk(SeriesOwner.PROJECT, PROJECT, granularity)},
            ":lo": {"S": bucket_sk(first)},
            ":hi": {"S": bucket_sk(last)},
        },
    }


def _floor_query(client: Any, table: str) -> Callable[[], None]:
    from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity, parse_rfc3339

    first = parse_rfc3339(RANGE[0])
    params = _series_query(table, Granularity.HOUR, first, first + (ITEMS - 1) * MICROS_PER_HOUR)

    def query() -> None:
        count = client.query(**params)["Count"]
        assert count == ITEMS, count

    return query


def _plan_queries(client: Any, table: str) -> tuple[Callable[[], None], int]:
    """The GET's Queries as the planner makes them, raw and all at once on a pool of their own."""
    from concurrent.futures import ThreadPoolExecutor

    from ocore_usage.domain.periods import Period
    from ocore_usage.domain.planner import TimeRange, plan_reads
    from ocore_usage.domain.timeline import parse_rfc3339

    plan = plan_reads(TimeRange(*(parse_rfc3339(text) for text in RANGE)), Period.DAILY)
    requests = [_series_query(table, run.granularity, run.first, run.last) for run in plan.reads]
    pool = ThreadPoolExecutor(len(requests))

    def queries() -> None:
        counts = [future.result()["Count"] for future in [pool.submit(client.query, **r) for r in requests]]
        assert sum(counts) == ITEMS, counts

    return queries, len(requests)


def _timed(call: Callable[[], object]) -> float:
    started = time.perf_counter()
    call()
    return time.perf_counter() - started


def main() -> None:
    sys.path[:0] = [str(ROOT / "layers" / "shared"), str(ROOT)]
    from local.dynamodb import DynamoDBLocal, create_tables
    from local.dynamodb import client as dynamodb_client
    from local.processes import free_port
    from local.template import Template

    dynamodb = DynamoDBLocal(ROOT, free_port(), ROOT / ".local" / "bench-dynamodb.log")
    try:
        dynamodb.wait_until_ready()
        template = Template.load(ROOT / "template.yaml")
        create_tables(dynamodb_client(dynamodb.endpoint), template.tables.values())
        _environment(dynamodb.endpoint, {name: name for name in template.tables})
        _measure()
    finally:
        dynamodb.stop()


def _measure() -> None:
    from functions.get_project_usage import app
    from ocore_usage import aws, wiring

    _seed()
    event, context = _event(), cast(Any, _Context())

    def get() -> None:
        response = app.lambda_handler(event, context)
        assert response["statusCode"] == 200, response
        assert len(json.loads(response["body"])["items"]) == 35

    floor = _floor_query(aws.client("dynamodb"), os.environ["ROLLUPS_TABLE"])
    service = wiring.read_service()
    queries, count = _plan_queries(wiring.dynamodb_client(), os.environ["ROLLUPS_TABLE"])

    def get_in_place() -> None:
        service.executor = _InPlace()
        try:
            get()
        finally:
            service.executor = None

    for _ in range(WARMUP):
        for call in (floor, get, get_in_place, queries):
            call()
    samples: dict[str, list[float]] = {"floor": [], "get": [], "get, requests in place": [], "queries": []}
    for _ in range(ROUNDS):
        samples["floor"].append(_timed(floor))
        samples["get"].append(_timed(get))
        samples["get, requests in place"].append(_timed(get_in_place))
        samples["queries"].append(_timed(queries))
    base = statistics.median(samples["floor"])
    print(f"read latency, p50 of {ROUNDS} requests, DynamoDB Local; floor = one Query of {ITEMS} items")
    print(f"{'GET /projects/{id}/usage, daily, 34 ragged days':<50} {'ratio':>6}  {'target':>6}")
    for name, label in (
        ("get", "requests at once"),
        ("get, requests in place", "requests one after another"),
        ("queries", f"its {count} Queries alone, raw, at once (no handler)"),
    ):
        ratio = statistics.median(samples[name]) / base
        target = f"{TARGET:6.2f}  {'ok' if ratio <= TARGET else 'over'}" if name == "get" else ""
        print(f"  {label:<48} {ratio:6.2f}  {target}")


if __name__ == "__main__":
    main()
