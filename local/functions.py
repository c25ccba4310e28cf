"""Runs the template's functions in this process, the way the Lambda Python runtime would.

Each function's handler module (``Handler: app.lambda_handler`` under ``CodeUri``) is imported
under a name of its own, so the many ``app.py`` files never collide, with the function's layers
(``ContentUri``, which the Lambda runtime mounts on ``sys.path`` as ``/opt/python``) on
``sys.path``. Sibling modules in ``CodeUri`` are importable while the handler module loads and
are then dropped from ``sys.modules``, so functions never see each other's.

A loaded module is a warm "execution environment": it serves one invocation at a time, like a
Lambda container, because handler modules keep per-request state in module globals (the HTTP
resolvers hold the current event). Concurrent invocations of one function get more
environments, each a fresh import of the handler module, as Lambda scales out.

Results are serialised to JSON here, as the runtime does; an exception becomes the runtime's
error payload (``errorMessage``, ``errorType``, ``stackTrace``). Python cannot stop a thread, so
``Timeout`` is enforced after the fact: an invocation that ran longer fails as
"Task timed out", as it would have on Lambda.

Asynchronous invocations (``InvocationType: Event``) are queued and run in background threads,
as Lambda's event queue runs them: a function with ``ReservedConcurrentExecutions`` runs at most
that many invocations at once (synchronous ones count), and queued events wait for a slot. An
event whose run fails is logged, not retried (the template's rollup sets
``MaximumRetryAttempts: 0``).
"""

from __future__ import annotations

import importlib.util
import json
import sys
import threading
import time
import traceback
import uuid
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from local.template import FunctionSpec

Handler = Callable[[Any, Any], Any]


@dataclass(slots=True)
class LambdaContext:
    """The context object the Python runtime passes as the handler's second argument."""

    function_name: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    timeout_seconds: int
    aws_request_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    function_version: str = "$LATEST"
    log_stream_name: str = "local/[$LATEST]local"
    identity: Any = None
    client_context: Any = None
    tenant_id: str | None = None
    started: float = field(default_factory=time.monotonic)

    @property
    def log_group_name(self) -> str:
        return f"/aws/lambda/{self.function_name}"

    def get_remaining_time_in_millis(self) -> int:
        elapsed = time.monotonic() - self.started
        return max(0, int((self.timeout_seconds - elapsed) * 1000))

    @classmethod
    def for_function(cls, function: FunctionSpec) -> LambdaContext:
        return cls(
            function_name=function.logical_id,
            invoked_function_arn=function.arn,
            memory_limit_in_mb=function.memory_size,
            timeout_seconds=function.timeout,
        )


@dataclass(frozen=True, slots=True)
class FunctionError:
    """An unhandled error, as the Lambda runtime reports it."""

    error_type: str
    error_message: str
    stack_trace: list[str] = field(default_factory=list)

    def payload(self, request_id: str) -> dict[str, Any]:
        return {
            "errorMessage": self.error_message,
            "errorType": self.error_type,
            "requestId": request_id,
            "stackTrace": self.stack_trace,
        }


@dataclass(frozen=True, slots=True)
class Invocation:
    """The outcome of one invocation: a JSON payload, or an error."""

    function: str
    request_id: str
    payload: bytes
    error: FunctionError | None
    duration_ms: float

    @property
    def result(self) -> Any:
        """The handler's result, decoded (the error payload when it failed)."""
        return json.loads(self.payload)


class _ImportFailed(Exception):
    def __init__(self, error: FunctionError) -> None:
        super().__init__(error.error_message)
        self.error = error


class FunctionHost:
    """The template's functions, loaded on first use and kept warm."""

    def __init__(self, functions: Iterable[FunctionSpec]) -> None:
        self.functions = {f.logical_id: f for f in functions}
        self._idle: dict[str, list[Handler]] = {name: [] for name in self.functions}
        self._loaded = dict.fromkeys(self.functions, 0)
        self._lock = threading.Lock()
        self._import_lock = threading.Lock()
        self._slots = threading.Condition()
        self._running = dict.fromkeys(self.functions, 0)
        self._queued = 0
        """Asynchronous invocations waiting or running."""
        for function in self.functions.values():
            for layer in function.layers:
                if str(layer) not in sys.path:
                    sys.path.insert(0, str(layer))

    def __contains__(self, logical_id: object) -> bool:
        return logical_id in self.functions

    def missing_code(self) -> list[str]:
        """Functions whose handler file does not exist (yet)."""
        return [f.logical_id for f in self.functions.values() if handler_path(f) is None]

    def warm(self, logical_id: str) -> FunctionError | None:
        """Load one execution environment of ``logical_id`` ahead of its first invocation."""
        try:
            self._release(logical_id, self._acquire(logical_id))
        except _ImportFailed as failed:
            return failed.error
        return None

    def invoke(self, logical_id: str, event: Any) -> Invocation:
        """Run ``logical_id`` on ``event`` (raises KeyError for an unknown function).

        Ends with a ``REPORT`` line on stderr, as Lambda ends each invocation's log.
        """
        function = self.functions[logical_id]
        with self._slots:
            self._running[logical_id] += 1
        try:
            return self._invoke(function, event)
        finally:
            self._free_slot(logical_id)

    def invoke_async(self, logical_id: str, event: Any) -> None:
        """Queue ``logical_id`` on ``event`` and return at once (raises KeyError for an unknown function)."""
        function = self.functions[logical_id]
        with self._slots:
            self._queued += 1
        threading.Thread(
            target=self._run_queued, args=(function, event), name=f"event-{logical_id}", daemon=True
        ).start()

    def running(self, logical_id: str) -> int:
        """How many invocations of ``logical_id`` are running now (synchronous and asynchronous)."""
        with self._slots:
            return self._running[logical_id]

    def wait_for_events(self, timeout: float | None = None) -> bool:
        """Wait until no asynchronous invocation is queued or running; False if ``timeout`` came first."""
        with self._slots:
            return self._slots.wait_for(lambda: self._queued == 0, timeout)

    def _run_queued(self, function: FunctionSpec, event: Any) -> None:
        limit = function.reserved_concurrency
        with self._slots:
            self._slots.wait_for(lambda: limit is None or self._running[function.logical_id] < limit)
            self._running[function.logical_id] += 1
        try:
            self._invoke(function, event)
        finally:
            self._free_slot(function.logical_id, queued=True)

    def _free_slot(self, logical_id: str, *, queued: bool = False) -> None:
        with self._slots:
            self._running[logical_id] -= 1
            if queued:
                self._queued -= 1
            self._slots.notify_all()

    def _invoke(self, function: FunctionSpec, event: Any) -> Invocation:
        logical_id = function.logical_id
        context = LambdaContext.for_function(function)
        invocation = self._run(function, context, event)
        status = f"\tStatus: {invocation.error.error_type}" if invocation.error else ""
        print(
            f"REPORT {logical_id} RequestId: {invocation.request_id}\tDuration: {invocation.duration_ms:.2f} ms"
            f"\tMemory Size: {function.memory_size} MB{status}",
            file=sys.stderr,
        )
        return invocation

    def _run(self, function: FunctionSpec, context: LambdaContext, event: Any) -> Invocation:
        logical_id = function.logical_id
        try:
            handler = self._acquire(logical_id)
        except _ImportFailed as failed:
            return self._failed(function, context, failed.error)
        try:
            result = handler(event, context)
        except Exception as error:
            traceback.print_exc()
            return self._failed(function, context, error_of(error))
        finally:
            self._release(logical_id, handler)
        if context.get_remaining_time_in_millis() <= 0:
            message = f"Task timed out after {function.timeout:.2f} seconds"
            return self._failed(function, context, FunctionError("Sandbox.Timedout", message))
        try:
            payload = json.dumps(result).encode()
        except (TypeError, ValueError) as error:
            message = f"Unable to marshal response: {error}"
            return self._failed(function, context, FunctionError("Runtime.MarshalError", message))
        return Invocation(logical_id, context.aws_request_id, payload, None, _elapsed_ms(context))

    def _failed(self, function: FunctionSpec, context: LambdaContext, error: FunctionError) -> Invocation:
        print(f"{function.logical_id}: {error.error_type}: {error.error_message}", file=sys.stderr)
        payload = json.dumps(error.payload(context.aws_request_id)).encode()
        return Invocation(function.logical_id, context.aws_request_id, payload, error, _elapsed_ms(context))

    def _acquire(self, logical_id: str) -> Handler:
        with self._lock:
            idle = self._idle[logical_id]
            if idle:
                return idle.pop()
            self._loaded[logical_id] += 1
            number = self._loaded[logical_id]
        return self._load(self.functions[logical_id], number)

    def _release(self, logical_id: str, handler: Handler) -> None:
        with self._lock:
            self._idle[logical_id].append(handler)

    def _load(self, function: FunctionSpec, number: int) -> Handler:
        module_path, _, attribute = function.handler.rpartition(".")
        source = handler_path(function)
        if source is None:
            message = (
                f"Unable to import module '{module_path}': no {module_path.replace('.', '/')}.py in {function.code_uri}"
            )
            raise _ImportFailed(FunctionError("Runtime.ImportModuleError", message))
        name = f"_local_function_{function.logical_id}_{number}"
        with self._import_lock:
            module = _import_isolated(name, source, function.code_uri)
        handler = getattr(module, attribute, None)
        if not callable(handler):
            message = f"Handler '{attribute}' missing on module '{module_path}'"
            raise _ImportFailed(FunctionError("Runtime.HandlerNotFound", message))
        return handler  # type: ignore[no-any-return]


def handler_path(function: FunctionSpec) -> Path | None:
    """The file of the function's handler module, if it exists."""
    module_path = function.handler.rpartition(".")[0].replace(".", "/")
    for candidate in (function.code_uri / f"{module_path}.py", function.code_uri / module_path / "__init__.py"):
        if candidate.is_file():
            return candidate
    return None


def _import_isolated(name: str, source: Path, code_uri: Path) -> ModuleType:
    """Import ``source`` as module ``name`` with ``code_uri`` importable only while it loads."""
    spec = importlib.util.spec_from_file_location(name, source)
    if spec is None or spec.loader is None:
        raise _ImportFailed(FunctionError("Runtime.ImportModuleError", f"Unable to import module from {source}"))
    module = importlib.util.module_from_spec(spec)
    before = set(sys.modules)
    sys.path.insert(0, str(code_uri))
    sys.modules[name] = module
    try:
        spec.loader.exec_module(module)
    except Exception as error:
        del sys.modules[name]
        failure = error_of(error)
        raise _ImportFailed(
            FunctionError(
                "Runtime.ImportModuleError", f"Unable to import module: {failure.error_message}", failure.stack_trace
            )
        ) from error
    finally:
        sys.path.remove(str(code_uri))
        for added in set(sys.modules) - before - {name}:
            if _is_under(getattr(sys.modules[added], "__file__", None), code_uri):
                del sys.modules[added]
    return module


def _is_under(file: str | None, directory: Path) -> bool:
    return file is not None and Path(file).resolve().is_relative_to(directory.resolve())


def error_of(error: BaseException) -> FunctionError:
    return FunctionError(
        error_type=type(error).__name__,
        error_message=str(error),
        stack_trace=[line.rstrip("\n") for line in traceback.format_tb(error.__traceback__)],
    )


def _elapsed_ms(context: LambdaContext) -> float:
    return (time.monotonic() - context.started) * 1000
