"""Applying ``ocore.projects`` events to the project registry (the rules: docs/pipeline.md, "5. Projects").

Events arrive at least once and in any order; each attribute keeps the value of the newest event that carried it. A
deletion's ``name`` is only the name of a project first registered by that deletion, never a rename, so a deletion
racing a rename leaves the project deleted under its new name. An event naming another org than the project's first
is refused, so no usage history can move between tenants. Registering a project releases the rollup work parked
while it was unknown.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

from ocore_usage.domain.timeline import now_micros, parse_rfc3339
from ocore_usage.storage.projects import ProjectChange
from ocore_usage.usecases.ports import HeldHours, ProjectRegistry

_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # used with fullmatch: "^...$" would let a trailing newline through
MAX_NAME_LENGTH = 256
DETAIL_TYPES = ("ProjectUpserted", "ProjectDeleted")


@dataclass(frozen=True, slots=True)
class ProjectEvent:
    """The EventBridge envelope fields project sync relies on (others are ignored).

    Checked by hand rather than by a pydantic model, which would add pydantic's import to the
    function's cold start for five fields.
    """

    detail_type: str
    time: str
    project_id: str
    org_id: str
    name: str | None

    @classmethod
    def of(cls, raw: Mapping[str, Any]) -> ProjectEvent:
        """The event's fields; ValueError naming each one that is absent or not acceptable."""
        detail = raw.get("detail")
        detail = detail if isinstance(detail, Mapping) else {}
        name = detail.get("name")
        problems = [
            label
            for label, good in (
                ("source", raw.get("source") == "ocore.projects"),
                ("detail-type", raw.get("detail-type") in DETAIL_TYPES),
                ("time", isinstance(raw.get("time"), str)),
                ("detail.projectId", _is_id(detail.get("projectId"))),
                ("detail.orgId", _is_id(detail.get("orgId"))),
                ("detail.name", name is None or (isinstance(name, str) and len(name) <= MAX_NAME_LENGTH)),
            )
            if not good
        ]
        if problems:
            raise ValueError(f"not an ocore.projects event: bad or missing {', '.join(problems)}")
        return cls(raw["detail-type"], raw["time"], detail["projectId"], detail["orgId"], name)


def _is_id(value: Any) -> bool:
    return isinstance(value, str) and _ID.fullmatch(value) is not None


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
    def __init__(self, projects: ProjectRegistry, work: HeldHours, clock: Callable[[], int] = now_micros) -> None:
        self.projects = projects
        self.work = work
        self.clock = clock

    def apply(self, raw_event: dict[str, Any]) -> SyncResult:
        event = ProjectEvent.of(raw_event)
        deleted = event.detail_type == "ProjectDeleted"
        change = ProjectChange(
            project_id=event.project_id,
            org_id=event.org_id,
            time=parse_rfc3339(event.time),
            deleted=deleted,
            name=None if deleted else event.name,
            first_name=event.name or event.project_id,
        )
        if not self.projects.apply(change):
            current = self.projects.get(change.project_id, consistent=True)
            conflict = current is not None and current.org_id != change.org_id
            return SyncResult(Outcome.ORG_CONFLICT if conflict else Outcome.STALE, change.project_id)
        released = self.work.release_held(change.project_id, self.clock())
        return SyncResult(Outcome.APPLIED, change.project_id, released)
