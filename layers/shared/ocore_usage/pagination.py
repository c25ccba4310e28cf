"""Page tokens: opaque, tamper-proof ``next_token`` values (SPEC section 4).

A token is ``<payload>.<mac>`` in base64url. The payload holds what the next page needs: the
effective range of the first page (so pages stay consistent when a default end moves on with
the clock) and the position of the next item (its ``projectId`` and ``periodStart``). The MAC
is HMAC-SHA256 over the payload *and* what the token is bound to without carrying it: the
caller's org, the endpoint (with its path), and a hash of every query parameter but ``limit``
and ``next_token``. A token altered, replayed with other parameters, on another endpoint or by
another org fails the check and is ``400 invalid_token``.

The key comes from SSM Parameter Store (``PAGINATION_KEY_PARAMETER``, a SecureString) through
Powertools ``parameters`` with a 300 s cache, fetched only when a request needs a token; the
key source is injectable so tests need no SSM.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ocore_usage.planner import TimeRange
from ocore_usage.problems import Problem

KeySource = Callable[[], bytes]

_VERSION = 1
_DOMAIN = b"ocore-usage/page-token/v1"
KEY_CACHE_SECONDS = 300


@dataclass(frozen=True, slots=True)
class Position:
    """Where the next page starts: the first item at or after ``(project_id, period_start)``."""

    project_id: str
    period_start: int


@dataclass(frozen=True, slots=True)
class PageBinding:
    """What a token belongs to: one org, one endpoint, one set of query parameters."""

    org_id: str
    endpoint: str
    parameters: Mapping[str, Any]

    def digest(self) -> bytes:
        canonical = json.dumps(
            [self.org_id, self.endpoint, sorted((str(k), str(v)) for k, v in self.parameters.items())],
            separators=(",", ":"),
            ensure_ascii=True,
        )
        return hashlib.sha256(canonical.encode()).digest()


@dataclass(frozen=True, slots=True)
class PageState:
    """The content of a valid token."""

    time_range: TimeRange
    position: Position


def ssm_key_source(parameter_name: str) -> KeySource:
    """The signing key held in SSM (decrypted, cached by Powertools for 300 s)."""

    def fetch() -> bytes:
        from aws_lambda_powertools.utilities import parameters  # only requests that page pay for it

        return parameters.get_parameter(parameter_name, decrypt=True, max_age=KEY_CACHE_SECONDS).encode()

    return fetch


class PageTokens:
    """Issues and checks page tokens with the key of ``key_source``."""

    def __init__(self, key_source: KeySource) -> None:
        self._key_source = key_source

    def issue(self, binding: PageBinding, state: PageState) -> str:
        payload = json.dumps(
            [
                _VERSION,
                state.time_range.start,
                state.time_range.end,
                state.position.project_id,
                state.position.period_start,
            ],
            separators=(",", ":"),
        ).encode()
        encoded = _b64encode(payload)
        return f"{encoded}.{_b64encode(self._mac(binding, encoded))}"

    def open(self, binding: PageBinding, token: str) -> PageState:
        """The state a token carries, if this API issued it for ``binding``; else ``invalid_token``."""
        encoded, _, mac_text = token.partition(".")
        try:
            mac = _b64decode(mac_text)
        except ValueError:
            raise _invalid() from None
        if _b64encode(mac) != mac_text or not hmac.compare_digest(mac, self._mac(binding, encoded)):
            raise _invalid()
        try:
            version, start, end, project_id, period_start = json.loads(_b64decode(encoded))
            if version != _VERSION or not all(isinstance(v, int) for v in (start, end, period_start)):
                raise ValueError("unexpected token content")
            return PageState(TimeRange(start, end), Position(str(project_id), period_start))
        except (ValueError, TypeError):
            raise _invalid() from None

    def _mac(self, binding: PageBinding, encoded_payload: str) -> bytes:
        message = b"\0".join((_DOMAIN, binding.digest(), encoded_payload.encode("ascii", "replace")))
        return hmac.new(self._key_source(), message, hashlib.sha256).digest()


def _invalid() -> Problem:
    return Problem("invalid_token", "next_token is not valid for this request (altered, or other parameters)")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (UnicodeEncodeError, binascii.Error) as error:
        raise ValueError("not base64url") from error
