"""Exactly once, from outside: agents racing over HTTP on the real local stack while rollups run.

Six agents post different versions of the same 40 samples at the same moment, each version in
another hour (so a losing version sits in another partition than the winner), four rounds,
with rollups invoked over the Lambda invoke API meanwhile; then one definitive version of each
sample is posted and rolled up. The project's totals read over HTTP must equal the definitive
samples alone, to the byte and the micro-core-hour. Two identical requests racing (an agent's
retry overtaking its first attempt) must count once.
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest

from tests.support.http import request, rounded
from tests.support.reference import RefSample, bucket_value

pytestmark = pytest.mark.integration

AGENTS = 6
ROUNDS = 4
SAMPLE_IDS = [f"race-{i:02d}" for i in range(40)]


def version(sample_id: str, base: datetime, agent: int, round_: int) -> RefSample:
    index = int(sample_id.split("-")[1])
    return RefSample(
        project_id="proj_race",
        sample_id=sample_id,
        instance_id=f"vm-{index % 5}",
        start=base + timedelta(hours=agent, minutes=index % 50, seconds=round_),
        seconds=300 + 60 * agent,
        cpu=Decimal(agent + 1) / Decimal(8),
        ram=Decimal(round_ + 1),
        disk=Decimal(index),
        bytes_in=10**9 + 1000 * agent + round_,
        bytes_out=index,
    )


def totals(local_stack, reader: str, start: datetime, end: datetime) -> dict:
    url = (
        f"{local_stack.api_url}/projects/proj_race/usage?period=daily"
        f"&start_date={start.date().isoformat()}&end_date={end.date().isoformat()}"
    )
    status, body = request("GET", url, reader)
    assert status == 200, body
    return body["totals"]


def assert_totals_equal(got: dict, samples: list[RefSample], start: datetime, end: datetime) -> None:
    want = bucket_value(samples, start, end)
    assert got["cpuCoreHours"] == rounded(want.cpu)
    assert got["ramGbHours"] == rounded(want.ram)
    assert got["diskGbHours"] == rounded(want.disk)
    assert got["instanceHours"] == rounded(want.instance_hours)
    assert (got["bandwidthInBytes"], got["bandwidthOutBytes"]) == (want.bytes_in, want.bytes_out)
    assert got["instanceCount"] == want.peak


def test_racing_agents_then_a_definitive_version_count_each_sample_once(local_stack):
    local_stack.register_project("proj_race", "org_race", "race")
    writer = local_stack.token(scope="usage:write")
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=2)
    url = f"{local_stack.api_url}/usage/samples"

    def post(batch: list[RefSample]) -> None:
        status, body = request("POST", url, writer, {"samples": [s.as_json() for s in batch]})
        assert (status, body) == (202, {"accepted": len(batch)})

    # WHEN six agents race four rounds of different versions while rollups keep running
    stop = threading.Event()

    def roll_meanwhile() -> int:
        runs = 0
        while not stop.is_set():
            local_stack.invoke("RollupFunction", {})
            runs += 1
        return runs

    with ThreadPoolExecutor(AGENTS + 1) as pool:
        rolling = pool.submit(roll_meanwhile)
        for round_ in range(ROUNDS):
            racing = [[version(s, base, agent, round_) for s in SAMPLE_IDS] for agent in range(AGENTS)]
            list(pool.map(post, racing))
        stop.set()
        assert rolling.result() >= 1
    # and one definitive version of each sample is posted and rolled up
    definitive = [version(s, base, agent=2, round_=99) for s in SAMPLE_IDS]
    post(definitive)
    local_stack.rollup_until_done()

    # THEN the project's totals count the definitive versions, each once
    reader = local_stack.token(org="org_race", scope="usage:read")
    start, end = base - timedelta(days=1), base + timedelta(days=3)
    assert_totals_equal(totals(local_stack, reader, start, end), definitive, start, end)


def test_two_identical_requests_racing_count_once(local_stack):
    local_stack.register_project("proj_race", "org_race", "race")
    writer = local_stack.token(scope="usage:write")
    reader = local_stack.token(org="org_race", scope="usage:read")
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(days=3, hours=12)
    start, end = base - timedelta(days=1), base + timedelta(days=2)
    before = totals(local_stack, reader, start, end)

    batch = [version(f"retry-{i:02d}", base, agent=0, round_=0) for i in range(30)]
    body = {"samples": [s.as_json() for s in batch]}
    with ThreadPoolExecutor(2) as pool:
        answers = list(
            pool.map(lambda _: request("POST", f"{local_stack.api_url}/usage/samples", writer, body), [0, 1])
        )
    assert answers == [(202, {"accepted": 30})] * 2
    local_stack.rollup_until_done()

    got = totals(local_stack, reader, start, end)
    want = bucket_value(batch, start, end)
    assert got["bandwidthInBytes"] - before["bandwidthInBytes"] == want.bytes_in
    assert got["instanceHours"] - before["instanceHours"] == rounded(want.instance_hours)
