"""The whole pipeline on the real local stack: samples posted over HTTP, rollups invoked over the
Lambda invoke API (twice at once), answers read back over HTTP and compared with the reference."""

from __future__ import annotations

import random
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.support.http import request, rounded
from tests.support.reference import RefSample, bucket_value

pytestmark = pytest.mark.integration


def test_posted_samples_read_back_exactly_after_concurrent_rollups(local_stack):
    # GIVEN a project of a fresh org and two days of samples from three instances, some late
    rng = random.Random(7)
    org, project = "org_pipeline", "proj_pipeline"
    local_stack.register_project(project, org, "pipeline")
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    first = now - timedelta(days=2)
    samples = [
        RefSample(
            project_id=project,
            sample_id=f"s-{i}",
            instance_id=f"vm-{i % 3}",
            start=first + timedelta(seconds=rng.randrange(0, 46 * 3600)),
            seconds=rng.choice([60, 300, 900, 3600, rng.randint(1, 3600)]),
            cpu=Decimal(rng.randint(0, 640_000_000)) / Decimal(10_000_000),  # 7 decimals: rounding matters
            ram=Decimal(rng.randint(0, 10**7)) / Decimal(1000),
            disk=Decimal(rng.randint(0, 500)),
            bytes_in=rng.randint(0, 10**12),
            bytes_out=rng.randint(0, 10**9),
        )
        for i in range(400)
    ]
    writer = local_stack.token(scope="usage:write")
    for offset in range(0, len(samples), 150):
        batch = [s.as_json() for s in samples[offset : offset + 150]]
        status, body = request("POST", f"{local_stack.api_url}/usage/samples", writer, {"samples": batch})
        assert (status, body) == (202, {"accepted": len(batch)})

    # WHEN two rollups run at once, then until nothing remains
    with ThreadPoolExecutor(2) as pool:
        results = list(pool.map(lambda _: local_stack.invoke("RollupFunction", {}), range(2)))
    assert all(set(r) == {"processed", "remaining"} for r in results)
    local_stack.rollup_until_done()

    # THEN each day read over HTTP equals the reference, to the byte and the micro-core-hour
    reader = local_stack.token(org=org, scope="usage:read")
    start, end = first.date().isoformat(), (now + timedelta(days=1)).date().isoformat()
    status, body = request(
        "GET", f"{local_stack.api_url}/projects/{project}/usage?period=daily&start_date={start}&end_date={end}", reader
    )
    assert status == 200, body
    assert body["items"][0]["periodStart"] == f"{start}T00:00:00Z"
    for item in body["items"]:
        day = datetime.fromisoformat(item["periodStart"].replace("Z", "+00:00"))
        want = bucket_value(samples, day, day + timedelta(days=1))
        assert item["cpuCoreHours"] == rounded(want.cpu), item
        assert item["ramGbHours"] == rounded(want.ram), item
        assert item["diskGbHours"] == rounded(want.disk), item
        assert item["instanceHours"] == rounded(want.instance_hours), item
        assert (item["bandwidthInBytes"], item["bandwidthOutBytes"]) == (want.bytes_in, want.bytes_out), item
        assert item["instanceCount"] == want.peak, item
    total = bucket_value(samples, first - timedelta(days=1), now + timedelta(days=1))
    assert body["totals"]["bandwidthInBytes"] == total.bytes_in
    assert body["totals"]["instanceCount"] == total.peak

    # and another org cannot see the project at all
    other = local_stack.token(org="org_other", scope="usage:read")
    status, problem = request("GET", f"{local_stack.api_url}/projects/{project}/usage", other)
    assert (status, problem["code"]) == (404, "project_not_found")
