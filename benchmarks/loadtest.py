"""``make loadtest``: ingest and rollup throughput of the local stack with 1, 2 and 4 rollup workers.

For each worker count a fresh local stack runs in a child process: DynamoDB Local, the functions
in-process, the HTTP API and the Invoke API, as ``make dev`` has them, with
``RollupConcurrency = workers + 1`` (the dispatcher's slot and the workers'). It then takes:

- ``--projects`` small projects in ``--orgs`` orgs (2 to 6 instances each, 5-minute samples) and
  one large project (``--large`` instances, 5-minute samples of ``intervalSeconds`` 299 at phases
  spread over the 5 minutes, so some cross the hour), streamed over ``--hours`` simulated hours:
  each simulated 5 minutes is posted to ``POST /api/usage/samples`` (batches of 1,000, 4 at
  once), then the schedule's event (``{"dispatch": true}``) is invoked asynchronously, as
  EventBridge Scheduler does, and its workers roll while the next 5 minutes are posted;
- after the last batch, the dispatch event every second until every shard is rolled.

It prints, per worker count:

- ingest samples/s: samples over the time spent posting them;
- rolled samples/s: samples over the time at least one rollup invocation was running;
- lag: the oldest pending work's age (the heads' ``pendingSince``) at its worst while streaming,
  and how long the rollup took to finish after the last batch;
- DynamoDB requests per sample, ingest's and the rollup's (every request the functions' client made).

A benchmark, not a test: numbers depend on the machine (the functions share one Python process,
DynamoDB Local another). ``--check`` reads the large project's peak back over HTTP.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import threading
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import asdict, dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
BATCH = 1000
PARALLEL_POSTS = 4
SLICE = timedelta(minutes=5)
LARGE_PROJECT = "prj_large"


@dataclass
class Outcome:
    workers: int
    samples: int
    ingest_seconds: float
    rollup_busy_seconds: float
    max_lag_seconds: float
    drain_seconds: float
    ingest_requests: int
    rollup_requests: int
    worker_invocations: int
    peak_checked: int | None = None

    @property
    def ingest_rate(self) -> float:
        return self.samples / self.ingest_seconds

    @property
    def rolled_rate(self) -> float:
        return self.samples / self.rollup_busy_seconds if self.rollup_busy_seconds else 0.0


# ---------------------------------------------------------------- the workload


def fleet(projects: int, orgs: int, large: int) -> dict[str, tuple[str, int]]:
    """Project id -> (org id, instances)."""
    found = {f"prj_{n:03d}": (f"org_{n % orgs:02d}", 2 + n % 5) for n in range(projects)}
    found[LARGE_PROJECT] = ("org_00", large)
    return found


def slice_samples(projects: dict[str, tuple[str, int]], start: datetime, ids: str = "instance") -> list[dict[str, Any]]:
    """Every instance's sample of the 5 minutes from ``start``, its id ``{instance}-{start}`` (or, with
    ``ids="time"``, ``{start}-{instance}``: ids that sort by time)."""
    samples = []
    for project_id, (_, instances) in projects.items():
        large = project_id == LARGE_PROJECT
        for instance in range(instances):
            phase = timedelta(seconds=(instance * 37) % 300) if large else timedelta(0)
            begins = start + phase
            samples.append(
                {
                    "sampleId": f"{begins:%Y%m%d%H%M%S}-{instance}"
                    if ids == "time"
                    else f"{instance}-{begins:%Y%m%d%H%M%S}",
                    "projectId": project_id,
                    "instanceId": f"vm-{instance}",
                    "intervalStart": begins.strftime("%Y-%m-%dT%H:%M:%SZ"),
                    "intervalSeconds": 299 if large else 300,
                    "cpuCores": 2,
                    "ramGb": 4,
                    "diskGb": 20,
                    "bandwidthInBytes": 1_000_000,
                    "bandwidthOutBytes": 250_000,
                }
            )
    return samples


# ---------------------------------------------------------------- one worker count, in a child process


class RequestCounter:
    """Counts the functions' DynamoDB requests: the rollup's (its invocations run in ``event-`` threads)
    apart from ingest's (HTTP API threads). Batches that ``storage.tables`` sends from its own
    threads are counted for whoever sent the batch."""

    def __init__(self, client: Any) -> None:
        from ocore_usage.storage import tables

        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        self._caller = threading.local()
        client.meta.events.register("before-call.dynamodb", self._count)
        each = tables.concurrently

        def each_for_caller(work: Callable[[Any], Any], chunks: Any) -> list[Any]:
            caller = self._who()

            def run(chunk: Any) -> Any:
                self._caller.name = caller
                try:
                    return work(chunk)
                finally:
                    self._caller.name = None

            return each(run, chunks)

        tables.concurrently = each_for_caller

    def _who(self) -> str:
        name = getattr(self._caller, "name", None)
        if name:
            return str(name)
        return "rollup" if threading.current_thread().name.startswith("event-") else "ingest"

    def _count(self, **_: Any) -> None:
        who = self._who()
        with self._lock:
            self.counts[who] += 1


class BusyClock:
    """Seconds during which ``busy()`` held, sampled every 20 ms in a thread."""

    def __init__(self, busy: Callable[[], bool]) -> None:
        self.busy = busy
        self.seconds = 0.0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._watch, daemon=True)
        self._thread.start()

    def _watch(self) -> None:
        last = time.monotonic()
        while not self._stop.wait(0.02):
            now = time.monotonic()
            if self.busy():
                self.seconds += now - last
            last = now

    def stop(self) -> float:
        self._stop.set()
        self._thread.join()
        return self.seconds


def run_scenario(
    workers: int, hours: int, projects: int, orgs: int, large: int, check: bool, ids: str = "instance"
) -> Outcome:
    from local.processes import free_port
    from local.stack import LocalStack, StackConfig

    config = StackConfig(
        api_port=free_port(),
        lambda_port=free_port(),
        dynamodb_port=free_port(),
        seed=False,
        parameter_overrides={"RollupConcurrency": str(workers + 1)},
    )
    with LocalStack(config) as stack:
        # The layer is importable once the stack has loaded the functions (as /opt/python is on Lambda).
        from ocore_usage import wiring
        from ocore_usage.storage.tables import Table
        from ocore_usage.storage.work import WorkQueue

        assert stack.functions is not None
        functions = stack.functions
        client = stack.client()
        counter = RequestCounter(wiring.dynamodb_client())  # the client every function uses
        heads = WorkQueue(Table(_own_dynamodb_client(stack.dynamodb_endpoint), "WorkTable"))
        started_workers = Counter[str]()
        queue_event = functions.invoke_async

        def counted(logical_id: str, event: Any) -> None:
            started_workers["workers" if "shards" in event else "dispatches"] += 1
            queue_event(logical_id, event)

        functions.invoke_async = counted  # type: ignore[method-assign]
        fleet_ = fleet(projects, orgs, large)
        for project_id, (org_id, _) in fleet_.items():
            client.register_project(project_id, org_id, project_id)
        token = client.token(scope="usage:write")
        counter.counts.clear()

        def post(batch: list[dict[str, Any]]) -> None:
            response = client.request("POST", "/usage/samples", token=token, body={"samples": batch})
            if response.status != 202:
                raise RuntimeError(f"POST answered {response.status}: {response.body[:300]!r}")

        def dispatch() -> None:
            functions.invoke_async("RollupFunction", {"dispatch": True})

        def lag() -> float:
            now = time.time() * 1_000_000
            pending = [h.pending_since for h in heads.heads() if h.pending_since]
            return (now - min(pending)) / 1_000_000 if pending else 0.0

        busy = BusyClock(lambda: functions.running("RollupFunction") > 0)
        first = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=hours)
        samples = ingest_seconds = max_lag = 0.0
        with ThreadPoolExecutor(PARALLEL_POSTS) as pool:
            for step in range(hours * 12):
                batch = slice_samples(fleet_, first + step * SLICE, ids)
                posting = time.monotonic()
                list(pool.map(post, [batch[i : i + BATCH] for i in range(0, len(batch), BATCH)]))
                ingest_seconds += time.monotonic() - posting
                samples += len(batch)
                dispatch()
                max_lag = max(max_lag, lag())
        streamed = time.monotonic()
        while not _all_rolled(heads):
            dispatch()
            max_lag = max(max_lag, lag())
            time.sleep(1.0)
        functions.wait_for_events(timeout=60)
        drain = time.monotonic() - streamed
        rollup_busy = busy.stop()
        peak = _large_peak(client, first) if check else None
        return Outcome(
            workers=workers,
            samples=int(samples),
            ingest_seconds=ingest_seconds,
            rollup_busy_seconds=rollup_busy,
            max_lag_seconds=max_lag,
            drain_seconds=drain,
            ingest_requests=counter.counts["ingest"],
            rollup_requests=counter.counts["rollup"],
            worker_invocations=started_workers["workers"],
            peak_checked=peak,
        )


def _own_dynamodb_client(endpoint: str) -> Any:
    import boto3

    return boto3.client("dynamodb", endpoint_url=endpoint, region_name="us-east-1")


def _all_rolled(heads: Any) -> bool:
    now = time.time() * 1_000_000
    return not any(h.due(now) or h.leased(now) or h.pending_since for h in heads.heads())


def _large_peak(client: Any, first: datetime) -> int:
    reader = client.token(org="org_00", scope="usage:read")
    query = {
        "period": "hourly",
        "start_date": first.date().isoformat(),
        "end_date": datetime.now(UTC).date().isoformat(),
    }
    body = client.request("GET", f"/projects/{LARGE_PROJECT}/usage", token=reader, query=query).json()
    return max(int(item["instanceCount"]) for item in body["items"])


# ---------------------------------------------------------------- the driver


def scenarios(arguments: argparse.Namespace) -> Iterator[Outcome]:
    """Each worker count in a child process of its own (fresh stack, fresh DynamoDB Local); their logs
    go to .local/loadtest-<workers>.log."""
    logs = ROOT / ".local"
    logs.mkdir(exist_ok=True)
    for workers in arguments.workers:
        result, log = logs / f"loadtest-{workers}.json", logs / f"loadtest-{workers}.log"
        command = [sys.executable, "-m", "benchmarks.loadtest", "--scenario", str(workers), "--result", str(result)]
        print(f"... {workers} worker(s), log in {log.relative_to(ROOT)}", file=sys.stderr, flush=True)
        with log.open("wb") as output:
            subprocess.run([*command, *_shared(arguments)], cwd=ROOT, check=True, stdout=output, stderr=output)
        yield Outcome(**json.loads(result.read_text()))


def _shared(arguments: argparse.Namespace) -> list[str]:
    flags = ["--hours", str(arguments.hours), "--projects", str(arguments.projects)]
    flags += ["--orgs", str(arguments.orgs), "--large", str(arguments.large), "--ids", arguments.ids]
    return [*flags, "--check"] if arguments.check else flags


def table(outcomes: list[Outcome], arguments: argparse.Namespace) -> str:
    rows = [
        ("workers", lambda o: f"{o.workers}"),
        ("samples", lambda o: f"{o.samples:,}"),
        ("ingest samples/s", lambda o: f"{o.ingest_rate:,.0f}"),
        ("rolled samples/s", lambda o: f"{o.rolled_rate:,.0f}"),
        ("rollup busy s", lambda o: f"{o.rollup_busy_seconds:.1f}"),
        ("worst lag while streaming s", lambda o: f"{o.max_lag_seconds:.1f}"),
        ("rollup done after last batch s", lambda o: f"{o.drain_seconds:.1f}"),
        ("worker invocations", lambda o: f"{o.worker_invocations}"),
        ("DynamoDB req/sample, ingest", lambda o: f"{o.ingest_requests / o.samples:.4f}"),
        ("DynamoDB req/sample, rollup", lambda o: f"{o.rollup_requests / o.samples:.4f}"),
    ]
    if arguments.check:
        rows.append(("large project's peak (read back)", lambda o: f"{o.peak_checked}"))
    width = max(len(name) for name, _ in rows)
    lines = [
        f"{arguments.projects} projects in {arguments.orgs} orgs + 1 of {arguments.large:,} instances, "
        f"{arguments.hours} simulated hours of 5-minute samples, ids by {arguments.ids}",
    ]
    for name, cell in rows:
        lines.append(f"{name:<{width}}  " + "  ".join(f"{cell(o):>10}" for o in outcomes))
    return "\n".join(lines)


def parser() -> argparse.ArgumentParser:
    found = argparse.ArgumentParser(prog="python -m benchmarks.loadtest", description=__doc__.splitlines()[0])
    found.add_argument("--hours", type=int, default=2, help="simulated hours streamed (default 2)")
    found.add_argument("--projects", type=int, default=40, help="small projects (default 40)")
    found.add_argument("--orgs", type=int, default=8, help="orgs they belong to (default 8)")
    found.add_argument("--large", type=int, default=1500, help="instances of the large project (default 1500)")
    found.add_argument("--workers", type=lambda v: [int(w) for w in v.split(",")], default=[1, 2, 4])
    found.add_argument("--check", action="store_true", help="read the large project's peak back over HTTP")
    found.add_argument(
        "--ids", choices=["instance", "time"], default="instance", help="sample ids sort by instance (default) or time"
    )
    found.add_argument("--scenario", type=int, help=argparse.SUPPRESS)
    found.add_argument("--result", type=Path, help=argparse.SUPPRESS)
    return found


def main(argv: list[str] | None = None) -> None:
    arguments = parser().parse_args(argv)
    if arguments.scenario is not None:
        outcome = run_scenario(
            arguments.scenario,
            arguments.hours,
            arguments.projects,
            arguments.orgs,
            arguments.large,
            arguments.check,
            arguments.ids,
        )
        arguments.result.write_text(json.dumps(asdict(outcome)))
        return
    print(table(list(scenarios(arguments)), arguments))


if __name__ == "__main__":
    main()
