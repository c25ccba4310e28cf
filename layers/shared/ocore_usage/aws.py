"""The process's AWS clients: one botocore session, shared by every client, made on first use.

botocore's own session, not boto3's: the same clients, without importing boto3 (and its
s3transfer) into a cold start. Nothing is imported until a request first needs a client.
"""

from __future__ import annotations

from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from botocore.client import BaseClient
    from botocore.session import Session


@cache
def _session() -> Session:
    import botocore.session

    return botocore.session.get_session()


def client(service: str) -> BaseClient:
    """A new client of ``service`` (``"dynamodb"``, ``"ssm"``...), configured by the environment."""
    return _session().create_client(service)
