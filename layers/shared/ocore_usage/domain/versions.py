"""Which stored version of each sample counts: the resolution the rollup applies. Pure.

Ingest never reads before it writes and never overwrites: every accepted request appends its
samples, stamped with one *version* (the instant it was received, then a random tiebreak, so
versions sort as requests were received), to the page partition of each sample's start hour.
A sample can therefore sit in several partitions at once: a retry, a duplicate, a correction
that moved it. Exactly one version of it counts: the highest. A partition holds

- pages: the entries appended by requests (``StoredEntry``), each page named by its sort key;
- tombstones: ``sampleId -> upto``, every version of that sample up to ``upto`` in this
  partition no longer counts (a higher version lives in another partition);
- the set of pages already *indexed*: their samples have been compared with the sample's
  identity (where its highest version lives) and the losers tombstoned.

Inside one partition the highest version of a sample above its tombstone counts
(:meth:`Partition.live`). Across partitions, :func:`resolve` looks at the pages not indexed
yet and the identities of their samples, and says which tombstones and identities to write so
that every sample has live entries in at most one partition: the one of its highest version. The
order the rollup writes them in, and why a crash loses nothing: docs/pipeline.md, "Exactly once".
"""

from __future__ import annotations

import uuid
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from ocore_usage.domain.metered import MeteredInterval


def new_version(received_at: int) -> str:
    """A version for one request received at ``received_at`` (microseconds): unique, sortable by time."""
    return f"{received_at:017d}-{uuid.uuid4().hex[:12]}"


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """One version of one sample, as a page holds it."""

    sample_id: str
    version: str
    page: str
    interval: MeteredInterval


@dataclass(frozen=True, slots=True)
class Identity:
    """Where the highest indexed version of a sample lives: its version and partition hour."""

    version: str
    hour: int
    start: int


@dataclass(slots=True)
class Partition:
    """Everything stored for one project and one start hour."""

    hour: int
    entries: list[StoredEntry] = field(default_factory=list)
    tombstones: dict[str, str] = field(default_factory=dict)
    indexed: frozenset[str] = frozenset()

    @property
    def pages(self) -> frozenset[str]:
        return frozenset(entry.page for entry in self.entries)

    def new_entries(self) -> list[StoredEntry]:
        """Entries of pages not indexed yet."""
        return [entry for entry in self.entries if entry.page not in self.indexed]

    def live(self) -> dict[str, MeteredInterval]:
        """The counted entry of each sample here: its highest version above its tombstone."""
        best: dict[str, StoredEntry] = {}
        for entry in self.entries:
            if entry.version <= self.tombstones.get(entry.sample_id, ""):
                continue
            current = best.get(entry.sample_id)
            if current is None or entry.version > current.version:
                best[entry.sample_id] = entry
        return {sample_id: entry.interval for sample_id, entry in best.items()}


@dataclass(slots=True)
class Resolution:
    """What to write so that each sample counts once: tombstones first, then identities."""

    tombstones: dict[tuple[int, str], str] = field(default_factory=dict)
    """``(partition hour, sampleId) -> upto``."""
    identities: dict[str, Identity] = field(default_factory=dict)
    superseded: set[int] = field(default_factory=set)
    """Partitions where a version stopped counting: the hours their samples overlap are stale."""

    def apply(self, partitions: Mapping[int, Partition]) -> None:
        """Apply the tombstones to the partitions held in memory, and mark every page indexed."""
        for (hour, sample_id), upto in self.tombstones.items():
            partition = partitions.get(hour)
            if partition is not None:
                partition.tombstones[sample_id] = max(upto, partition.tombstones.get(sample_id, ""))
        for partition in partitions.values():
            partition.indexed = partition.pages


def resolve(partitions: Mapping[int, Partition], identities: Mapping[str, Identity]) -> Resolution:
    """The tombstones and identities that leave only the highest version of each new sample live.

    ``identities`` holds the stored identity of every sample that has a new entry (absent: none
    stored). Only samples with new entries can change: the others were resolved when their pages
    were indexed.
    """
    candidates: dict[str, list[tuple[str, int]]] = defaultdict(list)
    starts: dict[tuple[str, str], int] = {}
    for partition in partitions.values():
        for entry in partition.new_entries():
            candidates[entry.sample_id].append((entry.version, partition.hour))
            starts[(entry.sample_id, entry.version)] = entry.interval.start
    resolution = Resolution()
    for sample_id, found in candidates.items():
        stored = identities.get(sample_id)
        contenders = list(found) + ([(stored.version, stored.hour)] if stored else [])
        winner_version, winner_hour = max(contenders)
        resolution.superseded |= {hour for version, hour in contenders if version != winner_version}
        for version, hour in _losers(contenders, winner_hour):
            known = partitions[hour].tombstones.get(sample_id, "") if hour in partitions else ""
            key = (hour, sample_id)
            resolution.tombstones[key] = max(version, known, resolution.tombstones.get(key, ""))
        if stored is None or winner_version > stored.version:
            resolution.identities[sample_id] = Identity(
                winner_version, winner_hour, starts[(sample_id, winner_version)]
            )
    return resolution


def _losers(contenders: Iterable[tuple[str, int]], winner_hour: int) -> Iterable[tuple[str, int]]:
    """Versions that lose in another partition than the winner's (in its own, the highest wins anyway)."""
    highest: dict[int, str] = {}
    for version, hour in contenders:
        if hour != winner_hour:
            highest[hour] = max(version, highest.get(hour, ""))
    return [(version, hour) for hour, version in highest.items()]
