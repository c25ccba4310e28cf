"""Serving an ``HttpRequest -> HttpResponse`` callable over HTTP in a background thread.

Both local endpoints (the HTTP API and the Lambda Invoke API) are such callables, so they can be
unit-tested without sockets; this module only moves bytes (stdlib ``ThreadingHTTPServer``, one
thread per connection) and writes a one-line access log to stderr.
"""

from __future__ import annotations

import sys
import threading
import time
import traceback
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import cast
from urllib.parse import urlsplit

from local.events import INTERNAL_SERVER_ERROR, HttpRequest, HttpResponse

App = Callable[[HttpRequest], HttpResponse]


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def __init__(self, address: tuple[str, int], app: App, label: str) -> None:
        super().__init__(address, _Handler)
        self.app = app
        self.label = label

    @property
    def port(self) -> int:
        return int(self.server_address[1])


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"  # keep-alive, as clients expect from API Gateway

    def _handle(self) -> None:
        server = cast(_Server, self.server)
        started = time.monotonic()
        url = urlsplit(self.path)
        length = int(self.headers.get("content-length") or 0)
        request = HttpRequest(
            method=self.command,
            path=url.path,
            query=url.query,
            headers=list(self.headers.items()),
            body=self.rfile.read(length) if length else b"",
            source_ip=self.client_address[0],
            protocol=self.request_version,
            server_port=server.port,
        )
        try:
            response = server.app(request)
        except Exception:  # a fault of the runner itself: answer as API Gateway would, and say why
            traceback.print_exc()
            response = INTERNAL_SERVER_ERROR
        self.send_response(response.status)
        for name, value in response.headers:
            if name.lower() not in ("content-length", "connection", "transfer-encoding"):
                self.send_header(name, value)
        self.send_header("content-length", str(len(response.body)))
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(response.body)
        elapsed = (time.monotonic() - started) * 1000
        print(f"{server.label} {self.command} {self.path} {response.status} {elapsed:.0f}ms", file=sys.stderr)

    do_GET = do_POST = do_PUT = do_PATCH = do_DELETE = do_HEAD = do_OPTIONS = _handle

    def __getattr__(self, name: str) -> Callable[[], None]:
        """Any other method (TRACE, PROPFIND...) goes to the app too, as API Gateway answers every
        method itself (``404 {"message":"Not Found"}`` without a route), never http.server's 501 page."""
        if name.startswith("do_"):
            return self._handle
        raise AttributeError(name)

    def log_message(self, format: str, *args: object) -> None:
        """Silenced: ``_handle`` writes one line per request."""


class RunningServer:
    """A server answering in a daemon thread until :meth:`stop`."""

    def __init__(self, app: App, host: str, port: int, label: str) -> None:
        self.httpd = _Server((host, port), app, label)
        self._thread = threading.Thread(
            target=self.httpd.serve_forever, kwargs={"poll_interval": 0.1}, name=f"{label}-server", daemon=True
        )
        self._thread.start()

    @property
    def port(self) -> int:
        return self.httpd.port

    def stop(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
        self._thread.join(timeout=5)
