"""Low-level access to one DynamoDB table through an injected boto3 client.

The one place that calls the client: owns marshalling (through :mod:`ocore_usage.storage.marshalling`),
batching to the service limits, retrying ``UnprocessedKeys``/``UnprocessedItems`` with backoff, paging
through queries and counts, conditional updates, and transactions of conditional deletes.
Batches of one call go out concurrently (``PARALLEL_REQUESTS`` at a time): a 1,000-item read or
write waits for the slowest batch, not for the sum of them. Repositories build on this; only a hot
path's decoder (:meth:`Table.query_as`) reads DynamoDB's attribute values itself.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from functools import cache
from itertools import batched
from typing import TYPE_CHECKING, Any

from ocore_usage.storage.marshalling import marshal, unmarshal

if TYPE_CHECKING:
    from mypy_boto3_dynamodb.client import DynamoDBClient
else:
    DynamoDBClient = Any

Item = dict[str, Any]
Key = dict[str, Any]

BATCH_GET_LIMIT = 100
BATCH_WRITE_LIMIT = 25
TRANSACTION_LIMIT = 100
"""Actions in one DynamoDB transaction."""
_MAX_ATTEMPTS = 8
PARALLEL_REQUESTS = 8
"""Batch requests of one call in flight at once (botocore's connection pool holds 10)."""


class UnprocessedError(RuntimeError):
    """DynamoDB kept returning unprocessed keys or items after every retry."""


class TransactionCanceled(RuntimeError):
    """A transaction changed nothing: ``codes`` holds each action's reason, in order
    (``ConditionalCheckFailed`` where its condition failed, ``None`` where nothing was wrong with it)."""

    def __init__(self, codes: list[str]) -> None:
        super().__init__(f"transaction canceled: {', '.join(codes)}")
        self.codes = codes


@dataclass(frozen=True, slots=True)
class Conditional:
    """The item at ``key``, with a ``ConditionExpression`` on it and the expression's names and values."""

    key: Key
    condition: str
    values: Mapping[str, Any]
    names: Mapping[str, str] = field(default_factory=dict)


def _backoff(attempt: int) -> None:
    time.sleep(min(0.05 * 2**attempt, 2.0))


@cache
def _executor() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=PARALLEL_REQUESTS, thread_name_prefix="dynamodb")


def concurrently[T, R](work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
    """``work`` over ``chunks``, concurrently when there is more than one; the first error is raised."""
    if len(chunks) <= 1:
        return [work(chunk) for chunk in chunks]
    return list(_executor().map(work, chunks))


class Table:
    """One table: its name and the client that reaches it."""

    def __init__(self, client: DynamoDBClient, name: str) -> None:
        self.client = client
        self.name = name

    def at_once[T, R](self, work: Callable[[T], R], chunks: Sequence[T]) -> list[R]:
        """``work`` over ``chunks`` on the pool this table's batches use (``work`` must not use it too)."""
        return concurrently(work, chunks)

    def get(self, key: Key, *, consistent: bool = False) -> Item | None:
        found = self.client.get_item(TableName=self.name, Key=marshal(key), ConsistentRead=consistent).get("Item")
        return unmarshal(found) if found else None

    def batch_get(self, keys: Sequence[Key], *, consistent: bool = False) -> list[Item]:
        """Every existing item among ``keys`` (duplicates allowed), in no particular order."""
        unique = list({tuple(sorted(k.items())): k for k in keys}.values())
        chunks = list(batched(unique, BATCH_GET_LIMIT, strict=False))
        found = concurrently(lambda chunk: self._get_chunk(chunk, consistent), chunks)
        return [item for items in found for item in items]

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
        concurrently(self._write_chunk, list(batched(requests, BATCH_WRITE_LIMIT, strict=False)))

    def _write_chunk(self, requests: Sequence[dict[str, Any]]) -> None:
        pending: Any = {self.name: list(requests)}
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
        after: str | None = None,
        consistent: bool = False,
        limit: int | None = None,
        index: str | None = None,
        pk_name: str = "pk",
        sk_name: str = "sk",
    ) -> Iterator[Item]:
        """Items of partition ``pk`` (sort keys in ``between``, inclusive, with a prefix, or after one), in order."""
        params = self._key_condition(pk, between, begins_with, pk_name, sk_name, after)
        params["ConsistentRead"] = consistent
        if index is not None:
            params["IndexName"] = index
        return (unmarshal(raw) for response in self._pages(params, limit) for raw in response.get("Items", []))

    def query_as[T](
        self,
        decode: Callable[[Mapping[str, Any]], T],
        pk: str,
        *,
        between: tuple[str, str],
        consistent: bool = False,
    ) -> Iterator[T]:
        """Items of partition ``pk`` with sort keys in ``between`` (inclusive), in order.

        Each item is handed to ``decode`` as DynamoDB sends it (attribute values, see
        :mod:`ocore_usage.storage.marshalling`): for a hot path that decodes only what it reads.
        No projection: it bills the same read units, and evaluating it costs more time than
        the attributes it would leave out.
        """
        params = self._key_condition(pk, between, None, "pk", "sk")
        params["ConsistentRead"] = consistent
        return (decode(raw) for response in self._pages(params) for raw in response.get("Items", []))

    def last_at_or_before(self, pk: str, sk: str, *, consistent: bool = False) -> Item | None:
        """The item of partition ``pk`` with the greatest sort key not above ``sk``, if any: one Query of one item."""
        params = self._key_condition(pk, None, None, "pk", "sk", at_most=sk)
        params |= {"ConsistentRead": consistent, "ScanIndexForward": False, "Limit": 1}
        found = self.client.query(**params).get("Items", [])
        return unmarshal(found[0]) if found else None

    def count(self, pk: str, *, begins_with: str, consistent: bool = False) -> int:
        """How many items partition ``pk`` holds whose sort key starts with ``begins_with``."""
        params = self._key_condition(pk, None, begins_with, "pk", "sk")
        params["Select"] = "COUNT"
        params["ConsistentRead"] = consistent
        return sum(response["Count"] for response in self._pages(params))

    def _key_condition(
        self,
        pk: str,
        between: tuple[str, str] | None,
        begins_with: str | None,
        pk_name: str,
        sk_name: str,
        after: str | None = None,
        at_most: str | None = None,
    ) -> dict[str, Any]:
        condition = "#pk = :pk"
        names = {"#pk": pk_name}
        values: dict[str, Any] = {":pk": pk}
        for operator, bound in ((">", after), ("<=", at_most)):
            if bound is not None:
                condition += f" AND #sk {operator} :bound"
                names["#sk"] = sk_name
                values[":bound"] = bound
        if between is not None:
            condition += " AND #sk BETWEEN :lo AND :hi"
            names["#sk"] = sk_name
            values[":lo"], values[":hi"] = between
        elif begins_with is not None:
            condition += " AND begins_with(#sk, :prefix)"
            names["#sk"] = sk_name
            values[":prefix"] = begins_with
        return {
            "TableName": self.name,
            "KeyConditionExpression": condition,
            "ExpressionAttributeNames": names,
            "ExpressionAttributeValues": marshal(values),
        }

    def _pages(self, params: dict[str, Any], limit: int | None = None) -> Iterator[Any]:
        """The responses of the Query ``params``, page after page, until ``limit`` items (or all) are returned."""
        returned = 0
        while True:
            if limit is not None:
                params["Limit"] = limit - returned
            response = self.client.query(**params)
            returned += response["Count"]
            yield response
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
        """Apply ``expression`` to the item at ``key`` (created if absent); False, changing nothing, if
        ``condition`` does not hold."""
        try:
            self.client.update_item(**self._update(key, expression, condition, names, values))
        except self.client.exceptions.ConditionalCheckFailedException:
            return False
        return True

    def update_and_read(self, key: Key, expression: str, *, values: Mapping[str, Any]) -> Item:
        """Apply ``expression`` to the item at ``key`` (created if absent); the item as it is after it."""
        params = {**self._update(key, expression, None, None, values), "ReturnValues": "ALL_NEW"}
        return unmarshal(self.client.update_item(**params).get("Attributes", {}))

    def update_if(self, key: Key, expression: str, *, condition: str, values: Mapping[str, Any]) -> Item | None:
        """Apply ``expression`` to the item at ``key`` if ``condition`` holds: the item as it is after
        it, or None, changing nothing, when the condition does not hold."""
        params = {**self._update(key, expression, condition, None, values), "ReturnValues": "ALL_NEW"}
        try:
            return unmarshal(self.client.update_item(**params).get("Attributes", {}))
        except self.client.exceptions.ConditionalCheckFailedException:
            return None

    def _update(
        self,
        key: Key,
        expression: str,
        condition: str | None,
        names: Mapping[str, str] | None,
        values: Mapping[str, Any] | None,
    ) -> dict[str, Any]:
        params: dict[str, Any] = {"TableName": self.name, "Key": marshal(key), "UpdateExpression": expression}
        if condition is not None:
            params["ConditionExpression"] = condition
        if names:
            params["ExpressionAttributeNames"] = dict(names)
        if values:
            params["ExpressionAttributeValues"] = marshal(values)
        return params

    def delete_all_or_none(self, deletes: Sequence[Conditional], checks: Sequence[Conditional] = ()) -> None:
        """Delete the item of each of ``deletes`` only if every condition (``checks``' too) holds: one
        transaction (at most ``TRANSACTION_LIMIT`` in all), or :class:`TransactionCanceled` saying which failed."""
        actions: list[Any] = [{"Delete": self._conditional(entry)} for entry in deletes]
        actions += [{"ConditionCheck": self._conditional(entry)} for entry in checks]
        self._transact(actions)

    def update_all_or_none(self, updates: Sequence[Conditional], expression: str) -> None:
        """Apply ``expression`` to the item of each of ``updates`` (created if absent) only if every
        condition holds: one transaction (at most ``TRANSACTION_LIMIT``), or :class:`TransactionCanceled`."""
        self._transact([{"Update": {**self._conditional(entry), "UpdateExpression": expression}} for entry in updates])

    def _transact(self, actions: list[Any]) -> None:
        try:
            self.client.transact_write_items(TransactItems=actions)
        except self.client.exceptions.TransactionCanceledException as error:
            reasons = error.response.get("CancellationReasons", [])
            raise TransactionCanceled([reason.get("Code", "") for reason in reasons]) from error

    def _conditional(self, entry: Conditional) -> dict[str, Any]:
        action: dict[str, Any] = {
            "TableName": self.name,
            "Key": marshal(entry.key),
            "ConditionExpression": entry.condition,
            "ExpressionAttributeValues": marshal(entry.values),
        }
        if entry.names:
            action["ExpressionAttributeNames"] = dict(entry.names)
        return action


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
