"""A client of a running local stack, over its two public faces: the HTTP API and the Invoke API.

Used by ``python -m local seed`` and by the integration tests, so both drive the stack the way
any outside caller does (real HTTP, tokens, EventBridge-shaped events), never through internals.
"""

from __future__ import annotations

import json
import time
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any
from urllib.error import HTTPError
from urllib.parse import urlencode
from urllib.request import Request, urlopen

from local.template import ACCOUNT_ID, REGION
from local.tokens import mint_token

API_BASE_PATH = "/api"
"""Where the template's routes live (the reference's base URL is https://api.ocore.dev/api)."""

PROJECT_SOURCE = "ocore.projects"


class FunctionFailed(RuntimeError):
    """An invocation ended in an unhandled error (``X-Amz-Function-Error``)."""

    def __init__(self, function: str, payload: Any) -> None:
        super().__init__(f"{function} failed: {payload}")
        self.payload = payload


@dataclass(frozen=True, slots=True)
class ApiResponse:
    status: int
    headers: dict[str, str]
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


def project_event(
    project_id: str, org_id: str, name: str, *, deleted: bool = False, time: datetime | None = None
) -> dict[str, Any]:
    """An EventBridge event of the project registry (source ``ocore.projects``)."""
    at = (time or datetime.now(UTC)).astimezone(UTC)
    return {
        "version": "0",
        "id": str(uuid.uuid4()),
        "detail-type": "ProjectDeleted" if deleted else "ProjectUpserted",
        "source": PROJECT_SOURCE,
        "account": ACCOUNT_ID,
        "time": at.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "region": REGION,
        "resources": [],
        "detail": {"projectId": project_id, "orgId": org_id, "name": name},
    }


class LocalStackClient:
    """Calls a local stack at ``base_url`` (HTTP API) and ``lambda_url`` (Invoke API)."""

    def __init__(
        self, base_url: str, lambda_url: str, template_parameters: dict[str, str], timeout: float = 300
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.lambda_url = lambda_url.rstrip("/")
        self.template_parameters = template_parameters
        self.timeout = timeout

    @property
    def api_url(self) -> str:
        return self.base_url + API_BASE_PATH

    def token(self, org: str | None = None, scope: str = "usage:read", ttl: int = 3600) -> str:
        return mint_token(self.template_parameters, org=org, scope=scope, ttl=ttl)

    def request(
        self,
        method: str,
        path: str,
        *,
        token: str | None = None,
        body: Any = None,
        query: dict[str, str] | list[tuple[str, str]] | None = None,
        headers: dict[str, str] | None = None,
    ) -> ApiResponse:
        """``method`` on ``api_url + path``; any status is returned, none raised."""
        url = self.api_url + path + (f"?{urlencode(query)}" if query else "")
        sent = dict(headers or {})
        if token is not None:
            sent["Authorization"] = f"Bearer {token}"
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            sent.setdefault("Content-Type", "application/json")
        return self._send(Request(url, data=data, method=method, headers=sent))

    def invoke(self, function: str, event: Any) -> Any:
        """Invoke ``function`` (a logical id) and return its result; raise on an unhandled error."""
        url = f"{self.lambda_url}/2015-03-31/functions/{function}/invocations"
        response = self._send(Request(url, data=json.dumps(event).encode(), method="POST"))
        if response.status != 200:
            raise FunctionFailed(function, response.body.decode(errors="replace"))
        payload = response.json()
        if "x-amz-function-error" in response.headers:
            raise FunctionFailed(function, payload)
        return payload

    def register_project(
        self, project_id: str, org_id: str, name: str, *, deleted: bool = False, time: datetime | None = None
    ) -> Any:
        """Send a project event through ProjectSyncFunction, as EventBridge would."""
        event = project_event(project_id, org_id, name, deleted=deleted, time=time)
        return self.invoke("ProjectSyncFunction", event)

    def rollup_until_done(self, max_rounds: int = 1000, idle_wait: float = 0.2) -> int:
        """Invoke RollupFunction until it reports ``remaining: 0``; the samples processed in all.

        A round that processed nothing while work remains found its shards leased by another
        worker: wait a little before asking again rather than spin.
        """
        processed = 0
        for _ in range(max_rounds):
            result = self.invoke("RollupFunction", {})
            processed += int(result.get("processed", 0))
            if int(result["remaining"]) == 0:
                return processed
            if not result.get("processed"):
                time.sleep(idle_wait)
        raise RuntimeError(f"RollupFunction still had work after {max_rounds} rounds")

    def dispatch_until_done(self, max_seconds: float = 600, poll: float = 0.2) -> int:
        """Invoke RollupFunction as the schedule does (``{"dispatch": true}``) until it reports
        ``remaining: 0``; returns how many workers it started.

        Each dispatch starts workers (asynchronous invocations, run by the stack) for the shards
        with work that no running worker holds; asking again while they run only counts what is left.
        """
        started = 0
        deadline = time.monotonic() + max_seconds
        while time.monotonic() < deadline:
            result = self.invoke("RollupFunction", {"dispatch": True})
            started += len(result.get("workers", []))
            if int(result["remaining"]) == 0:
                return started
            time.sleep(poll)
        raise RuntimeError(f"RollupFunction still had work after {max_seconds:.0f}s of dispatching")

    def _send(self, request: Request) -> ApiResponse:
        try:
            with urlopen(request, timeout=self.timeout) as response:
                return ApiResponse(
                    response.status, {k.lower(): v for k, v in response.headers.items()}, response.read()
                )
        except HTTPError as error:
            headers = {k.lower(): v for k, v in error.headers.items()}
            return ApiResponse(error.code, headers, error.read())
