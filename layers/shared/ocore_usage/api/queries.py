"""Query parameters of the three read endpoints: parsing, validation, defaults (docs/read-api.md).

One dataclass per endpoint says which parameters exist; each field carries its parameter's
reader, which raises the API's error code (``invalid_period``, ``invalid_date``,
``invalid_limit``, ...), and its schema and description in the published document;
:func:`parse_query` turns those errors into a :class:`Problem`. Dataclasses rather than pydantic
models: the reads would otherwise import pydantic and build the models on every cold start.
Unknown names and repeated names are found first, from the raw query string: API Gateway joins
repeated values with commas in ``queryStringParameters``, so only ``rawQueryString`` shows that a
name came twice.

:func:`resolve_range` turns the dates into the effective range: widened to whole hours,
defaults filled in, bounded by the longest range of each period (both rules are rows of
:data:`ocore_usage.domain.periods.PERIODS`; docs/read-api.md, "The range"). ``now`` is passed in,
so callers (and tests) choose the clock. ``tz`` and ``format`` are beyond the published API
(docs/read-api.md, "Beyond the published API"): ``tz`` puts the days and months of the defaults,
the longest ranges and date-only dates in that zone's calendar (:mod:`ocore_usage.domain.zones`).
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Any, ClassVar, Final, Protocol
from urllib.parse import parse_qsl

from ocore_usage.domain.periods import NAMED_PERIODS, Period
from ocore_usage.domain.planner import TimeRange
from ocore_usage.domain.problems import FieldError, Problem, ProblemCode
from ocore_usage.domain.timeline import ceil_hour, floor_hour, from_micros, parse_full_date, parse_rfc3339, to_micros
from ocore_usage.domain.zones import MAX_NAME_LENGTH, UTC_CALENDAR, UTC_NAME, Calendar, UnknownZone, calendar
from ocore_usage.usecases.reports.request import Fill

DEFAULT_LIMIT: Final = 1000
MAX_LIMIT: Final = 5000
MAX_TOKEN_LENGTH: Final = 2048

_EARLIEST = to_micros(datetime(1970, 1, 1, tzinfo=UTC))
_LATEST = to_micros(datetime(3000, 1, 1, tzinfo=UTC))
_LIMIT_TEXT = re.compile(r"[0-9]{1,9}", re.ASCII)  # matched whole: no sign, space, newline or other digits


class Format(StrEnum):
    """The body of a successful answer: JSON (the published one) or CSV of its records."""

    JSON = "json"
    CSV = "csv"


class FullDate(int):
    """A date-only ``start_date``/``end_date``: its 00:00 UTC instant (as published), remembered as a
    date so that a ``tz`` can put it at that local day's start instead. An ``int`` like any date
    (page tokens bind it by its digits)."""

    @property
    def day(self) -> date:
        return from_micros(self).date()


# ---------------------------------------------------------------- field parsers


class ParameterError(ValueError):
    """A parameter's value is not acceptable; ``code`` is the API's error code for it."""

    def __init__(self, code: ProblemCode, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def _period(value: object) -> Period:
    if value in NAMED_PERIODS:
        return Period(str(value))
    raise ParameterError(ProblemCode.INVALID_PERIOD, f"period must be one of {', '.join(NAMED_PERIODS)}")


def _instant(value: object) -> int:
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    text = str(value)
    for parse in (parse_rfc3339, parse_full_date):
        try:
            instant = parse(text)
        except (ValueError, OverflowError):
            continue
        if _EARLIEST <= instant < _LATEST:
            return FullDate(instant) if parse is parse_full_date else instant
        raise ParameterError(ProblemCode.INVALID_DATE, "dates must lie between 1970-01-01 and 2999-12-31")
    raise ParameterError(
        ProblemCode.INVALID_DATE,
        "expected an RFC 3339 date-time with offset (2026-11-01T00:00:00Z) or a date (2026-11-01)",
    )


def _fill(value: object) -> Fill:
    if value in ("zero", "none"):
        return Fill(str(value))
    raise ParameterError(ProblemCode.MALFORMED_REQUEST, "fill must be zero or none")


def _format(value: object) -> Format:
    if value in ("json", "csv"):
        return Format(str(value))
    raise ParameterError(ProblemCode.MALFORMED_REQUEST, "format must be json or csv")


def _zone(value: object) -> str:
    text = str(value)
    try:
        calendar(text)
    except UnknownZone:
        raise ParameterError(
            ProblemCode.INVALID_TIMEZONE, "tz must be an IANA time zone name such as Europe/Berlin or America/New_York"
        ) from None
    return text


def _limit(value: object) -> int:
    text = str(value)
    if _LIMIT_TEXT.fullmatch(text) and 1 <= int(text) <= MAX_LIMIT:
        return int(text)
    raise ParameterError(ProblemCode.INVALID_LIMIT, f"limit must be a whole number from 1 to {MAX_LIMIT}")


def _token(value: object) -> str:
    text = str(value)
    if 0 < len(text) <= MAX_TOKEN_LENGTH:
        return text
    raise ParameterError(ProblemCode.INVALID_TOKEN, "next_token is not a token this API issued")


PERIOD_SCHEMA: Final = {
    "type": "string",
    "enum": [period.value for period in NAMED_PERIODS],
    "default": NAMED_PERIODS[0].value,
}
DATE_SCHEMA: Final = {
    "type": "string",
    "description": "RFC 3339 date-time with offset, or a full date YYYY-MM-DD (00:00 UTC; with tz, "
    "the start of that local day). Widened to whole hours (start floored, end ceiled).",
    "examples": ["2026-11-01T00:00:00Z", "2026-11-01"],
}
FILL_SCHEMA: Final = {"type": "string", "enum": ["zero", "none"]}
FORMAT_SCHEMA: Final = {"type": "string", "enum": ["json", "csv"], "default": "json"}
ZONE_SCHEMA: Final = {
    "type": "string",
    "pattern": f"^[A-Z][A-Za-z0-9_+/-]{{0,{MAX_NAME_LENGTH - 1}}}$",
    "default": UTC_NAME,
    "examples": ["Europe/Berlin", "America/New_York", "Asia/Kolkata"],
}
TZ_DESCRIPTION: Final = (
    "IANA time zone of the daily and monthly buckets (hourly buckets stay UTC hours); their periodStart "
    "carries the zone's offset. A local day or month holds the UTC hours that start within it. "
    "Else 400 invalid_timezone."
)
FORMAT_DESCRIPTION: Final = (
    "json (default) or csv: the records as RFC 4180 CSV, as with Accept: text/csv. This parameter wins over Accept."
)
TOKEN_SCHEMA: Final = {"type": "string", "minLength": 1, "maxLength": MAX_TOKEN_LENGTH}
PROJECT_ID_SCHEMA: Final = {
    "type": "string",
    "pattern": "^[A-Za-z0-9._-]{1,64}$",
    "examples": ["prj_web_frontend"],
    "description": "Project id, percent-decoded once (path and query alike); any other text is 404 project_not_found.",
}


def _limit_schema(default: int) -> dict[str, Any]:
    return {"type": "integer", "minimum": 1, "maximum": MAX_LIMIT, "default": default}


@dataclass(frozen=True, slots=True)
class Parameter:
    """How a query parameter is read (raising :class:`ParameterError`), and how the published
    document describes it: its JSON Schema and description."""

    read: Callable[[object], Any]
    schema: Mapping[str, Any]
    description: str


def parameter(read: Callable[[object], Any], schema: Mapping[str, Any], description: str) -> dict[str, Parameter]:
    """The metadata of a query dataclass's field: its :class:`Parameter`."""
    return {"parameter": Parameter(read, schema, description)}


# ---------------------------------------------------------------- the endpoints' parameters


TOTALS_DEFAULT_LIMIT: Final = MAX_LIMIT
"""``/usage/totals`` answers in one page unless asked otherwise: paging there is an additive extension."""
_NEXT_TOKEN = "The nextToken of the previous page, with the same other parameters."
_START = "Start of the range (inclusive)."
_END = "End of the range (exclusive)."


class QueryParameters(Protocol):
    """A query dataclass: its fields are the endpoint's parameters."""

    __dataclass_fields__: ClassVar[dict[str, Any]]


class _ReadParameters:
    """What every read's parameters answer, whatever their fields: the calendar of ``tz``, and each by name."""

    __slots__ = ()
    __dataclass_fields__: ClassVar[dict[str, Any]]
    tz: str | None

    @property
    def calendar(self) -> Calendar:
        return calendar(self.tz)

    def values(self) -> dict[str, Any]:
        """Every parameter by name, as read (defaults included)."""
        return {f.name: getattr(self, f.name) for f in fields(self)}


@dataclass(frozen=True, slots=True)
class TotalsQuery(_ReadParameters):
    """Query parameters of ``GET /usage/totals``."""

    start_date: int | None = field(default=None, metadata=parameter(_instant, DATE_SCHEMA, _START))
    end_date: int | None = field(default=None, metadata=parameter(_instant, DATE_SCHEMA, _END))
    limit: int = field(
        default=TOTALS_DEFAULT_LIMIT,
        metadata=parameter(
            _limit,
            _limit_schema(TOTALS_DEFAULT_LIMIT),
            "Most projects per page; a page also ends before its records pass 5 MB of JSON.",
        ),
    )
    next_token: str | None = field(default=None, metadata=parameter(_token, TOKEN_SCHEMA, _NEXT_TOKEN))
    tz: str | None = field(default=None, metadata=parameter(_zone, ZONE_SCHEMA, TZ_DESCRIPTION))
    format: Format | None = field(default=None, metadata=parameter(_format, FORMAT_SCHEMA, FORMAT_DESCRIPTION))


@dataclass(frozen=True, slots=True)
class ProjectUsageQuery(_ReadParameters):
    """Query parameters of ``GET /projects/{id}/usage``."""

    period: Period = field(default=Period.HOURLY, metadata=parameter(_period, PERIOD_SCHEMA, "Aggregation period."))
    start_date: int | None = field(default=None, metadata=parameter(_instant, DATE_SCHEMA, _START))
    end_date: int | None = field(default=None, metadata=parameter(_instant, DATE_SCHEMA, _END))
    fill: Fill | None = field(
        default=None,
        metadata=parameter(
            _fill,
            FILL_SCHEMA,
            "zero: a zero record for each bucket without usage; none: leave such buckets out. "
            "Default zero for one project, none org-wide.",
        ),
    )
    limit: int = field(
        default=DEFAULT_LIMIT, metadata=parameter(_limit, _limit_schema(DEFAULT_LIMIT), "Most items per page.")
    )
    next_token: str | None = field(default=None, metadata=parameter(_token, TOKEN_SCHEMA, _NEXT_TOKEN))
    tz: str | None = field(default=None, metadata=parameter(_zone, ZONE_SCHEMA, TZ_DESCRIPTION))
    format: Format | None = field(default=None, metadata=parameter(_format, FORMAT_SCHEMA, FORMAT_DESCRIPTION))


@dataclass(frozen=True, slots=True)
class UsageQuery(ProjectUsageQuery):
    """Query parameters of ``GET /usage``: those of one project's usage plus ``project_id``."""

    project_id: str | None = field(
        default=None,
        metadata=parameter(
            str, PROJECT_ID_SCHEMA, "Only this project; absent: every project of the caller's organization."
        ),
    )


def parse_query[Q: QueryParameters](model: type[Q], event: Mapping[str, Any]) -> Q:
    """The query parameters of an API Gateway HTTP API (payload 2.0) event, read into ``model``.

    Raises ``400`` problems: ``unknown_parameter`` naming every unknown name, then
    ``validation_error`` for a name given twice, then the first bad value's own code.
    """
    values: dict[str, str] = dict(event.get("queryStringParameters") or {})
    raw = event.get("rawQueryString")
    names = [name for name, _ in parse_qsl(raw, keep_blank_values=True)] if raw else list(values)

    accepted = [f.name for f in fields(model)]
    unknown = sorted({name for name in names if name not in accepted})
    if unknown:
        raise Problem(
            ProblemCode.UNKNOWN_PARAMETER,
            f"unknown query parameter(s): {', '.join(unknown)}; accepted: {', '.join(accepted)}",
            [FieldError(name, "unknown parameter") for name in unknown],
        )
    repeated = sorted(name for name, count in Counter(names).items() if count > 1)
    if repeated:
        raise Problem(
            ProblemCode.MALFORMED_REQUEST,
            f"query parameter(s) given more than once: {', '.join(repeated)}",
            [FieldError(name, "given more than once") for name in repeated],
        )
    return read_parameters(model, values)


def read_parameters[Q: QueryParameters](model: type[Q], values: Mapping[str, object]) -> Q:
    """``model`` with each of ``values`` read by its parameter (absent ones keep their defaults; None
    is absent for a parameter whose default is None); a ``400`` problem listing every bad value,
    with the first one's own code, otherwise."""
    read: dict[str, Any] = {}
    errors: list[tuple[ProblemCode, FieldError]] = []
    for found in fields(model):
        if found.name not in values:
            continue
        value = values[found.name]
        if value is None and found.default is None:
            read[found.name] = None
            continue
        try:
            read[found.name] = found.metadata["parameter"].read(value)
        except ParameterError as error:
            errors.append((error.code, FieldError(found.name, error.message)))
        except ValueError as error:
            errors.append((ProblemCode.MALFORMED_REQUEST, FieldError(found.name, f"Value error, {error}")))
    unknown = sorted(set(values) - {f.name for f in fields(model)})
    errors += [(ProblemCode.UNKNOWN_PARAMETER, FieldError(name, "Extra inputs are not permitted")) for name in unknown]
    if errors:
        raise _problem_of(errors)
    return model(**read)


_READ_400 = (
    ProblemCode.INVALID_PERIOD,
    ProblemCode.INVALID_DATE,
    ProblemCode.INVALID_RANGE,
    ProblemCode.UNKNOWN_PARAMETER,
    ProblemCode.RANGE_TOO_LARGE,
    ProblemCode.INVALID_TOKEN,
    ProblemCode.INVALID_LIMIT,
    ProblemCode.INVALID_TIMEZONE,
    ProblemCode.MALFORMED_REQUEST,
)
_CODE_OF_PARAMETER = {
    "period": ProblemCode.INVALID_PERIOD,
    "next_token": ProblemCode.INVALID_TOKEN,
    "limit": ProblemCode.INVALID_LIMIT,
    "tz": ProblemCode.INVALID_TIMEZONE,
}


def problem_codes(model: type[QueryParameters]) -> list[ProblemCode]:
    """The ``400`` codes a request read into ``model`` can answer with (a parameter's own code only
    where the parameter exists), in the documented order."""
    names = {parameter.name for parameter in fields(model)}
    absent = {code for name, code in _CODE_OF_PARAMETER.items() if name not in names}
    return [code for code in _READ_400 if code not in absent]


def path_project_id(event: Mapping[str, Any]) -> str:
    """The ``{id}`` of ``/projects/{id}/usage`` as API Gateway delivers it in ``pathParameters``: percent-decoded
    once, like a query value (docs/read-api.md, "Input rules")."""
    return str((event.get("pathParameters") or {}).get("id") or "")


def _problem_of(errors: list[tuple[ProblemCode, FieldError]]) -> Problem:
    """``unknown_parameter`` if any name is unknown, else the first code more specific than ``validation_error``."""
    codes = [code for code, _ in errors]
    if ProblemCode.UNKNOWN_PARAMETER in codes:
        code = ProblemCode.UNKNOWN_PARAMETER
    else:
        code = next((c for c in codes if c is not ProblemCode.MALFORMED_REQUEST), ProblemCode.MALFORMED_REQUEST)
    first = errors[0][1]
    return Problem(code, f"{first.field}: {first.message}", [error for _, error in errors])


# ---------------------------------------------------------------- the effective range


def resolve_range(
    start: int | None, end: int | None, period: Period, now: int, zone: Calendar = UTC_CALENDAR
) -> TimeRange:
    """The effective range of a request at ``period`` (``Period.TOTAL`` for ``/usage/totals``), with
    the days and months its rules name in ``zone``'s calendar."""
    if not zone.is_utc:
        # a date names a local day: its bucket's start (in UTC, the date's 00:00 UTC, as published)
        start = zone.date_start(start.day) if isinstance(start, FullDate) else start
        end = zone.date_start(end.day) if isinstance(end, FullDate) else end
    if start is not None and end is not None and end <= start:
        raise Problem(ProblemCode.INVALID_RANGE, "end_date must be later than start_date")
    effective_end = ceil_hour(end if end is not None else now)
    effective_start = floor_hour(start) if start is not None else period.rule.default_start(effective_end, zone)
    if effective_end <= effective_start:
        raise Problem(ProblemCode.INVALID_RANGE, "the range is empty: end_date must be later than start_date")
    if not period.rule.within_longest(effective_start, effective_end, zone):
        raise Problem(ProblemCode.RANGE_TOO_LARGE, f"a {period} range may span at most {period.rule.longest}")
    return TimeRange(effective_start, effective_end)
