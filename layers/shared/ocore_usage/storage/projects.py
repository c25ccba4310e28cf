"""ProjectRepository: the project registry (who owns a project, its current name, deleted or not)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocore_usage.storage.tables import Item, Table, marshal

BY_ORG_INDEX = "ByOrg"


@dataclass(frozen=True, slots=True)
class Project:
    project_id: str
    org_id: str
    name: str
    deleted: bool = False
    event_time: int = 0
    """Microsecond instant of the last applied project event (orders out-of-order deliveries)."""

    def as_item(self) -> Item:
        return {
            "projectId": self.project_id,
            "orgId": self.org_id,
            "name": self.name,
            "deleted": self.deleted,
            "eventTime": self.event_time,
        }

    @classmethod
    def from_item(cls, item: Item) -> Project:
        return cls(
            project_id=item["projectId"],
            org_id=item["orgId"],
            name=item.get("name", ""),
            deleted=bool(item.get("deleted", False)),
            event_time=int(item.get("eventTime", 0)),
        )


class ProjectRepository:
    def __init__(self, table: Table) -> None:
        self.table = table

    def get(self, project_id: str, *, consistent: bool = False) -> Project | None:
        item = self.table.get({"projectId": project_id}, consistent=consistent)
        return Project.from_item(item) if item else None

    def get_many(self, project_ids: list[str], *, consistent: bool = False) -> dict[str, Project]:
        items = self.table.batch_get([{"projectId": p} for p in project_ids], consistent=consistent)
        return {item["projectId"]: Project.from_item(item) for item in items}

    def list_org(self, org_id: str) -> list[Project]:
        """Every project ever registered to ``org_id`` (deleted ones too), ordered by id."""
        items = self.table.query(org_id, index=BY_ORG_INDEX, pk_name="orgId", sk_name="projectId")
        return [Project.from_item(item) for item in items]

    def put_if_newer(self, project: Project) -> bool:
        """Store ``project`` unless a newer event was applied or the project belongs to another org.

        Returns False when refused. A tie in event time lets the later delivery win.
        """
        condition: dict[str, Any] = {
            "ConditionExpression": "attribute_not_exists(projectId) OR (orgId = :org AND eventTime <= :time)",
            "ExpressionAttributeValues": {":org": {"S": project.org_id}, ":time": {"N": str(project.event_time)}},
        }
        try:
            self.table.client.put_item(TableName=self.table.name, Item=marshal(project.as_item()), **condition)
        except self.table.client.exceptions.ConditionalCheckFailedException:
            return False
        return True
