"""The ingest payload: what a usage sample is, and every rule a batch must pass.

Validation is all-or-nothing: :func:`parse_batch` either returns every sample of the body, or
raises one :class:`Problem` that lists each bad sample by index and field. JSON numbers are read
as ``Decimal`` so allocations are rounded half-even to 6 decimals from their exact text, and
become integer micro-units.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from decimal import ROUND_HALF_EVEN, Decimal, InvalidOperation
from typing import Annotated, Any

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, StrictInt, ValidationError, WithJsonSchema

from ocore_usage.attribution import MeteredInterval
from ocore_usage.problems import FieldError, Problem
from ocore_usage.timeline import MICROS_PER_DAY, MICROS_PER_SECOND, parse_rfc3339

MAX_SAMPLES = 1000
MAX_BODY_BYTES = 1_048_576
MAX_ALLOCATION = Decimal(1_000_000)
MAX_BYTES = 10**15
WINDOW_PAST = 35 * MICROS_PER_DAY
WINDOW_FUTURE = 5 * 60 * MICROS_PER_SECOND
_MICRO = Decimal("0.000001")


def _allocation(value: Any) -> int:
    """A JSON number in [0, 1e6], rounded half-even to 6 decimals, as integer micro-units."""
    if isinstance(value, bool) or not isinstance(value, int | Decimal):
        raise ValueError("must be a number")
    number = Decimal(value)
    if not number.is_finite() or number < 0 or number > MAX_ALLOCATION:
        raise ValueError("must be a number from 0 to 1000000")
    try:
        return int(number.quantize(_MICRO, rounding=ROUND_HALF_EVEN) * 1_000_000)
    except InvalidOperation as error:  # pragma: no cover - bounded above, kept for safety
        raise ValueError("must be a number from 0 to 1000000") from error


def _instant(value: Any) -> int:
    if not isinstance(value, str):
        raise ValueError("must be an RFC 3339 date-time string with offset")
    return parse_rfc3339(value)


# On the wire an allocation is a JSON number and an instant an RFC 3339 string; the model holds both as
# integers (micro-units, microseconds), so the published schema states the wire types.
Allocation = Annotated[
    int,
    BeforeValidator(_allocation),
    WithJsonSchema({"type": "number", "minimum": 0, "maximum": 1000000, "description": "Average allocation."}),
]
Instant = Annotated[
    int,
    BeforeValidator(_instant),
    WithJsonSchema({"type": "string", "format": "date-time", "description": "RFC 3339 with offset."}),
]
ByteCount = Annotated[StrictInt, Field(ge=0, le=MAX_BYTES)]


class SampleIn(BaseModel):
    """One sample as an agent sends it; numbers already in the integer units of attribution."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    sampleId: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    projectId: str = Field(pattern=r"^[A-Za-z0-9._-]{1,64}$")
    instanceId: str = Field(pattern=r"^[A-Za-z0-9._:-]{1,128}$")
    intervalStart: Instant
    intervalSeconds: Annotated[StrictInt, Field(ge=1, le=3600)]
    cpuCores: Allocation
    ramGb: Allocation
    diskGb: Allocation
    bandwidthInBytes: ByteCount
    bandwidthOutBytes: ByteCount


class _Batch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    samples: list[dict[str, Any]] = Field(min_length=1)


@dataclass(frozen=True, slots=True)
class Sample:
    """A validated sample: its identity and its metered interval."""

    project_id: str
    sample_id: str
    interval: MeteredInterval

    @property
    def key(self) -> tuple[str, str]:
        return (self.project_id, self.sample_id)

    @classmethod
    def of(cls, raw: SampleIn) -> Sample:
        return cls(
            project_id=raw.projectId,
            sample_id=raw.sampleId,
            interval=MeteredInterval(
                instance_id=raw.instanceId,
                start=raw.intervalStart,
                duration=raw.intervalSeconds * MICROS_PER_SECOND,
                cpu=raw.cpuCores,
                ram=raw.ramGb,
                disk=raw.diskGb,
                bytes_in=raw.bandwidthInBytes,
                bytes_out=raw.bandwidthOutBytes,
            ),
        )


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
        raise Problem("validation_error", "the request body is marked base64 but is not", status=400) from error


def _decode(body: str | bytes | None) -> Any:
    """The JSON value of a body of UTF-8 text (RFC 8259), at most ``MAX_BODY_BYTES`` bytes."""
    try:
        raw = body.encode() if isinstance(body, str) else body or b""
    except UnicodeEncodeError as error:  # a lone surrogate: no UTF-8 text has one
        raise Problem("validation_error", "the request body is not UTF-8 text", status=400) from error
    if len(raw) > MAX_BODY_BYTES:
        raise Problem("payload_too_large", f"the request body exceeds {MAX_BODY_BYTES} bytes")
    try:
        text = raw.decode()  # strict UTF-8: no BOM sniffing for UTF-16/32, no replacement characters
    except UnicodeDecodeError as error:
        raise Problem("validation_error", "the request body is not UTF-8 text", status=400) from error
    if not text.strip():
        raise Problem("validation_error", 'the request body is empty; send {"samples": [...]}', status=400)
    try:
        return json.loads(text, parse_float=_json_fraction, parse_int=_json_integer, parse_constant=_reject_constant)
    except RecursionError as error:
        raise Problem("validation_error", "the request body is nested too deeply", status=400) from error
    except ValueError as error:
        raise Problem("validation_error", f"the request body is not valid JSON: {error}", status=400) from error


def _field_path(prefix: str, location: tuple[int | str, ...]) -> str:
    return prefix + "".join(f"[{part}]" if isinstance(part, int) else f".{part}" for part in location)


def parse_batch(body: str | bytes | None, now: int) -> list[Sample]:
    """Every sample of ``body``, or a Problem naming each bad one. Later duplicates replace earlier ones."""
    payload = _decode(body)
    if not isinstance(payload, dict):
        raise Problem("validation_error", 'the body must be an object {"samples": [...]}', status=422)
    raw_samples = payload.get("samples")
    if isinstance(raw_samples, list) and len(raw_samples) > MAX_SAMPLES:
        raise Problem("payload_too_large", f"at most {MAX_SAMPLES} samples per request, got {len(raw_samples)}")
    try:
        batch = _Batch.model_validate(payload)
    except ValidationError as error:
        raise Problem("validation_error", "the body is not a sample batch", _errors("", error)) from error

    errors: list[FieldError] = []
    window: list[FieldError] = []
    accepted: dict[tuple[str, str], Sample] = {}
    for index, raw in enumerate(batch.samples):
        try:
            sample = Sample.of(SampleIn.model_validate(raw))
        except ValidationError as error:
            errors += _errors(f"samples[{index}]", error)
            continue
        if sample.interval.start < now - WINDOW_PAST or sample.interval.end > now + WINDOW_FUTURE:
            window.append(
                FieldError(
                    f"samples[{index}].intervalStart",
                    "outside the accepted window: from 35 days ago to 5 minutes from now",
                )
            )
            continue
        accepted.pop(sample.key, None)  # re-insert so a replacement keeps the latest position
        accepted[sample.key] = sample
    if errors:
        raise Problem("validation_error", f"{len(errors + window)} problem(s) in the samples", errors + window)
    if window:
        raise Problem("sample_out_of_window", f"{len(window)} sample(s) outside the accepted time window", window)
    return list(accepted.values())


def _errors(prefix: str, error: ValidationError) -> list[FieldError]:
    found = []
    for detail in error.errors(include_url=False, include_input=False):
        message = detail["msg"]
        if detail["type"] == "extra_forbidden":
            message = "unknown field"
        elif detail["type"] == "missing":
            message = "required"
        found.append(FieldError(_field_path(prefix, tuple(detail["loc"])).lstrip("."), message))
    return found
