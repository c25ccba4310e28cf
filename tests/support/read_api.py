"""What the read-API tests share: events built from events/, stored series, and in-memory fakes.

- :func:`api_event` turns one of the committed events (events/get_*.json) into a request with
  other query parameters, path, org or scopes; the query string is encoded the way API Gateway
  hands it over (``rawQueryString`` as sent, repeated values comma-joined in
  ``queryStringParameters``).
- :func:`store_hours` writes hourly usages and the daily and monthly buckets derived from them
  (sums, max of peaks), the way the rollup stores a series; :func:`usage_months` are the months
  the rollup notes for a project with those hours.
- :class:`MemoryRollups` and :class:`MemoryProjects` are in-memory stand-ins of the
  repositories for pure property tests; they count the requests (and items) they answer, from
  any thread (the reads run requests at once).
"""

from __future__ import annotations

import copy
import json
import random
import threading
from collections import Counter, defaultdict
from collections.abc import Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from decimal import Decimal
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import quote

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from moto import mock_aws

from ocore_usage import wiring
from ocore_usage.domain.aggregation import Usage, merge_all
from ocore_usage.domain.periods import bucket_start
from ocore_usage.domain.timeline import Granularity, floor_month, parse_rfc3339
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project, ProjectChange
from ocore_usage.storage.rollups import RollupRepository
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.freshness import RollupWatermark
from ocore_usage.wiring import Tables
from tests.support.read_reference import ReadReference, RefProject
from tests.support.template import LOGICAL_TABLE_NAMES, create_tables

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
    headers: Mapping[str, str] | None = None,
) -> dict[str, Any]:
    """An HTTP API (payload 2.0) event for ``route`` (``project``, ``usage`` or ``totals``), with
    ``headers`` added (lowercased, as API Gateway delivers them)."""
    event = copy.deepcopy(_base_event(ROUTE_EVENTS[route]))
    for name, value in (headers or {}).items():
        event["headers"][name.lower()] = value
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
    headers: Mapping[str, str] = field(default_factory=dict)
    """Lowercased names."""


def call(handler: Any, event: dict[str, Any]) -> Answer:
    """Invoke a function's ``lambda_handler`` and decode its answer (JSON numbers as exact Decimals;
    any other body, e.g. CSV, as its text)."""
    response = handler(event, LambdaContext())
    headers = {k.lower(): v for k, v in (response.get("headers") or {}).items()}
    text = response.get("body") or ""
    content_type = headers.get("content-type", "")
    body: Any = text or None
    if text and "json" in content_type:
        body = json.loads(text, parse_float=Decimal)
    return Answer(response["statusCode"], content_type, body, text, headers)


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


def store_hours(repository: RollupRepository, scope: SeriesOwner, identifier: str, hours: Mapping[int, Usage]) -> None:
    for granularity, buckets in derived_series(hours).items():
        repository.write_series(scope, identifier, granularity, buckets)


def usage_months(hours: Mapping[int, Usage]) -> set[int]:
    """The months the rollup notes in the org's usage months for a project with these hours."""
    return {floor_month(hour) for hour, usage in hours.items() if not usage.is_empty}


# ---------------------------------------------------------------- in-memory repositories


@dataclass
class MemoryRollups:
    """A SeriesSource over dictionaries, counting queries and items the way DynamoDB would.

    ``months`` is the org's usage months: ``(org, month) -> projects``, a superset of the
    projects with usage in each month (tests may add months without usage).
    """

    series: dict[tuple[SeriesOwner, str, Granularity], dict[int, Usage]] = field(default_factory=dict)
    months: dict[tuple[str, int], set[str]] = field(default_factory=dict)
    queries: int = 0
    items_read: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def store_hours(self, scope: SeriesOwner, identifier: str, hours: Mapping[int, Usage]) -> None:
        for granularity, buckets in derived_series(hours).items():
            self.series[(scope, identifier, granularity)] = dict(buckets)

    def note_usage_months(self, org_id: str, project_id: str, months: Iterable[int]) -> None:
        for month in months:
            self.months.setdefault((org_id, month), set()).add(project_id)

    def read_series(
        self, scope: SeriesOwner, identifier: str, granularity: Granularity, first_bucket: int, last_bucket: int
    ) -> dict[int, Usage]:
        stored = self.series.get((scope, identifier, granularity), {})
        found = {b: u for b, u in stored.items() if first_bucket <= b <= last_bucket}
        with self._lock:
            self.queries += 1
            self.items_read += len(found)
        return found

    def projects_with_usage(self, org_id: str, first_month: int, last_month: int) -> set[str]:
        found = [
            (m, p) for (o, m), ps in self.months.items() if o == org_id and first_month <= m <= last_month for p in ps
        ]
        with self._lock:
            self.queries += 1
            self.items_read += len(found)
        return {p for _, p in found}


@dataclass
class MemoryProjects:
    """A ProjectSource over a dictionary, counting the requests it answers."""

    projects: dict[str, Project] = field(default_factory=dict)
    requests: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def add(self, project: Project) -> None:
        self.projects[project.project_id] = project

    def _count(self) -> None:
        with self._lock:
            self.requests += 1

    def get(self, project_id: str) -> Project | None:
        self._count()
        return self.projects.get(project_id)

    def get_many(self, project_ids: list[str]) -> dict[str, Project]:
        self._count()
        return {p: self.projects[p] for p in project_ids if p in self.projects}

    def list_active(self, org_id: str) -> list[Project]:
        self._count()
        return sorted(
            (p for p in self.projects.values() if p.org_id == org_id and not p.deleted), key=lambda p: p.project_id
        )


@dataclass
class StaticKey:
    """A pagination key source: ``key`` signs, ``key`` and ``older`` keys verify."""

    key: bytes = b"test-pagination-key"
    older: tuple[bytes, ...] = ()

    def __call__(self) -> tuple[bytes, ...]:
        return (self.key, *self.older)


# ---------------------------------------------------------------- the three functions on moto


@dataclass
class FixedClock:
    now: int

    def __call__(self) -> int:
        return self.now


@dataclass
class ReadApi:
    """The three read functions on a moto DynamoDB, with a fixed clock and a static signing key."""

    tables: Any
    clock: FixedClock
    key: StaticKey
    reports: Any

    @classmethod
    def install(cls, tables: Any, monkeypatch: Any, now: str = "2026-11-26T02:30:00Z") -> ReadApi:
        clock, key = FixedClock(parse_rfc3339(now)), StaticKey()
        # the rollup's heads on the same tables, read once here and then kept, as a warm process keeps
        # them (the fixed clock never lets them age): the requests the tests count are the reads' own
        watermark = RollupWatermark(WorkQueue(tables.work), clock, max_age=1 << 62)
        watermark.data_through()
        service = wiring.reads_on(
            tables.project_repository, tables.rollup_repository, key, clock=clock, watermark=watermark
        )
        monkeypatch.setattr(wiring, "read_service", lambda: service)
        return cls(tables, clock, key, service)

    def project(self, project_id: str, org_id: str, name: str = "", deleted: bool = False) -> Project:
        project = Project(project_id, org_id, name or project_id.replace("_", " ").title(), deleted)
        # registered as by its first event (one request: the name comes with the status)
        change = ProjectChange(project_id, org_id, project.event_time, deleted, first_name=project.name)
        self.tables.project_repository.apply(change)
        return project

    def store(self, scope: SeriesOwner, identifier: str, hours: Mapping[int, Usage]) -> None:
        store_hours(self.tables.rollup_repository, scope, identifier, hours)

    def get(self, route: str, query: Sequence[tuple[str, str]] | Mapping[str, str] = (), **kwargs: Any) -> Answer:
        from functions.get_project_usage import app as project_app
        from functions.get_usage import app as usage_app
        from functions.get_usage_totals import app as totals_app

        handler = {"project": project_app, "usage": usage_app, "totals": totals_app}[route].lambda_handler
        return call(handler, api_event(route, query, **kwargs))

    def pages(self, route: str, query: Mapping[str, str], **kwargs: Any) -> list[dict[str, Any]]:
        """The bodies of every page of ``query``'s answer, following ``nextToken``; each must be a 200."""
        bodies: list[dict[str, Any]] = []
        token = None
        for _ in range(1000):
            answer = self.get(route, {**query, **({"next_token": token} if token else {})}, **kwargs)
            assert answer.status == 200, answer.body
            bodies.append(answer.body)
            token = answer.body.get("nextToken")
            if token is None:
                return bodies
        raise AssertionError("pagination did not end")


@dataclass
class RequestLog:
    """Requests seen on a botocore client's ``after-call`` events, from any thread (the reads send
    independent requests at once); for a Query, the items it returned and examined."""

    calls: Counter[str] = field(default_factory=Counter)
    items: int = 0
    scanned: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    def __call__(self, model: Any, parsed: dict[str, Any], **_: Any) -> None:
        with self._lock:
            self.calls[model.name] += 1
            self.items += int(parsed.get("Count", 0))
            self.scanned += int(parsed.get("ScannedCount", 0))


# ---------------------------------------------------------------- a small world of usage


def random_usage(rng: random.Random, max_peak: int = 4) -> Usage:
    peak = rng.randint(1, max_peak)
    return Usage.of(
        cpu=rng.randint(0, 4 * 10**6) * rng.randint(1, 3600) * 10**6,
        ram=rng.randint(0, 16 * 10**6) * rng.randint(1, 3600) * 10**6,
        disk=rng.randint(0, 100 * 10**6) * rng.randint(1, 3600) * 10**6,
        instance=rng.randint(1, peak * 3600) * 10**6,
        bytes_in=rng.randint(0, 10**12),
        bytes_out=rng.randint(0, 10**12),
        peak=peak,
    )


def org_hours_of(project_hours: Sequence[Mapping[int, Usage]]) -> dict[int, Usage]:
    """The org series over its projects' hours: sums add; the org-wide peak is above the largest
    project peak whenever two projects ran in the same hour (as concurrent instances would be)."""
    by_hour: dict[int, list[Usage]] = defaultdict(list)
    for hours in project_hours:
        for hour, usage in hours.items():
            by_hour[hour].append(usage)
    return {
        hour: Usage.of(**{**merge_all(usages).as_dict(), "peak": sum(u.peak for u in usages)})
        for hour, usages in by_hour.items()
    }


def sparse_hours(rng: random.Random, first: int, hours: int, density: float) -> dict[int, Usage]:
    return {first + i * HOUR: random_usage(rng) for i in range(hours) if rng.random() < density}


HOUR = 3_600_000_000


@dataclass(frozen=True)
class WorldProject:
    project_id: str
    org_id: str
    name: str
    deleted: bool = False
    density: float = 0.5
    """Share of the hours with usage."""


@contextmanager
def seeded_world(
    projects: Sequence[WorldProject], first_hour: int, hours: int, *, seed: int = 4, now: str = "2026-11-26T02:30:00Z"
) -> Iterator[tuple[ReadApi, ReadReference]]:
    """Moto tables from the template, seeded once with random hourly usage (and their daily,
    monthly and org series), the read functions wired to them, and the reference model of it all.

    For module-scoped fixtures: tests that only read share one seeded world.
    """
    rng = random.Random(seed)
    # nothing pending in the world's heads: dataThrough is the time they were read, to the minute
    now_us = parse_rfc3339(now)
    reference = ReadReference(data_through=now_us - now_us % 60_000_000)
    with mock_aws(), pytest.MonkeyPatch.context() as monkeypatch:
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        api = ReadApi.install(Tables(client, LOGICAL_TABLE_NAMES), monkeypatch, now=now)
        for spec in projects:
            api.project(spec.project_id, spec.org_id, spec.name, spec.deleted)
            reference.projects[spec.project_id] = RefProject(spec.project_id, spec.org_id, spec.name, spec.deleted)
            usage = sparse_hours(rng, first_hour, hours, spec.density)
            reference.project_hours[spec.project_id] = usage
            api.store(SeriesOwner.PROJECT, spec.project_id, usage)
            # the usage months may over-approximate (a month whose usage moved away stays noted): note
            # the month before the world's first hour too, where no project has usage
            noted = usage_months(usage) | {floor_month(first_hour - HOUR)}
            api.tables.rollup_repository.note_usage_months(spec.org_id, spec.project_id, noted)
        for org_id in sorted({spec.org_id for spec in projects}):
            org = org_hours_of([reference.project_hours[p.project_id] for p in reference.org_projects(org_id)])
            reference.org_hours[org_id] = org
            api.store(SeriesOwner.ORG, org_id, org)
        yield api, reference


@contextmanager
def deployed_functions(monkeypatch: Any, key: str = "s3cret-page-key") -> Iterator[Any]:
    """The functions' own wiring on moto: tables from the template, settings from the environment
    the template gives, the pagination key in SSM. Caches are cleared before and after."""

    def clear() -> None:
        for cached in (wiring.dynamodb_client, wiring.tables, wiring.ingest_service, wiring.read_service):
            cached.cache_clear()
        parameters.clear_caches()

    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        name = "/ocore/usage/test/pagination-key"
        boto3.client("ssm", region_name="us-east-1").put_parameter(Name=name, Value=key, Type="SecureString")
        monkeypatch.setenv("PAGINATION_KEY_PARAMETER", name)
        for which, logical_id in LOGICAL_TABLE_NAMES.items():
            monkeypatch.setenv(f"{which.upper()}_TABLE", logical_id)
        clear()
        try:
            yield client
        finally:
            clear()
