"""RFC 9457 problem details: the one error type every function raises and every route renders.

Each error ``code`` (docs/read-api.md lists them) has one title and one HTTP status here, so a code means the same
thing wherever it is raised.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

PROBLEM_JSON = "application/problem+json"
TYPE_BASE = "https://api.ocore.dev/problems/"

STATUS_AND_TITLE: dict[str, tuple[int, str]] = {
    "invalid_period": (400, "Invalid period"),
    "invalid_date": (400, "Invalid date"),
    "invalid_range": (400, "Invalid range"),
    "unknown_parameter": (400, "Unknown parameter"),
    "range_too_large": (400, "Range too large"),
    "invalid_token": (400, "Invalid pagination token"),
    "invalid_limit": (400, "Invalid limit"),
    "invalid_timezone": (400, "Invalid time zone"),
    "validation_error": (422, "Validation error"),
    "sample_out_of_window": (422, "Sample out of the accepted time window"),
    "payload_too_large": (413, "Payload too large"),
    "insufficient_scope": (403, "Insufficient scope"),
    "project_not_found": (404, "Project not found"),
    "not_found": (404, "Not found"),
    "internal_error": (500, "Internal error"),
}


@dataclass(frozen=True, slots=True)
class FieldError:
    field: str
    message: str


@dataclass(slots=True)
class Problem(Exception):
    """An error answer. ``status`` defaults to the code's own; ``errors`` lists bad fields."""

    code: str
    detail: str
    errors: list[FieldError] = field(default_factory=list)
    status: int = 0

    def __post_init__(self) -> None:
        if not self.status:
            self.status = STATUS_AND_TITLE[self.code][0]

    @property
    def title(self) -> str:
        return STATUS_AND_TITLE.get(self.code, (self.status, "Error"))[1]

    def to_body(self, request_id: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": TYPE_BASE + self.code.replace("_", "-"),
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
            "code": self.code,
        }
        if self.errors:
            body["errors"] = [{"field": e.field, "message": e.message} for e in self.errors]
        if request_id:
            body["requestId"] = request_id
        return body
