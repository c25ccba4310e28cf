"""Fault injection for the storage layer: clients and tables that crash part-way or throttle batch writes."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from typing import Any

from ocore_usage.storage.tables import Item, Key, Table


class InjectedCrash(RuntimeError):
    """The worker 'dies' here."""


class CrashingTable(Table):
    """A table whose writes succeed ``survive`` times, then raise :class:`InjectedCrash`."""

    def __init__(self, client: Any, name: str, survive: int) -> None:
        super().__init__(client, name)
        self.survive = survive

    def batch_write(self, puts: Iterable[Item] = (), deletes: Iterable[Key] = ()) -> None:
        if self.survive <= 0:
            raise InjectedCrash(f"crash before writing to {self.name}")
        self.survive -= 1
        super().batch_write(puts, deletes)


class ThrottlingClient:
    """Wraps a DynamoDB client: every batch call leaves its last request unprocessed once."""

    def __init__(self, client: Any) -> None:
        self._client = client
        self.throttled = 0

    def __getattr__(self, name: str) -> Any:
        return getattr(self._client, name)

    def batch_write_item(self, RequestItems: dict[str, list[Any]]) -> dict[str, Any]:
        (table, requests), *_ = RequestItems.items()
        if len(requests) > 1:
            self.throttled += 1
            self._client.batch_write_item(RequestItems={table: requests[:-1]})
            return {"UnprocessedItems": {table: requests[-1:]}}
        return self._client.batch_write_item(RequestItems=RequestItems)

    def batch_get_item(self, RequestItems: dict[str, Any]) -> dict[str, Any]:
        (table, request), *_ = RequestItems.items()
        keys = request["Keys"]
        if len(keys) > 1:
            self.throttled += 1
            response = self._client.batch_get_item(RequestItems={table: {**request, "Keys": keys[:-1]}})
            response["UnprocessedKeys"] = {table: {**request, "Keys": keys[-1:]}}
            return response
        return self._client.batch_get_item(RequestItems=RequestItems)


class CrashAfterRequests:
    """Wraps a DynamoDB client: the first ``survive`` requests go through, then every request raises.

    It stands for a function that dies (timeout, out of memory) after its k-th DynamoDB request:
    requests already sent have taken effect, nothing after them does. Requests sent concurrently
    are counted in the order they are made.
    """

    def __init__(self, client: Any, survive: int) -> None:
        self._client = client
        self.survive = survive
        self.made = 0
        self._lock = threading.Lock()

    def __getattr__(self, name: str) -> Any:
        operation = getattr(self._client, name)
        if not callable(operation) or name.startswith(("get_paginator", "exceptions", "meta", "can_paginate")):
            return operation

        def call(*args: Any, **kwargs: Any) -> Any:
            with self._lock:
                if self.made >= self.survive:
                    raise InjectedCrash(f"crash before request {self.made + 1} ({name})")
                self.made += 1
            return operation(*args, **kwargs)

        return call
