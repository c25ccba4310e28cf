"""Page tokens: opaque, tamper-proof ``next_token`` values (docs/read-api.md, "Records, totals, pages").

Where a page starts and ends is the read use case's (:mod:`ocore_usage.usecases.reports.paging`);
turning its state into a token a client carries, and back, is HTTP's, here.

A token is ``<payload>.<mac>`` in base64url. The payload holds what the next page needs: the
effective range of the first page (so pages stay consistent when a default end moves on with
the clock) and the position of the next item (its ``projectId`` and ``periodStart``). The MAC
is HMAC-SHA256 over the payload *and* what the token is bound to without carrying it: the
caller's org, the endpoint (with its path), and a hash of every query parameter but ``limit``
and ``next_token``. A token altered, replayed with other parameters, on another endpoint or by
another org fails the check and is ``400 invalid_token``.

The keys come from SSM Parameter Store (``PAGINATION_KEY_PARAMETER``, a SecureString) through
Powertools ``parameters`` with a 300 s cache, fetched only when a request needs a token; the
key source is injectable so tests need no SSM. The parameter holds one key per line: the first
signs new tokens, and a token signed with any of them is accepted, so the key rotates without
breaking paging in progress (docs/read-api.md, "Rotating the pagination key").
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import json
from collections.abc import Callable, Sequence

from ocore_usage.domain.planner import TimeRange
from ocore_usage.domain.problems import Problem, ProblemCode
from ocore_usage.usecases.reports.paging import PageBinding, PageState, Position

KeySource = Callable[[], Sequence[bytes]]
"""The keys in force: the first signs, every one verifies."""

_VERSION = 1
_DOMAIN = b"ocore-usage/page-token/v1"
KEY_CACHE_SECONDS = 300


def parse_keys(value: str) -> tuple[bytes, ...]:
    """The keys of a parameter value: one per line, surrounding whitespace and blank lines ignored."""
    keys = tuple(line.strip().encode() for line in value.splitlines() if line.strip())
    if not keys:
        raise ValueError("the pagination key parameter holds no key")
    return keys


def ssm_key_source(parameter_name: str) -> KeySource:
    """The keys held in SSM (decrypted, cached by Powertools for 300 s)."""

    def fetch() -> tuple[bytes, ...]:
        from aws_lambda_powertools.utilities import parameters  # only requests that page pay for it

        return parse_keys(parameters.get_parameter(parameter_name, decrypt=True, max_age=KEY_CACHE_SECONDS))

    return fetch


class PageTokens:
    """Issues tokens signed with the first key of ``key_source``; accepts a token signed with any of them
    (the reads' :class:`~ocore_usage.usecases.reports.paging.PageTokens` port)."""

    def __init__(self, key_source: KeySource) -> None:
        self._key_source = key_source

    def issue(self, binding: PageBinding, state: PageState) -> str:
        time_range, position = state.time_range, state.position
        payload = [_VERSION, time_range.start, time_range.end, position.project_id, position.period_start]
        encoded = _b64encode(json.dumps(payload, separators=(",", ":")).encode())
        signing_key = self._key_source()[0]
        return f"{encoded}.{_b64encode(_mac(signing_key, binding, encoded))}"

    def open(self, binding: PageBinding, token: str) -> PageState:
        """The state a token carries, if this API issued it for ``binding``; else ``invalid_token``."""
        encoded, _, mac_text = token.partition(".")
        try:
            mac = _b64decode(mac_text)
        except ValueError:
            raise _invalid() from None
        if _b64encode(mac) != mac_text or not any(
            hmac.compare_digest(mac, _mac(key, binding, encoded)) for key in self._key_source()
        ):
            raise _invalid()
        try:
            version, start, end, project_id, period_start = json.loads(_b64decode(encoded))
            if version != _VERSION or not all(isinstance(v, int) for v in (start, end, period_start)):
                raise ValueError("unexpected token content")
            return PageState(TimeRange(start, end), Position(str(project_id), period_start))
        except (ValueError, TypeError):
            raise _invalid() from None


def _mac(key: bytes, binding: PageBinding, encoded_payload: str) -> bytes:
    message = b"\0".join((_DOMAIN, _digest(binding), encoded_payload.encode("ascii", "replace")))
    return hmac.new(key, message, hashlib.sha256).digest()


def _digest(binding: PageBinding) -> bytes:
    canonical = json.dumps(
        [binding.org_id, binding.endpoint, sorted((str(k), str(v)) for k, v in binding.parameters.items())],
        separators=(",", ":"),
        ensure_ascii=True,
    )
    return hashlib.sha256(canonical.encode()).digest()


def _invalid() -> Problem:
    return Problem(ProblemCode.INVALID_TOKEN, "next_token is not valid for this request (altered, or other parameters)")


def _b64encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode("ascii")


def _b64decode(text: str) -> bytes:
    try:
        raw = text.encode("ascii")
        return base64.b64decode(raw + b"=" * (-len(raw) % 4), altchars=b"-_", validate=True)
    except (UnicodeEncodeError, binascii.Error) as error:
        raise ValueError("not base64url") from error
