"""WorkQueue: the rollup's pending work, sharded: marks, shard heads, leases and parked tenants together.

Its parts: :mod:`ocore_usage.storage.marks` (stale hours), :mod:`ocore_usage.storage.heads` (which
shards have work, the watermark), :mod:`ocore_usage.storage.leases` (one worker per shard) and
:mod:`ocore_usage.storage.parked` (tenants whose rollup failed); how the rollup uses them is in
docs/pipeline.md, "4. Rollup".
"""

from __future__ import annotations

from ocore_usage.storage.leases import Leases
from ocore_usage.storage.marks import Marks
from ocore_usage.storage.parked import ParkedTenants


class WorkQueue(Marks, Leases, ParkedTenants):
    """The work table: one object, so that every part of it follows the same shard count."""
