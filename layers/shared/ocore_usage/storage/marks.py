"""Work marks: which hours of which project (or org) are stale, sharded, and how they are cleared.

Writers (ingest, the rollup's project stage, project sync) put a mark per stale ``(id, hour)``
with a fresh token *after* writing the data it refers to, then bump the head of each shard
touched (:meth:`ShardHeads.bump <ocore_usage.storage.heads.ShardHeads.bump>`). Each mark also
carries its ``origin`` (docs/pipeline.md, "The watermark"). The rollup reads a shard's marks in
key order from a cursor, and deletes a mark only if its token is still the one it read and only
while it still holds the shard's lease. The marks of a project not registered yet are held in a
partition of their own until project sync registers it.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from itertools import batched

from ocore_usage.domain.timeline import format_instant, parse_rfc3339
from ocore_usage.storage.heads import ShardHeads
from ocore_usage.storage.keys import MARK_PREFIX, MARKS_END, SeriesOwner, held_pk, mark_sk, shard_of, shard_pk
from ocore_usage.storage.leases import Lease, LeaseLost, lease_check
from ocore_usage.storage.tables import TRANSACTION_LIMIT, Conditional, TransactionCanceled

_CLEAR_ATTEMPTS = 8


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
    """Marks of one shard in key order, from :meth:`Marks.take`."""

    marks: list[Mark]
    last: str
    """The key of the last mark read ('' when none was)."""
    exhausted: bool
    """Nothing is left in the range asked for."""


def _unchanged(mark: Mark) -> Conditional:
    """The mark, as long as no writer renewed it (its token is the one read)."""
    return Conditional(mark.key, "#token = :token", {":token": mark.token}, {"#token": "token"})


class Marks(ShardHeads):
    """Writing, reading, counting and clearing the marks of every shard."""

    def mark(
        self, kind: SeriesOwner, stale: Iterable[tuple[str, int]], now: int, origin: int | None = None
    ) -> set[int]:
        """Mark each ``(identifier, hour)`` stale, then bump the heads of the shards touched (returned).

        ``origin``: when the oldest sample behind these marks was received (default ``now``).
        """
        token = uuid.uuid4().hex
        marks = set(stale)
        if not marks:
            return set()
        origin = now if origin is None else min(origin, now)
        shards = self._shards
        self.table.batch_write(
            {
                **Mark(kind, shard_of(identifier, shards), identifier, hour).key,
                "token": token,
                "markedAt": now,
                "origin": origin,
            }
            for identifier, hour in sorted(marks)
        )
        touched = sorted({shard_of(identifier, shards) for identifier, _ in marks})
        for shard in touched:
            self.bump(kind, shard, now, origin)
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

        Marks go in transactions of up to 100 conditional deletes (one request for a whole batch in
        the usual case), each with a check that ``lease`` is still held (else :class:`LeaseLost`); a
        transaction that meets renewed marks is sent again without them.
        """
        size = TRANSACTION_LIMIT - (1 if lease else 0)
        return sum(self._clear_chunk(list(chunk), lease) for chunk in batched(marks, size, strict=False))

    def _clear_chunk(self, chunk: list[Mark], lease: Lease | None) -> int:
        for attempt in range(_CLEAR_ATTEMPTS):
            if not chunk:
                return 0
            checks = [lease_check(lease)] if lease is not None else []
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
