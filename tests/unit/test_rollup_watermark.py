"""The rollup's watermark (WorkQueue.progress), on moto: every sample answered 202 before it is
counted in its project's series and in its org's, whatever stage the rollup is in.

The org series lag the project series by a stage: the project stage marks the org hours after it
has rolled the project hours and clears its own marks. The org marks carry the origin of the
project marks they come from, so a project shard that is already clean cannot move the watermark
past a sample that only the org stage still has to count.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto import mock_aws

from ocore_usage.domain.timeline import MICROS_PER_SECOND, Granularity, parse_rfc3339, to_micros
from ocore_usage.storage.heads import Progress
from ocore_usage.storage.keys import SeriesOwner, shard_of
from ocore_usage.storage.work import WorkQueue
from ocore_usage.usecases.freshness import RollupWatermark
from ocore_usage.usecases.rollup import NO_DEADLINE, RollupResult
from tests.support import samples as agents
from tests.support.pipeline import Clock, Pipeline
from tests.support.template import create_tables

NOW = "2026-11-26T02:30:00Z"
MINUTE = 60 * MICROS_PER_SECOND
PROJECTS = {"prj_a": "org_a", "prj_b": "org_a", "prj_c": "org_b"}


def sample(project_id: str, number: int, hour: int) -> dict[str, Any]:
    """A 5-minute sample whose bytes are its own bit, so a stored sum shows which samples it counts."""
    start = datetime(2026, 11, 25, 20, tzinfo=UTC) + timedelta(hours=hour, minutes=5 * (number % 11))
    return agents.sample(
        sampleId=f"s-{number}",
        projectId=project_id,
        instanceId=f"vm-{number % 3}",
        intervalStart=start.isoformat().replace("+00:00", "Z"),
        cpuCores=1,
        ramGb=1,
        diskGb=1,
        bandwidthInBytes=1 << number,
        bandwidthOutBytes=0,
    )


def roll_stage(pipeline: Pipeline, kind: SeriesOwner) -> None:
    """Roll only the project (or only the org) shards with work, as one worker stage would."""
    service = pipeline.rollup()
    for head in service.work.heads():
        if head.kind is kind and head.due(pipeline.clock.now):
            service._roll_shard(head, "stage-worker", RollupResult(), NO_DEADLINE, report=True)


def counted(pipeline: Pipeline, scope: SeriesOwner, identifier: str) -> dict[int, int]:
    """The bytes (a bitmask of samples) of each stored hour of a series."""
    series = pipeline.stored_series(scope, identifier, Granularity.HOUR)
    return {to_micros(hour): usage.bytes_in for hour, usage in series.items()}


def test_a_clean_project_stage_leaves_the_watermark_at_the_samples_the_org_stage_still_owes(dynamodb):
    pipeline = Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))
    pipeline.register("prj_a", "org_a")
    work = WorkQueue(pipeline.table("work"))
    # GIVEN a sample answered at t0, and the project stage run five minutes later
    received = pipeline.clock.now
    pipeline.send([sample("prj_a", 0, 3)])
    pipeline.clock.advance(5 * MINUTE)
    roll_stage(pipeline, SeriesOwner.PROJECT)
    # THEN the project shard is clean, but the org hour it marked carries the sample's origin
    heads = {(h.kind, h.shard): h for h in work.heads()}
    assert heads[(SeriesOwner.PROJECT, shard_of("prj_a"))].pending_origin == 0
    org_head = heads[(SeriesOwner.ORG, shard_of("org_a"))]
    assert org_head.pending_since >= received + 5 * MINUTE  # the lag metric: when the org work was marked
    assert received <= org_head.pending_origin <= received + MICROS_PER_SECOND  # the watermark: the sample
    assert received <= (work.progress().oldest_unrolled or 0) <= received + MICROS_PER_SECOND
    # WHEN the org stage runs THEN nothing is pending
    roll_stage(pipeline, SeriesOwner.ORG)
    progress = work.progress()
    assert progress.oldest_unrolled is None
    # AND the last shard left clean says since when: the org stage's last lap
    assert received + 5 * MINUTE < progress.last_rolled <= pipeline.clock.now


def test_the_reads_watermark_moves_only_when_the_rollup_does(dynamodb):
    pipeline = Pipeline(dynamodb, Clock(parse_rfc3339("2026-11-26T02:30:41Z")))
    watermark = RollupWatermark(WorkQueue(pipeline.table("work")), pipeline.clock, max_age=0)
    # nothing ever rolled, nothing pending: the time the heads were read, to the minute
    assert watermark.data_through() == parse_rfc3339("2026-11-26T02:30:00Z")
    # a sample pending: its time, until rolled
    pipeline.register("prj_a", "org_a")
    pipeline.clock.advance(2 * MINUTE)
    sent = pipeline.clock.now
    pipeline.send([sample("prj_a", 1, 5)])
    assert sent <= watermark.data_through() <= sent + MICROS_PER_SECOND
    # rolled: when the rollup last left a shard clean, and it stays there while nothing happens
    pipeline.clock.advance(MINUTE)
    rolled = pipeline.clock.now
    pipeline.roll_until_done()
    through = watermark.data_through()
    assert rolled < through <= pipeline.clock.now
    pipeline.clock.advance(30 * MINUTE)
    assert watermark.data_through() == through


def test_an_hour_marked_again_passes_its_first_sample_s_origin_on_to_the_org_stage(dynamodb):
    pipeline = Pipeline(dynamodb, Clock(parse_rfc3339(NOW)))
    pipeline.register("prj_a", "org_a")
    work = WorkQueue(pipeline.table("work"))
    # GIVEN three samples of one hour, each answered before the next is received: each ingest
    # writes the hour's mark again, so the mark keeps only the last one's origin
    answered = []
    for number in range(3):
        pipeline.send([sample("prj_a", number, 0)])
        answered.append(pipeline.clock.now)
        pipeline.clock.advance(MICROS_PER_SECOND)
    # WHEN only the project stage runs
    roll_stage(pipeline, SeriesOwner.PROJECT)
    # THEN the org stage still owes all three, and the watermark stays before the first answer
    assert counted(pipeline, SeriesOwner.ORG, "org_a") == {}
    oldest = work.progress().oldest_unrolled
    assert oldest is not None and oldest <= answered[0]


def test_the_reads_keep_the_heads_they_read_for_a_while():
    class Counting:
        reads = 0

        def progress(self) -> Progress:
            self.reads += 1
            return Progress(None, 0)

    clock, work = Clock(parse_rfc3339(NOW)), Counting()
    watermark = RollupWatermark(work, clock, max_age=10 * MICROS_PER_SECOND)
    watermark.data_through()
    clock.advance(9 * MICROS_PER_SECOND)
    watermark.data_through()
    assert work.reads == 1
    clock.advance(2 * MICROS_PER_SECOND)
    watermark.data_through()
    assert work.reads == 2


steps = st.lists(
    st.one_of(
        st.tuples(st.just("send"), st.sampled_from(sorted(PROJECTS)), st.integers(0, 5), st.integers(1, 3)),
        st.tuples(st.sampled_from(["projects", "orgs", "all"])),
        st.tuples(st.just("wait"), st.integers(1, 600)),
    ),
    min_size=1,
    max_size=14,
)


@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
@given(steps=steps)
def test_every_sample_received_before_the_watermark_is_in_every_series(steps):
    with mock_aws():
        client = boto3.client("dynamodb", region_name="us-east-1")
        create_tables(client)
        pipeline = Pipeline(client, Clock(parse_rfc3339(NOW)))
        for project_id, org_id in PROJECTS.items():
            pipeline.register(project_id, org_id)
        work = WorkQueue(pipeline.table("work"))
        received: list[tuple[int, str, int]] = []  # (answered at, project, sample number)
        number = 0
        for step in steps:
            # GIVEN samples sent, project and org stages run in any order, time passing
            match step:
                case ("send", project_id, hour, count):
                    batch = [sample(project_id, number + i, hour) for i in range(count)]
                    pipeline.send(batch)
                    received += [(pipeline.clock.now, project_id, number + i) for i in range(count)]
                    number += count
                case ("projects",):
                    roll_stage(pipeline, SeriesOwner.PROJECT)
                case ("orgs",):
                    roll_stage(pipeline, SeriesOwner.ORG)
                case ("all",):
                    pipeline.roll_until_done()
                case ("wait", seconds):
                    pipeline.clock.advance(seconds * MICROS_PER_SECOND)
            # WHEN the watermark is read
            checked = pipeline.clock.now
            progress = work.progress()
            if progress.oldest_unrolled is not None:
                watermark = progress.oldest_unrolled
            else:  # nothing pending: everything received before this check, or the last shard rolled
                assert progress.last_rolled <= checked
                watermark = checked
            # THEN each sample answered before it is in its project's hours and in its org's
            projects = {p: counted(pipeline, SeriesOwner.PROJECT, p) for p in PROJECTS}
            orgs = {o: counted(pipeline, SeriesOwner.ORG, o) for o in set(PROJECTS.values())}
            for answered, project_id, n in received:
                if answered >= watermark:
                    continue
                assert any(bits >> n & 1 for bits in projects[project_id].values()), (step, n, "project")
                assert any(bits >> n & 1 for bits in orgs[PROJECTS[project_id]].values()), (step, n, "org")
        # AND once everything is rolled, nothing is pending
        pipeline.roll_until_done()
        assert work.progress().oldest_unrolled is None
