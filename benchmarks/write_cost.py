"""What a sample costs in DynamoDB, and how fast a 1,000-sample POST stores it, on DynamoDB Local.

Capacity is what DynamoDB Local reports (``ReturnConsumedCapacity=TOTAL`` on every request),
summed per phase: ingest of new samples, their rollup, then ingest and rollup of corrections
of every sample (half of them moved to another hour), then an hour of steady state, three times:
one project's ``STEADY_INSTANCES`` instances, a one-instance project, and ``STEADY_INSTANCES``
instances sending random UUIDs as sample ids to an index that already holds days of them; each
instance sends a five-minute sample every five minutes, one POST per five minutes, and the rollup
runs after each, as the schedule would. Each phase ends with the fold of its projects' identity
logs, an hour on, as the rollup would make it. Dollars use on-demand prices
(``WRITE_PRICE``/``READ_PRICE`` per million request units) against the floor the service is
held to: one 1 KB item written once and read once per sample (1 write unit, and a quarter of a
strongly consistent read unit when read through a Query, 4 KB per unit).

Storage is what the samples table holds after each phase, sized by DynamoDB's rules (attribute
names and values, 100 bytes of indexing overhead per item), per sample, and what keeping it for
the 42 days of the table's TTL costs per million samples (``STORAGE_PRICE``, and
``PITR_PRICE`` for point-in-time recovery, per GB-month).

Throughput is a ratio against a floor measured in the same run, interleaved: a 1,000-sample
POST handled in-process (validation, identity pre-read, pages, marks) against plain sequential
``BatchWriteItem`` of 1,000 one-sample items (about the size of a stored sample) to the same
DynamoDB Local.
"""

from __future__ import annotations

import functools
import json
import os
import random
import statistics
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from local import dynamodb
from local.processes import free_port
from local.template import Template
from ocore_usage.domain.timeline import floor_hour, to_micros
from ocore_usage.domain.versions import Identity
from ocore_usage.storage.identities import FOLD_AGE, IdentityIndex
from ocore_usage.storage.projects import ProjectRepository
from ocore_usage.storage.rollups import RollupRepository
from ocore_usage.storage.samples import SampleRepository
from ocore_usage.storage.tables import Table
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.ingest import IngestService
from ocore_usage.usecases.projects import ProjectSync
from ocore_usage.usecases.rollup import RollupService

ROOT = Path(__file__).resolve().parents[1]
WRITE_PRICE = 0.625  # $ per million write request units (on-demand, us-east-1)
READ_PRICE = 0.125  # $ per million read request units
FLOOR_DOLLARS = WRITE_PRICE * 1 + READ_PRICE * 0.25
STORAGE_PRICE = 0.25  # $ per GB-month (standard table class)
PITR_PRICE = 0.20  # $ per GB-month of point-in-time recovery
ITEM_OVERHEAD = 100  # bytes DynamoDB bills per stored item, for its indexing
KEPT_MONTHS = 42 / 30.4  # the samples table's TTL
SAMPLES = int(os.environ.get("BENCH_SAMPLES", "10000"))
PROJECTS = 10
STEADY_INSTANCES = int(os.environ.get("BENCH_STEADY_INSTANCES", "100"))
STEADY_CYCLES = 12  # an hour of five-minute rollup runs
UUID_PROJECT = f"bench-uuid-{STEADY_INSTANCES}"
KNOWN_UUIDS = STEADY_INSTANCES * 288 * 4
"""Identities the random-id project's index holds before its hour: four days of its instances' samples."""
COORDINATION_TABLE = "WorkTable"
ROUNDS = int(os.environ.get("BENCH_POST_ROUNDS", "9"))
NOW = datetime(2026, 11, 26, 12, tzinfo=UTC)


class Meter:
    """Sums the capacity DynamoDB reports for every request made through one client.

    DynamoDB Local reports ``CapacityUnits`` per request but charges nothing for keys a
    ``BatchGetItem`` does not find; DynamoDB bills those at the minimum (1 unit strongly
    consistent, 0.5 eventually), so the meter adds them.
    """

    _READS = frozenset({"GetItem", "BatchGetItem", "Query", "Scan"})

    def __init__(self, client: Any) -> None:
        self.read = 0.0
        self.write = 0.0
        self.coordination = 0.0
        """Dollars spent on the work table's shard heads and leases (``BatchGetItem``, ``UpdateItem``): a
        run's and a shard's, whatever the projects in it; its marks (one per project hour) are not counted here."""
        self.requests: dict[str, int] = defaultdict(int)
        self._asked = threading.local()
        client.meta.events.register("provide-client-params.dynamodb.*", self._ask)
        client.meta.events.register("after-call.dynamodb.*", self._count)

    def _ask(self, params: dict[str, Any], model: Any, **_: Any) -> None:
        if "ReturnConsumedCapacity" in model.input_shape.members:
            params.setdefault("ReturnConsumedCapacity", "TOTAL")
        self._asked.params = params

    def _count(self, parsed: dict[str, Any], model: Any, **_: Any) -> None:
        self.requests[model.name] += 1
        consumed = parsed.get("ConsumedCapacity") or []
        units: dict[str, float] = defaultdict(float)
        for entry in consumed if isinstance(consumed, list) else [consumed]:
            units[entry.get("TableName", "")] += float(entry.get("CapacityUnits", 0))
        if model.name == "BatchGetItem":
            for table, request in getattr(self._asked, "params", {}).get("RequestItems", {}).items():
                missing = len(request["Keys"]) - len(parsed.get("Responses", {}).get(table, []))
                missing -= len((parsed.get("UnprocessedKeys") or {}).get(table, {}).get("Keys", []))
                units[table] += missing * (1.0 if request.get("ConsistentRead") else 0.5)
        price = READ_PRICE if model.name in self._READS else WRITE_PRICE
        if model.name in self._READS:
            self.read += sum(units.values())
        else:
            self.write += sum(units.values())
        if model.name in ("BatchGetItem", "UpdateItem"):
            self.coordination += units.get(COORDINATION_TABLE, 0.0) * price

    @contextmanager
    def phase(self) -> Iterator[dict[str, float]]:
        before = (self.read, self.write, self.coordination)
        found: dict[str, float] = {}
        yield found
        found["read"], found["write"] = self.read - before[0], self.write - before[1]
        found["coordination"] = self.coordination - before[2]


def _samples(count: int, moved: bool = False, seed: str = "a") -> list[dict[str, Any]]:
    """``count`` five-minute samples of ``PROJECTS`` projects; ``moved`` shifts every other one by an hour."""
    start = NOW - timedelta(days=2)
    out = []
    for i in range(count):
        shift = timedelta(hours=1) if moved and i % 2 else timedelta(0)
        out.append(
            {
                "sampleId": f"s-{i:06d}",
                "projectId": f"bench-{i % PROJECTS}",
                "instanceId": f"i-{(i // PROJECTS) % 40}",
                "intervalStart": (start + timedelta(minutes=5 * (i // 400)) + shift).isoformat().replace("+00:00", "Z"),
                "intervalSeconds": 300,
                "cpuCores": 2 if seed == "a" else 3,
                "ramGb": 4.5,
                "diskGb": 40,
                "bandwidthInBytes": 1_000_000 + i,
                "bandwidthOutBytes": 7_000 + i,
            }
        )
    return out


def _steady_cycle(cycle: int, instances: int, project: str = "") -> list[dict[str, Any]]:
    """One five-minute sample of each of ``instances`` instances of one project, ids by instance and
    time, or random UUIDs (version 4) for ``project``."""
    start = (NOW - timedelta(days=1) + timedelta(minutes=5 * cycle)).isoformat().replace("+00:00", "Z")
    ids = random.Random(f"{project}{cycle}")
    return [
        {
            "sampleId": str(uuid.UUID(int=ids.getrandbits(128), version=4)) if project else f"i-{n:03d}:{start}",
            "projectId": project or f"bench-steady-{instances}",
            "instanceId": f"i-{n:03d}",
            "intervalStart": start,
            "intervalSeconds": 300,
            "cpuCores": 2,
            "ramGb": 4.5,
            "diskGb": 40,
            "bandwidthInBytes": 1_000_000 + n,
            "bandwidthOutBytes": 7_000 + n,
        }
        for n in range(instances)
    ]


def _known_uuids(index: IdentityIndex, project: str, now: int) -> None:
    """Fold into ``project``'s index, unmetered, the identities of four days of its instances' samples
    with random ids: an index holding days of ids, where each new random id lands in a group of its own."""
    ids = random.Random(project)
    start = to_micros(NOW - timedelta(days=3))
    known = {
        str(uuid.UUID(int=ids.getrandbits(128), version=4)): Identity(f"{start:017d}-known", floor_hour(start), start)
        for _ in range(KNOWN_UUIDS)
    }
    index.record(project, known, index.read_log(project), now)
    index.fold(project, index.read_log(project), now)


def _ingest_all(ingest: IngestService, samples: list[dict[str, Any]]) -> None:
    for offset in range(0, len(samples), 1000):
        ingest.ingest_body(json.dumps({"samples": samples[offset : offset + 1000]}), writer="bench")


def _roll(rollup: RollupService) -> None:
    for _ in range(50):
        if rollup.run().remaining == 0:
            return
    raise RuntimeError("the rollup did not finish")


def _value_bytes(value: dict[str, Any]) -> int:
    """The size of one attribute value by DynamoDB's rules (numbers approximately, as they say)."""
    ((kind, content),) = value.items()
    match kind:
        case "S":
            return len(content.encode())
        case "N":
            return (len(content.lstrip("-").replace(".", "").strip("0")) + 1) // 2 + 1
        case "B":
            return len(content)
        case "SS":
            return sum(len(text.encode()) for text in content)
        case "M":
            return 3 + sum(len(name.encode()) + _value_bytes(item) + 1 for name, item in content.items())
        case "L":
            return 3 + sum(_value_bytes(item) + 1 for item in content)
        case _:
            return 1


def _stored_bytes(client: Any, table: str) -> dict[str, int]:
    """Bytes billed for the samples table's items, by kind of item (pages, tombstones...)."""
    found: dict[str, int] = defaultdict(int)
    for page in client.get_paginator("scan").paginate(TableName=table):
        for item in page["Items"]:
            sk, pk = item["sk"]["S"], item["pk"]["S"]
            kind = {"IL": "identity log", "IX": "identities"}.get(pk[:2]) or {"V": "pages", "T": "tombstones"}.get(
                sk[0], "indexed"
            )
            found[kind] += ITEM_OVERHEAD + sum(len(n.encode()) + _value_bytes(v) for n, v in item.items())
    return found


def _sequential_batch_write(client: Any, table: str) -> float:
    items = [
        {
            "pk": {"S": f"FLOOR#{uuid.uuid4().hex}"},
            "sk": {"S": f"s-{i:06d}"},
            "instanceId": {"S": "i-000001"},
            "start": {"N": "1795650000000000"},
            "duration": {"N": "300000000"},
            "cpu": {"N": "2000000"},
            "ram": {"N": "4500000"},
            "disk": {"N": "40000000"},
            "bytesIn": {"N": "1000000"},
            "bytesOut": {"N": "7000"},
        }
        for i in range(1000)
    ]
    started = time.perf_counter()
    for offset in range(0, 1000, 25):
        client.batch_write_item(
            RequestItems={table: [{"PutRequest": {"Item": i}} for i in items[offset : offset + 25]]}
        )
    return time.perf_counter() - started


def main() -> None:
    template = Template.load(ROOT / "template.yaml")
    with tempfile.TemporaryDirectory() as scratch:
        database = dynamodb.DynamoDBLocal(ROOT, free_port(), Path(scratch) / "dynamodb.log")
        try:
            database.wait_until_ready()
            client = dynamodb.client(database.endpoint)
            dynamodb.create_tables(client, template.tables.values())
            _run(client, {logical: logical for logical in template.tables})
        finally:
            database.process.terminate()
            database.process.wait()


def _run(client: Any, names: dict[str, str]) -> None:
    meter = Meter(client)
    clock_now = to_micros(NOW)
    # One clock for every service. Each phase's requests are received a minute after the last
    # phase's: a version is stamped with the time its request is received, so a correction
    # stamped at the same microsecond as the original would win or lose by its version's random
    # suffix, and the corrections phase would measure a different resolution on every run.
    clock = [clock_now]
    tables = {logical: Table(client, name) for logical, name in names.items()}
    samples = SampleRepository(tables["SamplesTable"])
    work = WorkQueue(tables["WorkTable"])
    ingest = IngestService(samples, work, clock=lambda: clock[0])
    rollup = RollupService(
        samples,
        work,
        RollupRepository(tables["RollupsTable"]),
        ProjectRepository(tables["ProjectsTable"]),
        clock=lambda: clock[0],
    )
    sync = ProjectSync(ProjectRepository(tables["ProjectsTable"]), work, clock=lambda: clock[0])
    for project in [
        *(f"bench-{p}" for p in range(PROJECTS)),
        f"bench-steady-{STEADY_INSTANCES}",
        "bench-steady-1",
        UUID_PROJECT,
    ]:
        sync.apply(
            {
                "source": "ocore.projects",
                "detail-type": "ProjectUpserted",
                "time": "2026-11-01T00:00:00Z",
                "detail": {"projectId": project, "orgId": "bench-org", "name": project},
            }
        )

    phases: dict[str, dict[str, float]] = {}
    stored: dict[str, dict[str, int]] = {}
    bulk = [f"bench-{p}" for p in range(PROJECTS)]
    runs = [
        ("new samples", 60, [_samples(SAMPLES)], bulk),
        ("corrections", 60, [_samples(SAMPLES, moved=True, seed="b")], bulk),
        (
            "steady, 5 min",
            300,
            [_steady_cycle(c, STEADY_INSTANCES) for c in range(STEADY_CYCLES)],
            [f"bench-steady-{STEADY_INSTANCES}"],
        ),
        ("steady, 1 inst", 300, [_steady_cycle(c, 1) for c in range(STEADY_CYCLES)], ["bench-steady-1"]),
        (
            "steady, UUIDs",
            300,
            [_steady_cycle(c, STEADY_INSTANCES, UUID_PROJECT) for c in range(STEADY_CYCLES)],
            [UUID_PROJECT],
        ),
    ]
    _known_uuids(samples.index, UUID_PROJECT, clock[0])
    known = _stored_bytes(client, names["SamplesTable"])
    for name, pause_seconds, cycles, projects in runs:
        ingested, rolled = {"read": 0.0, "write": 0.0}, {"read": 0.0, "write": 0.0, "coordination": 0.0}
        for batch in cycles:
            clock[0] += pause_seconds * 1_000_000
            with meter.phase() as used:
                _ingest_all(ingest, batch)
            ingested = {kind: ingested[kind] + used[kind] for kind in ingested}
            with meter.phase() as used:
                _roll(rollup)
            rolled = {kind: rolled[kind] + used[kind] for kind in rolled}
        # the phase's identities cost their fold too: the rollup folds a project's log an hour after it began
        clock[0] += FOLD_AGE
        with meter.phase() as used:
            for project in projects:
                samples.index.fold(project, samples.index.read_log(project), clock[0])
        rolled = {kind: rolled[kind] + used[kind] for kind in rolled}
        count = sum(map(len, cycles))
        stored[name] = _stored_bytes(client, names["SamplesTable"])
        phases[name] = {
            "count": count,
            "ingest_write": ingested["write"] / count,
            "ingest_read": ingested["read"] / count,
            "rollup_write": rolled["write"] / count,
            "rollup_read": rolled["read"] / count,
            "coordination": rolled["coordination"] / count,
        }

    print(
        f"DynamoDB capacity per sample ({SAMPLES:,} five-minute samples, {PROJECTS} projects, 1,000 per POST;"
        f" steady: {STEADY_INSTANCES} instances, then 1, a POST and a rollup run every 5 minutes for an hour)"
    )
    print(
        f"{'phase':<14} {'ingest WRU':>10} {'ingest RRU':>10} {'rollup WRU':>10} {'rollup RRU':>10}"
        f" {'$/M':>7} {'floor':>7}"
    )
    for name, units in phases.items():
        writes = units["ingest_write"] + units["rollup_write"]
        reads = units["ingest_read"] + units["rollup_read"]
        dollars = writes * WRITE_PRICE + reads * READ_PRICE
        print(
            f"{name:<14} {units['ingest_write']:10.3f} {units['ingest_read']:10.3f} {units['rollup_write']:10.3f} "
            f"{units['rollup_read']:10.3f} {dollars:7.3f} {FLOOR_DOLLARS:7.3f}  ({dollars / FLOOR_DOLLARS:.2f}x floor)"
        )
    shares = ", ".join(f"{name} ${units['coordination']:.3f}" for name, units in phases.items())
    print(
        "  of which the rollup's shard heads and leases (per run and shard, shared by every project a run rolls),"
        f" $/M: {shares}"
    )

    print("samples table per sample, bytes billed (each phase adds), and 42 days of it per million samples")
    before: dict[str, int] = defaultdict(int, known)
    for name, kinds in stored.items():
        added = {kind: (size - before[kind]) / phases[name]["count"] for kind, size in kinds.items()}
        total = sum(added.values())
        dollars = total * 1e6 / 1e9 * KEPT_MONTHS
        parts = ", ".join(f"{kind} {round(size)}" for kind, size in sorted(added.items()) if round(size))
        print(
            f"{name:<14} {total:6.0f} B ({parts}): ${dollars * STORAGE_PRICE:.3f}/M stored,"
            f" ${dollars * PITR_PRICE:.3f}/M more with point-in-time recovery"
        )
        before = defaultdict(int, kinds)

    posts, floors = [], []
    body_of = [json.dumps({"samples": _samples(1000, seed=str(r))}) for r in range(ROUNDS)]
    for r in range(ROUNDS):
        floors.append(_sequential_batch_write(client, names["SamplesTable"]))
        fresh = IngestService(samples, work, clock=functools.partial(int, clock[0] + r))
        started = time.perf_counter()
        fresh.ingest_body(body_of[r].replace("s-0", f"r{r}-"), writer="bench")
        posts.append(time.perf_counter() - started)
    ratio = statistics.median(posts) / statistics.median(floors)
    print(
        f"1,000-sample POST vs sequential BatchWriteItem of 1,000 items, median of {ROUNDS}: {ratio:.2f}x"
        " (target <= 1.00)"
    )


if __name__ == "__main__":
    main()
