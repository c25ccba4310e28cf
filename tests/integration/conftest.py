"""The ``local_stack`` fixture: the stack ``make dev`` runs, started once per session on free ports.

It is ``python -m local dev`` in a subprocess (DynamoDB Local, SSM, the HTTP API and the Lambda
Invoke API; ``SEED=0``), so the tests drive exactly what developers run, over real HTTP, and the
functions' process-wide settings never mix with the unit tests'. The stack's output goes to a log
file (named when the stack fails to start); the subprocess dies with the test run.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from local.client import LocalStackClient
from local.processes import die_with_parent, free_port
from local.template import Template

ROOT = Path(__file__).resolve().parents[2]
START_TIMEOUT_SECONDS = 120


class RunningStack(LocalStackClient):
    """A client of the running stack (``api_url``, ``token``, ``invoke``, ``register_project``,
    ``rollup_until_done``, ``request``) plus where its DynamoDB and log are."""

    def __init__(self, base_url: str, lambda_url: str, dynamodb_endpoint: str, log: Path) -> None:
        super().__init__(base_url, lambda_url, Template.load(ROOT / "template.yaml").parameters)
        self.dynamodb_endpoint = dynamodb_endpoint
        self.log = log

    def log_text(self) -> str:
        return self.log.read_text(errors="replace")


def _wait_until_ready(process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if any(line.startswith("ready") for line in log.read_text(errors="replace").splitlines()):
            return
        if process.poll() is not None:
            raise RuntimeError(f"the local stack exited with {process.returncode}; see {log}")
        time.sleep(0.1)
    raise RuntimeError(f"the local stack was not ready within {START_TIMEOUT_SECONDS}s; see {log}")


@pytest.fixture(scope="session")
def local_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningStack]:
    api_port, lambda_port, dynamodb_port = free_port(), free_port(), free_port()
    environ = {
        **os.environ,
        "API_PORT": str(api_port),
        "LAMBDA_PORT": str(lambda_port),
        "DYNAMODB_PORT": str(dynamodb_port),
        "SEED": "0",
        "PYTHONUNBUFFERED": "1",
    }
    environ.pop("DYNAMODB_ENDPOINT", None)  # always a fresh, in-memory DynamoDB
    log = tmp_path_factory.mktemp("local-stack") / "stack.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [sys.executable, "-m", "local", "dev"],
            cwd=ROOT,
            env=environ,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=subprocess.STDOUT,
            preexec_fn=die_with_parent,
        )
    try:
        _wait_until_ready(process, log)
        yield RunningStack(
            f"http://127.0.0.1:{api_port}",
            f"http://127.0.0.1:{lambda_port}",
            f"http://127.0.0.1:{dynamodb_port}",
            log,
        )
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
