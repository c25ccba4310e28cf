"""Ingest and project sync driven through their ports (``usecases/ports.py``) on in-memory fakes, no DynamoDB.

What is checked is the use cases' own order of calls: ingest refuses a batch whole before it writes
anything, writes the samples before it marks their hours stale, and marks nothing when the samples
could not be written; project sync releases held work only for an event it applied.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence

import pytest

from ocore_usage.domain.metered import Sample
from ocore_usage.domain.problems import Problem
from ocore_usage.domain.samples import WINDOW_PAST
from ocore_usage.domain.timeline import MICROS_PER_HOUR, parse_rfc3339
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project, ProjectChange
from ocore_usage.usecases.ingest import IngestService
from ocore_usage.usecases.projects import Outcome, ProjectSync
from tests.support.samples import NOW, sample

NOW_MICROS = parse_rfc3339(NOW)


class StorageDown(RuntimeError):
    """The sample table could not be written."""


class Journal(list[str]):
    """The calls the fakes received, in order."""


class SamplesInMemory:
    """A :class:`~ocore_usage.usecases.ports.SampleLog`: the stored starts it is given, the batches appended."""

    def __init__(self, journal: Journal, stored: dict[tuple[str, str], int] | None = None, down: bool = False) -> None:
        self.journal = journal
        self.stored = stored or {}
        self.down = down
        self.appended: list[Sample] = []

    def stored_starts(self, keys: Iterable[tuple[str, str]]) -> dict[tuple[str, str], int]:
        self.journal.append("stored_starts")
        return {key: self.stored[key] for key in keys if key in self.stored}

    def append(self, samples: Sequence[Sample], *, version: str, writer: str, written_at: int) -> int:
        self.journal.append("append")
        if self.down:
            raise StorageDown("samples table unavailable")
        self.appended += samples
        return 1


class MarksInMemory:
    """A :class:`~ocore_usage.usecases.ports.StaleHours` and ``HeldHours``: marks written, held hours released."""

    def __init__(self, journal: Journal, held: dict[str, int] | None = None) -> None:
        self.journal = journal
        self.held = held or {}
        self.marked: set[tuple[SeriesOwner, str, int]] = set()

    def mark(
        self, kind: SeriesOwner, stale: Iterable[tuple[str, int]], now: int, origin: int | None = None
    ) -> set[int]:
        self.journal.append("mark")
        self.marked |= {(kind, identifier, hour) for identifier, hour in stale}
        return {0}

    def release_held(self, project_id: str, now: int) -> int:
        self.journal.append(f"release_held {project_id}")
        return self.held.pop(project_id, 0)


class RegistryInMemory:
    """A :class:`~ocore_usage.usecases.ports.ProjectRegistry` that keeps each project's first org and newest event."""

    def __init__(self, journal: Journal, projects: Iterable[Project] = ()) -> None:
        self.journal = journal
        self.projects = {project.project_id: project for project in projects}

    def get(self, project_id: str, *, consistent: bool) -> Project | None:
        return self.projects.get(project_id)

    def apply(self, change: ProjectChange) -> bool:
        self.journal.append(f"apply {change.project_id}")
        current = self.projects.get(change.project_id)
        if current is not None and (current.org_id != change.org_id or current.event_time > change.time):
            return False
        name = change.name or (current.name if current else change.first_name)
        self.projects[change.project_id] = Project(change.project_id, change.org_id, name, change.deleted, change.time)
        return True


def body(*samples: dict[str, object]) -> str:
    return json.dumps({"samples": list(samples)})


def test_a_closed_correction_refuses_the_whole_batch_before_anything_is_written() -> None:
    # GIVEN s-1 stored with a version that starts before the 35-day window, and a new valid sample s-2
    journal = Journal()
    closed = {("proj_web", "s-1"): NOW_MICROS - WINDOW_PAST - 1}
    samples, marks = SamplesInMemory(journal, stored=closed), MarksInMemory(journal)
    ingest = IngestService(samples, marks, clock=lambda: NOW_MICROS)
    # WHEN a batch corrects s-1 and adds s-2
    with pytest.raises(Problem) as refused:
        ingest.ingest_body(body(sample(), sample(sampleId="s-2")))
    # THEN it is refused whole: the identities were read, and nothing was appended or marked
    assert refused.value.to_body()["code"] == "sample_out_of_window"
    assert [error.message.split(":")[0] for error in refused.value.errors] == ["proj_web/s-1"]
    assert journal == ["stored_starts"]
    assert (samples.appended, marks.marked) == ([], set())


def test_samples_are_written_before_the_hours_they_make_stale_are_marked() -> None:
    journal = Journal()
    samples, marks = SamplesInMemory(journal), MarksInMemory(journal)
    ingest = IngestService(samples, marks, clock=lambda: NOW_MICROS)
    # WHEN a sample from 01:55 to 02:00 and one from 01:58 to 02:03 are stored
    accepted = ingest.ingest_body(body(sample(), sample(sampleId="s-2", intervalStart="2026-11-26T01:58:00Z")))
    # THEN both are appended, then the hours 01:00 and 02:00 of the project are marked, in that order
    assert accepted == 2
    assert journal == ["stored_starts", "append", "mark"]
    assert [s.sample_id for s in samples.appended] == ["s-1", "s-2"]
    one = parse_rfc3339("2026-11-26T01:00:00Z")
    assert marks.marked == {
        (SeriesOwner.PROJECT, "proj_web", one),
        (SeriesOwner.PROJECT, "proj_web", one + MICROS_PER_HOUR),
    }


def test_samples_that_could_not_be_written_mark_nothing() -> None:
    # GIVEN a sample table that fails the write
    journal = Journal()
    samples, marks = SamplesInMemory(journal, down=True), MarksInMemory(journal)
    ingest = IngestService(samples, marks, clock=lambda: NOW_MICROS)
    # WHEN a batch is stored / THEN the failure reaches the caller (no 202) and no hour is marked stale
    with pytest.raises(StorageDown):
        ingest.ingest_body(body(sample()))
    assert journal == ["stored_starts", "append"]
    assert marks.marked == set()


def event(project_id: str, org_id: str, time: str, detail_type: str = "ProjectUpserted") -> dict[str, object]:
    return {
        "source": "ocore.projects",
        "detail-type": detail_type,
        "time": time,
        "detail": {"projectId": project_id, "orgId": org_id, "name": project_id},
    }


def test_registering_a_project_releases_its_held_hours() -> None:
    journal = Journal()
    sync = ProjectSync(RegistryInMemory(journal), MarksInMemory(journal, held={"proj_new": 3}), clock=lambda: 0)
    result = sync.apply(event("proj_new", "org_a", NOW))
    assert (result.outcome, result.released_hours) == (Outcome.APPLIED, 3)
    assert journal == ["apply proj_new", "release_held proj_new"]


@pytest.mark.parametrize(
    ("org_id", "time", "outcome"),
    [("org_b", "2026-11-26T03:00:00Z", Outcome.ORG_CONFLICT), ("org_a", "2026-11-26T01:00:00Z", Outcome.STALE)],
)
def test_an_event_not_applied_releases_nothing(org_id: str, time: str, outcome: Outcome) -> None:
    # GIVEN proj_web registered to org_a by an event at NOW, with hours held
    journal = Journal()
    registry = RegistryInMemory(journal, [Project("proj_web", "org_a", "web", event_time=NOW_MICROS)])
    sync = ProjectSync(registry, MarksInMemory(journal, held={"proj_web": 2}), clock=lambda: 0)
    # WHEN another org claims it, or an older event arrives / THEN it is refused and no held hour is released
    result = sync.apply(event("proj_web", org_id, time))
    assert result.outcome is outcome
    assert journal == ["apply proj_web"]
