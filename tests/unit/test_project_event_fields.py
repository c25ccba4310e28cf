"""The fields of an ``ocore.projects`` event: what project sync reads, and what it refuses."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from ocore_usage.usecases.projects import ProjectEvent

EVENTS = Path(__file__).resolve().parents[2] / "events"


def upserted(**detail: Any) -> dict[str, Any]:
    event: dict[str, Any] = json.loads((EVENTS / "project_upserted.json").read_text())
    event["detail"].update(detail)
    return event


def test_the_recorded_events_are_read():
    # GIVEN the events EventBridge delivers (events/) / WHEN they are read / THEN sync gets their fields
    assert ProjectEvent.of(upserted()) == ProjectEvent(
        "ProjectUpserted", "2026-11-26T00:00:00Z", "proj_web", "org_demo", "web-frontend"
    )
    deleted = json.loads((EVENTS / "project_deleted.json").read_text())
    assert ProjectEvent.of(deleted).detail_type == "ProjectDeleted"


def test_a_name_is_optional_and_other_fields_are_ignored():
    event = upserted(extra="x")
    del event["detail"]["name"]
    assert ProjectEvent.of({**event, "replay-name": "r"}).name is None


@pytest.mark.parametrize(
    ("change", "named"),
    [
        pytest.param({"source": "ocore.billing"}, "source", id="another source"),
        pytest.param({"detail-type": "ProjectRenamed"}, "detail-type", id="another detail type"),
        pytest.param({"time": 1764115200}, "time", id="time not a string"),
        pytest.param({"detail": "proj_web"}, "detail.projectId", id="detail not an object"),
    ],
)
def test_an_event_of_another_shape_is_refused_naming_the_field(change, named):
    with pytest.raises(ValueError, match=named):
        ProjectEvent.of({**upserted(), **change})


@pytest.mark.parametrize(
    ("detail", "named"),
    [
        pytest.param({"projectId": "proj web"}, "detail.projectId", id="project id with a space"),
        pytest.param({"projectId": "proj_web\n"}, "detail.projectId", id="project id with a trailing newline"),
        pytest.param({"orgId": "o" * 65}, "detail.orgId", id="org id too long"),
        pytest.param({"orgId": None}, "detail.orgId", id="no org"),
        pytest.param({"name": "n" * 257}, "detail.name", id="name too long"),
        pytest.param({"name": 7}, "detail.name", id="name not a string"),
    ],
)
def test_a_bad_detail_is_refused_naming_the_field(detail, named):
    with pytest.raises(ValueError, match=named):
        ProjectEvent.of(upserted(**detail))
