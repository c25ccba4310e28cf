"""The ingest payload: the fields of a usage sample on the wire, and every rule a batch must pass.

Validation is all-or-nothing: :func:`parse_batch` either returns every sample of the body, or
raises one :class:`Problem` that lists each bad sample by index and field. JSON numbers are read
as ``Decimal`` so allocations are rounded half-even to 6 decimals from their exact text, and
become integer micro-units. The metric fields are those of :data:`ocore_usage.domain.metrics.METRICS`
that agents send, each read as its kind says; a read sample is a :class:`ocore_usage.domain.metered.Sample`.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from ocore_usage.domain.metered import MeteredInterval, Sample
from ocore_usage.domain.metrics import METRICS, SAMPLED, Reading, whole
from ocore_usage.domain.problems import FieldError, Problem, ProblemCode
from ocore_usage.domain.timeline import MICROS_PER_DAY, MICROS_PER_SECOND, parse_rfc3339

MAX_SAMPLES = 1000
MAX_BODY_BYTES = 1_048_576
WINDOW_PAST = 35 * MICROS_PER_DAY
WINDOW_FUTURE = 5 * 60 * MICROS_PER_SECOND
_OUTSIDE_WINDOW = "outside the accepted window: from 35 days ago to 5 minutes from now"


# ---------------------------------------------------------------- the fields of a sample
#
# Checked by hand rather than by a pydantic model: the ingest function would import pydantic and
# build the model on every cold start. Messages are worded as pydantic words them.


@dataclass(frozen=True, slots=True)
class SampleField:
    """One field of a sample: how its JSON value is read (``ValueError`` with the message when
    it is not acceptable) and its JSON Schema in the published document."""

    name: str
    read: Callable[[Any], Any]
    schema: dict[str, Any]

    @classmethod
    def reading(cls, name: str, reading: Reading) -> SampleField:
        return cls(name, reading.read, reading.schema)


def _text(name: str, allowed: str) -> SampleField:
    """A string made wholly of ``allowed`` (a regular expression); no trailing newline slips through."""
    compiled = re.compile(allowed)
    pattern = f"^{allowed}$"

    def read(value: Any) -> str:
        if not isinstance(value, str):
            raise ValueError("Input should be a valid string")
        if not compiled.fullmatch(value):
            raise ValueError(f"String should match pattern '{pattern}'")
        return value

    return SampleField(name, read, {"pattern": pattern, "type": "string"})


def _instant(value: Any) -> int:
    """An RFC 3339 date-time string with offset, as microseconds."""
    if not isinstance(value, str):
        raise ValueError("Value error, must be an RFC 3339 date-time string with offset")
    try:
        return parse_rfc3339(value)
    except ValueError as error:
        raise ValueError(f"Value error, {error}") from None


# On the wire an instant is an RFC 3339 string; a sample holds it as microseconds.
SAMPLE_FIELDS = (
    _text("sampleId", "[A-Za-z0-9._:-]{1,128}"),
    _text("projectId", "[A-Za-z0-9._-]{1,64}"),
    _text("instanceId", "[A-Za-z0-9._:-]{1,128}"),
    SampleField(
        "intervalStart", _instant, {"description": "RFC 3339 with offset.", "format": "date-time", "type": "string"}
    ),
    SampleField.reading("intervalSeconds", whole(1, 3600)),
    *(SampleField.reading(metric.sample_field, metric.reading) for metric in SAMPLED),
)
"""Every field of a sample, each required, in the order errors are listed; no other field is accepted."""
_FIELD_NAMES = frozenset(field.name for field in SAMPLE_FIELDS)

SAMPLE_SCHEMA: dict[str, Any] = {
    "additionalProperties": False,
    "description": "One sample as an agent sends it; numbers already in the integer units of attribution.",
    "properties": {field.name: field.schema for field in SAMPLE_FIELDS},
    "required": [field.name for field in SAMPLE_FIELDS],
    "type": "object",
}
"""The JSON Schema of one sample (``SampleIn`` in the published document), from the same fields."""


def _sample(raw: dict[str, Any]) -> Sample:
    """The sample of a JSON object whose every field :data:`SAMPLE_FIELDS` has read."""
    values = [0] * len(METRICS)
    for metric in SAMPLED:
        values[metric.index] = raw[metric.sample_field]
    interval = MeteredInterval(
        raw["instanceId"], raw["intervalStart"], raw["intervalSeconds"] * MICROS_PER_SECOND, tuple(values)
    )
    return Sample(project_id=raw["projectId"], sample_id=raw["sampleId"], interval=interval)


def read_sample(raw: dict[str, Any], at: str) -> Sample | list[FieldError]:
    """The sample of the JSON object ``raw`` found at ``at`` (``samples[3]``), or each of its errors."""
    values: dict[str, Any] = {}
    errors: list[FieldError] = []
    for field in SAMPLE_FIELDS:
        if field.name not in raw:
            errors.append(FieldError(f"{at}.{field.name}", "required"))
            continue
        try:
            values[field.name] = field.read(raw[field.name])
        except ValueError as error:
            errors.append(FieldError(f"{at}.{field.name}", str(error)))
    errors += [FieldError(f"{at}.{name}", "unknown field") for name in raw if name not in _FIELD_NAMES]
    return errors or _sample(values)


def _batch_errors(payload: dict[str, Any]) -> list[FieldError]:
    """What makes ``payload`` something other than ``{"samples": [<object>, ...]}``."""
    errors: list[FieldError] = []
    samples = payload.get("samples")
    if "samples" not in payload:
        errors.append(FieldError("samples", "required"))
    elif not isinstance(samples, list):
        errors.append(FieldError("samples", "Input should be a valid list"))
    elif not samples:
        errors.append(FieldError("samples", "List should have at least 1 item after validation, not 0"))
    else:
        errors += [
            FieldError(f"samples[{index}]", "Input should be a valid dictionary")
            for index, raw in enumerate(samples)
            if not isinstance(raw, dict)
        ]
    return errors + [FieldError(name, "unknown field") for name in payload if name != "samples"]


def _reject_constant(name: str) -> None:
    raise ValueError(f"{name} is not a JSON number")


def _json_fraction(text: str) -> Decimal:
    """A JSON number with a fraction or exponent, exactly. One whose exponent no Decimal holds
    (``1e99999999999999999999``) is ±Infinity, or 0 for a negative exponent: out of range or
    rounded to zero by the field's own rule, never an arithmetic fault."""
    try:
        return Decimal(text)
    except InvalidOperation:
        mantissa, _, exponent = text.lower().partition("e")
        if exponent.startswith("-") or not mantissa.strip("-0."):
            return Decimal(0)
        return Decimal("-Infinity" if mantissa.startswith("-") else "Infinity")


def _json_integer(text: str) -> int | Decimal:
    """A JSON integer; one too long for ``int`` (over 4300 digits) as a Decimal, which no integer field takes."""
    try:
        return int(text)
    except ValueError:
        return Decimal(text)


def request_body(body: str | None, base64_encoded: bool | None) -> bytes | str | None:
    """The body as API Gateway hands it over: text, or bytes when it marks it ``isBase64Encoded``."""
    if body is None or not base64_encoded:
        return body
    try:
        return base64.b64decode(body, validate=True)
    except ValueError as error:
        raise Problem(ProblemCode.MALFORMED_REQUEST, "the request body is marked base64 but is not") from error


def _decode(body: str | bytes | None) -> Any:
    """The JSON value of a body of UTF-8 text (RFC 8259), at most ``MAX_BODY_BYTES`` bytes."""
    try:
        raw = body.encode() if isinstance(body, str) else body or b""
    except UnicodeEncodeError as error:  # a lone surrogate: no UTF-8 text has one
        raise Problem(ProblemCode.MALFORMED_REQUEST, "the request body is not UTF-8 text") from error
    if len(raw) > MAX_BODY_BYTES:
        raise Problem(ProblemCode.PAYLOAD_TOO_LARGE, f"the request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode()  # strict UTF-8: no BOM sniffing for UTF-16/32, no replacement characters
    except UnicodeDecodeError as error:
        raise Problem(ProblemCode.MALFORMED_REQUEST, "the request body is not UTF-8 text") from error
    if not text.strip():
        raise Problem(ProblemCode.MALFORMED_REQUEST, 'the request body is empty; send {"samples": [...]}')
    try:
        return json.loads(text, parse_float=_json_fraction, parse_int=_json_integer, parse_constant=_reject_constant)
    except RecursionError as error:
        raise Problem(ProblemCode.MALFORMED_REQUEST, "the request body is nested too deeply") from error
    except ValueError as error:
        raise Problem(ProblemCode.MALFORMED_REQUEST, f"the request body is not valid JSON: {error}") from error


def parse_batch(body: str | bytes | None, now: int) -> list[Sample]:
    """Every sample of ``body``, or a Problem naming each bad one. Later duplicates replace earlier ones."""
    payload = _decode(body)
    if not isinstance(payload, dict):
        raise Problem(ProblemCode.VALIDATION_ERROR, 'the body must be an object {"samples": [...]}')
    raw_samples = payload.get("samples")
    if isinstance(raw_samples, list) and len(raw_samples) > MAX_SAMPLES:
        raise Problem(
            ProblemCode.PAYLOAD_TOO_LARGE, f"at most {MAX_SAMPLES} samples per request, got {len(raw_samples)}"
        )
    problems = _batch_errors(payload)
    if problems:
        raise Problem(ProblemCode.VALIDATION_ERROR, "the body is not a sample batch", problems)

    errors: list[FieldError] = []
    window: list[FieldError] = []
    accepted: dict[tuple[str, str], Sample] = {}
    for index, raw in enumerate(payload["samples"]):
        sample = read_sample(raw, f"samples[{index}]")
        if isinstance(sample, list):
            errors += sample
            continue
        if sample.interval.start < now - WINDOW_PAST or sample.interval.end > now + WINDOW_FUTURE:
            window.append(FieldError(f"samples[{index}].intervalStart", _OUTSIDE_WINDOW))
            continue
        accepted.pop(sample.key, None)  # re-insert so a replacement keeps the latest position
        accepted[sample.key] = sample
    if errors:
        raise Problem(
            ProblemCode.VALIDATION_ERROR, f"{len(errors + window)} problem(s) in the samples", errors + window
        )
    if window:
        raise Problem(
            ProblemCode.SAMPLE_OUT_OF_WINDOW, f"{len(window)} sample(s) outside the accepted time window", window
        )
    return list(accepted.values())
