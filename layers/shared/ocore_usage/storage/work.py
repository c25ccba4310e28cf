"""WorkQueue: the rollup's pending work, sharded: marks, shard heads, leases and parked tenants together.

Writers (ingest, the rollup's project stage, project sync) put a mark per stale ``(id, hour)``
and bump the head of each shard touched (:mod:`ocore_usage.storage.marks`). The rollup finds work
by reading all shard heads in one request (``seq > done``, or a retry that is due:
:mod:`ocore_usage.storage.heads`), takes a shard under a lease (:mod:`ocore_usage.storage.leases`),
reads its marks from a cursor that wraps (so no project's marks can starve the others'), and
deletes a mark only if its token is still the one it read and only while it still holds the
lease. A project (or org) whose rollup failed is parked until its retry is due
(:mod:`ocore_usage.storage.parked`). The heads keep ``pendingOrigin``, never later than the origin
of any mark of the shard not yet rolled, so the reads can say up to when every received sample
is counted (:meth:`WorkQueue.progress`, docs/pipeline.md "The watermark").
"""

from __future__ import annotations

from ocore_usage.storage.leases import Leases
from ocore_usage.storage.marks import Marks
from ocore_usage.storage.parked import ParkedTenants


class WorkQueue(Marks, Leases, ParkedTenants):
    """The work table: one object, so that every part of it follows the same shard count."""
