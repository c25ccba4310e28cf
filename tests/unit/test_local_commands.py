"""``python -m local``: tokens, SAM-style parameter overrides, and the demo data it seeds."""

from __future__ import annotations

import re
from collections import Counter
from datetime import UTC, datetime, timedelta

import jwt
import pytest

from local.__main__ import main, parameter_overrides
from local.parameter_store import LOCAL_JWT_SECRET, local_secrets
from local.seed import BATCH_SIZE, DEMO_ORG, INTERVAL, OTHER_ORG, PROJECTS, batches, demo_samples
from tests.support.template import local_template

ID = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


def decode(token: str) -> dict[str, object]:
    claims: dict[str, object] = jwt.decode(
        token,
        LOCAL_JWT_SECRET,
        algorithms=["HS256"],
        audience="https://api.ocore.dev",
        issuer="https://auth.ocore.dev/",
    )
    return claims


def test_token_prints_a_local_jwt_on_its_last_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["token", "--org", "org_demo", "--scope", "usage:read  openid", "--ttl", "60"]) == 0
    claims = decode(capsys.readouterr().out.strip().splitlines()[-1])
    assert claims["org_id"] == "org_demo"
    assert claims["scope"] == "usage:read openid"
    assert claims["exp"] == claims["iat"] + 60  # type: ignore[operator]
    assert claims["nbf"] == claims["iat"]
    assert claims["sub"]


def test_service_tokens_carry_no_org(capsys: pytest.CaptureFixture[str]) -> None:
    main(["token", "--org", "", "--scope", "usage:write"])
    assert "org_id" not in decode(capsys.readouterr().out.strip().splitlines()[-1])


def test_tokens_follow_parameter_overrides(capsys: pytest.CaptureFixture[str]) -> None:
    main(["token", "--org", "o", "--parameter-overrides", "JwtAudience=https://other.example"])
    token = capsys.readouterr().out.strip().splitlines()[-1]
    assert jwt.decode(token, LOCAL_JWT_SECRET, algorithms=["HS256"], audience="https://other.example")["org_id"] == "o"


def test_parameter_overrides_in_both_sam_forms() -> None:
    assert parameter_overrides(["Stage=prod", "ParameterKey=JwksUrl,ParameterValue=https://x/a=b"]) == {
        "Stage": "prod",
        "JwksUrl": "https://x/a=b",
    }


def test_an_unknown_function_is_a_clear_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["invoke", "NoSuchFunction"]) == 2
    assert "RollupFunction" in capsys.readouterr().err


def test_ssm_gets_the_secrets_the_template_names() -> None:
    values = local_secrets(local_template())
    assert values["/ocore/usage/dev/jwt-secret"] == LOCAL_JWT_SECRET
    assert len(values["/ocore/usage/dev/pagination-key"]) >= 32


# ---------------------------------------------------------------- demo data


@pytest.fixture(scope="module")
def samples() -> list[dict[str, object]]:
    return demo_samples(datetime(2026, 11, 26, 10, 7, tzinfo=UTC))


def test_demo_samples_are_valid_ingest_samples(samples: list[dict[str, object]]) -> None:
    now = datetime(2026, 11, 26, 10, 7, tzinfo=UTC)
    keys = Counter((s["projectId"], s["sampleId"]) for s in samples)
    assert max(keys.values()) == 1
    for sample in samples:
        assert ID.match(str(sample["sampleId"])) and ID.match(str(sample["instanceId"]))
        start = datetime.fromisoformat(str(sample["intervalStart"]))
        seconds = sample["intervalSeconds"]
        assert isinstance(seconds, int) and 1 <= seconds <= 3600
        assert now - timedelta(days=35) <= start and start + timedelta(seconds=seconds) <= now
        for field in ("cpuCores", "ramGb", "diskGb"):
            assert 0 <= float(sample[field]) <= 1e6  # type: ignore[arg-type]
        for field in ("bandwidthInBytes", "bandwidthOutBytes"):
            assert isinstance(sample[field], int) and 0 <= sample[field] <= 10**15  # type: ignore[operator]


def test_demo_fleet_covers_two_weeks_and_changes(samples: list[dict[str, object]]) -> None:
    starts = sorted(datetime.fromisoformat(str(s["intervalStart"])) for s in samples)
    assert starts[-1] - starts[0] >= timedelta(days=13, hours=23)
    demo_projects = {p.project_id for p in PROJECTS if p.org_id == DEMO_ORG}
    assert 3 <= len(demo_projects) <= 4
    assert {p.org_id for p in PROJECTS} == {DEMO_ORG, OTHER_ORG}
    assert {s["projectId"] for s in samples} == {p.project_id for p in PROJECTS}
    instances = {(s["projectId"], s["instanceId"]) for s in samples}
    assert len(instances) > len(PROJECTS) * 2
    partial = [s for s in samples if s["intervalSeconds"] != INTERVAL.total_seconds()]
    assert partial  # some instances start or stop mid-interval
    assert len({s["cpuCores"] for s in samples}) > 10


def test_batches_hold_at_most_a_thousand(samples: list[dict[str, object]]) -> None:
    chunks = batches(samples)
    assert all(1 <= len(chunk) <= BATCH_SIZE for chunk in chunks)
    assert sum(len(chunk) for chunk in chunks) == len(samples)


def test_demo_samples_are_deterministic() -> None:
    at = datetime(2026, 11, 26, 10, 7, tzinfo=UTC)
    assert demo_samples(at) == demo_samples(at)
