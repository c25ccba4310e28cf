"""The schedule's fan-out on the real local stack: the dispatch event starts worker invocations of
RollupFunction (``InvocationType: Event`` through the Invoke API), and they roll every project and org."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.support.http import request
from tests.support.samples import sample

pytestmark = pytest.mark.integration

PROJECTS = {f"proj_fanout_{i}": f"org_fanout_{i % 3}" for i in range(12)}


def test_the_dispatch_event_fans_out_to_workers_that_roll_everything(local_stack):
    # GIVEN 12 projects of 3 orgs with six hours of samples each
    for project_id, org_id in PROJECTS.items():
        local_stack.register_project(project_id, org_id, project_id)
    first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=6)
    samples = [
        sample(
            sampleId=f"{project_id}-{n}",
            projectId=project_id,
            instanceId="vm-1",
            intervalStart=(first + timedelta(minutes=30 * n)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            intervalSeconds=1800,
            ramGb=4,
            diskGb=10,
            bandwidthOutBytes=10,
        )
        for project_id in PROJECTS
        for n in range(12)
    ]
    writer = local_stack.token(scope="usage:write")
    status, body = request("POST", f"{local_stack.api_url}/usage/samples", writer, {"samples": samples})
    assert status == 202, body
    reports_before = len(re.findall(r"REPORT RollupFunction", local_stack.log_text()))

    # WHEN the schedule's event is invoked (synchronously here, to read its answer)
    dispatch = local_stack.invoke("RollupFunction", {"dispatch": True})

    # THEN it started between 1 and RollupConcurrency - 1 workers, sharing out the shards with work
    assert dispatch["processed"] == 0 and dispatch["remaining"] > 0
    assert 1 <= len(dispatch["workers"]) <= 4
    shards = [s for share in dispatch["workers"] for s in share]
    assert len(shards) == len(set(shards))
    # AND those workers, asynchronous invocations run by the stack, roll everything
    local_stack.dispatch_until_done(max_seconds=120)
    assert len(re.findall(r"REPORT RollupFunction", local_stack.log_text())) > reports_before + len(dispatch["workers"])
    # AND every org's hours, read over HTTP, hold all its projects' usage (2 cores for 6 hours each)
    # (whole days around the samples: they may cross midnight)
    start, end = first.date().isoformat(), (first + timedelta(days=1, hours=7)).date().isoformat()
    for org_id in sorted(set(PROJECTS.values())):
        reader = local_stack.token(org=org_id, scope="usage:read")
        query = f"period=hourly&start_date={start}&end_date={end}"
        status, body = request("GET", f"{local_stack.api_url}/usage?{query}", reader)
        assert status == 200, body
        mine = [p for p, o in PROJECTS.items() if o == org_id]
        assert body["totals"]["cpuCoreHours"] == Decimal(2 * 6 * len(mine)), body["totals"]
