"""ProjectRepository: the project registry (who owns a project, its current name, deleted or not).

An item holds ``projectId``, ``orgId`` (fixed by the first registration), ``deleted`` with
``eventTime`` (the instant of the newest project event applied: every event, upsert or deletion,
says whether the project exists), and ``name`` with ``nameTime`` (the instant of the newest event
that carried the name). Each attribute pair is written by its own conditional update, so an
event changes only what it carries, and only where nothing newer is stored.
"""

from __future__ import annotations

from dataclasses import dataclass

from ocore_usage.storage.tables import Item, Table

ACTIVE_BY_ORG_INDEX = "ActiveByOrg"
"""Sparse: only items with ``activeOrgId``, which the status update keeps while the project is not deleted."""


@dataclass(frozen=True, slots=True)
class Project:
    project_id: str
    org_id: str
    name: str
    deleted: bool = False
    event_time: int = 0
    """Microsecond instant of the newest project event applied (orders out-of-order deliveries)."""

    @classmethod
    def from_item(cls, item: Item) -> Project:
        return cls(
            project_id=item["projectId"],
            org_id=item["orgId"],
            name=item.get("name", ""),
            deleted=bool(item.get("deleted", False)),
            event_time=int(item.get("eventTime", 0)),
        )


@dataclass(frozen=True, slots=True)
class ProjectChange:
    """What one project event says, at its ``time`` (microseconds)."""

    project_id: str
    org_id: str
    time: int
    deleted: bool
    name: str | None = None
    """The name the event sets; None when it carries none to apply (a deletion)."""
    first_name: str = ""
    """The name a project first registered by this event gets until a named event arrives."""


# Both updates name the org: on a new item it registers it, on an existing one it must be the same.
_SAME_ORG = "attribute_not_exists(projectId) OR (orgId = :org AND ({newer}))"
_STATUS_UPDATE = "SET orgId = :org, deleted = :deleted, eventTime = :time, #name = if_not_exists(#name, :first)"
_STATUS_IS_OLDER = _SAME_ORG.format(newer="attribute_not_exists(eventTime) OR eventTime <= :time")
_NAME_UPDATE = "SET orgId = :org, #name = :name, nameTime = :time"
_NAME_IS_OLDER = _SAME_ORG.format(newer="attribute_not_exists(nameTime) OR nameTime <= :time")


class ProjectRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, project_id: str, *, consistent: bool = False) -> Project | None:
        item = self.table.get({"projectId": project_id}, consistent=consistent)
        return Project.from_item(item) if item else None

    def get_many(self, project_ids: list[str], *, consistent: bool = False) -> dict[str, Project]:
        items = self.table.batch_get([{"projectId": p} for p in project_ids], consistent=consistent)
        return {item["projectId"]: Project.from_item(item) for item in items}

    def list_active(self, org_id: str) -> list[Project]:
        """The projects of ``org_id`` that are not deleted, ordered by id (costs what it returns)."""
        items = self.table.query(org_id, index=ACTIVE_BY_ORG_INDEX, pk_name="activeOrgId", sk_name="projectId")
        return [Project.from_item(item) for item in items]

    def apply(self, change: ProjectChange) -> bool:
        """Store what ``change`` carries, attribute by attribute, where nothing newer is stored (a tie lets
        this later delivery win) and the project is not another org's; False if it changed nothing."""
        key = {"projectId": change.project_id}
        status_applied = self.table.update(
            key,
            _STATUS_UPDATE + (" REMOVE activeOrgId" if change.deleted else ", activeOrgId = :org"),
            condition=_STATUS_IS_OLDER,
            names={"#name": "name"},
            values={
                ":org": change.org_id,
                ":deleted": change.deleted,
                ":time": change.time,
                ":first": change.first_name or change.name or change.project_id,
            },
        )
        if change.name is None:
            return status_applied
        name_applied = self.table.update(
            key,
            _NAME_UPDATE,
            condition=_NAME_IS_OLDER,
            names={"#name": "name"},
            values={":org": change.org_id, ":name": change.name, ":time": change.time},
        )
        return status_applied or name_applied

    def put_if_newer(self, project: Project) -> bool:
        """Store ``project`` as one event at its ``event_time`` carrying its name and status."""
        return self.apply(
            ProjectChange(project.project_id, project.org_id, project.event_time, project.deleted, name=project.name)
        )
