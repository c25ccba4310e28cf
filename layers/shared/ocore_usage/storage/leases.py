"""Shard leases: a rollup worker's hold on one shard, kept on the shard's head.

A worker takes a shard's lease (``leaseOwner``, ``leaseExpires``) before it reads the shard's marks
and gives it back with the cursor where it stopped (so the next worker goes on from there), the
``seq`` it rolled up to, and when the shard's parked projects are due. Every mark it deletes is
deleted with a check that it still holds the lease and that the shard count has not grown since
it took it (:func:`lease_check`): a worker that lost its lease, or rolls by an outgrown count,
writes nothing more to the shard (:class:`LeaseLost`).
"""

from __future__ import annotations

from dataclasses import dataclass
from math import gcd
from typing import Any

from ocore_usage.domain.timeline import MICROS_PER_SECOND
from ocore_usage.storage.heads import ShardHead, ShardHeads, head_key, head_of
from ocore_usage.storage.keys import SHARDS, SeriesOwner
from ocore_usage.storage.tables import Conditional

LONGEST_LEASE = (900 + 15) * MICROS_PER_SECOND
"""The longest a lease can last: Lambda's longest timeout and the lease's margin past it."""


class LeaseLost(RuntimeError):
    """Another worker holds the shard now: this one must stop writing to it."""


@dataclass(frozen=True, slots=True)
class Lease:
    """A worker's hold on one shard, until ``expires``."""

    kind: SeriesOwner
    shard: int
    owner: str
    expires: int
    origin_floor: int | None = None
    """No sample behind a mark this worker takes was answered before this instant, so the origins it
    passes on are never later than it (docs/pipeline.md, "The watermark")."""
    shards: int = SHARDS
    """The shard count in force when the lease was taken: the worker rolls the projects (or orgs) that
    this count puts in its shard, and moves the marks of any other to its shard."""
    grown_at: int = 0
    """When the shard count last grew, as the head said when the lease was taken (0: never)."""


def lease_check(lease: Lease) -> Conditional:
    """The shard's head, as long as ``lease``'s owner holds it and the shard count has not grown since."""
    return Conditional(
        head_key(lease.kind, lease.shard),
        "leaseOwner = :owner AND (attribute_not_exists(shards) OR shards = :shards)",
        {":owner": lease.owner, ":shards": lease.shards},
    )


class Leases(ShardHeads):
    """Taking and giving back the leases of the shards."""

    def acquire(self, head: ShardHead, owner: str, now: int, lease: int) -> Lease | None:
        """Take the shard's lease for ``lease`` microseconds unless another worker holds an unexpired one.

        Also starts ``lapOrigin`` afresh: the origins of the marks written from now on, which are all
        that a run ending with an empty lap can leave behind.
        """
        expires = now + lease
        taken = self.table.update_if(
            head_key(head.kind, head.shard),
            "SET leaseOwner = :owner, leaseExpires = :expires, leaseShards = if_not_exists(shards, :shards) "
            "REMOVE lapOrigin",
            condition="attribute_not_exists(leaseExpires) OR leaseExpires < :now OR leaseOwner = :owner",
            values={":owner": owner, ":expires": expires, ":now": now, ":shards": SHARDS},
        )
        if taken is None:
            return None
        held = head_of(head.kind, head.shard, taken)
        self._learn(held.lease_shards)
        return Lease(
            head.kind, head.shard, owner, expires, held.pending_origin or now, held.lease_shards, held.grown_at
        )

    def outgrown_lease_held(self, lease: Lease, now: int) -> bool:
        """Whether a worker may still be rolling, by a count older than ``lease.shards``, a project (or
        org) that is now in ``lease``'s shard: then the holder of ``lease`` must leave its shard until
        that worker is done. A lease lasts at most ``LONGEST_LEASE``, so after that long from the growth
        no head is read.

        An id in shard ``b`` of ``n`` shards is in shard ``a`` of ``m`` only if ``a`` and ``b`` are equal
        modulo ``gcd(m, n)`` (its crc32 is ``b`` modulo ``n`` and ``a`` modulo ``m``): after a doubling,
        only the shard's one old shard matters.
        """
        if not lease.grown_at or now > lease.grown_at + LONGEST_LEASE:
            return False
        return any(
            head.kind is lease.kind
            and head.outgrown_lease(now)
            and (head.shard - lease.shard) % gcd(head.lease_shards, lease.shards) == 0
            for head in self.heads()
        )

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
        when the earliest parked one is due; ``parked``, whether parked projects remain; ``since``,
        when the worker's last lap began. How ``pendingSince``, ``pendingOrigin`` and ``rolledAt``
        follow: docs/pipeline.md, "The watermark".
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
        key = head_key(lease.kind, lease.shard)
        condition = "leaseOwner = :owner"
        if done is not None and retry_at is None:
            # Nothing pending or parked, unless a writer bumped seq since: then the lag restarts at ``since``.
            values[":since"] = since
            cleared = self.table.update(
                key,
                expression.replace("SET ", "SET rolledAt = :since, ", 1) + ", pendingSince, pendingOrigin, lapOrigin",
                condition=condition + " AND seq = :done",
                names=names,
                values=values,
            )
            if cleared:
                return True
            expression = expression.replace(
                "SET ", "SET pendingSince = :since, pendingOrigin = if_not_exists(lapOrigin, :since), ", 1
            )
        return self.table.update(key, expression, condition=condition, names=names, values=values)
