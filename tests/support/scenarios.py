"""Random sample scenarios for the property tests, and the check that stored rollups equal the reference.

Samples fall in two clusters (around the October/November boundary, and early October) so
corrections move samples across hours, days and months; sample ids repeat within a project so
batches carry duplicates and corrections of each other.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from fractions import Fraction

from hypothesis import strategies as st

from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity
from ocore_usage.storage.keys import SeriesOwner
from tests.support.pipeline import Pipeline
from tests.support.reference import RefSample, expected_buckets

NOW = datetime(2026, 11, 3, 12, tzinfo=UTC)
PROJECT_ORGS = {"p-a": "org-1", "p-b": "org-1", "p-c": "org-2"}
CLUSTERS = [datetime(2026, 10, 31, 21, tzinfo=UTC), datetime(2026, 10, 5, 23, tzinfo=UTC)]
GRANULARITIES = (Granularity.HOUR, "H"), (Granularity.DAY, "D"), (Granularity.MONTH, "M")

allocations = st.decimals(min_value=0, max_value=64, places=7, allow_nan=False, allow_infinity=False)


@st.composite
def samples(draw: st.DrawFn) -> RefSample:
    base = draw(st.sampled_from(CLUSTERS))
    offset = draw(st.integers(0, 5 * 3600 * 1_000_000))
    start = base + timedelta(microseconds=offset)
    if draw(st.booleans()):  # most agents send whole seconds
        start = start.replace(microsecond=0)
    return RefSample(
        project_id=draw(st.sampled_from(sorted(PROJECT_ORGS))),
        sample_id=draw(st.sampled_from([f"s{i}" for i in range(6)])),
        instance_id=draw(st.sampled_from(["i0", "i1", "i2"])),
        start=start,
        seconds=draw(st.one_of(st.integers(1, 3600), st.sampled_from([1, 60, 300, 3599, 3600]))),
        cpu=draw(allocations),
        ram=draw(allocations),
        disk=draw(allocations),
        bytes_in=draw(st.integers(0, 10**15)),
        bytes_out=draw(st.integers(0, 10**6)),
    )


def standing(*batches: list[RefSample]) -> list[RefSample]:
    """The samples that stand after the batches are applied in order: the last version of each key."""
    final: dict[tuple[str, str], RefSample] = {}
    for batch in batches:
        for sample in batch:
            final[(sample.project_id, sample.sample_id)] = sample
    return list(final.values())


def assert_rollups_match(pipeline: Pipeline, stood: list[RefSample]) -> None:
    """Every stored bucket of every project and org equals the reference, and no other bucket exists."""
    for project_id in PROJECT_ORGS:
        assert_series(pipeline, SeriesOwner.PROJECT, project_id, [s for s in stood if s.project_id == project_id])
    for org_id in set(PROJECT_ORGS.values()):
        theirs = [s for s in stood if PROJECT_ORGS[s.project_id] == org_id]
        assert_series(pipeline, SeriesOwner.ORG, org_id, theirs)


def assert_series(pipeline: Pipeline, scope: SeriesOwner, identifier: str, samples_: list[RefSample]) -> None:
    for granularity, code in GRANULARITIES:
        stored = pipeline.stored_series(scope, identifier, granularity)
        expected = expected_buckets(samples_, code)
        assert sorted(stored) == sorted(expected), (scope, identifier, code)
        for start, want in expected.items():
            got = stored[start]
            assert Fraction(got.cpu, 10**6 * MICROS_PER_HOUR) == want.cpu, (identifier, code, start, "cpu")
            assert Fraction(got.ram, 10**6 * MICROS_PER_HOUR) == want.ram, (identifier, code, start, "ram")
            assert Fraction(got.disk, 10**6 * MICROS_PER_HOUR) == want.disk, (identifier, code, start, "disk")
            assert Fraction(got.instance, MICROS_PER_HOUR) == want.instance_hours, (identifier, code, start)
            assert (got.bytes_in, got.bytes_out) == (want.bytes_in, want.bytes_out), (identifier, code, start)
            assert got.peak == want.peak, (identifier, code, start, "peak")
