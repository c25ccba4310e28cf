"""The reads send independent requests at once, and tenancy still decides the answer.

In-memory repositories whose calls wait on each other show what runs beside what, without
timing anything: a sequential read would wait forever (here: until a timeout, then fail).
"""

from __future__ import annotations

import random
import threading
from dataclasses import dataclass, field
from datetime import UTC, datetime

import pytest

from ocore_usage import wiring
from ocore_usage.api import reads
from ocore_usage.api.queries import ProjectUsageQuery, UsageQuery, read_parameters
from ocore_usage.domain.aggregation import Usage
from ocore_usage.domain.periods import Period
from ocore_usage.domain.planner import TimeRange, plan_reads
from ocore_usage.domain.problems import Problem, ProblemCode
from ocore_usage.domain.timeline import Granularity
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project
from ocore_usage.usecases.reports.service import Reports
from tests.support.read_api import MemoryProjects, MemoryRollups, StaticKey, random_usage
from tests.support.read_reference import HOUR_US, ReadReference, RefProject, instant, to_us

WAIT = 10.0  # seconds: only reached when the reads are sequential (the test then fails)
FIRST = to_us(datetime(2026, 10, 1, tzinfo=UTC))
RAGGED = ("2026-10-02T05:00:00Z", "2026-11-05T09:00:00Z")  # 34 days and 4 hours, cut at both ends


@dataclass
class GatedProjects(MemoryProjects):
    """A registry whose ``get`` answers only once ``gate`` is open (or the wait times out)."""

    gate: threading.Event = field(default_factory=threading.Event)
    waited: list[bool] = field(default_factory=list)

    def get(self, project_id: str) -> Project | None:
        self.waited.append(self.gate.wait(WAIT))
        return super().get(project_id)


@dataclass
class GatedRollups(MemoryRollups):
    """Series whose queries each open ``started`` once called, then answer once ``release`` is open."""

    started: threading.Event = field(default_factory=threading.Event)
    release: threading.Event = field(default_factory=threading.Event)
    runs: int = 0
    _count: threading.Lock = field(default_factory=threading.Lock)

    def read_series(
        self, scope: SeriesOwner, identifier: str, granularity: Granularity, first_bucket: int, last_bucket: int
    ) -> dict[int, Usage]:
        with self._count:
            self.runs += 1
        self.started.set()
        self.release.wait(WAIT)
        return super().read_series(scope, identifier, granularity, first_bucket, last_bucket)


def _world(projects: MemoryProjects, rollups: MemoryRollups) -> ReadReference:
    rng, reference = random.Random(7), ReadReference(data_through=instant("2026-11-20T00:00:00Z"))
    for project_id, org_id in (("proj_a", "org_a"), ("proj_x", "org_b")):
        projects.add(Project(project_id, org_id, project_id.upper()))
        reference.projects[project_id] = RefProject(project_id, org_id, project_id.upper())
        hours = {FIRST + i * HOUR_US: random_usage(rng) for i in range(24 * 40)}
        reference.project_hours[project_id] = hours
        rollups.store_hours(SeriesOwner.PROJECT, project_id, hours)
    return reference


def _reports(projects: MemoryProjects, rollups: MemoryRollups) -> Reports:
    return wiring.reads_on(projects, rollups, StaticKey(), clock=lambda: instant("2026-11-20T00:00:00Z"))


def _daily() -> ProjectUsageQuery:
    return read_parameters(ProjectUsageQuery, {"period": "daily", "start_date": RAGGED[0], "end_date": RAGGED[1]})


def test_the_project_lookup_runs_beside_the_bucket_queries():
    # GIVEN a registry that answers only once a bucket query has started
    rollups = GatedRollups()
    rollups.release.set()
    projects = GatedProjects(gate=rollups.started)
    reference = _world(projects, rollups)
    # WHEN one project's daily usage over a ragged range is read
    answer = reads.project_usage(_reports(projects, rollups), "org_a", "proj_a", _daily()).body()
    # THEN the lookup did not wait in vain, the plan's three queries ran, and the answer is exact
    assert projects.waited == [True]
    assert rollups.runs == len(plan_reads(TimeRange(instant(RAGGED[0]), instant(RAGGED[1])), Period.DAILY).reads) == 3
    assert answer == reference.project_usage("proj_a", instant(RAGGED[0]), instant(RAGGED[1]), "daily")


def test_the_queries_of_a_plan_run_at_once():
    # GIVEN queries that each wait until all three have started
    rollups = GatedRollups()
    projects = MemoryProjects()
    reference = _world(projects, rollups)
    barrier = threading.Barrier(3, timeout=WAIT)
    original = rollups.read_series

    def read_series(*args: object) -> dict[int, Usage]:
        barrier.wait()  # raises BrokenBarrierError if the three queries are not in flight together
        return original(*args)  # type: ignore[arg-type]

    rollups.release.set()
    rollups.read_series = read_series  # type: ignore[method-assign]
    answer = reads.project_usage(_reports(projects, rollups), "org_a", "proj_a", _daily()).body()
    assert answer == reference.project_usage("proj_a", instant(RAGGED[0]), instant(RAGGED[1]), "daily")


@pytest.mark.parametrize("route", ["project", "usage"])
def test_another_orgs_project_is_not_found_even_when_its_buckets_arrive_first(route):
    # GIVEN the registry answers only after the buckets were read
    rollups = GatedRollups()
    rollups.release.set()
    projects = GatedProjects(gate=rollups.started)
    _world(projects, rollups)
    reports = _reports(projects, rollups)
    # WHEN org_a asks for org_b's project
    with pytest.raises(Problem) as raised:
        if route == "project":
            reads.project_usage(reports, "org_a", "proj_x", _daily())
        else:
            reads.usage(reports, "org_a", read_parameters(UsageQuery, {**_daily().values(), "project_id": "proj_x"}))
    # THEN the answer is the unknown project's, with nothing of its usage
    assert raised.value.code is ProblemCode.PROJECT_NOT_FOUND
    assert "proj_x" in raised.value.detail and "PROJ_X" not in str(raised.value.to_body(None))


def test_a_foreign_project_is_refused_without_waiting_for_its_buckets():
    # GIVEN bucket queries that do not answer until released
    rollups = GatedRollups()
    projects = MemoryProjects()
    _world(projects, rollups)
    # WHEN org_a asks for org_b's project THEN the 404 comes while its queries are still held
    try:
        with pytest.raises(Problem) as raised:
            reads.project_usage(_reports(projects, rollups), "org_a", "proj_x", _daily())
        assert raised.value.code is ProblemCode.PROJECT_NOT_FOUND
        assert not rollups.release.is_set()
    finally:
        rollups.release.set()


def test_an_unknown_or_malformed_project_reads_no_bucket():
    rollups, projects = MemoryRollups(), MemoryProjects()
    _world(projects, rollups)
    reports = _reports(projects, rollups)
    for project_id in ("proj_nope", "bad id/../x"):
        with pytest.raises(Problem) as raised:
            reads.project_usage(reports, "org_a", project_id, _daily())
        assert raised.value.code is ProblemCode.PROJECT_NOT_FOUND
    # the unknown id's queries were started beside its lookup; the malformed one's never
    assert rollups.queries <= 3
