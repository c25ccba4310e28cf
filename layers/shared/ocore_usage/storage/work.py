"""WorkQueue: the sharded marks that tell the rollup which hours are stale.

Writers (ingest, the rollup's project stage, project sync) put a mark per stale ``(id, hour)``
with a fresh token *after* writing the data it refers to, then bump the ``seq`` of the shard
head. The rollup finds work by reading all shard heads in one request (``seq > done``), takes a
shard under a lease so no two workers roll the same shard at once, and deletes a mark only if
its token is still the one it read: a mark rewritten meanwhile survives for the next run.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ocore_usage.storage.keys import HEAD, MARK_PREFIX, SHARDS, Scope, held_pk, mark_sk, shard_of, shard_pk
from ocore_usage.storage.tables import Table, marshal
from ocore_usage.timeline import format_instant, parse_rfc3339

TRANSACTION_LIMIT = 100


@dataclass(frozen=True, slots=True)
class Mark:
    """Hour ``hour`` of project or org ``identifier`` needs recomputing."""

    kind: Scope
    identifier: str
    hour: int
    token: str = ""
    marked_at: int = 0

    @property
    def key(self) -> dict[str, str]:
        return {"pk": shard_pk(self.kind, shard_of(self.identifier)), "sk": mark_sk(self.identifier, self.hour)}


@dataclass(frozen=True, slots=True)
class ShardHead:
    kind: Scope
    shard: int
    seq: int = 0
    done: int = 0
    lease_owner: str = ""
    lease_expires: int = 0

    @property
    def has_work(self) -> bool:
        return self.seq > self.done


def _head_key(kind: Scope, shard: int) -> dict[str, str]:
    return {"pk": shard_pk(kind, shard), "sk": HEAD}


class WorkQueue:
    def __init__(self, table: Table) -> None:
        self.table = table

    # ------------------------------------------------------------------ writers
    def mark(self, kind: Scope, stale: Iterable[tuple[str, int]], now: int) -> None:
        """Mark each ``(identifier, hour)`` stale, then bump the heads of the shards touched."""
        token = uuid.uuid4().hex
        marks = {(identifier, hour) for identifier, hour in stale}
        if not marks:
            return
        items = [
            {**Mark(kind, identifier, hour).key, "token": token, "markedAt": now} for identifier, hour in sorted(marks)
        ]
        self.table.batch_write(items)
        for shard in sorted({shard_of(identifier) for identifier, _ in marks}):
            self._update_head(kind, shard, "ADD seq :one", {":one": 1})

    def hold(self, project_id: str, hours: Iterable[int], now: int) -> None:
        """Park the marks of a project that is not registered yet."""
        items = [{"pk": held_pk(project_id), "sk": f"{MARK_PREFIX}{format_instant(h)}", "markedAt": now} for h in hours]
        self.table.batch_write(items)

    def release_held(self, project_id: str, now: int) -> int:
        """Turn a project's parked marks back into pending marks; returns how many there were."""
        held = list(self.table.query(held_pk(project_id), begins_with=MARK_PREFIX, consistent=True))
        if not held:
            return 0
        hours = [parse_rfc3339(item["sk"].removeprefix(MARK_PREFIX)) for item in held]
        self.mark(Scope.PROJECT, [(project_id, hour) for hour in hours], now)
        self.table.batch_write(deletes=[{"pk": item["pk"], "sk": item["sk"]} for item in held])
        return len(hours)

    # ------------------------------------------------------------------ the rollup's side
    def heads(self) -> list[ShardHead]:
        """Every shard head of both kinds, in one request."""
        keys = [_head_key(kind, shard) for kind in Scope for shard in range(SHARDS)]
        found = {(item["pk"]): item for item in self.table.batch_get(keys, consistent=True)}
        heads = []
        for kind in Scope:
            for shard in range(SHARDS):
                item = found.get(shard_pk(kind, shard), {})
                heads.append(
                    ShardHead(
                        kind=kind,
                        shard=shard,
                        seq=int(item.get("seq", 0)),
                        done=int(item.get("done", 0)),
                        lease_owner=str(item.get("leaseOwner", "")),
                        lease_expires=int(item.get("leaseExpires", 0)),
                    )
                )
        return heads

    def acquire(self, head: ShardHead, owner: str, now: int, lease: int) -> bool:
        """Take the shard's lease unless another worker holds an unexpired one."""
        return self._update_head(
            head.kind,
            head.shard,
            "SET leaseOwner = :owner, leaseExpires = :expires",
            {":owner": owner, ":expires": now + lease, ":now": now},
            condition="attribute_not_exists(leaseExpires) OR leaseExpires < :now OR leaseOwner = :owner",
        )

    def release(self, head: ShardHead, owner: str, done: int | None) -> bool:
        """Give the lease back; ``done`` records the ``seq`` up to which the shard is empty."""
        expression = "REMOVE leaseOwner, leaseExpires"
        values: dict[str, Any] = {":owner": owner}
        if done is not None:
            expression = "SET done = :done " + expression
            values[":done"] = done
        return self._update_head(head.kind, head.shard, expression, values, condition="leaseOwner = :owner")

    def pending(self, kind: Scope, shard: int, limit: int) -> list[Mark]:
        """Up to ``limit`` marks of one shard (strongly consistent)."""
        items = self.table.query(shard_pk(kind, shard), begins_with=MARK_PREFIX, consistent=True, limit=limit)
        marks = []
        for item in items:
            identifier, _, hour = item["sk"].removeprefix(MARK_PREFIX).rpartition("#")
            marks.append(Mark(kind, identifier, parse_rfc3339(hour), item["token"], int(item.get("markedAt", 0))))
        return marks

    def clear(self, marks: Sequence[Mark]) -> int:
        """Delete each mark whose token is unchanged; returns how many were deleted.

        Marks go in transactions of up to 100 conditional deletes (one request for a whole batch
        in the usual case); if a writer renewed any of them, that chunk is retried mark by mark so
        the renewed marks stay and the others go.
        """
        cleared = 0
        client = self.table.client
        for offset in range(0, len(marks), TRANSACTION_LIMIT):
            chunk = marks[offset : offset + TRANSACTION_LIMIT]
            try:
                client.transact_write_items(TransactItems=[{"Delete": self._conditional_delete(m)} for m in chunk])
                cleared += len(chunk)
                continue
            except client.exceptions.TransactionCanceledException:
                pass
            for mark in chunk:
                try:
                    client.delete_item(**self._conditional_delete(mark))
                    cleared += 1
                except client.exceptions.ConditionalCheckFailedException:
                    continue
        return cleared

    def _conditional_delete(self, mark: Mark) -> Any:  # the Delete of a transaction, or DeleteItem kwargs
        return {
            "TableName": self.table.name,
            "Key": marshal(mark.key),
            "ConditionExpression": "#token = :token",
            "ExpressionAttributeNames": {"#token": "token"},
            "ExpressionAttributeValues": marshal({":token": mark.token}),
        }

    def count(self, kind: Scope, shard: int) -> int:
        """How many marks one shard holds."""
        params: dict[str, Any] = {
            "TableName": self.table.name,
            "KeyConditionExpression": "pk = :pk AND begins_with(sk, :prefix)",
            "ExpressionAttributeValues": marshal({":pk": shard_pk(kind, shard), ":prefix": MARK_PREFIX}),
            "Select": "COUNT",
            "ConsistentRead": True,
        }
        total = 0
        while True:
            response = self.table.client.query(**params)
            total += response["Count"]
            if "LastEvaluatedKey" not in response:
                break
            params["ExclusiveStartKey"] = response["LastEvaluatedKey"]
        return total

    def _update_head(
        self, kind: Scope, shard: int, expression: str, values: dict[str, Any], condition: str | None = None
    ) -> bool:
        client = self.table.client
        params: dict[str, Any] = {
            "TableName": self.table.name,
            "Key": marshal(_head_key(kind, shard)),
            "UpdateExpression": expression,
            "ExpressionAttributeValues": marshal(values),
        }
        if condition:
            params["ConditionExpression"] = condition
        try:
            client.update_item(**params)
        except client.exceptions.ConditionalCheckFailedException:
            return False
        return True
