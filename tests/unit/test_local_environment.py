"""The functions' environment: the template's variables, env.json overrides as SAM reads them, local AWS."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from local.environment import (
    EnvOverrides,
    aws_environment,
    function_environment,
    ignored_overrides,
    shared_environment,
)
from local.template import TemplateError
from tests.support.template import local_template


def env_file(tmp_path: Path, content: object) -> Path:
    path = tmp_path / "env.json"
    path.write_text(json.dumps(content))
    return path


def test_overrides_replace_only_declared_variables(tmp_path: Path) -> None:
    template = local_template()
    # GIVEN an env.json with a value for all functions and one for the authorizer
    overrides = EnvOverrides.read(
        env_file(
            tmp_path,
            {
                "Parameters": {"POWERTOOLS_LOG_LEVEL": "DEBUG", "NOT_DECLARED": "x"},
                "AuthorizerFunction": {"JWT_ISSUER": "https://issuer.example/", "POWERTOOLS_LOG_LEVEL": "WARNING"},
                "NoSuchFunction": {"A": "b"},
            },
        )
    )

    # THEN each function gets the overrides of the variables it declares, per-function ones first
    authorizer = function_environment(template.function("AuthorizerFunction"), overrides)
    rollup = function_environment(template.function("RollupFunction"), overrides)
    assert authorizer["JWT_ISSUER"] == "https://issuer.example/"
    assert authorizer["POWERTOOLS_LOG_LEVEL"] == "WARNING"
    assert rollup["POWERTOOLS_LOG_LEVEL"] == "DEBUG"
    assert "NOT_DECLARED" not in rollup
    assert "JWT_ISSUER" not in rollup
    assert ignored_overrides(template.functions.values(), overrides) == [
        "Parameters.NOT_DECLARED",
        "NoSuchFunction (no such function)",
    ]


def test_one_process_shares_one_environment_and_reports_conflicts(tmp_path: Path) -> None:
    template = local_template()
    overrides = EnvOverrides.read(env_file(tmp_path, {"RollupFunction": {"POWERTOOLS_LOG_LEVEL": "DEBUG"}}))
    shared = shared_environment(template.functions.values(), overrides, {"AWS_REGION": "us-east-1"})
    assert shared.variables["JWT_SECRET_PARAMETER"] == "/ocore/usage/dev/jwt-secret"
    assert shared.variables["PAGINATION_KEY_PARAMETER"] == "/ocore/usage/dev/pagination-key"
    assert shared.variables["AWS_REGION"] == "us-east-1"
    assert len(shared.conflicts) == 1
    assert shared.conflicts[0].startswith("POWERTOOLS_LOG_LEVEL:")
    assert shared_environment(template.functions.values(), EnvOverrides(), {}).conflicts == []


def test_local_aws_uses_botocore_endpoint_variables() -> None:
    variables = aws_environment("http://127.0.0.1:8000", "http://127.0.0.1:5123")
    assert variables["AWS_ENDPOINT_URL_DYNAMODB"] == "http://127.0.0.1:8000"
    assert variables["AWS_ENDPOINT_URL_SSM"] == "http://127.0.0.1:5123"
    assert variables["AWS_DEFAULT_REGION"] == "us-east-1"
    assert variables["AWS_ACCESS_KEY_ID"] == "local"


@pytest.mark.parametrize("content", ["not json", "[]", '{"Parameters": 3}'])
def test_malformed_env_files_are_refused(tmp_path: Path, content: str) -> None:
    path = tmp_path / "env.json"
    path.write_text(content)
    with pytest.raises(TemplateError):
        EnvOverrides.read(path)
