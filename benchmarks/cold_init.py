"""Cold start of each function against the floor: a fresh interpreter's first DynamoDB read.

What a user waits for on a cold start: Lambda imports the handler module (init), then runs the
first invocation. Here each sample is a fresh interpreter that does exactly that for one
function, with its event from ``events/`` and its layer as ``sam build`` ships it (the package
with its bytecode, from the layer's Makefile: Lambda's code is read-only, so source without
bytecode would compile on every cold start), against a DynamoDB Local and an SSM Parameter Store
started for the run (the local stack's own: the template's tables, its secrets, and each
function's environment from the template, as ``make invoke`` gives it). The floor is a fresh
interpreter doing ``import boto3; boto3.client("dynamodb", ...).get_item(...)`` against the same
DynamoDB Local. Rounds interleave the floor and the functions, so drift affects all of them.

Printed per function, as the median over rounds of its time over the floor's in the same round:
"import only" (the handler module imported) and "init + first invoke" (its first result
returned); the target is at most 1.3 for the latter. Times run from just before the interpreter
starts to the marks it reports (``time.monotonic``, one clock for every process), so interpreter
start-up counts and exit does not; "cpu" is the same ratio in CPU time (``time.process_time``),
which a busy machine disturbs less. For each function over the target, a profile of what
remains: the imports by package (``-X importtime``) during init and during the first invocation,
and the invocation's time outside imports (botocore's service models, requests, the work itself).

Before the rounds, each function runs once in order (ProjectSync registers the events' project,
IngestSamples stores samples, Rollup rolls them), so the reads find data. In each round the
Rollup runs twice after IngestSamples: first with that request's samples pending (shown for
information: rolling them is the same work warm or cold), then on an idle queue, which is its
cold start (what the schedule's invocation pays before it has anything to roll).
"""

from __future__ import annotations

import json
import os
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections import defaultdict
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from local import dynamodb
from local.environment import REMOVED_VARIABLES, EnvOverrides, aws_environment, function_environment
from local.parameter_store import LocalParameterStore, local_secrets
from local.processes import free_port
from local.template import FunctionSpec, Template

ROOT = Path(__file__).resolve().parents[1]
ROUNDS = int(os.environ.get("BENCH_ROUNDS", "15"))
TARGET = 1.3
PROFILE_TOP = 6

EVENTS = {
    "ProjectSyncFunction": "project_upserted.json",
    "IngestSamplesFunction": "ingest_samples.json",
    "RollupFunction": "rollup.json",
    "AuthorizerFunction": "authorizer.json",
    "GetProjectUsageFunction": "get_project_usage.json",
    "GetUsageFunction": "get_usage.json",
    "GetUsageTotalsFunction": "get_usage_totals.json",
}
"""Function -> its event in ``events/``, in the order that seeds the data the later ones read."""

PENDING = "RollupFunction, samples pending"
RUNS = (
    ("ProjectSyncFunction", "ProjectSyncFunction"),
    ("IngestSamplesFunction", "IngestSamplesFunction"),
    (PENDING, "RollupFunction"),
    ("RollupFunction", "RollupFunction"),
    ("AuthorizerFunction", "AuthorizerFunction"),
    ("GetProjectUsageFunction", "GetProjectUsageFunction"),
    ("GetUsageFunction", "GetUsageFunction"),
    ("GetUsageTotalsFunction", "GetUsageTotalsFunction"),
)
"""Each round's runs, in order: (label, function)."""

MARK = "cold-init:"

# A fresh interpreter: what Lambda's runtime does at init and on the first event, and no more.
# The marks go to stderr (the functions log to stdout); the event is read before the import and
# decoded after it, as the runtime decodes each event.
_FUNCTION_CODE = """\
import sys, time
sys.path[:0] = [{code_uri!r}]
raw = open({event!r}, "rb").read()
import {module} as handler_module
imported = time.monotonic()
sys.stderr.write({import_marker!r})
import json


class Context:
    function_name = {name!r}
    invoked_function_arn = {arn!r}
    memory_limit_in_mb = {memory}
    aws_request_id = "cold-init"
    _deadline = time.monotonic() + {timeout}

    def get_remaining_time_in_millis(self):
        return max(0, int((self._deadline - time.monotonic()) * 1000))


result = handler_module.{attribute}(json.loads(raw), Context())
invoked, invoked_cpu = time.monotonic(), time.process_time()
if isinstance(result, dict) and "statusCode" in result:
    outcome = str(result["statusCode"])
elif isinstance(result, dict) and "isAuthorized" in result:
    outcome = "authorized" if result["isAuthorized"] else "denied"
else:
    outcome = "ok"
sys.stderr.write("\\n{mark}" + json.dumps([imported, invoked, outcome, invoked_cpu]) + "\\n")
"""

_FLOOR_CODE = """\
import sys, time
import boto3
boto3.client("dynamodb", endpoint_url={endpoint!r}).get_item(TableName={table!r}, Key={key!r})
sys.stderr.write("\\n{mark}" + repr([time.monotonic(), time.process_time()]) + "\\n")
"""

_IMPORT_MARKER = "\ncold-init: imported\n"


@dataclass(frozen=True, slots=True)
class Run:
    """One fresh interpreter's timings (seconds since just before it started) and its answer."""

    imported: float
    invoked: float
    outcome: str
    invoked_cpu: float
    """CPU seconds of the interpreter when its first result was returned."""


def _marks(stderr: str) -> list[Any]:
    for line in reversed(stderr.splitlines()):
        if line.startswith(MARK):
            marks: list[Any] = json.loads(line.removeprefix(MARK))
            return marks
    raise RuntimeError(f"no timing marks in the output:\n{stderr[-3000:]}")


def _run(code: str, env: Mapping[str, str], *flags: str) -> tuple[float, str]:
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, *flags, "-c", code],
        env=dict(env),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        raise RuntimeError(f"cold-init child failed ({done.returncode}):\n{done.stderr[-3000:]}")
    return started, done.stderr


class Bench:
    """The backends, and how to start each function (or the floor) in a fresh interpreter."""

    def __init__(
        self, template: Template, built_layers: Mapping[Path, Path], dynamodb_endpoint: str, ssm_endpoint: str
    ) -> None:
        self.template = template
        base = {k: v for k, v in os.environ.items() if k not in REMOVED_VARIABLES}
        base["PYTHONDONTWRITEBYTECODE"] = "1"  # like Lambda's read-only /var/task and /opt
        aws = aws_environment(dynamodb_endpoint, ssm_endpoint)
        self.floor_env = {**base, **aws}
        self.floor_code = _FLOOR_CODE.format(
            endpoint=dynamodb_endpoint,
            table=template.tables["ProjectsTable"].logical_id,
            key={"projectId": {"S": "proj_web"}},
            mark=MARK,
        )
        self.env: dict[str, dict[str, str]] = {}
        self.code: dict[str, str] = {}
        for logical_id, event in EVENTS.items():
            function = template.function(logical_id)
            layers = os.pathsep.join(str(built_layers[layer]) for layer in function.layers)
            own = function_environment(function, EnvOverrides())
            self.env[logical_id] = {**base, **own, **aws, "PYTHONPATH": layers}
            self.code[logical_id] = _function_code(function, ROOT / "events" / event)

    def function(self, logical_id: str) -> Run:
        started, stderr = _run(self.code[logical_id], self.env[logical_id])
        imported, invoked, outcome, invoked_cpu = _marks(stderr)
        return Run(imported - started, invoked - started, outcome, invoked_cpu)

    def floor(self) -> Run:
        started, stderr = _run(self.floor_code, self.floor_env)
        done, cpu = _marks(stderr)
        return Run(0.0, done - started, "ok", cpu)

    def import_profile(self, logical_id: str) -> tuple[dict[str, int], dict[str, int]]:
        """Import self-times (microseconds) by top-level package: during init, during the first invocation."""
        _, stderr = _run(self.code[logical_id], self.env[logical_id], "-X", "importtime")
        init, _, invoke = stderr.partition(_IMPORT_MARKER)
        return _by_package(init), _by_package(invoke)


def _function_code(function: FunctionSpec, event: Path) -> str:
    module, _, attribute = function.handler.rpartition(".")
    return _FUNCTION_CODE.format(
        code_uri=str(function.code_uri),
        event=str(event),
        module=module,
        attribute=attribute,
        name=function.logical_id,
        arn=function.arn,
        memory=function.memory_size,
        timeout=function.timeout,
        import_marker=_IMPORT_MARKER,
        mark=MARK,
    )


_IMPORT_LINE = re.compile(r"^import time:\s+(\d+) \|\s+\d+ \|(\s*)(\S+)")


def _by_package(importtime: str) -> dict[str, int]:
    totals: dict[str, int] = defaultdict(int)
    for line in importtime.splitlines():
        found = _IMPORT_LINE.match(line)
        if found:
            totals[found.group(3).split(".")[0]] += int(found.group(1))
    return dict(totals)


def _top(totals: Mapping[str, int]) -> str:
    ranked = sorted(totals.items(), key=lambda item: -item[1])[:PROFILE_TOP]
    return ", ".join(f"{name} {micros / 1000:.0f}" for name, micros in ranked) or "none"


def measure(bench: Bench) -> None:
    for logical_id in EVENTS:  # seeds the data, and warms the file cache
        seeded = bench.function(logical_id)
        if not seeded.outcome.startswith(("2", "ok", "authorized")):
            print(f"warning: {logical_id} answered {seeded.outcome} to events/{EVENTS[logical_id]}")
    bench.floor()
    floors: list[Run] = []
    runs: dict[str, list[Run]] = {label: [] for label, _ in RUNS}
    for _ in range(ROUNDS):
        floors.append(bench.floor())
        for label, logical_id in RUNS:
            runs[label].append(bench.function(logical_id))
    floor = statistics.median(run.invoked for run in floors)
    floor_cpu = statistics.median(run.invoked_cpu for run in floors)
    print(
        f"cold start, {ROUNDS} rounds of fresh interpreters, median ratio to the floor of the same round "
        f"(import boto3; boto3.client('dynamodb').get_item(...): {floor * 1000:.0f} ms, {floor_cpu * 1000:.0f} ms CPU)"
    )
    print(f"{'function':<32} {'import only':>11} {'init + first invoke':>20} {'target':>7}  {'':4} {'cpu':>5}")
    over: list[tuple[str, float, float]] = []
    for label, samples in runs.items():
        imported = statistics.median(run.imported for run in samples)
        invoked = statistics.median(run.invoked for run in samples)
        ratio = statistics.median(run.invoked / base.invoked for run, base in zip(samples, floors, strict=True))
        imported_ratio = statistics.median(
            run.imported / base.invoked for run, base in zip(samples, floors, strict=True)
        )
        cpu = statistics.median(run.invoked_cpu / base.invoked_cpu for run, base in zip(samples, floors, strict=True))
        target, verdict = (f"{TARGET:7.2f}", "ok" if ratio <= TARGET else "over") if label != PENDING else ("", "")
        print(f"{label:<32} {imported_ratio:11.2f} {ratio:20.2f} {target:>7}  {verdict:4} {cpu:5.2f}")
        if label != PENDING and ratio > TARGET:
            over.append((label, imported, invoked))
    for logical_id, imported, invoked in over:
        init, invoke = bench.import_profile(logical_id)
        outside = invoked - imported - sum(invoke.values()) / 1e6
        print(f"{logical_id}: init {imported * 1000:.0f} ms, first invoke {(invoked - imported) * 1000:.0f} ms")
        print(f"  imports during init (ms by package): {_top(init)}")
        print(f"  imports during the first invoke (ms): {_top(invoke)}")
        print(f"  first invoke outside imports: {outside * 1000:.0f} ms")


def build_layers(template: Template, scratch: Path) -> dict[Path, Path]:
    """Each layer's package as ``sam build`` ships it, with its bytecode (its Makefile's ``bytecode`` step)."""
    built: dict[Path, Path] = {}
    for layer in sorted({layer for function in template.functions.values() for layer in function.layers}):
        site = scratch / f"layer-{len(built)}"
        site.mkdir()
        subprocess.run(
            ["make", "--silent", "-C", str(layer), "bytecode", f"SITE={site}", f"PYTHON={sys.executable}"], check=True
        )
        built[layer] = site
    return built


def main() -> None:
    template = Template.load(ROOT / "template.yaml")
    with tempfile.TemporaryDirectory() as scratch:
        built_layers = build_layers(template, Path(scratch))
        database = dynamodb.DynamoDBLocal(ROOT, free_port(), Path(scratch) / "dynamodb.log")
        parameters = LocalParameterStore()
        try:
            parameters.put_secrets(local_secrets(template))
            database.wait_until_ready()
            dynamodb.create_tables(dynamodb.client(database.endpoint), template.tables.values())
            measure(Bench(template, built_layers, database.endpoint, parameters.endpoint))
        finally:
            parameters.stop()
            database.stop()


if __name__ == "__main__":
    main()
