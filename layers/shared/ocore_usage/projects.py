"""Applying ``ocore.projects`` events to the project registry.

Events arrive at least once and in any order, each with its ``time``. An event changes only what
it carries, and each attribute keeps the value of the newest event that carried it (a tie lets
the later delivery win): every event says whether the project exists (``ProjectUpserted``: it
does, ``ProjectDeleted``: it is deleted), and only an upsert sets the name. A deletion's ``name``
is the name of a project first registered by that deletion, never a rename: so a deletion
racing a rename, in whichever order they arrive, leaves the renamed project deleted under its new
name. A project's org is fixed by its first registration; an event naming another org is refused,
so no usage history can move between tenants. Registering a project releases the rollup work
parked while it was unknown.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from ocore_usage.storage.projects import ProjectChange, ProjectRepository
from ocore_usage.storage.work import WorkQueue
from ocore_usage.timeline import now_micros, parse_rfc3339

ID_PATTERN = r"^[A-Za-z0-9._-]{1,64}$"


class ProjectDetail(BaseModel):
    model_config = ConfigDict(extra="ignore")

    projectId: str = Field(pattern=ID_PATTERN)
    orgId: str = Field(pattern=ID_PATTERN)
    name: str | None = Field(default=None, max_length=256)


class ProjectEvent(BaseModel):
    """The EventBridge envelope fields project sync relies on."""

    model_config = ConfigDict(extra="ignore", populate_by_name=True)

    source: Literal["ocore.projects"]
    detail_type: Literal["ProjectUpserted", "ProjectDeleted"] = Field(alias="detail-type")
    time: str
    detail: ProjectDetail


class Outcome(StrEnum):
    APPLIED = "applied"
    STALE = "stale"
    ORG_CONFLICT = "org_conflict"


@dataclass(frozen=True, slots=True)
class SyncResult:
    outcome: Outcome
    project_id: str
    released_hours: int = 0


class ProjectSync:
    def __init__(self, projects: ProjectRepository, work: WorkQueue, clock: Callable[[], int] = now_micros) -> None:
        self.projects = projects
        self.work = work
        self.clock = clock

    def apply(self, raw_event: dict[str, Any]) -> SyncResult:
        event = ProjectEvent.model_validate(raw_event)
        detail = event.detail
        deleted = event.detail_type == "ProjectDeleted"
        change = ProjectChange(
            project_id=detail.projectId,
            org_id=detail.orgId,
            time=parse_rfc3339(event.time),
            deleted=deleted,
            name=None if deleted else detail.name,
            first_name=detail.name or detail.projectId,
        )
        if not self.projects.apply(change):
            current = self.projects.get(change.project_id, consistent=True)
            conflict = current is not None and current.org_id != change.org_id
            return SyncResult(Outcome.ORG_CONFLICT if conflict else Outcome.STALE, change.project_id)
        released = self.work.release_held(change.project_id, self.clock())
        return SyncResult(Outcome.APPLIED, change.project_id, released)
