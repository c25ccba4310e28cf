"""Settings of every function, read from the environment the template gives it, once per process."""

from __future__ import annotations

import os
from functools import cache

from pydantic import BaseModel, ConfigDict, Field


class Settings(BaseModel):
    """Environment variables set by template.yaml (Globals and per function)."""

    model_config = ConfigDict(frozen=True, populate_by_name=True, extra="ignore")

    samples_table: str = Field("ocore-usage-samples", alias="SAMPLES_TABLE")
    work_table: str = Field("ocore-usage-work", alias="WORK_TABLE")
    rollups_table: str = Field("ocore-usage-rollups", alias="ROLLUPS_TABLE")
    projects_table: str = Field("ocore-usage-projects", alias="PROJECTS_TABLE")
    stage: str = Field("dev", alias="STAGE")
    jwt_issuer: str = Field("https://auth.ocore.dev/", alias="JWT_ISSUER")
    jwt_audience: str = Field("https://api.ocore.dev", alias="JWT_AUDIENCE")
    jwt_algorithms: str = Field("HS256", alias="JWT_ALGORITHMS")
    jwt_secret_parameter: str = Field("", alias="JWT_SECRET_PARAMETER")
    jwks_url: str = Field("", alias="JWKS_URL")
    pagination_key_parameter: str = Field("", alias="PAGINATION_KEY_PARAMETER")
    rollup_batch_marks: int = Field(2000, alias="ROLLUP_BATCH_MARKS", ge=1)
    rollup_concurrency: int = Field(5, alias="ROLLUP_CONCURRENCY", ge=2)
    """The rollup function's reserved concurrency: the dispatcher and up to this many minus one workers."""


@cache
def get_settings() -> Settings:
    return Settings.model_validate(dict(os.environ))
