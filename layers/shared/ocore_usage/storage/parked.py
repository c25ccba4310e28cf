"""Parked tenants: a project (or org) whose rollup failed waits for its retry, its marks left in place.

Its ``R#{id}`` item in the shard (``attempts``, ``retryAt``, ``failedAt``, ``error``) says when it is
due again; the shard's head is flagged ``parked`` before the first one is parked, so a shard whose
head has no flag has nothing parked, and the rollup reads the ``R#`` items only of flagged shards.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from ocore_usage.storage.heads import ShardHeads, head_key
from ocore_usage.storage.keys import RETRY_PREFIX, SeriesOwner, retry_sk, shard_pk

_ERROR_CHARS = 1000


@dataclass(frozen=True, slots=True)
class Retry:
    """A project (or org) whose rollup failed ``attempts`` times in a row; its marks wait until ``retry_at``."""

    identifier: str
    attempts: int
    retry_at: int


class ParkedTenants(ShardHeads):
    """The parked projects (or orgs) of each shard."""

    def retries(self, kind: SeriesOwner, shard: int) -> dict[str, Retry]:
        """The parked projects (or orgs) of one shard, by id."""
        items = self.table.query(shard_pk(kind, shard), begins_with=RETRY_PREFIX, consistent=True)
        retries = (
            Retry(item["sk"].removeprefix(RETRY_PREFIX), int(item["attempts"]), int(item["retryAt"])) for item in items
        )
        return {retry.identifier: retry for retry in retries}

    def park(self, kind: SeriesOwner, shard: int, retry: Retry, error: str, now: int) -> None:
        """Record that ``retry.identifier`` failed: its marks in this shard wait until ``retry.retry_at``."""
        self.table.update(head_key(kind, shard), "SET parked = :yes", values={":yes": True})
        item = {
            "pk": shard_pk(kind, shard),
            "sk": retry_sk(retry.identifier),
            "attempts": retry.attempts,
            "retryAt": retry.retry_at,
            "failedAt": now,
            "error": error[:_ERROR_CHARS],
        }
        self.table.batch_write([item])

    def unpark(self, kind: SeriesOwner, shard: int, identifiers: Iterable[str]) -> None:
        """Forget the failures of ``identifiers``: they rolled up fine."""
        keys = [{"pk": shard_pk(kind, shard), "sk": retry_sk(identifier)} for identifier in sorted(set(identifiers))]
        if keys:
            self.table.batch_write(deletes=keys)
