"""Builds the service's tables and repositories from settings, once per process, on first use.

Nothing here runs at import time: a function's cold start only creates the DynamoDB client when a
request first needs it, and loads the services (and the sample rules) only in the functions that
use them. Tests do not go through here: they build repositories on their own
clients (moto or DynamoDB Local).
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import TYPE_CHECKING, cast

from ocore_usage.settings import get_settings
from ocore_usage.storage.projects import ProjectRepository
from ocore_usage.storage.rollups import RollupRepository
from ocore_usage.storage.tables import Table
from ocore_usage.storage.work import WorkQueue

if TYPE_CHECKING:
    from botocore.session import Session as BotocoreSession
    from mypy_boto3_dynamodb.client import DynamoDBClient
    from mypy_boto3_lambda.client import LambdaClient

    from ocore_usage.usecases.dispatch import RollupDispatcher
    from ocore_usage.usecases.ingest import IngestService
    from ocore_usage.usecases.projects import ProjectSync
    from ocore_usage.usecases.rollup import RollupService


@dataclass(frozen=True, slots=True)
class Tables:
    samples: Table
    work: Table
    rollups: Table
    projects: Table

    @property
    def rollup_repository(self) -> RollupRepository:
        return RollupRepository(self.rollups)

    @property
    def project_repository(self) -> ProjectRepository:
        return ProjectRepository(self.projects)

    @classmethod
    def on(cls, client: DynamoDBClient, names: dict[str, str] | None = None) -> Tables:
        """The service's tables on ``client``, named by settings unless ``names`` says otherwise."""
        settings = get_settings()
        names = names or {}
        return cls(
            samples=Table(client, names.get("samples", settings.samples_table)),
            work=Table(client, names.get("work", settings.work_table)),
            rollups=Table(client, names.get("rollups", settings.rollups_table)),
            projects=Table(client, names.get("projects", settings.projects_table)),
        )


@cache
def _botocore_session() -> BotocoreSession:
    # botocore's own session, not boto3's: the same clients, without importing boto3 (and its
    # s3transfer) into the cold start. Imported on first use, when a request needs a client.
    import botocore.session

    return botocore.session.get_session()


@cache
def dynamodb_client() -> DynamoDBClient:
    return cast("DynamoDBClient", _botocore_session().create_client("dynamodb"))


@cache
def tables() -> Tables:
    return Tables.on(dynamodb_client())


@cache
def ingest_service() -> IngestService:
    from ocore_usage.storage.samples import SampleRepository  # with the sample rules: ingest and rollup only
    from ocore_usage.usecases.ingest import IngestService

    found = tables()
    return IngestService(SampleRepository(found.samples), WorkQueue(found.work))


@cache
def rollup_service() -> RollupService:
    from ocore_usage.storage.samples import SampleRepository
    from ocore_usage.usecases.rollup import RollupService

    found = tables()
    return RollupService(
        SampleRepository(found.samples),
        WorkQueue(found.work),
        found.rollup_repository,
        found.project_repository,
        batch_marks=get_settings().rollup_batch_marks,
    )


@cache
def rollup_dispatcher(function: str) -> RollupDispatcher:
    """The dispatcher that starts workers as asynchronous invocations of ``function`` (itself)."""
    from ocore_usage.usecases.dispatch import AsyncInvoker, RollupDispatcher

    launcher = AsyncInvoker(cast("LambdaClient", _botocore_session().create_client("lambda")), function)
    return RollupDispatcher(WorkQueue(tables().work), launcher, workers=get_settings().rollup_concurrency - 1)


@cache
def project_sync() -> ProjectSync:
    from ocore_usage.usecases.projects import ProjectSync

    found = tables()
    return ProjectSync(found.project_repository, WorkQueue(found.work))
