"""The pipeline wired on one DynamoDB client with a settable clock, and readers of what it stored."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from ocore_usage.api import jsonnum
from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.timeline import Granularity, from_micros, parse_rfc3339
from ocore_usage.storage.identities import IdentityIndex
from ocore_usage.storage.keys import SeriesOwner, series_pk
from ocore_usage.storage.projects import ProjectRepository
from ocore_usage.storage.rollups import RollupRepository
from ocore_usage.storage.samples import SampleRepository
from ocore_usage.storage.tables import Table
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.ingest import IngestService
from ocore_usage.usecases.projects import ProjectSync, SyncResult
from ocore_usage.usecases.rollup import RollupResult, RollupService
from tests.support.template import LOGICAL_TABLE_NAMES


def count_requests(client: Any) -> Counter[str]:
    """The DynamoDB requests ``client`` sends from now on, by operation."""
    counts: Counter[str] = Counter()

    def on_call(event_name: str, **_: object) -> None:
        counts[event_name.rsplit(".", 1)[-1]] += 1

    client.meta.events.register("before-call.dynamodb", on_call)
    return counts


@dataclass
class Clock:
    """A settable clock that moves on by one microsecond per reading, as a real one would between requests."""

    now: int

    def __call__(self) -> int:
        self.now += 1
        return self.now - 1

    def advance(self, micros: int) -> None:
        self.now += micros


@dataclass
class Pipeline:
    """The service's parts on ``client``. The identity index folds after a few hundred bytes of log
    into groups of a couple of ids, and every fold leaves hints that every lookup follows, so that
    tests cross folds, group splits and stale hints all the time."""

    client: Any
    clock: Clock
    names: dict[str, str] = field(default_factory=lambda: dict(LOGICAL_TABLE_NAMES))
    fold_bytes: int = 300
    group_bytes: int = 120
    hint_ratio: float = 0
    hint_min_ids: int = 0

    def table(self, which: str) -> Table:
        return Table(self.client, self.names[which])

    def samples(self, table: Table | None = None) -> SampleRepository:
        table = table or self.table("samples")
        index = IdentityIndex(
            table,
            fold_bytes=self.fold_bytes,
            group_bytes=self.group_bytes,
            hint_ratio=self.hint_ratio,
            hint_min_ids=self.hint_min_ids,
        )
        return SampleRepository(table, index)

    @property
    def ingest(self) -> IngestService:
        return IngestService(self.samples(), WorkQueue(self.table("work")), self.clock)

    def rollup(self, rollups_table: Table | None = None, client: Any = None) -> RollupService:
        def on(which: str) -> Table:
            return Table(client, self.names[which]) if client is not None else self.table(which)

        return RollupService(
            self.samples(on("samples")),
            WorkQueue(on("work")),
            RollupRepository(rollups_table or on("rollups")),
            ProjectRepository(on("projects")),
            clock=self.clock,
        )

    @property
    def sync(self) -> ProjectSync:
        return ProjectSync(ProjectRepository(self.table("projects")), WorkQueue(self.table("work")), self.clock)

    def send(self, samples: list[dict[str, Any]]) -> int:
        return self.ingest.ingest_body(jsonnum.dumps({"samples": samples}))

    def register(
        self, project_id: str, org_id: str, name: str = "", at: datetime | None = None, deleted: bool = False
    ) -> SyncResult:
        return self.sync.apply(
            {
                "source": "ocore.projects",
                "detail-type": "ProjectDeleted" if deleted else "ProjectUpserted",
                "time": (at or from_micros(self.clock.now)).isoformat().replace("+00:00", "Z"),
                "detail": {"projectId": project_id, "orgId": org_id, "name": name or project_id},
            }
        )

    def roll_until_done(self, max_runs: int = 10) -> list[RollupResult]:
        results = []
        for _ in range(max_runs):
            results.append(self.rollup().run())
            if results[-1].remaining == 0:
                return results
        raise AssertionError(f"rollup did not finish in {max_runs} runs: {results}")

    def stored_series(self, scope: SeriesOwner, identifier: str, granularity: Granularity) -> dict[datetime, Usage]:
        items = self.table("rollups").query(series_pk(scope, identifier, granularity), consistent=True)
        return {from_micros(parse_rfc3339(item["sk"])): Usage.from_dict(item) for item in items}
