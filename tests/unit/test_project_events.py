"""Project events change only what they carry: a deletion racing a rename never restores the old name.

Every event says whether the project exists (upsert: it does; deletion: it is deleted); only an
upsert sets the name. Each attribute keeps the value of the newest event that carried it,
whatever the order of delivery (a tie lets the later delivery win).
"""

from __future__ import annotations

from itertools import permutations
from typing import Any

import pytest

from ocore_usage.domain.timeline import parse_rfc3339
from ocore_usage.storage.projects import ProjectRepository
from ocore_usage.storage.tables import Table
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.projects import Outcome, ProjectSync

T0, T1, T2, T3 = "2026-11-20T00:00:00Z", "2026-11-21T00:00:00Z", "2026-11-22T00:00:00Z", "2026-11-23T00:00:00Z"


def event(kind: str, time: str, name: str | None = None, org: str = "org_demo") -> dict[str, Any]:
    detail: dict[str, Any] = {"projectId": "proj_web", "orgId": org}
    if name is not None:
        detail["name"] = name
    return {"source": "ocore.projects", "detail-type": kind, "time": time, "detail": detail}


def upsert(time: str, name: str | None = None, org: str = "org_demo") -> dict[str, Any]:
    return event("ProjectUpserted", time, name, org)


def delete(time: str, name: str | None = None) -> dict[str, Any]:
    return event("ProjectDeleted", time, name)


@pytest.fixture
def sync(dynamodb: Any) -> ProjectSync:
    return ProjectSync(ProjectRepository(Table(dynamodb, "ProjectsTable")), WorkQueue(Table(dynamodb, "WorkTable")))


def state(sync: ProjectSync) -> tuple[str, str, bool]:
    project = sync.projects.get("proj_web", consistent=True)
    assert project is not None
    return project.org_id, project.name, project.deleted


@pytest.mark.parametrize("deletion_carries", ["old", "new", None], ids=["old-name", "new-name", "no-name"])
@pytest.mark.parametrize("order", ["rename-first", "delete-first"])
def test_a_deletion_after_a_rename_keeps_the_new_name_in_either_order(sync, order, deletion_carries):
    # GIVEN a project registered as "old", renamed to "new" at T2, deleted at T3
    sync.apply(upsert(T0, "old"))
    rename, deletion = upsert(T2, "new"), delete(T3, deletion_carries)

    # WHEN the rename and the deletion arrive in either order
    for raw in [rename, deletion] if order == "rename-first" else [deletion, rename]:
        assert sync.apply(raw).outcome is Outcome.APPLIED

    # THEN the project is deleted under its new name
    assert state(sync) == ("org_demo", "new", True)


@pytest.mark.parametrize("order", ["rename-first", "delete-first"])
def test_a_rename_after_a_deletion_restores_the_project_under_its_new_name_in_either_order(sync, order):
    # GIVEN a project registered as "old", deleted at T1, upserted as "new" at T2
    sync.apply(upsert(T0, "old"))
    deletion, rename = delete(T1, "old"), upsert(T2, "new")

    # WHEN they arrive in either order
    for raw in [rename, deletion] if order == "rename-first" else [deletion, rename]:
        sync.apply(raw)

    # THEN the newer upsert decides: the project exists, named "new"
    assert state(sync) == ("org_demo", "new", False)


def test_a_deletion_racing_a_rename_cannot_write_back_the_name_it_read(sync, dynamodb):
    # GIVEN a project registered as "old"
    sync.apply(upsert(T0, "old"))
    # AND a rename (T2) that lands while the deletion (T3, carrying no name) is being applied:
    # right before the deletion's first write reaches the table
    armed = [True]

    def rename_lands_now(**_: Any) -> None:
        if armed[0]:
            armed[0] = False
            sync.apply(upsert(T2, "new"))

    for operation in ("PutItem", "UpdateItem"):
        dynamodb.meta.events.register(f"before-call.dynamodb.{operation}", rename_lands_now)

    # WHEN the deletion is applied
    sync.apply(delete(T3))

    # THEN the rename happened in between, and its name survives the deletion
    assert not armed[0]
    assert state(sync) == ("org_demo", "new", True)


def test_every_order_of_a_projects_events_ends_in_the_same_state(sync, dynamodb):
    # GIVEN a project's events: registered, renamed, deleted, renamed again while deleted, restored
    events = [upsert(T0, "a"), upsert(T1, "b"), delete(T2, "b"), delete("2026-11-23T12:00:00Z")]
    events.append(upsert("2026-11-24T00:00:00Z", "d"))

    # WHEN they arrive in every order (each order on a fresh registry)
    outcomes = set()
    for order in permutations(events):
        dynamodb.delete_item(TableName="ProjectsTable", Key={"projectId": {"S": "proj_web"}})
        for raw in order:
            sync.apply(raw)
        outcomes.add(state(sync))

    # THEN they all end the same: the newest event's status, the newest upsert's name
    assert outcomes == {("org_demo", "d", False)}


def test_a_project_first_registered_by_its_deletion_takes_the_name_of_any_upsert(sync):
    # GIVEN a deletion that arrives before the project's only upsert
    assert sync.apply(delete(T2, "from the deletion")).outcome is Outcome.APPLIED
    assert state(sync) == ("org_demo", "from the deletion", True)

    # WHEN the older upsert arrives
    result = sync.apply(upsert(T1, "web"))

    # THEN it names the project, which stays deleted
    assert result.outcome is Outcome.APPLIED
    assert state(sync) == ("org_demo", "web", True)


def test_an_upsert_without_a_name_keeps_the_name(sync):
    # GIVEN a named project WHEN a newer upsert carries no name THEN the name stays
    sync.apply(upsert(T0, "web"))
    sync.apply(delete(T1))
    assert sync.apply(upsert(T2)).outcome is Outcome.APPLIED
    assert state(sync) == ("org_demo", "web", False)


def test_older_and_repeated_events(sync):
    # GIVEN a project named at T2
    sync.apply(upsert(T2, "web"))

    # WHEN / THEN an older event changes nothing; the same event delivered again applies again (a tie)
    assert sync.apply(upsert(T1, "older")).outcome is Outcome.STALE
    assert sync.apply(delete(T1)).outcome is Outcome.STALE
    assert sync.apply(upsert(T2, "web")).outcome is Outcome.APPLIED
    assert state(sync) == ("org_demo", "web", False)
    assert sync.projects.get("proj_web").event_time == parse_rfc3339(T2)


@pytest.mark.parametrize("kind", ["ProjectUpserted", "ProjectDeleted"])
def test_an_event_naming_another_org_changes_nothing(sync, kind):
    # GIVEN a project of org_demo
    sync.apply(upsert(T0, "web"))

    # WHEN a newer event names another org
    result = sync.apply(event(kind, T3, "mine now", org="org_evil"))

    # THEN it is refused, and the project is as it was
    assert result.outcome is Outcome.ORG_CONFLICT
    assert state(sync) == ("org_demo", "web", False)
