"""Local bearer tokens: HS256 JWTs signed with the local secret, for the template's issuer and audience."""

from __future__ import annotations

import time
from collections.abc import Mapping

import jwt

from local.parameter_store import LOCAL_JWT_SECRET

DEFAULT_TTL_SECONDS = 3600
DEFAULT_SUBJECT = "local-developer"


def mint_token(
    template_parameters: Mapping[str, str],
    *,
    org: str | None,
    scope: str,
    ttl: int = DEFAULT_TTL_SECONDS,
    subject: str = DEFAULT_SUBJECT,
    now: int | None = None,
) -> str:
    """A token with ``iss``/``aud`` from the template's ``JwtIssuer``/``JwtAudience``.

    ``org`` becomes ``org_id``; leave it out for service tokens (scope ``usage:write`` only).
    """
    issued = int(time.time()) if now is None else now
    claims: dict[str, object] = {
        "iss": template_parameters["JwtIssuer"],
        "aud": template_parameters["JwtAudience"],
        "sub": subject,
        "scope": " ".join(scope.split()),
        "iat": issued,
        "nbf": issued,
        "exp": issued + ttl,
    }
    if org:
        claims["org_id"] = org
    token: str = jwt.encode(claims, LOCAL_JWT_SECRET, algorithm="HS256")
    return token
