"""Shard heads: the one ``#head`` item of each work shard, and the shard count in force.

Each head holds the shard's ``seq`` (bumped by writers after their marks, :meth:`ShardHeads.bump`)
and ``done`` (the ``seq`` the rollup last rolled up to), since when the shard has had work
(``pendingSince``, the lag) and the origin of its oldest unrolled mark (``pendingOrigin``, the
watermark: :meth:`ShardHeads.progress`, docs/pipeline.md "The watermark"), the lease and cursor
of the worker that rolls it (:mod:`ocore_usage.storage.leases`), when its parked projects are
due (:mod:`ocore_usage.storage.parked`), and the shard count (``shards``): writers learn it from
the head they bump, so they follow a grown count without reading anything else. A grown count is
set on every head in one transaction.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ocore_usage.storage.keys import HEAD, MAX_SHARDS, SHARDS, SeriesOwner, shard_pk
from ocore_usage.storage.tables import Conditional, Table, TransactionCanceled


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
    lease_shards: int = SHARDS
    """The shard count in force when the lease was taken."""
    grown_at: int = 0
    """When the shard count last grew (0: never)."""

    @property
    def has_work(self) -> bool:
        """Marks were written since the rollup last found the shard empty."""
        return self.seq > self.done

    def due(self, now: int) -> bool:
        """New marks, or a parked project whose retry is due."""
        return self.has_work or 0 < self.retry_at <= now

    def leased(self, now: int) -> bool:
        return bool(self.lease_owner) and self.lease_expires >= now

    def outgrown_lease(self, now: int) -> bool:
        """Held under a shard count that has grown since: its worker may roll projects that are no longer its."""
        return self.leased(now) and self.lease_shards < self.shards


@dataclass(frozen=True, slots=True)
class Progress:
    """The rollup's watermark, from every shard head, project and org."""

    oldest_unrolled: int | None
    """When the oldest sample not yet rolled into every series was received: the earliest ``pendingOrigin``
    (or ``pendingSince``) of any shard; ``None`` when no shard has work pending or parked."""
    last_rolled: int
    """The latest ``rolledAt`` of any shard (0: none yet); see docs/pipeline.md, "The watermark"."""


def head_key(kind: SeriesOwner, shard: int) -> dict[str, str]:
    return {"pk": shard_pk(kind, shard), "sk": HEAD}


def head_of(kind: SeriesOwner, shard: int, item: dict[str, Any]) -> ShardHead:
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
        lease_shards=int(item.get("leaseShards", SHARDS)),
        grown_at=int(item.get("grownAt", 0)),
    )


class ShardHeads:
    """The heads of every shard of both kinds, on the work table."""

    def __init__(self, table: Table) -> None:
        self.table = table
        self._shards = SHARDS

    @property
    def shard_count(self) -> int:
        """The shard count in force, as last seen on a shard head."""
        return self._shards

    def _learn(self, shards: int) -> None:
        self._shards = max(self._shards, min(shards, MAX_SHARDS))

    def bump(self, kind: SeriesOwner, shard: int, now: int, origin: int) -> None:
        """Say the shard has new marks (``seq``), since ``now``, received since ``origin``; learn the shard count."""
        key = head_key(kind, shard)
        head = self.table.update_and_read(
            key,
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
                    self.table.update(
                        key,
                        f"SET {attribute} = :origin",
                        condition=f"{attribute} > :origin",
                        values={":origin": origin},
                    )

    def grow(self, count: int, now: int) -> int:
        """Raise the shard count to ``count`` on every head (it never shrinks); returns the count in force;
        marks stay where they were written (docs/pipeline.md, "Growing the shard count")."""
        if not SHARDS <= count <= MAX_SHARDS:
            raise ValueError(f"the shard count must be from {SHARDS} to {MAX_SHARDS}")
        current = max(head.shards for head in self.heads())
        if count <= current:
            return current
        values = {":count": count, ":now": now}
        try:
            # every head at once: no worker may see the new count on one head and the old on another
            self.table.update_all_or_none(
                [
                    Conditional(head_key(kind, shard), "attribute_not_exists(shards) OR shards < :count", values)
                    for kind in SeriesOwner
                    for shard in range(count)
                ],
                "SET shards = :count, grownAt = :now",
            )
        except TransactionCanceled:  # another operator raised it as far or further meanwhile
            return max(head.shards for head in self.heads())
        self._learn(count)
        return count

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
        keys = [head_key(kind, shard) for kind in SeriesOwner for shard in shards]
        found = {item["pk"]: item for item in self.table.batch_get(keys, consistent=True)}
        return [head_of(kind, shard, found.get(shard_pk(kind, shard), {})) for kind in SeriesOwner for shard in shards]
