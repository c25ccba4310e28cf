"""Bearer-token verification for the HTTP API's Lambda authorizer (payload 2.0, simple responses).

``TokenVerifier`` checks a JWT with PyJWT against an algorithm allow-list, a key source
(an HS256 secret from SSM Parameter Store, or the issuer's JWKS for RS256/ES256), ``exp``,
``nbf``, ``iat``, ``iss`` and ``aud``, then reads the service's claims (``sub``, ``scope``,
``org_id``) into a :class:`Grant`. ``authorize`` turns an authorizer event into the simple
response whose context the routes read back with ``ocore_usage.api.http_api.caller_of``:
``{"orgId": <org or "">, "sub": <subject>, "scopes": <space-separated>}``, strings only.

A bad token is never an exception to the caller: it is a :class:`TokenRejected` with a short
reason (no token contents), answered ``{"isAuthorized": false}`` (API Gateway: 403). A key
that cannot be obtained (SSM or the JWKS endpoint down, misconfiguration) is a
:class:`KeyUnavailable` and propagates: the token may well be good, and API Gateway caches a
denial for the token's whole authorizer TTL, while it does not cache a failure.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, cast

import jwt
from aws_lambda_powertools import Logger

from ocore_usage import aws

if TYPE_CHECKING:
    from mypy_boto3_ssm.client import SSMClient

    from ocore_usage.settings import TokenSettings

logger = Logger(service="ocore-usage")

# The same values as ``http_api.READ_SCOPE``/``WRITE_SCOPE``, not imported from there: that module
# brings the HTTP event handler, which the authorizer's cold start does without (tests keep them equal).
READ_SCOPE = "usage:read"
WRITE_SCOPE = "usage:write"

LEEWAY_SECONDS = 30  # clock skew tolerated on exp, nbf and iat
SECRET_MAX_AGE_SECONDS = 300  # how long the HS256 secret read from SSM is reused before it is read again
JWKS_LIFESPAN_SECONDS = 300  # how long a fetched JWKS is used before it is fetched again
JWKS_COOLDOWN_SECONDS = 30  # least time between two JWKS fetches, successful or not (an unknown kid asks for one)
JWKS_TIMEOUT_SECONDS = 5  # well inside the function's 10 s timeout
MAX_TOKEN_LENGTH = 8192  # API Gateway caps headers well below what this allows for a token

REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")
SYMMETRIC_ALGORITHMS = frozenset({"HS256", "HS384", "HS512"})
ASYMMETRIC_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA"}
)

ORG_ID = re.compile(r"[A-Za-z0-9._-]{1,64}")
# A compact JWS: three base64url segments (an unsigned token has an empty third one).
COMPACT_JWS = re.compile(r"[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]+\.[A-Za-z0-9_=-]*")


class TokenRejected(Exception):
    """The token does not authorize anything; ``reason`` is safe to log (no token contents)."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class KeyUnavailable(Exception):
    """The verification key could not be obtained: a fault of ours, not of the token."""


class KeySource(Protocol):
    """Where the key that verifies a token comes from (an SSM secret, a JWKS, a test double)."""

    def key_for(self, header: Mapping[str, Any]) -> Any:
        """The key for a token with this (not yet verified) header; ``TokenRejected`` when the header
        names no usable key, ``KeyUnavailable`` when the key cannot be obtained."""
        ...


@dataclass(frozen=True, slots=True)
class Grant:
    """What a verified token lets its bearer do, as the routes receive it."""

    subject: str
    org_id: str | None
    scopes: tuple[str, ...]

    def context(self) -> dict[str, str]:
        """The authorizer context (keys and string values read by ``http_api.caller_of``)."""
        return {"orgId": self.org_id or "", "sub": self.subject, "scopes": " ".join(self.scopes)}


class TokenVerifier:
    """Verifies bearer JWTs against one algorithm family, one issuer and one audience."""

    def __init__(self, keys: KeySource, *, algorithms: Sequence[str], issuer: str, audience: str) -> None:
        allowed = frozenset(algorithms)
        if not allowed:
            raise ValueError("the algorithm allow-list is empty")
        unknown = allowed - SYMMETRIC_ALGORITHMS - ASYMMETRIC_ALGORITHMS
        if unknown:
            raise ValueError(f"unsupported algorithms in the allow-list: {sorted(unknown)}")
        if allowed & SYMMETRIC_ALGORITHMS and allowed & ASYMMETRIC_ALGORITHMS:
            # One key source interprets the key one way; mixing HS* with RS*/ES* invites
            # algorithm confusion (RFC 8725, 2.1).
            raise ValueError("the allow-list mixes symmetric and asymmetric algorithms")
        if not issuer or not audience:
            raise ValueError("an issuer and an audience are required")
        self.keys = keys
        self.algorithms = sorted(allowed)
        self.issuer = issuer
        self.audience = audience

    def verify(self, token: str) -> Grant:
        """The grant carried by ``token``; ``TokenRejected`` if it carries none."""
        if len(token) > MAX_TOKEN_LENGTH or not COMPACT_JWS.fullmatch(token):
            raise TokenRejected("not a compact JWS")
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError as error:
            raise TokenRejected(f"unreadable header ({type(error).__name__})") from None
        # Checked before any key is fetched: a token of another algorithm never costs an
        # SSM or JWKS round trip. jwt.decode checks the allow-list again.
        if header.get("alg") not in self.algorithms:
            raise TokenRejected("algorithm not allowed")
        key = self.keys.key_for(header)
        try:
            claims: dict[str, Any] = jwt.decode(
                token,
                key,
                algorithms=self.algorithms,
                audience=self.audience,
                issuer=self.issuer,
                leeway=LEEWAY_SECONDS,
                options={"require": list(REQUIRED_CLAIMS), "enforce_minimum_key_length": True},
            )
        except jwt.InvalidKeyError as error:
            # Our key, not the token, is unfit (e.g. an HS256 secret shorter than 32 bytes).
            raise KeyUnavailable(f"the verification key is unusable ({error})") from error
        except jwt.PyJWTError as error:
            raise TokenRejected(f"invalid token ({type(error).__name__})") from None
        except Exception as error:  # a crafted token must never turn into a 5xx
            logger.exception("unexpected error while verifying a token")
            raise TokenRejected(f"unverifiable token ({type(error).__name__})") from None
        return grant_of(claims)


def grant_of(claims: Mapping[str, Any]) -> Grant:
    """The grant in verified ``claims``: ``sub``, ``scope`` (space-separated) and ``org_id``
    (docs/read-api.md, "Tokens"). A tenant's token (one with an ``org_id``) keeps its other scopes
    but not ``usage:write``; a malformed ``org_id`` rejects the token whatever its scopes. Unknown
    scopes are passed through; the routes decide what each one allows."""
    subject = claims.get("sub")
    if not isinstance(subject, str) or not subject:
        raise TokenRejected("sub is not a non-empty string")
    scope = claims.get("scope", "")
    if not isinstance(scope, str):
        raise TokenRejected("scope is not a string")
    scopes = tuple(dict.fromkeys(scope.split()))
    org_id = claims.get("org_id")
    if org_id is not None and not (isinstance(org_id, str) and ORG_ID.fullmatch(org_id)):
        raise TokenRejected("org_id is malformed")
    if READ_SCOPE in scopes and org_id is None:
        raise TokenRejected(f"{READ_SCOPE} without org_id")
    if WRITE_SCOPE in scopes and org_id is not None:
        logger.warning(
            "a token with an org_id claims the service scope; not granted", extra={"sub": subject, "org_id": org_id}
        )
        scopes = tuple(scope for scope in scopes if scope != WRITE_SCOPE)
    return Grant(subject=subject, org_id=org_id, scopes=scopes)


def bearer_token(authorization: str | None) -> str | None:
    """The token in an ``Authorization: Bearer <token>`` value (scheme case-insensitive)."""
    parts = (authorization or "").split()
    return parts[1] if len(parts) == 2 and parts[0].lower() == "bearer" else None


def authorization_of(event: Mapping[str, Any]) -> str | None:
    """The Authorization header: the authorizer's identity source, else the request headers
    (named in any case; of two spellings, the later one)."""
    identity = event.get("identitySource") or []
    if identity and isinstance(identity[0], str):
        return str(identity[0])
    values = [value for name, value in (event.get("headers") or {}).items() if name.lower() == "authorization"]
    return values[-1] if values and isinstance(values[-1], str) else None


@dataclass(frozen=True, slots=True)
class Verdict:
    """An authorizer's simple response: whether the request may go on, and the context the
    routes read back (only when it may)."""

    authorize: bool
    context: dict[str, str] | None = None

    def asdict(self) -> dict[str, Any]:
        answer: dict[str, Any] = {"isAuthorized": self.authorize}
        if self.context:
            answer["context"] = self.context
        return answer


DENIED = Verdict(authorize=False)


def authorize(event: Mapping[str, Any], verifier: TokenVerifier) -> Verdict:
    """The simple response to one authorizer event (payload 2.0); only ``KeyUnavailable`` escapes."""
    token = bearer_token(authorization_of(event))
    if token is None:
        logger.info("unauthorized", extra={"reason": "no bearer token"})
        return DENIED
    try:
        grant = verifier.verify(token)
    except TokenRejected as rejected:
        logger.info("unauthorized", extra={"reason": rejected.reason})
        return DENIED
    logger.debug("authorized", extra={"org_id": grant.org_id, "scopes": grant.scopes})
    return Verdict(authorize=True, context=grant.context())


class SsmSecret:
    """The HS256 secret: an SSM SecureString, decrypted, reused for ``SECRET_MAX_AGE_SECONDS``.

    The SSM client is created on first use (botocore's, through :mod:`ocore_usage.aws`); pass
    ``client`` to use a given one (tests: moto). Any failure to read the parameter is a
    :class:`KeyUnavailable`.
    """

    def __init__(self, name: str, *, client: SSMClient | None = None) -> None:
        if not name:
            raise ValueError("no SSM parameter name for the HS256 secret")
        self.name = name
        self._client = client
        self._secret: str | None = None
        self._read_at = 0.0

    def key_for(self, header: Mapping[str, Any]) -> str:
        now = time.monotonic()
        if self._secret is None or now - self._read_at >= SECRET_MAX_AGE_SECONDS:
            self._secret, self._read_at = self._read(), now
        return self._secret

    def _read(self) -> str:
        try:
            if self._client is None:
                self._client = cast("SSMClient", aws.client("ssm"))
            secret = self._client.get_parameter(Name=self.name, WithDecryption=True)["Parameter"]["Value"]
        except Exception as error:  # unreachable, denied, absent, misconfigured: never the token's fault
            raise KeyUnavailable(f"cannot read the SSM parameter {self.name}") from error
        if not isinstance(secret, str) or not secret:
            raise KeyUnavailable(f"the SSM parameter {self.name} holds no secret")
        return secret


class JwksKeys:
    """RS256/ES256 public keys from the issuer's JWKS, fetched and parsed by ``PyJWKClient``.

    The key set is kept for ``JWKS_LIFESPAN_SECONDS``; an unknown ``kid`` asks for a refetch, but
    fetches, failed ones included, are ``JWKS_COOLDOWN_SECONDS`` apart, so random ``kid`` values
    cannot hammer the endpoint (docs/read-api.md, "Tokens"). A ``kid`` the set in hand lacks is a
    ``TokenRejected`` (anyone could send one); only no set at all, or the token's key in a set that
    expired and cannot be refetched, is a ``KeyUnavailable``.
    """

    def __init__(self, url: str, *, clock: Callable[[], float] = time.monotonic) -> None:
        if not url:
            raise ValueError("no JWKS URL for RS256/ES256 tokens")
        self.url = url
        self._clock = clock
        try:  # no caching in the client: the key set, its lifespan and the cooldown are ours
            self._client = jwt.PyJWKClient(url, cache_jwk_set=False, timeout=JWKS_TIMEOUT_SECONDS)
        except jwt.PyJWKClientError as error:
            raise ValueError(f"unusable JWKS URL {url!r} ({error})") from None
        self._keys: dict[str, jwt.PyJWK] | None = None
        self._fetched_at = 0.0
        self._attempted_at: float | None = None

    def key_for(self, header: Mapping[str, Any]) -> jwt.PyJWK:
        kid = header.get("kid")
        if not isinstance(kid, str) or not kid:
            raise TokenRejected("no kid in the token header")
        now = self._clock()
        fetched = False
        if not self._fresh(now) and self._may_fetch(now):
            fetched = self._fetch(now)
        if self._keys is None:
            raise KeyUnavailable(f"cannot read the JWKS at {self.url}")
        key = self._keys.get(kid)
        if key is None and not fetched and self._may_fetch(now):
            self._fetch(now)  # perhaps a key rotated in since; if the fetch fails, the set in hand decides
            key = self._keys.get(kid)
        if key is None:
            raise TokenRejected("no JWKS key matches the token's kid")
        if not self._fresh(now):
            raise KeyUnavailable(f"the JWKS at {self.url} expired and cannot be read again")
        return key

    def _fresh(self, now: float) -> bool:
        return self._keys is not None and now - self._fetched_at < JWKS_LIFESPAN_SECONDS

    def _may_fetch(self, now: float) -> bool:
        return self._attempted_at is None or now - self._attempted_at >= JWKS_COOLDOWN_SECONDS

    def _fetch(self, now: float) -> bool:
        """Fetch the key set; on failure keep the one in hand. Either way, start the cooldown."""
        self._attempted_at = now
        try:
            signing_keys = self._client.get_signing_keys()
        except Exception as error:  # unreachable, not JSON, no signing keys: all the endpoint's doing
            logger.warning("cannot read the JWKS", extra={"url": self.url, "error": type(error).__name__})
            return False
        # of two keys with one kid, the first wins
        self._keys = {key.key_id: key for key in reversed(signing_keys) if key.key_id}
        self._fetched_at = now
        return True


def verifier_from_settings(settings: TokenSettings, *, ssm_client: SSMClient | None = None) -> TokenVerifier:
    """The verifier the template configures: HS256 + SSM secret, or RS256/ES256 + JWKS."""
    algorithms = [name.strip() for name in settings.jwt_algorithms.split(",") if name.strip()]
    keys: KeySource
    if set(algorithms) <= SYMMETRIC_ALGORITHMS:
        keys = SsmSecret(settings.jwt_secret_parameter, client=ssm_client)
    else:
        keys = JwksKeys(settings.jwks_url)
    return TokenVerifier(keys, algorithms=algorithms, issuer=settings.jwt_issuer, audience=settings.jwt_audience)
