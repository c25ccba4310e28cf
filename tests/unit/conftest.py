"""Fixtures of the read-API unit tests: one seeded world per test module."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from tests.support.read_api import ReadApi, RequestLog, seeded_world
from tests.support.read_reference import ReadReference


@pytest.fixture(scope="module")
def seeded(request: pytest.FixtureRequest) -> Iterator[tuple[ReadApi, ReadReference]]:
    """The module's ``WORLD`` of projects with usage from ``FIRST_HOUR`` for ``HOURS`` hours, stored
    once on moto (read-only for its tests), with the reference model of it; the read functions' clock
    stands at the module's ``NOW`` if it has one."""
    module = request.module
    now = {"now": module.NOW} if hasattr(module, "NOW") else {}
    with seeded_world(module.WORLD, module.FIRST_HOUR, module.HOURS, **now) as world:
        yield world


@pytest.fixture
def api(seeded: tuple[ReadApi, ReadReference]) -> ReadApi:
    return seeded[0]


@pytest.fixture
def world(seeded: tuple[ReadApi, ReadReference]) -> ReadReference:
    return seeded[1]


@pytest.fixture
def log(api: ReadApi) -> Iterator[RequestLog]:
    """Every DynamoDB request the test's reads send."""
    log = RequestLog()
    events = api.tables.rollups.client.meta.events
    events.register("after-call.dynamodb", log)
    yield log
    events.unregister("after-call.dynamodb", log)
