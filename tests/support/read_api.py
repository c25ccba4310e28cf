"""What the read-API tests share: events built from events/, stored series, and in-memory fakes.

- :func:`api_event` turns one of the committed events (events/get_*.json) into a request with
  other query parameters, path, org or scopes; the query string is encoded the way API Gateway
  hands it over (``rawQueryString`` as sent, repeated values comma-joined in
  ``queryStringParameters``).
- :func:`store_hours` writes hourly usages and the daily and monthly buckets derived from them
  (sums, max of peaks), the way the rollup stores a series.
- :class:`MemoryRollups` and :class:`MemoryProjects` are in-memory stand-ins of the
  repositories for pure property tests; ``MemoryRollups`` counts queries and items read.
"""

from __future__ import annotations

import copy
import json
from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ocore_usage.aggregation import Usage, merge_all
from ocore_usage.storage.keys import Scope
from ocore_usage.storage.projects import Project
from ocore_usage.storage.rollups import RollupRepository
from ocore_usage.timeline import Granularity, bucket_start

EVENTS = Path(__file__).resolve().parents[2] / "events"

ROUTE_EVENTS = {
    "project": "get_project_usage.json",
    "usage": "get_usage.json",
    "totals": "get_usage_totals.json",
}


@cache
def _base_event(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((EVENTS / name).read_text())
    return loaded


def api_event(
    route: str,
    query: Sequence[tuple[str, str]] | Mapping[str, str] = (),
    *,
    project_id: str = "proj_a",
    org_id: str | None = "org_a",
    scopes: str = "usage:read",
    request_id: str = "req-1",
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event for ``route`` (``project``, ``usage`` or ``totals``)."""
    event = copy.deepcopy(_base_event(ROUTE_EVENTS[route]))
    pairs = list(query.items()) if isinstance(query, Mapping) else list(query)
    event["rawQueryString"] = "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs)
    joined: dict[str, str] = {}
    for name, value in pairs:
        joined[name] = f"{joined[name]},{value}" if name in joined else value
    if joined:
        event["queryStringParameters"] = joined
    else:
        event.pop("queryStringParameters", None)
    if route == "project":
        path = f"/api/projects/{quote(project_id, safe='')}/usage"
        event["rawPath"] = event["requestContext"]["http"]["path"] = path
        event["pathParameters"] = {"id": project_id}
    context: dict[str, Any] = {"sub": "user-1", "scopes": scopes}
    if org_id is not None:
        context["orgId"] = org_id
    event["requestContext"]["authorizer"] = {"lambda": context}
    event["requestContext"]["requestId"] = request_id
    return event


@dataclass(frozen=True)
class LambdaContext:
    function_name: str = "test-function"
    memory_limit_in_mb: int = 512
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:123456789012:function:test-function"
    aws_request_id: str = "00000000-0000-0000-0000-000000000000"


@dataclass(frozen=True)
class Answer:
    status: int
    content_type: str
    body: Any
    text: str


def call(handler: Any, event: dict[str, Any]) -> Answer:
    """Invoke a function's ``lambda_handler`` and decode its answer (numbers as exact Decimals)."""
    response = handler(event, LambdaContext())
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    text = response.get("body") or ""
    body = json.loads(text, parse_float=Decimal) if text else None
    return Answer(response["statusCode"], headers.get("content-type", ""), body, text)


# ---------------------------------------------------------------- stored series


def derived_series(hours: Mapping[int, Usage]) -> dict[Granularity, dict[int, Usage]]:
    """Hourly usages and the daily and monthly buckets that hold them (only non-empty ones)."""
    series: dict[Granularity, dict[int, list[Usage]]] = {g: defaultdict(list) for g in Granularity}
    for hour, usage in hours.items():
        for granularity in Granularity:
            series[granularity][bucket_start(hour, granularity)].append(usage)
    return {
        granularity: {b: merge_all(us) for b, us in buckets.items() if not merge_all(us).is_empty}
        for granularity, buckets in series.items()
    }


def store_hours(repository: RollupRepository, scope: Scope, identifier: str, hours: Mapping[int, Usage]) -> None:
    for granularity, buckets in derived_series(hours).items():
        repository.write_series(scope, identifier, granularity, buckets)


# ---------------------------------------------------------------- in-memory repositories


@dataclass
class MemoryRollups:
    """A SeriesSource over dictionaries, counting queries and items the way DynamoDB would."""

    series: dict[tuple[Scope, str, Granularity], dict[int, Usage]] = field(default_factory=dict)
    queries: int = 0
    items_read: int = 0

    def store_hours(self, scope: Scope, identifier: str, hours: Mapping[int, Usage]) -> None:
        for granularity, buckets in derived_series(hours).items():
            self.series[(scope, identifier, granularity)] = dict(buckets)

    def read_series(
        self, scope: Scope, identifier: str, granularity: Granularity, first_bucket: int, last_bucket: int
    ) -> dict[int, Usage]:
        self.queries += 1
        stored = self.series.get((scope, identifier, granularity), {})
        found = {b: u for b, u in stored.items() if first_bucket <= b <= last_bucket}
        self.items_read += len(found)
        return found


@dataclass
class MemoryProjects:
    projects: dict[str, Project] = field(default_factory=dict)

    def add(self, project: Project) -> None:
        self.projects[project.project_id] = project

    def get(self, project_id: str) -> Project | None:
        return self.projects.get(project_id)

    def list_org(self, org_id: str) -> list[Project]:
        return sorted((p for p in self.projects.values() if p.org_id == org_id), key=lambda p: p.project_id)


@dataclass
class StaticKey:
    key: bytes = b"test-pagination-key"
    fetches: int = 0

    def __call__(self) -> bytes:
        self.fetches += 1
        return self.key
