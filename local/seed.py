"""Demo data for the local stack: org ``org_demo`` with four projects and two weeks of usage.

Everything goes in through the stack's public faces, as in production: projects are registered
by invoking ProjectSyncFunction with ``ocore.projects`` EventBridge events, samples are posted to
``POST /api/usage/samples`` with a service token (``usage:write``) in batches of at most 1,000,
several batches at once, and RollupFunction is dispatched as the schedule does until nothing
remains: its workers are asynchronous invocations that the stack runs in the background.

The fleet is deterministic (a fixed random seed) and reads like a real one: a web tier that
scales out on weekday business hours, nightly batch workers that start and stop mid-interval,
an API tier with one instance replaced half-way, a database whose disk grows, and one project
of another org (``org_other``, three days of history: enough for tenancy checks). Samples
cover 30-minute intervals, ending at the last whole interval before now. Agents may report
every 5 minutes; coarser samples change no figure's shape, and ingest costs grow with the
number of samples: measured on a 2-core machine shared with other work, 15-minute samples put
``make dev``'s ready line at 20-30 s, 30-minute ones at 15-23 s.

Seeding is CPU-bound (the functions run in the runner's process, DynamoDB Local beside it),
and the rollup's cost grows with project-hours rather than samples; several batches and
several rollup workers at once keep both cores busy. The dispatcher shares the shards with work
out among the workers (at most the function's reserved concurrency, less its own slot).
"""

from __future__ import annotations

import math
import random
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from local.client import LocalStackClient

DEMO_ORG = "org_demo"
OTHER_ORG = "org_other"
INTERVAL = timedelta(minutes=30)
HISTORY = timedelta(days=14)
BATCH_SIZE = 1000
PARALLEL_BATCHES = 3
GB = 1_000_000_000


@dataclass(frozen=True, slots=True)
class DemoProject:
    project_id: str
    org_id: str
    name: str
    history: timedelta = HISTORY


PROJECTS = (
    DemoProject("prj_web_frontend", DEMO_ORG, "web-frontend"),
    DemoProject("prj_batch_jobs", DEMO_ORG, "batch-jobs"),
    DemoProject("prj_public_api", DEMO_ORG, "public-api"),
    DemoProject("prj_analytics_db", DEMO_ORG, "analytics-db"),
    DemoProject("prj_internal_tools", OTHER_ORG, "internal-tools", history=timedelta(days=3)),
)


@dataclass(frozen=True, slots=True)
class Instance:
    """One instance of a project: its size, and when it runs."""

    project_id: str
    instance_id: str
    cpu: float
    ram_gb: float
    disk_gb: float
    traffic_gb_per_hour: float

    def running(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        """The part of ``[start, end)`` this instance runs in (None when it is off)."""
        return start, end


@dataclass(frozen=True, slots=True)
class BusinessHoursInstance(Instance):
    """Added by the web tier's autoscaling on weekdays, 08:00-20:00 UTC."""

    def running(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        return (start, end) if start.weekday() < 5 and 8 <= start.hour < 20 else None


@dataclass(frozen=True, slots=True)
class NightlyInstance(Instance):
    """A batch worker that starts a few minutes after 01:00 and stops around 05:00 UTC."""

    start_minute: int = 0
    stop_minute: int = 0

    def running(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        day = start.replace(hour=0, minute=0, second=0, microsecond=0)
        on = day + timedelta(hours=1, minutes=self.start_minute)
        off = day + timedelta(hours=4, minutes=45 + self.stop_minute)
        begin, finish = max(start, on), min(end, off)
        return (begin, finish) if begin < finish else None


@dataclass(frozen=True, slots=True)
class ReplacedInstance(Instance):
    """An instance that runs only before (or from) ``switch``: a replacement mid-history."""

    switch: datetime = datetime(2000, 1, 1, tzinfo=UTC)
    before: bool = True

    def running(self, start: datetime, end: datetime) -> tuple[datetime, datetime] | None:
        begin, finish = (start, min(end, self.switch)) if self.before else (max(start, self.switch), end)
        return (begin, finish) if begin < finish else None


def fleet(first: datetime, rng: random.Random) -> list[Instance]:
    switch = first + HISTORY / 2 + timedelta(minutes=37)
    web = [Instance("prj_web_frontend", f"web-{n}", 2, 4, 20, 1.5) for n in (1, 2)]
    web += [BusinessHoursInstance("prj_web_frontend", f"web-{n}", 2, 4, 20, 1.5) for n in (3, 4)]
    batch = [
        NightlyInstance("prj_batch_jobs", f"worker-{n}", 8, 32, 100, 0.2, rng.randrange(0, 12), rng.randrange(0, 30))
        for n in range(1, 5)
    ]
    api = [Instance("prj_public_api", f"api-{n}", 4, 8, 40, 3.0) for n in (1, 2)]
    api += [
        ReplacedInstance("prj_public_api", "api-3", 4, 8, 40, 3.0, switch=switch, before=True),
        ReplacedInstance("prj_public_api", "api-4", 4, 8, 40, 3.0, switch=switch, before=False),
    ]
    database = [Instance("prj_analytics_db", "db-1", 16, 64, 500, 0.5)]
    tools = [Instance("prj_internal_tools", "tools-1", 1, 2, 10, 0.05)]
    return [*web, *batch, *api, *database, *tools]


def _load(at: datetime) -> float:
    """Daily load curve in [0.2, 1]: busiest mid-afternoon UTC, quieter at weekends."""
    hours = at.hour + at.minute / 60
    daily = 0.6 + 0.4 * math.sin((hours - 8) / 24 * 2 * math.pi)
    return max(0.2, daily * (0.7 if at.weekday() >= 5 else 1.0))


def demo_samples(now: datetime, rng: random.Random | None = None) -> list[dict[str, object]]:
    """Two weeks of samples of the demo fleet, ending at the last whole interval before ``now``."""
    rng = rng or random.Random(20261126)
    step = int(INTERVAL.total_seconds())
    last = datetime.fromtimestamp(int(now.timestamp()) // step * step, UTC)
    first = last - HISTORY
    instances = fleet(first, rng)
    since = {p.project_id: last - p.history for p in PROJECTS}
    samples: list[dict[str, object]] = []
    for start in _intervals(first, last):
        load = _load(start)
        for instance in instances:
            running = instance.running(start, start + INTERVAL) if start >= since[instance.project_id] else None
            if running is None:
                continue
            begin, end = running
            seconds = int((end - begin).total_seconds())
            jitter = rng.uniform(0.9, 1.1)
            days = (start - first) / timedelta(days=1)
            traffic = instance.traffic_gb_per_hour * GB * load * jitter * seconds / 3600
            samples.append(
                {
                    "sampleId": f"{instance.instance_id}:{int(begin.timestamp())}",
                    "projectId": instance.project_id,
                    "instanceId": instance.instance_id,
                    "intervalStart": begin.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "intervalSeconds": seconds,
                    "cpuCores": round(instance.cpu * (0.5 + 0.5 * load * jitter), 3),
                    "ramGb": round(instance.ram_gb * (0.75 + 0.25 * load), 3),
                    "diskGb": round(instance.disk_gb * (1 + 0.02 * days), 3),
                    "bandwidthInBytes": int(traffic * 0.3),
                    "bandwidthOutBytes": int(traffic),
                }
            )
    return samples


def _intervals(first: datetime, last: datetime) -> Iterator[datetime]:
    at = first
    while at < last:
        yield at
        at += INTERVAL


def batches(samples: list[dict[str, object]], size: int = BATCH_SIZE) -> list[list[dict[str, object]]]:
    return [samples[offset : offset + size] for offset in range(0, len(samples), size)]


@dataclass(frozen=True, slots=True)
class SeedReport:
    projects: int
    samples: int
    batches: int
    workers: int
    ingest_seconds: float
    rollup_seconds: float

    @property
    def seconds(self) -> float:
        return self.ingest_seconds + self.rollup_seconds

    def __str__(self) -> str:
        return (
            f"seeded {self.projects} projects and {self.samples} samples in {self.batches} batches "
            f"({self.ingest_seconds:.1f}s), rolled up by {self.workers} worker invocations ({self.rollup_seconds:.1f}s)"
        )


class SeedError(RuntimeError):
    """The stack refused demo data."""


def seed_demo(client: LocalStackClient, now: datetime | None = None) -> SeedReport:
    """Register the demo projects, post their samples, and roll everything up."""
    started = time.monotonic()
    for project in PROJECTS:
        client.register_project(project.project_id, project.org_id, project.name)
    samples = demo_samples(now or datetime.now(UTC))
    token = client.token(scope="usage:write")

    def post(batch: list[dict[str, object]]) -> None:
        response = client.request("POST", "/usage/samples", token=token, body={"samples": batch})
        if response.status != 202:
            raise SeedError(f"POST /usage/samples answered {response.status}: {response.body[:500]!r}")

    chunks = batches(samples)
    with ThreadPoolExecutor(PARALLEL_BATCHES) as pool:
        list(pool.map(post, chunks))
    ingested = time.monotonic()
    workers = client.dispatch_until_done()
    rolled = time.monotonic()
    return SeedReport(len(PROJECTS), len(samples), len(chunks), workers, ingested - started, rolled - ingested)
