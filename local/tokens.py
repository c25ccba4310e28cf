"""Local bearer tokens: HS256 JWTs signed with the local secret, for the template's issuer and audience.

Two kinds, as in production: a tenant's (``org_id`` and ``usage:read``) and a metering agent's
(``usage:write``, no ``org_id``). A token with both an org and ``usage:write`` is refused here:
the service would not let it write anyway.
"""

from __future__ import annotations

import time
from collections.abc import Mapping

import jwt

from local.parameter_store import LOCAL_JWT_SECRET

DEFAULT_TTL_SECONDS = 3600
DEFAULT_SUBJECT = "local-developer"
WRITE_SCOPE = "usage:write"


class TokenRefused(ValueError):
    """The claims asked for describe no token the service honours."""


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

    ``org`` becomes ``org_id``; leave it out for service tokens (scope ``usage:write``).
    ``TokenRefused`` when both are asked for: ``usage:write`` is the metering service's scope.
    """
    if org and WRITE_SCOPE in scope.split():
        raise TokenRefused(
            f"{WRITE_SCOPE} is the metering service's scope and its tokens carry no org_id: "
            f"mint a service token with an empty org (make token ORG= SCOPE={WRITE_SCOPE}), "
            f"and a tenant's token without {WRITE_SCOPE}"
        )
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
