"""WorkQueue: the sharded marks that tell the rollup which hours are stale.

Writers (ingest, the rollup's project stage, project sync) put a mark per stale ``(id, hour)``
with a fresh token *after* writing the data it refers to, then bump the ``seq`` of the shard
head; the bump also records since when the shard has had work (``pendingSince``, the lag) and
answers with the shard count in force, so writers follow a grown count without reading anything
else. The rollup finds work by reading all shard heads in one request (``seq > done``, or a
retry that is due), takes a shard under a lease, reads its marks from a cursor that wraps (so
no project's marks can starve the others'), and deletes a mark only if its token is still the
one it read and only while it still holds the lease. A project (or org) whose rollup failed is
parked with an ``R#`` item (attempts, next retry) until its retry is due.

Each mark also carries its ``origin``: when the oldest sample behind it was received (an ingest's
own time; for the org hours a project's rollup marks, the origin of the project marks it rolled).
The heads keep ``pendingOrigin``, never later than the origin of any mark of the shard not yet
rolled, so the reads can say up to when every received sample is counted
(:meth:`WorkQueue.progress`, docs/pipeline.md "The watermark").
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from ocore_usage.domain.timeline import format_instant, parse_rfc3339
from ocore_usage.storage.keys import (
    HEAD,
    MARK_PREFIX,
    MARKS_END,
    MAX_SHARDS,
    RETRY_PREFIX,
    SHARDS,
    SeriesOwner,
    held_pk,
    mark_sk,
    retry_sk,
    shard_of,
    shard_pk,
)
from ocore_usage.storage.tables import TRANSACTION_LIMIT, Conditional, Table, TransactionCanceled

_CLEAR_ATTEMPTS = 8
_ERROR_CHARS = 1000


class LeaseLost(RuntimeError):
    """Another worker holds the shard now: this one must stop writing to it."""


@dataclass(frozen=True, slots=True)
class Mark:
    """Hour ``hour`` of project or org ``identifier`` needs recomputing; the mark is in shard ``shard``."""

    kind: SeriesOwner
    shard: int
    identifier: str
    hour: int
    token: str = ""
    marked_at: int = 0
    origin: int = 0
    """When the oldest sample behind the mark was received (``marked_at`` unless a rollup wrote it)."""

    @property
    def key(self) -> dict[str, str]:
        return {"pk": shard_pk(self.kind, self.shard), "sk": mark_sk(self.identifier, self.hour)}


@dataclass(frozen=True, slots=True)
class MarkPage:
    """Marks of one shard in key order, from :meth:`WorkQueue.take`."""

    marks: list[Mark]
    last: str
    """The key of the last mark read ('' when none was)."""
    exhausted: bool
    """Nothing is left in the range asked for."""


@dataclass(frozen=True, slots=True)
class ShardHead:
    kind: SeriesOwner
    shard: int
    seq: int = 0
    done: int = 0
    lease_owner: str = ""
    lease_expires: int = 0
    cursor: str = ""
    """Where the last worker stopped: the next one starts after this mark key."""
    retry_at: int = 0
    """When the earliest parked project (or org) of the shard is due again (0: none is parked)."""
    pending_since: int = 0
    """Since when the shard has had work not yet rolled (0: none)."""
    parked: bool = False
    """The shard may hold parked projects (or orgs): set before the first is parked, cleared when none is."""
    shards: int = SHARDS
    """The shard count this head says is in force."""
    pending_origin: int = 0
    """Never later than the origin of any mark of the shard not yet rolled, parked ones included (0: none)."""
    rolled_at: int = 0
    """When the shard was last left with nothing pending, as of the start of its last lap (0: never)."""

    @property
    def has_work(self) -> bool:
        """Marks were written since the rollup last found the shard empty."""
        return self.seq > self.done

    def due(self, now: int) -> bool:
        """New marks, or a parked project whose retry is due."""
        return self.has_work or 0 < self.retry_at <= now

    def leased(self, now: int) -> bool:
        return bool(self.lease_owner) and self.lease_expires >= now


@dataclass(frozen=True, slots=True)
class Progress:
    """The rollup's watermark, from every shard head, project and org."""

    oldest_unrolled: int | None
    """When the oldest sample not yet rolled into every series was received: the earliest
    ``pendingOrigin`` (or ``pendingSince``) of any shard; everything received earlier is rolled.
    ``None`` when no shard has work pending or parked."""
    last_rolled: int
    """The latest ``rolledAt`` of any shard (0: none yet). With nothing pending anywhere, everything
    received before it is rolled, and it only moves when the rollup finishes a shard."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's hold on one shard, until ``expires``."""

    kind: SeriesOwner
    shard: int
    owner: str
    expires: int


@dataclass(frozen=True, slots=True)
class Retry:
    """A project (or org) whose rollup failed ``attempts`` times in a row; its marks wait until ``retry_at``."""

    identifier: str
    attempts: int
    retry_at: int


def _head_key(kind: SeriesOwner, shard: int) -> dict[str, str]:
    return {"pk": shard_pk(kind, shard), "sk": HEAD}


def _unchanged(mark: Mark) -> Conditional:
    """The mark, as long as no writer renewed it (its token is the one read)."""
    return Conditional(mark.key, "#token = :token", {":token": mark.token}, {"#token": "token"})


def _lease_check(lease: Lease) -> Conditional:
    """The shard's head, as long as ``lease``'s owner holds it."""
    return Conditional(_head_key(lease.kind, lease.shard), "leaseOwner = :owner", {":owner": lease.owner})


def _head_of(kind: SeriesOwner, shard: int, item: dict[str, Any]) -> ShardHead:
    return ShardHead(
        kind=kind,
        shard=shard,
        seq=int(item.get("seq", 0)),
        done=int(item.get("done", 0)),
        lease_owner=str(item.get("leaseOwner", "")),
        lease_expires=int(item.get("leaseExpires", 0)),
        cursor=str(item.get("cursor", "")),
        retry_at=int(item.get("retryAt", 0)),
        pending_since=int(item.get("pendingSince", 0)),
        parked=bool(item.get("parked", False)),
        shards=int(item.get("shards", SHARDS)),
        pending_origin=int(item.get("pendingOrigin", 0)),
        rolled_at=int(item.get("rolledAt", 0)),
    )


class WorkQueue:
    def __init__(self, table: Table) -> None:
        self.table = table
        self._shards = SHARDS

    @property
    def shard_count(self) -> int:
        """The shard count in force, as last seen on a shard head."""
        return self._shards

    def _learn(self, shards: int) -> None:
        self._shards = max(self._shards, min(shards, MAX_SHARDS))

    # ------------------------------------------------------------------ writers
    def mark(
        self, kind: SeriesOwner, stale: Iterable[tuple[str, int]], now: int, origin: int | None = None
    ) -> set[int]:
        """Mark each ``(identifier, hour)`` stale, then bump the heads of the shards touched (returned).

        ``origin``: when the oldest sample behind these marks was received (default ``now``).
        """
        token = uuid.uuid4().hex
        marks = {(identifier, hour) for identifier, hour in stale}
        if not marks:
            return set()
        origin = now if origin is None else min(origin, now)
        shards = self._shards
        items = [
            {
                **Mark(kind, shard_of(identifier, shards), identifier, hour).key,
                "token": token,
                "markedAt": now,
                "origin": origin,
            }
            for identifier, hour in sorted(marks)
        ]
        self.table.batch_write(items)
        touched = sorted({shard_of(identifier, shards) for identifier, _ in marks})
        for shard in touched:
            head = self.table.update_and_read(
                _head_key(kind, shard),
                "ADD seq :one SET pendingSince = if_not_exists(pendingSince, :now), "
                "pendingOrigin = if_not_exists(pendingOrigin, :origin), lapOrigin = if_not_exists(lapOrigin, :origin)",
                values={":one": 1, ":now": now, ":origin": origin},
            )
            self._learn(int(head.get("shards", SHARDS)))
            if origin < now:
                # A rollup passing older work on (org hours of rolled project hours): the heads keep the
                # earliest origin, which a first writer's if_not_exists alone would not. An ingest's origin
                # is its own time, never earlier than the first writer's (it bumped later), so it skips this.
                for attribute in ("pendingOrigin", "lapOrigin"):
                    if int(head.get(attribute, 0)) > origin:
                        self._update_head(
                            kind,
                            shard,
                            f"SET {attribute} = :origin",
                            {":origin": origin},
                            condition=f"{attribute} > :origin",
                        )
        return set(touched)

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
        self.mark(SeriesOwner.PROJECT, [(project_id, hour) for hour in hours], now)
        self.table.batch_write(deletes=[{"pk": item["pk"], "sk": item["sk"]} for item in held])
        return len(hours)

    # ------------------------------------------------------------------ the shard count
    def grow(self, count: int) -> int:
        """Raise the shard count to ``count`` on every head (it never shrinks); returns the count in force.

        Marks stay where they were written: the rollup reads every shard below the count, and
        every count ever in force is below the current one. Writers learn the new count from the
        next head they bump, so a few more marks may land under the old count meanwhile.
        """
        if not SHARDS <= count <= MAX_SHARDS:
            raise ValueError(f"the shard count must be from {SHARDS} to {MAX_SHARDS}")
        current = max(head.shards for head in self.heads())
        if count <= current:
            return current
        for kind in SeriesOwner:
            for shard in range(count):
                self._update_head(
                    kind,
                    shard,
                    "SET shards = :count",
                    {":count": count},
                    condition="attribute_not_exists(shards) OR shards < :count",
                )
        self._learn(count)
        return count

    # ------------------------------------------------------------------ the rollup's side
    def heads(self) -> list[ShardHead]:
        """Every shard head of both kinds: one request (two the first time a grown count is met)."""
        known = self._shards
        heads = self._read_heads(range(known))
        self._learn(max(head.shards for head in heads))
        if self._shards > known:
            heads += self._read_heads(range(known, self._shards))
        return heads

    def progress(self) -> Progress:
        """How far the rollup is, as the heads say (one request; see :class:`Progress`)."""
        heads = self.heads()
        pending = [when for head in heads for when in (head.pending_origin, head.pending_since) if when]
        return Progress(min(pending, default=None), max((head.rolled_at for head in heads), default=0))

    def _read_heads(self, shards: range) -> list[ShardHead]:
        keys = [_head_key(kind, shard) for kind in SeriesOwner for shard in shards]
        found = {item["pk"]: item for item in self.table.batch_get(keys, consistent=True)}
        return [_head_of(kind, shard, found.get(shard_pk(kind, shard), {})) for kind in SeriesOwner for shard in shards]

    def acquire(self, head: ShardHead, owner: str, now: int, lease: int) -> Lease | None:
        """Take the shard's lease for ``lease`` microseconds unless another worker holds an unexpired one.

        Also starts ``lapOrigin`` afresh: the origins of the marks written from now on, which are all
        that a run ending with an empty lap can leave behind.
        """
        expires = now + lease
        taken = self._update_head(
            head.kind,
            head.shard,
            "SET leaseOwner = :owner, leaseExpires = :expires REMOVE lapOrigin",
            {":owner": owner, ":expires": expires, ":now": now},
            condition="attribute_not_exists(leaseExpires) OR leaseExpires < :now OR leaseOwner = :owner",
        )
        return Lease(head.kind, head.shard, owner, expires) if taken else None

    def release(
        self,
        lease: Lease,
        *,
        cursor: str,
        done: int | None = None,
        retry_at: int | None = None,
        since: int = 0,
        parked: bool = True,
    ) -> bool:
        """Give the lease back, keeping ``cursor`` for the next worker.

        ``done`` records the ``seq`` up to which every mark was rolled or parked; ``retry_at``
        when the earliest parked one is due; ``parked``, whether parked projects remain. With
        nothing parked, the shard's lag is cleared if no writer came meanwhile, else it restarts
        at ``since`` (when the worker's last lap began). ``pendingOrigin`` follows: cleared with
        the lag, else the origins of the marks written since the lease was taken (``lapOrigin``:
        a mark written before the last lap began was rolled by it); with parked ids it stays.
        A shard left with nothing pending records ``rolledAt``: every mark written before
        ``since`` was rolled when it was released.
        """
        values: dict[str, Any] = {":owner": lease.owner, ":cursor": cursor}
        sets = ["#cursor = :cursor"]
        removes = ["leaseOwner", "leaseExpires"]
        names = {"#cursor": "cursor"}
        if done is not None:
            sets.append("done = :done")
            values[":done"] = done
            if retry_at is not None:
                sets.append("retryAt = :retry")
                values[":retry"] = retry_at
            else:
                removes.append("retryAt")
            if not parked:
                removes.append("parked")
        expression = f"SET {', '.join(sets)} REMOVE {', '.join(removes)}"
        condition = "leaseOwner = :owner"
        if done is not None and retry_at is None:
            # Nothing pending or parked, unless a writer bumped seq since: then the lag restarts at ``since``.
            values[":since"] = since
            cleared = self._update_head(
                lease.kind,
                lease.shard,
                expression.replace("SET ", "SET rolledAt = :since, ", 1) + ", pendingSince, pendingOrigin, lapOrigin",
                values,
                condition=condition + " AND seq = :done",
                names=names,
            )
            if cleared:
                return True
            expression = expression.replace(
                "SET ", "SET pendingSince = :since, pendingOrigin = if_not_exists(lapOrigin, :since), ", 1
            )
        return self._update_head(lease.kind, lease.shard, expression, values, condition=condition, names=names)

    def take(self, kind: SeriesOwner, shard: int, limit: int, after: str = "", upto: str = MARKS_END) -> MarkPage:
        """Up to ``limit`` marks of one shard with keys in ``(after, upto]``, in key order (strongly consistent)."""
        wanted = limit + 1 if after else limit
        items = list(
            self.table.query(shard_pk(kind, shard), between=(after or MARK_PREFIX, upto), consistent=True, limit=wanted)
        )
        exhausted = len(items) < wanted
        items = [item for item in items if item["sk"] != after][:limit]
        marks = []
        for item in items:
            identifier, _, hour = item["sk"].removeprefix(MARK_PREFIX).rpartition("#")
            marked_at = int(item.get("markedAt", 0))
            origin = int(item.get("origin", marked_at))
            marks.append(Mark(kind, shard, identifier, parse_rfc3339(hour), item["token"], marked_at, origin))
        return MarkPage(marks, items[-1]["sk"] if items else "", exhausted)

    def pending(self, kind: SeriesOwner, shard: int, limit: int) -> list[Mark]:
        """The first ``limit`` marks of one shard, in key order (strongly consistent)."""
        return self.take(kind, shard, limit).marks

    def clear(self, marks: Sequence[Mark], lease: Lease | None = None) -> int:
        """Delete each mark whose token is unchanged; returns how many were deleted.

        Marks go in transactions of up to 100 conditional deletes (one request for a whole batch
        in the usual case), each with a check that ``lease`` is still held: a worker that lost its
        lease deletes nothing and gets :class:`LeaseLost`. If a writer renewed some marks, the
        transaction is sent again without them, so the renewed marks stay and the others go.
        """
        size = TRANSACTION_LIMIT - (1 if lease else 0)
        return sum(
            self._clear_chunk(list(marks[offset : offset + size]), lease) for offset in range(0, len(marks), size)
        )

    def _clear_chunk(self, chunk: list[Mark], lease: Lease | None) -> int:
        for attempt in range(_CLEAR_ATTEMPTS):
            if not chunk:
                return 0
            checks = [_lease_check(lease)] if lease is not None else []
            try:
                self.table.delete_all_or_none([_unchanged(mark) for mark in chunk], checks)
                return len(chunk)
            except TransactionCanceled as canceled:
                codes = canceled.codes
            if lease is not None and len(codes) > len(chunk) and codes[len(chunk)] == "ConditionalCheckFailed":
                raise LeaseLost(f"{lease.kind}#{lease.shard:02d} is no longer held by {lease.owner}")
            renewed = {index for index, code in enumerate(codes[: len(chunk)]) if code == "ConditionalCheckFailed"}
            chunk = [mark for index, mark in enumerate(chunk) if index not in renewed]
            if not renewed:  # a conflicting write or a throttle: try again shortly
                time.sleep(min(0.05 * 2**attempt, 1.0))
        raise RuntimeError(f"marks of {chunk[0].kind}#{chunk[0].shard:02d} could not be cleared")

    def count(self, kind: SeriesOwner, shard: int, prefix: str = MARK_PREFIX) -> int:
        """How many marks one shard holds (those whose key starts with ``prefix``)."""
        return self.table.count(shard_pk(kind, shard), begins_with=prefix, consistent=True)

    def count_of(self, kind: SeriesOwner, shard: int, identifier: str) -> int:
        """How many marks of ``identifier`` one shard holds."""
        return self.count(kind, shard, f"{MARK_PREFIX}{identifier}#")

    # ------------------------------------------------------------------ parked projects and orgs
    def retries(self, kind: SeriesOwner, shard: int) -> dict[str, Retry]:
        """The parked projects (or orgs) of one shard, by id."""
        items = self.table.query(shard_pk(kind, shard), begins_with=RETRY_PREFIX, consistent=True)
        found = {}
        for item in items:
            identifier = item["sk"].removeprefix(RETRY_PREFIX)
            found[identifier] = Retry(identifier, int(item["attempts"]), int(item["retryAt"]))
        return found

    def park(self, kind: SeriesOwner, shard: int, retry: Retry, error: str, now: int) -> None:
        """Record that ``retry.identifier`` failed: its marks in this shard wait until ``retry.retry_at``.

        The head is flagged first, so a shard whose head has no flag has nothing parked.
        """
        self._update_head(kind, shard, "SET parked = :yes", {":yes": True})
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

    def _update_head(
        self,
        kind: SeriesOwner,
        shard: int,
        expression: str,
        values: dict[str, Any],
        condition: str | None = None,
        *,
        names: dict[str, str] | None = None,
    ) -> bool:
        """Update one head; False, changing nothing, if ``condition`` failed."""
        return self.table.update(_head_key(kind, shard), expression, condition=condition, names=names, values=values)
