"""Fixtures shared by every test: moto DynamoDB with the template's tables, and the service's tables."""

from __future__ import annotations

import os
from collections.abc import Iterator

import pytest

os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "testing")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing")
os.environ.setdefault("POWERTOOLS_METRICS_NAMESPACE", "oCore/Usage")
os.environ.setdefault("POWERTOOLS_SERVICE_NAME", "ocore-usage")

from moto import mock_aws

from ocore_usage.wiring import Tables
from tests.support.template import LOGICAL_TABLE_NAMES, create_tables


@pytest.fixture
def dynamodb() -> Iterator[object]:
    """A moto DynamoDB client with every table of template.yaml (named by logical id)."""
    with mock_aws():
        import boto3

        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        yield client


@pytest.fixture
def tables(dynamodb: object) -> Tables:
    return Tables(dynamodb, LOGICAL_TABLE_NAMES)  # type: ignore[arg-type]
