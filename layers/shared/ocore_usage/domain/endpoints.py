"""The paths of the published endpoints, each written once, relative to the API's base.

The route rules of the functions, the page-token binding (a token names the endpoint it pages)
and the keys of the OpenAPI document all come from here; template.yaml routes the same paths
under ``API_BASE``.
"""

from __future__ import annotations

from typing import Final

API_BASE: Final = "/api"
PROJECT_USAGE: Final = "/projects/{id}/usage"
USAGE: Final = "/usage"
USAGE_TOTALS: Final = "/usage/totals"
USAGE_SAMPLES: Final = "/usage/samples"


def rule(path: str) -> str:
    """The resolver's rule of ``path``: under ``API_BASE``, ``{id}`` a whole segment.

    API Gateway routed the request by that segment and hands the path over percent-decoded, so the
    segment may hold any character but ``/``; the handler takes the id from ``pathParameters``.
    """
    return API_BASE + path.replace("{id}", "[^/]+")
