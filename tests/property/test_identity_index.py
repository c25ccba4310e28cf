"""The identity index reads as a max-register per sample id, whatever its log, folds, hints and crashes do.

Against a dict model (each id's highest ``(version, start)``), on moto: rounds of identities are
recorded, the log folded by size into groups small enough to split all the time, and a round may
die after its k-th DynamoDB request, for any k, before it is recorded again (as the rollup redoes a
resolution whose run died). At every point, a lookup of every id answers the model: after a crash,
nothing recorded before is lost, and nothing is answered that was never recorded.
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Mapping

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocore_usage.domain.timeline import MICROS_PER_DAY, MICROS_PER_HOUR, floor_hour, parse_rfc3339
from ocore_usage.domain.versions import Identity
from ocore_usage.storage.identities import IDENTITY_RETENTION, IdentityIndex
from ocore_usage.storage.keys import identity_group_pk
from ocore_usage.storage.tables import Table
from tests.support.faults import CrashAfterRequests, InjectedCrash
from tests.support.template import LOGICAL_TABLE_NAMES

NOW = parse_rfc3339("2026-11-26T12:00:00Z")
IDS = [f"{prefix}-{n:02d}" for prefix in ("i-1", "i-2", "i-30") for n in range(12)]
"""Ids of three instances: they sort by instance, and a round's ids fall in several groups."""
Model = dict[str, tuple[str, int]]

identities = st.dictionaries(
    st.sampled_from(IDS),
    st.tuples(
        st.integers(0, 60).map(lambda v: f"{v:017d}-0"), st.integers(0, 30).map(lambda h: NOW - h * MICROS_PER_HOUR)
    ),
    min_size=1,
    max_size=12,
)
_projects = itertools.count()


@pytest.fixture
def samples_table(dynamodb) -> Table:
    return Table(dynamodb, LOGICAL_TABLE_NAMES["samples"])


def _record(table: Table, project: str, round_: Mapping[str, tuple[str, int]], shape: tuple[int, int]) -> None:
    index = IdentityIndex(table, fold_bytes=shape[0], group_bytes=shape[1], hint_ratio=0)  # every fold leaves hints
    recorded = {sid: Identity(version, floor_hour(start), start) for sid, (version, start) in round_.items()}
    index.record(project, recorded, index.read_log(project), NOW)


def _lookup(table: Table, project: str, ids: list[str] = IDS, hint_min_ids: int = 0) -> Model:
    index = IdentityIndex(table, hint_min_ids=hint_min_ids)  # by default each lookup looks where the hints say first
    return {sid: (i.version, i.start) for sid, i in index.lookup(project, ids, index.read_log(project)).items()}


def _merged(model: Model, round_: Mapping[str, tuple[str, int]]) -> Model:
    merged = dict(model)
    for sid, entry in round_.items():
        if sid not in merged or entry[0] > merged[sid][0]:
            merged[sid] = entry
    return merged


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    rounds=st.lists(st.tuples(identities, st.none() | st.integers(0, 40)), min_size=1, max_size=8),
    shape=st.sampled_from([(0, 40), (0, 120), (300, 40), (300, 120), (10**6, 850)]),
)
def test_the_index_answers_each_ids_highest_entry_across_folds_splits_and_crashes(samples_table, rounds, shape):
    project = f"proj-{next(_projects)}"
    model: Model = {}
    for round_, crash_after in rounds:
        if crash_after is not None:
            crashing = Table(CrashAfterRequests(samples_table.client, crash_after), samples_table.name)
            with contextlib.suppress(InjectedCrash):
                _record(crashing, project, round_, shape)
            found = _lookup(samples_table, project)
            # nothing recorded before is lost; what the dead round wrote is its own or not there
            for sid, entry in model.items():
                assert found[sid] == entry or found[sid] == round_.get(sid)
            assert set(found) <= set(model) | set(round_)
        _record(samples_table, project, round_, shape)
        model = _merged(model, round_)
        assert _lookup(samples_table, project) == model
        assert _lookup(samples_table, project, hint_min_ids=len(IDS) + 1) == model  # walking every group


def test_a_fold_drops_expired_identities_and_an_expired_group_hides_no_other(samples_table):
    # GIVEN identities folded into groups of one id each, one of them older than the retention
    ids = ["a-1", "b-1", "c-1", "c-2", "d-1"]
    old = NOW - IDENTITY_RETENTION - MICROS_PER_DAY
    round_ = {"a-1": ("v1", NOW), "b-1": ("v1", NOW), "c-1": ("v1", NOW)}
    _record(samples_table, "proj", round_, (0, 40))
    _record(samples_table, "proj", {"b-1": ("v2", old), "d-1": ("v1", NOW)}, (0, 40))
    # THEN the fold that rewrote b-1's group dropped it: it reads as never sent
    assert _lookup(samples_table, "proj", ids) == {"a-1": ("v1", NOW), "c-1": ("v1", NOW), "d-1": ("v1", NOW)}
    # WHEN a group expires (TTL deletes it): the group before it names it as its next
    samples_table.batch_write(deletes=[{"pk": identity_group_pk("proj"), "sk": "c-1"}])
    # THEN the ids past it are still found, through the group before it, and a new one is folded there
    assert _lookup(samples_table, "proj", ids) == {"a-1": ("v1", NOW), "d-1": ("v1", NOW)}
    _record(samples_table, "proj", {"c-2": ("v1", NOW)}, (0, 40))
    assert _lookup(samples_table, "proj", ids) == {"a-1": ("v1", NOW), "c-2": ("v1", NOW), "d-1": ("v1", NOW)}


@pytest.mark.parametrize("survive", range(8))
def test_a_fold_that_dies_between_its_writes_leaves_every_id_found_by_the_group_readers_land_on(samples_table, survive):
    # GIVEN a group of one id; the next fold adds an id past it and splits it off, dying after `survive` requests
    _record(samples_table, "proj", {"a-1": ("v1", NOW)}, (0, 40))
    crashing = Table(CrashAfterRequests(samples_table.client, survive), samples_table.name)
    with contextlib.suppress(InjectedCrash):
        _record(crashing, "proj", {"c-1": ("v1", NOW)}, (0, 40))
    # WHEN it is recorded again, and a reader walks from the first group to the id split off
    _record(samples_table, "proj", {"c-1": ("v1", NOW)}, (0, 40))
    # THEN the reader finds both: the first group names the group split off as its next
    assert _lookup(samples_table, "proj", ["a-1", "c-1"]) == {"a-1": ("v1", NOW), "c-1": ("v1", NOW)}
