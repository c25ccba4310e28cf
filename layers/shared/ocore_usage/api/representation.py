"""A read answer on the wire: JSON or CSV, its validators, how long it may be cached, and ``304``.

Beyond the published API, all of it additive: a request that asks for none of it gets the
published JSON body, with headers added. The rules are docs/read-api.md's ("Conditional requests
and caching", "CSV"): ``format`` wins over ``Accept``; a strong ``ETag`` (for CSV, also over the
next page's token, which travels in ``X-Next-Token`` and ``Link``); ``If-None-Match`` compared
weakly, answered ``304``; ``Cache-Control: private`` with a max-age that depends on whether the
range ends by ``dataThrough``. Errors stay ``application/problem+json`` whatever was asked for.
"""

from __future__ import annotations

import base64
import csv
import hashlib
import io
import re
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Final
from urllib.parse import parse_qsl, quote, urlencode

from ocore_usage.api import jsonnum
from ocore_usage.api.http_api import FAULT, FORBIDDEN, SCHEMA_REF, UNAUTHORIZED, gateway_answer, problem_answers
from ocore_usage.api.queries import Format, QueryParameters, problem_codes
from ocore_usage.api.responses import CSV_COLUMNS, UsageRecord, UsageReport, UsageTotals, csv_row
from ocore_usage.api.routing import Response
from ocore_usage.domain.aggregation import Usage, render_metrics
from ocore_usage.domain.metrics import MICRO
from ocore_usage.domain.problems import ProblemCode
from ocore_usage.domain.timeline import MICROS_PER_HOUR, from_micros, parse_rfc3339

JSON: Final = "application/json"
CSV: Final = "text/csv; charset=utf-8; header=present"
CLOSED_MAX_AGE: Final = 3600
"""Seconds an answer may be reused when every bucket in it is closed and rolled up."""
OPEN_MAX_AGE: Final = 60
"""Seconds an answer may be reused while some bucket in it may still change."""

_ENTITY_TAG = re.compile(r'(?:W/)?"([^"]*)"')
_DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")
_MONTHS = ("Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec")

Answer = UsageReport | UsageTotals


@dataclass(frozen=True, slots=True)
class ReadRequest:
    """What of the HTTP request shapes the answer's representation (payload 2.0: lowercased headers)."""

    accept: str = ""
    if_none_match: str = ""
    path: str = ""
    raw_query: str = ""

    @classmethod
    def of(cls, event: Mapping[str, Any]) -> ReadRequest:
        headers = event.get("headers") or {}
        return cls(
            accept=str(headers.get("accept") or ""),
            if_none_match=str(headers.get("if-none-match") or ""),
            path=str(event.get("rawPath") or ""),
            raw_query=str(event.get("rawQueryString") or ""),
        )


def respond(answer: Answer, request: ReadRequest, asked: Format | None = None) -> Response:
    """The HTTP answer: the body in the format asked for, with validators, or ``304``."""
    fmt = asked or (Format.CSV if prefers_csv(request.accept) else Format.JSON)
    headers: dict[str, str] = {}
    if fmt is Format.CSV:
        body, content_type = to_csv(answer), CSV
        if answer.nextToken is not None:
            headers["X-Next-Token"] = answer.nextToken
            headers["Link"] = f'<{next_page_link(request, answer.nextToken)}>; rel="next"'
        tag = entity_tag(body.encode(), (answer.nextToken or "").encode())
    else:
        body, content_type = jsonnum.dumps(answer.body()), JSON
        tag = entity_tag(body.encode())
    data_through = parse_rfc3339(answer.dataThrough)
    closed = parse_rfc3339(answer.endDate) <= data_through
    validators = {
        "ETag": tag,
        "Last-Modified": http_date(data_through),
        "Cache-Control": f"private, max-age={CLOSED_MAX_AGE if closed else OPEN_MAX_AGE}",
        "Vary": "Accept",
    }
    if matches(request.if_none_match, tag):
        return Response(status_code=304, content_type=None, body="", headers=validators)
    return Response(status_code=200, content_type=content_type, body=body, headers={**validators, **headers})


# ---------------------------------------------------------------- format


def prefers_csv(accept: str) -> bool:
    """``Accept`` ranks ``text/csv`` above ``application/json`` (ties and absence: JSON)."""
    if not accept:  # most requests: nothing to parse
        return False
    return _quality(accept, "text", "csv") > _quality(accept, "application", "json")


def _quality(accept: str, main: str, sub: str) -> float:
    """The q-value ``accept`` gives ``main/sub``: that of its most specific matching range (0: none)."""
    specificities = {(main, sub): 2, (main, "*"): 1, ("*", "*"): 0}
    best: tuple[int, float] = (-1, 0.0)
    for media_range in accept.split(","):
        kind, *parameters = (part.strip() for part in media_range.split(";"))
        range_main, _, range_sub = kind.lower().partition("/")
        specificity = specificities.get((range_main, range_sub))
        if specificity is None:
            continue
        quality = 1.0
        for parameter in parameters:
            name, _, value = parameter.partition("=")
            if name.strip().lower() == "q":
                try:
                    quality = min(max(float(value.strip()), 0.0), 1.0)
                except ValueError:
                    quality = 0.0
        if (specificity, quality) > best:
            best = (specificity, quality)
    return best[1]


def to_csv(answer: Answer) -> str:
    """The answer's records as RFC 4180 CSV with a header row."""
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n", quoting=csv.QUOTE_MINIMAL)
    writer.writerow(CSV_COLUMNS)
    writer.writerows(csv_row(record) for record in answer.records)
    return out.getvalue()


def next_page_link(request: ReadRequest, token: str) -> str:
    """This request's path and query with ``next_token`` set to ``token`` (a relative reference)."""
    pairs = [(k, v) for k, v in parse_qsl(request.raw_query, keep_blank_values=True) if k != "next_token"]
    return f"{request.path}?{urlencode([*pairs, ('next_token', token)], quote_via=quote)}"


# ---------------------------------------------------------------- validators


def entity_tag(body: bytes, extra: bytes = b"") -> str:
    """A strong tag: the SHA-256 of ``body`` (and of ``extra``, what travels beside it), base64url."""
    digest = hashlib.sha256(body + b"\0" + extra if extra else body).digest()
    return '"' + base64.urlsafe_b64encode(digest).rstrip(b"=").decode("ascii") + '"'


def matches(if_none_match: str, tag: str) -> bool:
    """``If-None-Match`` names this answer: ``*``, or a listed tag equal to ``tag`` (weak comparison)."""
    value = if_none_match.strip()
    return value == "*" or tag.strip('"') in _ENTITY_TAG.findall(value)


def http_date(instant: int) -> str:
    """RFC 9110 IMF-fixdate of an instant, rounded down to the second."""
    moment = from_micros(instant)
    return (
        f"{_DAYS[moment.weekday()]}, {moment.day:02d} {_MONTHS[moment.month - 1]} {moment.year:04d} "
        f"{moment.hour:02d}:{moment.minute:02d}:{moment.second:02d} GMT"
    )


# ---------------------------------------------------------------- the answers, as the document describes them


def _header(description: str) -> dict[str, Any]:
    return {"description": description, "schema": {"type": "string"}}


_VALIDATOR_HEADERS = {
    "ETag": _header("Strong entity tag: the SHA-256 of the body (for CSV, with the next page's token), base64url."),
    "Last-Modified": _header("dataThrough as an HTTP-date (whole seconds, rounded down)."),
    "Cache-Control": _header(
        f"private; max-age={CLOSED_MAX_AGE} when the whole range ends no later than dataThrough "
        f"(every bucket closed and rolled up), else max-age={OPEN_MAX_AGE}."
    ),
    "Vary": _header("Accept: the body's format follows it."),
}
_CSV_PAGE_HEADERS = {
    "X-Next-Token": _header("CSV only: the nextToken of the JSON answer, when more records follow."),
    "Link": _header('CSV only: <this request with next_token set>; rel="next", when more records follow.'),
}


def _csv_example() -> str:
    """The CSV form of an answer: its header and one record (a Berlin day of 23 hours, two instances)."""
    unit_hours = MICRO * MICROS_PER_HOUR  # one core (or GB) for one hour, in micro-units x microseconds
    usage = Usage.of(
        cpu=46 * unit_hours,
        ram=92 * unit_hours,
        disk=460 * unit_hours,
        instance=23 * MICROS_PER_HOUR,
        bytes_in=1000,
        bytes_out=5000,
        peak=2,
    )
    record = UsageRecord(
        render_metrics(usage),
        periodStart="2026-03-29T00:00:00+01:00",
        periodType="daily",
        projectId="prj_web_frontend",
        projectName="web-frontend",
    )
    return ",".join(CSV_COLUMNS) + "\r\n" + ",".join(csv_row(record)) + "\r\n"


def read_answers(
    query: type[QueryParameters], body: type[Answer], *, not_found: bool = False, path_id: bool = False
) -> dict[int, Any]:
    """The OpenAPI responses of a read route: ``body`` as JSON or CSV, ``304``, and its problems
    (``404`` where a project is named, by ``path_id`` or a parameter)."""
    records = "items" if body is UsageReport else "per-project totals"
    answers: dict[int, Any] = {
        200: {
            "description": f"The usage asked for: JSON, or with Accept: text/csv (or format=csv) the {records} as CSV.",
            "headers": {**_VALIDATOR_HEADERS, **_CSV_PAGE_HEADERS},
            "content": {
                JSON: {"schema": {"$ref": SCHEMA_REF.format(model=body.__name__)}},
                "text/csv": {
                    "schema": {
                        "type": "string",
                        "description": f"RFC 4180 CSV (CRLF line ends): a header row, then one row per {records} "
                        "record in the JSON order. Columns: " + ", ".join(CSV_COLUMNS) + ". Numbers as in JSON, "
                        "null as an empty field, partial as true or false.",
                    },
                    "example": _csv_example(),
                },
            },
        },
        304: {
            "description": "If-None-Match names this answer's ETag (or is *): nothing changed, no body.",
            "headers": _VALIDATOR_HEADERS,
            "content": {},  # no body (without content, Powertools would document the handler's return type)
        },
        400: problem_answers("The request's parameters are not acceptable.", *problem_codes(query)),
        401: UNAUTHORIZED,
        403: FORBIDDEN,
    }
    if not_found:
        missing = "No such project in the caller's organization (also for another organization's project)."
        answers[404] = problem_answers(missing, ProblemCode.PROJECT_NOT_FOUND)
    if path_id:
        # API Gateway decodes the path before routing: an id holding %2F is another path, no route
        gateway = gateway_answer("Not Found", "")["content"]
        described = answers[404]["description"] + ' An id holding "/" (%2F) matches no route: API Gateway answers.'
        answers[404] = {"description": described, "content": {**gateway, **answers[404]["content"]}}
    answers[500] = FAULT
    return answers
