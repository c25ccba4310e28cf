"""The settings of each function: the environment variables template.yaml gives it.

Each function reads only the variables it uses, when the wiring first builds what uses them: the
authorizer its token settings, the other functions the names of the tables they touch, the read
functions ``PAGINATION_KEY_PARAMETER``, the rollup ``ROLLUP_CONCURRENCY``. A missing variable
fails that build with ``MissingSetting`` naming it, never a default that would name another
stage's table. The variables with a default are ``ROLLUP_BATCH_MARKS``, a tuning knob (marks
per rollup batch), and ``READ_LEGACY_IDENTITIES``, an upgrade's switch (docs/pipeline.md), not names.

Plain functions and a dataclass rather than a pydantic model: every function reads its settings
on its first request, and pydantic would add its import to every cold start for a few strings.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

ROLLUP_BATCH_MARKS = 2000
"""Marks per rollup batch when ``ROLLUP_BATCH_MARKS`` is not set."""


class MissingSetting(LookupError):
    """A variable the function reads is not in its environment."""

    def __init__(self, variable: str) -> None:
        super().__init__(f"the environment variable {variable} is not set (template.yaml gives it)")
        self.variable = variable


def setting(variable: str, environ: Mapping[str, str] = os.environ) -> str:
    """The value of ``variable``; raises MissingSetting when it is not set."""
    try:
        return environ[variable]
    except KeyError:
        raise MissingSetting(variable) from None


def whole_setting(
    variable: str, minimum: int, environ: Mapping[str, str] = os.environ, default: int | None = None
) -> int:
    """The whole number ``variable`` holds, at least ``minimum``; ``default`` (if any) when it is
    not set. Raises MissingSetting, or ValueError naming a variable that holds no valid value."""
    if default is not None and variable not in environ:
        return default
    text = setting(variable, environ)
    try:
        value = int(text) if text.isascii() else None
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{variable} must be a whole number of at least {minimum}, got {text!r}")
    return value


def flag_setting(variable: str, environ: Mapping[str, str] = os.environ) -> bool:
    """Whether ``variable`` is ``"true"`` (unset or ``"false"``: no). Raises ValueError naming a variable
    that holds anything else."""
    text = environ.get(variable, "false")
    if text not in ("true", "false"):
        raise ValueError(f"{variable} must be true or false, got {text!r}")
    return text == "true"


@dataclass(frozen=True, slots=True)
class TokenSettings:
    """How the authorizer verifies tokens: each field's variable is its name in upper case
    (``jwt_issuer`` is ``JWT_ISSUER``)."""

    jwt_issuer: str
    jwt_audience: str
    jwt_algorithms: str
    jwt_secret_parameter: str
    jwks_url: str

    @classmethod
    def from_environ(cls, environ: Mapping[str, str] = os.environ) -> TokenSettings:
        """The settings ``environ`` gives; raises MissingSetting naming the first variable it lacks."""
        return cls(*(setting(field.name.upper(), environ) for field in fields(cls)))
