"""RFC 9457 problem details: the one error type every function raises and every route renders.

``ProblemCode`` lists every error an answer can carry (docs/read-api.md lists them), each with its
one HTTP status and title, so a member means the same answer wherever it is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum
from typing import Any

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://api.ocore.dev/problems/"


class ProblemCode(Enum):
    """An error: its ``code`` on the wire, its HTTP ``status`` and its ``title``.

    One code has two statuses, as published: ``validation_error`` is ``422`` for a request that is
    read but whose fields are wrong (``VALIDATION_ERROR``), and ``400`` for one that cannot be read
    as a request at all (``MALFORMED_REQUEST``): a query parameter given twice, a ``fill`` or
    ``format`` that is none of its words, an ingest body that is empty, not UTF-8, not JSON or
    nested too deeply.
    """

    code: str
    status: int
    title: str

    INVALID_PERIOD = "invalid_period", 400, "Invalid period"
    INVALID_DATE = "invalid_date", 400, "Invalid date"
    INVALID_RANGE = "invalid_range", 400, "Invalid range"
    UNKNOWN_PARAMETER = "unknown_parameter", 400, "Unknown parameter"
    RANGE_TOO_LARGE = "range_too_large", 400, "Range too large"
    INVALID_TOKEN = "invalid_token", 400, "Invalid pagination token"
    INVALID_LIMIT = "invalid_limit", 400, "Invalid limit"
    INVALID_TIMEZONE = "invalid_timezone", 400, "Invalid time zone"
    MALFORMED_REQUEST = "validation_error", 400, "Validation error"
    VALIDATION_ERROR = "validation_error", 422, "Validation error"
    SAMPLE_OUT_OF_WINDOW = "sample_out_of_window", 422, "Sample out of the accepted time window"
    PAYLOAD_TOO_LARGE = "payload_too_large", 413, "Payload too large"
    INSUFFICIENT_SCOPE = "insufficient_scope", 403, "Insufficient scope"
    PROJECT_NOT_FOUND = "project_not_found", 404, "Project not found"
    NOT_FOUND = "not_found", 404, "Not found"
    INTERNAL_ERROR = "internal_error", 500, "Internal error"

    def __init__(self, code: str, status: int, title: str) -> None:
        self.code = code
        self.status = status
        self.title = title

    @property
    def type(self) -> str:
        """The problem's ``type`` URI."""
        return TYPE_BASE + self.code.replace("_", "-")


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


@dataclass(slots=True)
class Problem(Exception):
    """An error answer of ``code``; ``errors`` lists bad fields."""

    code: ProblemCode
    detail: str
    errors: list[FieldError] = field(default_factory=list)

    @property
    def status(self) -> int:
        return self.code.status

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": self.code.type,
            "title": self.code.title,
            "status": self.code.status,
            "detail": self.detail,
            "code": self.code.code,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        if request_id:
            body["requestId"] = request_id
        return body
