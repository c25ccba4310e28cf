"""Builds the service's tables and repositories from settings, once per process, on first use.

Nothing here runs at import time: a function's cold start only creates the DynamoDB client when a
request first needs it, and loads the services, the repositories and the sample rules only in the
functions that use them. Each build reads the variables it needs then (a table's name when the
table is first used): a function fails on a missing variable only if it uses it, and then names
it. Tests build repositories on their own clients (moto, DynamoDB Local or in memory), and the
read service on them through :func:`reads_on`.
"""

from __future__ import annotations

from collections.abc import Mapping
from functools import cache, cached_property
from typing import TYPE_CHECKING, cast

from ocore_usage import aws
from ocore_usage.domain.timeline import now_micros
from ocore_usage.settings import ROLLUP_BATCH_MARKS, flag_setting, setting, whole_setting
from ocore_usage.storage.tables import Table
from ocore_usage.storage.wire import decode_with_json

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_lambda.client import LambdaClient

    from ocore_usage.api.pagination import KeySource
    from ocore_usage.storage.projects import ProjectRepository
    from ocore_usage.storage.rollups import RollupRepository
    from ocore_usage.storage.samples import SampleRepository
    from ocore_usage.storage.work import WorkQueue
    from ocore_usage.usecases.dispatch import RollupDispatcher
    from ocore_usage.usecases.ingest import IngestService
    from ocore_usage.usecases.projects import ProjectSync
    from ocore_usage.usecases.reports.service import Clock, ProjectSource, Reports, SeriesSource, Watermark
    from ocore_usage.usecases.rollup import RollupService


class Tables:
    """The service's tables on ``client``, each named when first used: by ``names`` (keyed
    ``samples``, ``work``, ``rollups``, ``projects``), else by its variable (``SAMPLES_TABLE``...)."""

    def __init__(self, client: DynamoDBClient, names: Mapping[str, str] | None = None) -> None:
        self._client = client
        self._names = names or {}

    def _named(self, which: str) -> Table:
        name = self._names.get(which)
        return Table(self._client, setting(f"{which.upper()}_TABLE") if name is None else name)

    @cached_property
    def samples(self) -> Table:
        return self._named("samples")

    @cached_property
    def work(self) -> Table:
        return self._named("work")

    @cached_property
    def rollups(self) -> Table:
        return self._named("rollups")

    @cached_property
    def projects(self) -> Table:
        return self._named("projects")

    @property
    def work_queue(self) -> WorkQueue:
        from ocore_usage.storage.work import WorkQueue  # the writers and the rollup, not the reads

        return WorkQueue(self.work)

    @property
    def rollup_repository(self) -> RollupRepository:
        from ocore_usage.storage.rollups import RollupRepository  # the rollup and the reads only

        return RollupRepository(self.rollups)

    @property
    def project_repository(self) -> ProjectRepository:
        from ocore_usage.storage.projects import ProjectRepository  # not the ingest

        return ProjectRepository(self.projects)


@cache
def dynamodb_client() -> DynamoDBClient:
    """The process's DynamoDB client, its read answers decoded by ``json`` (:mod:`ocore_usage.storage.wire`)."""
    client = aws.client("dynamodb")
    decode_with_json(client)
    return cast("DynamoDBClient", client)


@cache
def tables() -> Tables:
    return Tables(dynamodb_client())


def _sample_repository(found: Tables) -> SampleRepository:
    from ocore_usage.storage.identities import IdentityIndex
    from ocore_usage.storage.samples import SampleRepository  # with the sample rules: ingest and rollup only

    index = IdentityIndex(found.samples, legacy=flag_setting("READ_LEGACY_IDENTITIES"))
    return SampleRepository(found.samples, index)


@cache
def ingest_service() -> IngestService:
    from ocore_usage.usecases.ingest import IngestService

    found = tables()
    return IngestService(_sample_repository(found), found.work_queue)


@cache
def rollup_service() -> RollupService:
    from ocore_usage.usecases.rollup import RollupService

    found = tables()
    return RollupService(
        _sample_repository(found),
        found.work_queue,
        found.rollup_repository,
        found.project_repository,
        batch_marks=whole_setting("ROLLUP_BATCH_MARKS", 1, default=ROLLUP_BATCH_MARKS),
    )


@cache
def rollup_dispatcher(function: str) -> RollupDispatcher:
    """The dispatcher that starts workers as asynchronous invocations of ``function`` (itself)."""
    from ocore_usage.usecases.dispatch import AsyncInvoker, RollupDispatcher

    # the rollup's reserved concurrency: the dispatcher and the workers beside it (at least one)
    workers = whole_setting("ROLLUP_CONCURRENCY", 2) - 1
    launcher = AsyncInvoker(cast("LambdaClient", aws.client("lambda")), function)
    return RollupDispatcher(tables().work_queue, launcher, workers=workers)


@cache
def project_sync() -> ProjectSync:
    from ocore_usage.usecases.projects import ProjectSync

    found = tables()
    return ProjectSync(found.project_repository, found.work_queue)


@cache
def read_service() -> Reports:
    """The read use cases on the service's tables, with tokens keyed from SSM, the rollup's watermark,
    and the projects found kept a few seconds."""
    from ocore_usage.api.pagination import ssm_key_source
    from ocore_usage.storage.heads import ShardHeads
    from ocore_usage.usecases.freshness import RollupWatermark
    from ocore_usage.usecases.reports.project_cache import ProjectCache

    found = tables()
    return reads_on(
        ProjectCache(found.project_repository, now_micros),
        found.rollup_repository,
        ssm_key_source(setting("PAGINATION_KEY_PARAMETER")),
        watermark=RollupWatermark(ShardHeads(found.work)),
    )


def reads_on(
    projects: ProjectSource,
    rollups: SeriesSource,
    keys: KeySource,
    *,
    clock: Clock = now_micros,
    watermark: Watermark | None = None,
) -> Reports:
    """The read use cases on these repositories, their pages' tokens signed with ``keys``."""
    from ocore_usage.api.pagination import PageTokens
    from ocore_usage.api.reads import response_bytes
    from ocore_usage.usecases.reports.service import Reports

    return Reports(projects, rollups, PageTokens(keys), response_bytes, clock=clock, watermark=watermark)
