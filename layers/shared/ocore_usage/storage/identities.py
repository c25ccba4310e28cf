"""IdentityIndex: where the counted version of each sample lives, as a log and a fold.

A sample's identity is its highest resolved version and that version's start (its partition is the
start's hour). It only ever rises, so the index is a max-register per sample id: any items holding
entries of one id read as the highest of them, and an entry written twice, or into two items,
changes nothing. That is what makes every step below safe to crash and to redo. A project's
identities sit in two partitions of the samples table (layout in ``storage/keys.py``):

- the *log*: each rollup batch appends the identities it resolved as one item (compact JSON, its
  sort key a stamp that rises), instead of an item per sample: a write unit carries about fifteen
  identities instead of one. A marker item holds the stamp up to which the log is folded; readers
  read only the items after it.
- the *groups*: identities in sorted runs of ids, each item keyed by the lowest id it may hold and
  holding every identity from its key up to the next group's key, which it names (``next``, a
  hint that saves a Query per id: no group's key ever lies between a group's key and its ``next``;
  a reader that finds an id past ``next``, whose group has expired, asks again).

A lookup reads the marker, the log after it, and for the ids asked their groups: the group of an id
is the one with the greatest key not above it (one Query of one item), and the ids that follow it
up to its ``next`` come from the same item. A *fold*, made by the rollup under the project's lease
when the log has grown past ``FOLD_BYTES`` or its oldest item past ``FOLD_AGE``, merges the log into
the groups (:meth:`IdentityIndex.fold`): it rewrites each group the log's ids fall in, then writes
the groups split off them, then raises the marker past the folded items. Until the marker moves
every identity is in the log, and a group rewritten before its split-off groups exist still holds
what moves to them, so a crash between any two writes loses nothing, and the next fold merges the
same entries again. Folded log items are not deleted (a delete is billed like the write it undoes):
they expire with the identities they hold. Entries older than ``IDENTITY_RETENTION`` are dropped by
the fold that rewrites their group, and a group expires with its newest entry. docs/pipeline.md,
"The identity index", gives the argument and the costs.
"""

from __future__ import annotations

import bisect
import json
import uuid
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field

from ocore_usage.domain.timeline import MICROS_PER_DAY, MICROS_PER_HOUR, MICROS_PER_SECOND, floor_hour
from ocore_usage.domain.versions import Identity
from ocore_usage.storage.keys import (
    FOLDED_SK,
    HINTS_SK,
    LEGACY_IDENTITY_SK,
    identity_group_pk,
    identity_log_pk,
    legacy_identity_pk,
)
from ocore_usage.storage.tables import Item, Key, Table, runs_within

IDENTITY_RETENTION = 42 * MICROS_PER_DAY
"""How long a sample id is remembered: a sample sent again later than this counts as a new one.
As long as its raw samples are kept (the 35-day correction window plus a week for a lagging rollup)."""
FOLD_AGE = MICROS_PER_HOUR
"""The log is folded once its oldest item is this old: a fold then takes about twelve ids per group
from an agent that sends a sample per instance every 5 minutes with ids sorted by instance."""
FOLD_BYTES = 1_000_000
"""...or once it holds this much: what a lookup reads of it stays under about 250 read units."""
LOG_ITEM_BYTES = 300_000
"""Encoded entries per log item, under DynamoDB's 400 KB item limit."""
GROUP_BYTES = 700
"""Encoded entries per group (about nine), so that a group's item stays under 1 KB even while it also holds
what moves to the groups split off it: one write unit per rewrite."""
HINT_RATIO = 4
"""A fold leaves the keys of the groups it wrote as hints when it folded this many ids per group or
more (ids that cluster: sorted by instance or time), where the next ids of the same agents land."""
HINT_MIN_IDS = 4
"""Lookups of fewer ids of a project walk its groups without reading its hints."""
HINT_MAX_KEYS = 8000
"""A fold that wrote more groups leaves no hints: the item would cost more to read than it saves."""
LOOKUP_LANES = 8
"""Runs of sorted ids looked up at once: each walks its groups Query after Query..."""
LANE_IDS = 16
"""...and holds at least this many ids, so that neighbours in one group are read with one Query."""

Entry = tuple[str, int]
"""An identity as the index stores it: ``(version, start)``."""


def expires_at(instant: int) -> int:
    """The TTL (``expiresAt``, epoch seconds) of what is kept for ``IDENTITY_RETENTION`` after ``instant``."""
    return (instant + IDENTITY_RETENTION) // MICROS_PER_SECOND


def _encode(entries: Iterable[tuple[str, Entry]]) -> list[str]:
    return [f'{json.dumps(sample_id)}:["{version}",{start}]' for sample_id, (version, start) in entries]


def _decode(text: str) -> dict[str, Entry]:
    return {sample_id: (str(version), int(start)) for sample_id, (version, start) in json.loads(text).items()}


def _higher(entries: dict[str, Entry], more: Mapping[str, Entry]) -> None:
    """Merge ``more`` into ``entries``, keeping each id's highest version."""
    for sample_id, entry in more.items():
        if sample_id not in entries or entry[0] > entries[sample_id][0]:
            entries[sample_id] = entry


@dataclass(frozen=True, slots=True)
class Group:
    """One group as read: its key (``""`` for the ids before the first group, which no item holds),
    the next group's key as it names it (``""``: none), and its entries."""

    key: str
    next: str
    entries: dict[str, Entry]
    reach: str = ""
    """Where a reader stops using this group (``""``: never): ``next``, or just past the id it was
    read for when ``next`` is behind that id (the group named there has expired)."""

    @classmethod
    def of(cls, item: Item, reach: str) -> Group:
        return cls(str(item["sk"]), str(item.get("next", "")), _decode(item["ids"]), reach)

    def covers(self, sample_id: str) -> bool:
        return self.key <= sample_id and (not self.reach or sample_id < self.reach)


@dataclass(slots=True)
class Log:
    """A project's log as read: the marker and the items after it, oldest first, and their size."""

    folded: str = ""
    items: list[tuple[str, dict[str, Entry]]] = field(default_factory=list)
    size: int = 0
    """Bytes of entries in the items: what a lookup reads of the log."""

    def entries(self) -> dict[str, Entry]:
        merged: dict[str, Entry] = {}
        for _, entries in self.items:
            _higher(merged, entries)
        return merged

    def last_stamp(self) -> str:
        return self.items[-1][0] if self.items else self.folded


class IdentityIndex:
    def __init__(
        self,
        table: Table,
        *,
        fold_bytes: int = FOLD_BYTES,
        fold_age: int = FOLD_AGE,
        group_bytes: int = GROUP_BYTES,
        hint_ratio: float = HINT_RATIO,
        hint_min_ids: int = HINT_MIN_IDS,
        legacy: bool = False,
    ) -> None:
        self.table = table
        self.hint_ratio = hint_ratio
        self.hint_min_ids = hint_min_ids
        self.legacy = legacy
        """Also read the per-sample identity items of releases before the index (an upgrade's 42 days)."""
        self.fold_bytes = fold_bytes
        self.fold_age = fold_age
        self.group_bytes = group_bytes

    # ------------------------------------------------------------------ reading
    def read_log(self, project_id: str, *, consistent: bool = True) -> Log:
        """The marker and the items after it."""
        marker = self.table.get({"pk": identity_log_pk(project_id), "sk": FOLDED_SK}, consistent=consistent)
        return self._log_after(project_id, str(marker["upto"]) if marker else "", consistent)

    def _log_after(self, project_id: str, folded: str, consistent: bool) -> Log:
        # "#folded" sorts before every stamp: reading after the marker's stamp, or after "#folded", skips it
        items = self.table.query(identity_log_pk(project_id), after=folded or FOLDED_SK, consistent=consistent)
        texts = [(str(item["sk"]), str(item["ids"])) for item in items]
        return Log(folded, [(sk, _decode(text)) for sk, text in texts], sum(len(text) for _, text in texts))

    def lookup(self, project_id: str, sample_ids: Iterable[str], log: Log) -> dict[str, Identity]:
        """The identity of each of ``sample_ids`` that has one: the highest of the log's and its group's
        (strongly consistent: the rollup resolves versions on what its last run wrote)."""
        return self._identities({project_id: sorted(set(sample_ids))}, {project_id: log}, consistent=True)[project_id]

    def lookup_many(self, asked: Mapping[str, Iterable[str]]) -> dict[str, dict[str, Identity]]:
        """:meth:`lookup` for each project's ids, eventually consistent (ingest's window check: the versions it
        refuses for are weeks old), every project's log read at once with the groups."""
        return self._identities({p: sorted(set(ids)) for p, ids in asked.items()}, None, consistent=False)

    def _identities(
        self, asked: Mapping[str, list[str]], logs: Mapping[str, Log] | None, *, consistent: bool
    ) -> dict[str, dict[str, Identity]]:
        """Each project's identities of ``asked`` (with its log, unless given): every project's marker and
        hints in one ``BatchGetItem``, then the logs, then the hinted groups, then walks to the rest."""
        pks = {project_id: identity_log_pk(project_id) for project_id in asked}
        heads = [{"pk": pks[p], "sk": FOLDED_SK} for p in asked] if logs is None else []
        heads += [
            {"pk": pks[p], "sk": HINTS_SK} for p, sample_ids in asked.items() if len(sample_ids) >= self.hint_min_ids
        ]
        read = {(str(item["pk"]), str(item["sk"])): item for item in self.table.batch_get(heads, consistent=consistent)}
        if logs is None:
            folded = [str(read.get((pks[p], FOLDED_SK), {}).get("upto", "")) for p in asked]
            found_logs = self.table.at_once(
                lambda job: self._log_after(job[0], job[1], consistent), list(zip(asked, folded, strict=True))
            )
            logs = dict(zip(asked, found_logs, strict=True))
        hints = {p: sorted(json.loads(read[(pks[p], HINTS_SK)]["keys"])) for p in asked if (pks[p], HINTS_SK) in read}
        groups = self._hinted_groups(hints, asked, consistent)
        unhinted = {p: [sid for sid in sample_ids if (p, sid) not in groups] for p, sample_ids in asked.items()}
        groups |= self._groups(unhinted, exact=False, consistent=consistent)
        found: dict[str, dict[str, Entry]] = {project_id: {} for project_id in asked}
        for (project_id, sid), group in groups.items():
            if sid in group.entries:
                found[project_id][sid] = group.entries[sid]
        if self.legacy:
            for (project_id, sample_id), entry in self._legacy(asked, consistent).items():
                _higher(found[project_id], {sample_id: entry})
        for project_id, sample_ids in asked.items():
            logged = logs[project_id].entries()
            _higher(found[project_id], {sid: logged[sid] for sid in sample_ids if sid in logged})
        return {
            project_id: {sid: Identity(version, floor_hour(start), start) for sid, (version, start) in entries.items()}
            for project_id, entries in found.items()
        }

    def _hinted_groups(
        self, hints: Mapping[str, list[str]], asked: Mapping[str, list[str]], consistent: bool
    ) -> dict[tuple[str, str], Group]:
        """The group of each asked id that the hints name, read with one ``BatchGetItem`` per 100 groups.

        A hint is only where to look: the group read is an id's group if its key is not above the id
        and its ``next`` is above it (no group's key lies between), else the id is walked to.
        """
        wanted: dict[tuple[str, str], str] = {}
        for project_id, keys in hints.items():
            for sid in asked[project_id]:
                at = bisect.bisect_right(keys, sid)
                if at:
                    wanted[(project_id, sid)] = keys[at - 1]
        if not wanted:
            return {}
        pks = {project_id: identity_group_pk(project_id) for project_id in hints}
        items = self.table.batch_get(
            [{"pk": pks[project_id], "sk": key} for (project_id, _), key in wanted.items()], consistent=consistent
        )
        read = {(str(item["pk"]), str(item["sk"])): item for item in items}
        groups: dict[tuple[str, str], Group] = {}
        for (project_id, sid), key in wanted.items():
            item = read.get((pks[project_id], key))
            following = str(item.get("next", "")) if item else ""
            if item is not None and (not following or sid < following):
                groups[(project_id, sid)] = Group.of(item, following)
        return groups

    def _legacy(self, asked: Mapping[str, list[str]], consistent: bool) -> dict[tuple[str, str], Entry]:
        keys = [{"pk": legacy_identity_pk(p, sid), "sk": LEGACY_IDENTITY_SK} for p, ids in asked.items() for sid in ids]
        found = self.table.batch_get(keys, consistent=consistent)
        return {_legacy_ids(item["pk"]): (str(item["version"]), int(item["start"])) for item in found}

    def _groups(
        self, asked: Mapping[str, Sequence[str]], *, exact: bool, consistent: bool = True
    ) -> dict[tuple[str, str], Group]:
        """The group of each project's ids (sorted), walked in lanes of neighbours at once."""
        lanes = [(project_id, lane) for project_id, sample_ids in asked.items() for lane in _lanes(sample_ids)]
        walked = self.table.at_once(lambda job: self._walk(*job, exact=exact, consistent=consistent), lanes)
        return {
            (project_id, sid): group
            for (project_id, _), found in zip(lanes, walked, strict=True)
            for sid, group in found.items()
        }

    def _walk(self, project_id: str, sample_ids: Sequence[str], *, exact: bool, consistent: bool) -> dict[str, Group]:
        """The group of each of ``sample_ids`` (sorted): a Query for each group they fall in."""
        groups: dict[str, Group] = {}
        current: Group | None = None
        for sample_id in sample_ids:
            if current is None or not current.covers(sample_id):
                current = self._group_at(project_id, sample_id, exact, consistent)
            groups[sample_id] = current
        return groups

    def _group_at(self, project_id: str, sample_id: str, exact: bool, consistent: bool) -> Group:
        """The group with the greatest key not above ``sample_id``; with ``exact``, its reach is the
        next key as it stands (one more Query), not as the group names it."""
        pk = identity_group_pk(project_id)
        item = self.table.last_at_or_before(pk, sample_id, consistent=consistent)
        if item is None:  # before every group: up to the first one
            first = next(self.table.query(pk, limit=1, consistent=consistent), None)
            return Group("", "", {}, reach=str(first["sk"]) if first else "")
        following = str(item.get("next", ""))
        if exact:
            after = next(self.table.query(pk, after=str(item["sk"]), limit=1, consistent=True), None)
            reach = str(after["sk"]) if after else ""
        else:
            reach = following if not following or following > sample_id else sample_id + "\0"
        return Group.of(item, reach)

    # ------------------------------------------------------------------ writing (the rollup, under the lease)
    def record(self, project_id: str, identities: Mapping[str, Identity], log: Log, now: int) -> None:
        """Append ``identities`` to the log ``log`` was read from, then fold it if it is due at ``now``."""
        if identities:
            stamp = f"{max(now, _stamp_time(log.last_stamp()) + 1):017d}-{uuid.uuid4().hex[:8]}"
            entries = sorted((sid, (i.version, i.start)) for sid, i in identities.items())
            runs = [(f"{stamp}#{n:03d}", run, _text(run)) for n, run in enumerate(_cut(entries, LOG_ITEM_BYTES))]
            self.table.batch_write(
                {
                    "pk": identity_log_pk(project_id),
                    "sk": sk,
                    "ids": text,
                    "expiresAt": expires_at(max(start for _, (_, start) in run)),
                }
                for sk, run, text in runs
            )
            log.items += [(sk, dict(run)) for sk, run, _ in runs]
            log.size += sum(len(text) for _, _, text in runs)
        if log.items and (now - _stamp_time(log.items[0][0]) >= self.fold_age or log.size >= self.fold_bytes):
            self.fold(project_id, log, now)

    def fold(self, project_id: str, log: Log, now: int) -> None:
        """Merge ``log``'s items into the groups, then move the marker past them.

        Each group the log's ids fall in is read with its exact reach (the key that follows it now,
        one more Query), merged, and cut into runs of at most ``GROUP_BYTES`` of about even size:
        the first keeps the group's key, the others are keyed by their first id. The group is
        rewritten first, its ``next`` naming the first run split off, still holding the entries that
        move, so that a reader landing on it before the runs split off are written finds them; then
        the runs split off; then the marker. A group keeps what it held beyond its ``next`` until it
        is next rewritten, which drops what lies past its exact reach: a group there holds it (had
        the fold that split it died first, its reach would still cover it).
        """
        if not log.items:
            return
        entries = log.entries()
        targets: dict[str, tuple[Group, dict[str, Entry]]] = {}
        for (_, sample_id), group in self._groups({project_id: sorted(entries)}, exact=True).items():
            targets.setdefault(group.key, (group, {}))[1][sample_id] = entries[sample_id]
        rewritten: list[Item] = []
        split_off: list[Item] = []
        expired: list[Key] = []
        for group, new in targets.values():
            own = {sid: entry for sid, entry in group.entries.items() if group.covers(sid)}
            merged = dict(own)
            _higher(merged, new)
            kept = sorted((sid, entry) for sid, entry in merged.items() if entry[1] + IDENTITY_RETENTION > now)
            if not kept:  # every entry expired: the group goes, and its ids fall to the one before it
                expired += [{"pk": identity_group_pk(project_id), "sk": group.key}] if group.key else []
                continue
            # new groups (ids before every group: a project's first fold) are filled to two thirds, as a
            # B-tree's bulk load is: ids that land among them later rewrite one group instead of splitting it
            runs = _halves(kept, self.group_bytes if group.key else self.group_bytes * 2 // 3)
            keys = [group.key or runs[0][0][0], *(run[0][0] for run in runs[1:])]
            items = [
                _group_item(project_id, key, following, dict(run))
                for key, following, run in zip(keys, [*keys[1:], group.reach], runs, strict=True)
            ]
            if group.key:  # the group itself, holding until its runs are written what moves to them
                moving = {sid: entry for sid, entry in own.items() if len(keys) > 1 and sid >= keys[1]}
                rewritten.append(_group_item(project_id, keys[0], items[0].get("next", ""), dict(runs[0]) | moving))
                items = items[1:]
            split_off += items
        self.table.batch_write(rewritten, expired)
        self.table.batch_write(split_off)
        upto = log.items[-1][0]
        written = [str(item["sk"]) for item in [*rewritten, *split_off]]
        clustered = len(entries) >= self.hint_ratio * len(targets) and len(written) <= HINT_MAX_KEYS
        self.table.batch_write(
            [
                {"pk": identity_log_pk(project_id), "sk": FOLDED_SK, "upto": upto},
                {"pk": identity_log_pk(project_id), "sk": HINTS_SK, "keys": json.dumps(written if clustered else [])},
            ]
        )
        log.folded, log.items, log.size = upto, [], 0


def _group_item(project_id: str, key: str, following: str, entries: Mapping[str, Entry]) -> Item:
    item: Item = {
        "pk": identity_group_pk(project_id),
        "sk": key,
        "ids": _text(sorted(entries.items())),
        "expiresAt": expires_at(max(start for _, start in entries.values())),
    }
    if following:
        item["next"] = following
    return item


def _legacy_ids(pk: str) -> tuple[str, str]:
    _, project_id, sample_id = pk.split("#")  # neither id may hold a "#"
    return project_id, sample_id


def _text(entries: Sequence[tuple[str, Entry]]) -> str:
    return "{" + ",".join(_encode(entries)) + "}"


def _cut(entries: Sequence[tuple[str, Entry]], limit: int) -> list[Sequence[tuple[str, Entry]]]:
    """``entries`` cut into runs whose encoding stays within ``limit`` bytes (at least one run)."""
    runs, at = [], 0
    for run in runs_within(_encode(entries), limit):
        runs.append(entries[at : at + len(run)])
        at += len(run)
    return runs


def _halves(entries: Sequence[tuple[str, Entry]], limit: int) -> list[Sequence[tuple[str, Entry]]]:
    """``entries`` cut into as few runs within ``limit`` bytes as :func:`_cut` makes, of about even size.

    A full group that takes one more id splits into two half-full ones, so the ids that follow
    land in a group with room (one write unit) instead of splitting it again (two).
    """
    texts = _encode(entries)
    sizes = [len(text) + 1 for text in texts]
    parts = len(runs_within(texts, limit))
    share = sum(sizes) / parts
    runs: list[Sequence[tuple[str, Entry]]] = []
    start, size = 0, 0
    for at, entry_size in enumerate(sizes):
        if at > start and len(runs) < parts - 1 and (size + entry_size > limit or size >= share):
            runs.append(entries[start:at])
            start, size = at, 0
        size += entry_size
    runs.append(entries[start:])
    return runs if size <= limit or len(runs[-1]) == 1 else _cut(entries, limit)


def _stamp_time(stamp: str) -> int:
    return int(stamp[:17]) if stamp[:17].isdigit() else 0


def _lanes(sample_ids: Sequence[str]) -> list[Sequence[str]]:
    """``sample_ids`` (sorted) cut into at most ``LOOKUP_LANES`` runs of neighbours, walked at once."""
    size = max(LANE_IDS, -(-len(sample_ids) // LOOKUP_LANES))
    return [sample_ids[i : i + size] for i in range(0, len(sample_ids), size)]
