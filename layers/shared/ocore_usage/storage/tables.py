"""Low-level access to one DynamoDB table through an injected boto3 client.

Owns marshalling (through :mod:`ocore_usage.storage.marshalling`), batching to the service limits,
retrying ``UnprocessedKeys``/``UnprocessedItems`` with backoff, and paging through queries.
Batches of one call go out concurrently (``PARALLEL_REQUESTS`` at a time): a 1,000-item read or
write waits for the slowest batch, not for the sum of them. Repositories build on this and never
touch the wire format themselves.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from functools import cache
from typing import TYPE_CHECKING, Any

from ocore_usage.storage.marshalling import marshal as marshal  # re-exported: repositories marshal through here
from ocore_usage.storage.marshalling import unmarshal as unmarshal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

Item = dict[str, Any]
Key = dict[str, Any]

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
_MAX_ATTEMPTS = 8
PARALLEL_REQUESTS = 8
"""Batch requests of one call in flight at once (botocore's connection pool holds 10)."""


class UnprocessedError(RuntimeError):
    """DynamoDB kept returning unprocessed keys or items after every retry."""


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 2.0))


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS, thread_name_prefix="dynamodb")


def _each[T, R](work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
    """``work`` over ``chunks``, concurrently when there is more than one; the first error is raised."""
    if len(chunks) <= 1:
        return [work(chunk) for chunk in chunks]
    return list(_executor().map(work, chunks))


class Table:
    """One table: its name and the client that reaches it."""

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self.client = client
        self.name = name

    def get(self, key: Key, *, consistent: bool = False) -> Item | None:
        response = self.client.get_item(TableName=self.name, Key=marshal(key), ConsistentRead=consistent)
        found = response.get("Item")
        return unmarshal(found) if found else None

    def batch_get(self, keys: Sequence[Key], *, consistent: bool = False) -> list[Item]:
        """Every existing item among ``keys`` (duplicates allowed), in no particular order."""
        unique = list({tuple(sorted(k.items())): k for k in keys}.values())
        chunks = [unique[offset : offset + BATCH_GET_LIMIT] for offset in range(0, len(unique), BATCH_GET_LIMIT)]
        return [item for found in _each(lambda chunk: self._get_chunk(chunk, consistent), chunks) for item in found]

    def _get_chunk(self, keys: Sequence[Key], consistent: bool) -> list[Item]:
        found: list[Item] = []
        request: dict[str, Any] = {self.name: {"Keys": [marshal(k) for k in keys], "ConsistentRead": consistent}}
        for attempt in range(_MAX_ATTEMPTS):
            response = self.client.batch_get_item(RequestItems=request)
            found.extend(unmarshal(i) for i in response.get("Responses", {}).get(self.name, []))
            request = dict(response.get("UnprocessedKeys") or {})
            if not request:
                return found
            _backoff(attempt)
        raise UnprocessedError(f"{self.name}: keys left unprocessed")

    def batch_write(self, puts: Iterable[Item] = (), deletes: Iterable[Key] = ()) -> None:
        """Put and delete items in batches of 25; each key may appear once in all."""
        requests: list[dict[str, Any]] = [{"PutRequest": {"Item": marshal(i)}} for i in puts]
        requests += [{"DeleteRequest": {"Key": marshal(k)}} for k in deletes]
        chunks = [
            requests[offset : offset + BATCH_WRITE_LIMIT] for offset in range(0, len(requests), BATCH_WRITE_LIMIT)
        ]
        _each(self._write_chunk, chunks)

    def _write_chunk(self, requests: list[dict[str, Any]]) -> None:
        pending: Any = {self.name: requests}
        for attempt in range(_MAX_ATTEMPTS):
            response = self.client.batch_write_item(RequestItems=pending)
            pending = response.get("UnprocessedItems") or {}
            if not pending:
                return
            _backoff(attempt)
        raise UnprocessedError(f"{self.name}: items left unprocessed")

    def query(
        self,
        pk: str,
        *,
        between: tuple[str, str] | None = None,
        begins_with: str | None = None,
        consistent: bool = False,
        limit: int | None = None,
        index: str | None = None,
        pk_name: str = "pk",
        sk_name: str = "sk",
    ) -> Iterator[Item]:
        """Items of partition ``pk`` (sort keys in ``between``, inclusive, or with a prefix), in order."""
        condition = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": pk}
        if between is not None:
            condition += " AND #sk BETWEEN :lo AND :hi"
            names["#sk"] = sk_name
            values[":lo"], values[":hi"] = between
        elif begins_with is not None:
            condition += " AND begins_with(#sk, :prefix)"
            names["#sk"] = sk_name
            values[":prefix"] = begins_with
        params: dict[str, Any] = {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": marshal(values),
            "ConsistentRead": consistent,
        }
        if index is not None:
            params["IndexName"] = index
        returned = 0
        while True:
            if limit is not None:
                params["Limit"] = limit - returned
            response = self.client.query(**params)
            for raw in response.get("Items", []):
                returned += 1
                yield unmarshal(raw)
            last = response.get("LastEvaluatedKey")
            if not last or (limit is not None and returned >= limit):
                return
            params["ExclusiveStartKey"] = last

    def update(
        self,
        key: Key,
        expression: str,
        *,
        condition: str | None = None,
        names: Mapping[str, str] | None = None,
        values: Mapping[str, Any] | None = None,
    ) -> bool:
        """Apply the ``UpdateExpression`` ``expression`` to the item at ``key`` (created if absent).

        Returns False, changing nothing, when ``condition`` does not hold.
        """
        params: dict[str, Any] = {"TableName": self.name, "Key": marshal(key), "UpdateExpression": expression}
        if condition is not None:
            params["ConditionExpression"] = condition
        if names:
            params["ExpressionAttributeNames"] = dict(names)
        if values:
            params["ExpressionAttributeValues"] = marshal(values)
        try:
            self.client.update_item(**params)
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True


def runs_within(encoded: Sequence[str], limit: int) -> list[list[str]]:
    """``encoded`` cut into runs whose comma-joined length stays within ``limit`` bytes.

    How an item that would grow with its content (a page of samples, occupancy edges) is cut
    into items under DynamoDB's 400 KB limit. There is always one run, empty or not.
    """
    runs: list[list[str]] = [[]]
    size = 0
    for entry in encoded:
        if runs[-1] and size + len(entry) + 1 > limit:
            runs.append([])
            size = 0
        runs[-1].append(entry)
        size += len(entry) + 1
    return runs
