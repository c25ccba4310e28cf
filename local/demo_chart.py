"""The demo chart: a local-only page, on the HTTP API's port, charting an org's daily usage.

``/demo/usage.html`` is a path no route of the template takes, answered by the local runner in
front of the HTTP API, so the page never ships. Each load embeds a fresh reader token (one
hour) of ``org_demo``, or of ``?org=<id>``; the page reads ``GET /api/usage?period=daily`` with
it (every page, following ``nextToken``) and draws stacked bars per day and project in inline
SVG, with plain JavaScript (``demo_chart.html``): no CDN, no build.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping
from pathlib import Path
from urllib.parse import parse_qs

from local.events import HttpRequest, HttpResponse
from local.tokens import mint_token

DEMO_CHART_PATH = "/demo/usage.html"
DEMO_ORG = "org_demo"
PAGE = Path(__file__).with_name("demo_chart.html")
_ORG_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")  # the token's org_id rule


class DemoChart:
    """The HTTP API (``api``) with the demo chart page in front of it."""

    def __init__(self, api: Callable[[HttpRequest], HttpResponse], template_parameters: Mapping[str, str]) -> None:
        self.api = api
        self.template_parameters = template_parameters

    def __call__(self, request: HttpRequest) -> HttpResponse:
        if request.path != DEMO_CHART_PATH or request.method not in ("GET", "HEAD"):
            return self.api(request)
        org = (parse_qs(request.query).get("org") or [DEMO_ORG])[0]
        if not _ORG_ID.fullmatch(org):
            return HttpResponse.message(400, "org: 1-64 of [A-Za-z0-9._-]")
        token = mint_token(self.template_parameters, org=org, scope="usage:read")
        page = PAGE.read_text(encoding="utf-8").replace("__ORG__", org).replace("__TOKEN__", json.dumps(token))
        headers = [("content-type", "text/html; charset=utf-8"), ("cache-control", "no-store")]
        return HttpResponse(200, headers, page.encode())
