"""The reads keep a project they found a few seconds; never one they did not find."""

from __future__ import annotations

from concurrent.futures import Executor, Future
from dataclasses import dataclass

import pytest

from ocore_usage.storage.projects import Project
from ocore_usage.usecases.reports import project_cache
from ocore_usage.usecases.reports.project_cache import ProjectCache
from ocore_usage.usecases.reports.service import Reports
from ocore_usage.wiring import read_service

SECOND = 1_000_000


class Registry:
    """Projects by id, counting the lookups that reach it."""

    def __init__(self, *projects: Project) -> None:
        self.projects = {project.project_id: project for project in projects}
        self.lookups = 0

    def get(self, project_id: str) -> Project | None:
        self.lookups += 1
        return self.projects.get(project_id)

    def get_many(self, project_ids: list[str]) -> dict[str, Project]:
        return {p: self.projects[p] for p in project_ids if p in self.projects}

    def list_active(self, org_id: str) -> list[Project]:
        return [p for p in self.projects.values() if p.org_id == org_id and not p.deleted]


@dataclass
class Clock:
    now: int = 1_000 * SECOND

    def __call__(self) -> int:
        return self.now


def test_a_project_found_is_kept_for_max_age_then_read_again_with_its_new_name() -> None:
    registry, clock = Registry(Project("p1", "org_a", "Web")), Clock()
    cache = ProjectCache(registry, clock, max_age=10 * SECOND)

    assert cache.get("p1") == Project("p1", "org_a", "Web")
    registry.projects["p1"] = Project("p1", "org_a", "Website")  # renamed
    clock.now += 10 * SECOND - 1
    assert cache.get("p1") == Project("p1", "org_a", "Web")
    assert registry.lookups == 1

    clock.now += 1
    assert cache.get("p1") == Project("p1", "org_a", "Website")
    assert registry.lookups == 2


def test_a_project_not_found_is_asked_for_again_so_a_registration_shows_at_once() -> None:
    registry, clock = Registry(), Clock()
    cache = ProjectCache(registry, clock)

    assert cache.get("p1") is None
    registry.projects["p1"] = Project("p1", "org_a", "Web")
    assert cache.get("p1") == Project("p1", "org_a", "Web")
    assert registry.lookups == 2


def test_a_clock_that_goes_back_reads_again() -> None:
    registry, clock = Registry(Project("p1", "org_a", "Web")), Clock()
    cache = ProjectCache(registry, clock)
    cache.get("p1")
    clock.now -= 1
    cache.get("p1")
    assert registry.lookups == 2


def test_the_cache_is_bounded_and_lists_are_never_kept(monkeypatch) -> None:
    monkeypatch.setattr(project_cache, "MAX_ENTRIES", 2)
    registry, clock = Registry(*(Project(p, "org_a", p) for p in ("p1", "p2", "p3"))), Clock()
    cache = ProjectCache(registry, clock)
    for project_id in ("p1", "p2", "p1", "p3"):  # p2 is now the least recently used
        cache.get(project_id)
    assert registry.lookups == 3
    cache.get("p1")
    cache.get("p2")
    assert registry.lookups == 4

    registry.projects["p4"] = Project("p4", "org_a", "p4")
    assert [p.project_id for p in cache.list_active("org_a")] == ["p1", "p2", "p3", "p4"]
    assert set(cache.get_many(["p3", "p4", "p9"])) == {"p3", "p4"}


def test_the_functions_reads_use_it(monkeypatch) -> None:
    for name in ("PROJECTS_TABLE", "ROLLUPS_TABLE", "WORK_TABLE", "PAGINATION_KEY_PARAMETER"):
        monkeypatch.setenv(name, name.lower())
    read_service.cache_clear()
    try:
        assert isinstance(read_service().projects, ProjectCache)
    finally:
        read_service.cache_clear()


class NoPool(Executor):
    """An executor that must not be used."""

    def submit(self, fn, /, *args, **kwargs):
        raise AssertionError("a pool task was started")


class InPlace(Executor):
    def __init__(self) -> None:
        self.tasks = 0

    def submit(self, fn, /, *args, **kwargs):
        self.tasks += 1
        future: Future[object] = Future()
        future.set_result(fn(*args, **kwargs))
        return future


def test_a_kept_project_is_answered_in_place_and_any_other_lookup_on_the_pool() -> None:
    registry, clock = Registry(Project("p1", "org_a", "Web")), Clock()
    cache = ProjectCache(registry, clock)
    pool = InPlace()
    reports = Reports(cache, rollups=None, tokens=None, record_bytes=len, clock=clock, executor=pool)

    assert reports.lookup("p1").result() == Project("p1", "org_a", "Web")  # not kept yet: looked up
    assert reports.lookup("p9").result() is None
    assert (pool.tasks, registry.lookups) == (2, 2)

    reports.executor = NoPool()
    assert reports.lookup("p1").result() == Project("p1", "org_a", "Web")
    assert registry.lookups == 2
    clock.now += 60 * SECOND  # no longer fresh: a lookup again, on the pool
    with pytest.raises(AssertionError, match="pool task"):
        reports.lookup("p1")
