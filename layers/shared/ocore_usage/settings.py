"""Settings of every function, read from the environment the template gives it, once per process.

A plain dataclass rather than a pydantic model: every function reads its settings on its first
request, and pydantic would add its import to every cold start for thirteen strings and ints.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields
from functools import cache
from typing import Any


@dataclass(frozen=True, slots=True)
class Settings:
    """Environment variables set by template.yaml (Globals and per function): each field's name in
    upper case (``samples_table`` is ``SAMPLES_TABLE``); an absent variable takes the default."""

    samples_table: str = "ocore-usage-samples"
    work_table: str = "ocore-usage-work"
    rollups_table: str = "ocore-usage-rollups"
    projects_table: str = "ocore-usage-projects"
    stage: str = "dev"
    jwt_issuer: str = "https://auth.ocore.dev/"
    jwt_audience: str = "https://api.ocore.dev"
    jwt_algorithms: str = "HS256"
    jwt_secret_parameter: str = ""
    jwks_url: str = ""
    pagination_key_parameter: str = ""
    rollup_batch_marks: int = 2000
    rollup_concurrency: int = 5
    """The rollup function's reserved concurrency: the dispatcher and up to this many minus one workers."""

    @classmethod
    def from_environ(cls, environ: Mapping[str, str]) -> Settings:
        """The settings ``environ`` gives; raises ValueError naming a variable that holds no valid value."""
        values: dict[str, Any] = {}
        for field in fields(cls):
            variable = field.name.upper()
            if variable in environ:
                text = environ[variable]
                minimum = _WHOLE_NUMBERS.get(field.name)
                values[field.name] = text if minimum is None else _whole(variable, text, minimum)
        return cls(**values)


_WHOLE_NUMBERS = {"rollup_batch_marks": 1, "rollup_concurrency": 2}
"""The fields that are whole numbers, with the least value each takes."""


def _whole(variable: str, text: str, minimum: int) -> int:
    try:
        value = int(text) if text.isascii() else None
    except ValueError:
        value = None
    if value is None or value < minimum:
        raise ValueError(f"{variable} must be a whole number of at least {minimum}, got {text!r}")
    return value


@cache
def get_settings() -> Settings:
    return Settings.from_environ(os.environ)
