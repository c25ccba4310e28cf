"""Page tokens: opaque, bound to org, endpoint and parameters, tamper-proof; the key from SSM."""

from __future__ import annotations

import random
from collections.abc import Iterator

import boto3
import pytest
from aws_lambda_powertools.utilities import parameters
from aws_lambda_powertools.utilities.parameters.constants import DEFAULT_PROVIDERS
from hypothesis import given, settings
from hypothesis import strategies as st

from ocore_usage import wiring
from ocore_usage.api.pagination import PageTokens, parse_keys, ssm_key_source
from ocore_usage.domain.planner import TimeRange
from ocore_usage.domain.problems import Problem, ProblemCode
from ocore_usage.domain.timeline import MICROS_PER_HOUR, Granularity, parse_rfc3339
from ocore_usage.storage.keys import SeriesOwner
from ocore_usage.storage.projects import Project
from ocore_usage.usecases.reports.paging import PageBinding, PageState, Position
from tests.support.read_api import StaticKey, api_event, call, deployed_functions, random_usage

BINDING = PageBinding("org_a", "GET /usage", {"period": "daily", "start_date": None, "fill": None})
STATE = PageState(
    TimeRange(parse_rfc3339("2026-10-01T00:00:00Z"), parse_rfc3339("2026-11-01T00:00:00Z")),
    Position("proj_b", parse_rfc3339("2026-10-07T00:00:00Z")),
)


def test_a_token_round_trips_its_state():
    tokens = PageTokens(StaticKey())
    assert tokens.open(BINDING, tokens.issue(BINDING, STATE)) == STATE


def test_a_token_is_url_safe_and_short():
    token = PageTokens(StaticKey()).issue(BINDING, STATE)
    assert len(token) < 200 and all(c.isalnum() or c in "-_." for c in token)


@pytest.mark.parametrize(
    "other",
    [
        PageBinding("org_b", "GET /usage", BINDING.parameters),
        PageBinding("org_a", "GET /projects/proj_b/usage", BINDING.parameters),
        PageBinding("org_a", "GET /usage", {**BINDING.parameters, "period": "hourly"}),
        PageBinding("org_a", "GET /usage", {**BINDING.parameters, "project_id": "proj_b"}),
    ],
)
def test_a_token_serves_only_its_own_binding(other):
    tokens = PageTokens(StaticKey())
    with pytest.raises(Problem) as raised:
        tokens.open(other, tokens.issue(BINDING, STATE))
    assert raised.value.code is ProblemCode.INVALID_TOKEN


# ---------------------------------------------------------------- rotating the key


def test_after_rotation_a_token_of_the_previous_key_still_pages():
    # GIVEN a token minted before the rotation, with the old key alone
    token = PageTokens(StaticKey(b"old key")).issue(BINDING, STATE)
    # WHEN the parameter holds the new key first and the old one after it
    rotated = PageTokens(StaticKey(b"new key", older=(b"old key",)))
    # THEN the old token still opens, and new tokens are signed with the new key only
    assert rotated.open(BINDING, token) == STATE
    fresh = rotated.issue(BINDING, STATE)
    assert PageTokens(StaticKey(b"new key")).open(BINDING, fresh) == STATE
    with pytest.raises(Problem):
        PageTokens(StaticKey(b"old key")).open(BINDING, fresh)


@pytest.mark.parametrize(
    ("signer", "holder"),
    [
        (StaticKey(b"another key"), StaticKey()),
        (StaticKey(b"retired key"), StaticKey(b"new key", older=(b"old key",))),
        (StaticKey(b"old key"), StaticKey(b"new key")),
    ],
    ids=["signed-with-another-key", "of-neither-key", "old-key-dropped"],
)
def test_a_token_of_no_key_in_hand_is_invalid(signer, holder):
    token = PageTokens(signer).issue(BINDING, STATE)
    with pytest.raises(Problem) as raised:
        PageTokens(holder).open(BINDING, token)
    assert raised.value.code is ProblemCode.INVALID_TOKEN


@pytest.mark.parametrize(
    ("value", "keys"),
    [
        ("s3cret", (b"s3cret",)),
        ("new-key\nold-key", (b"new-key", b"old-key")),
        ("  new-key \r\n\n old-key\n", (b"new-key", b"old-key")),
    ],
)
def test_the_parameter_holds_one_key_per_line(value, keys):
    assert parse_keys(value) == keys


def test_a_parameter_without_a_key_is_a_fault_not_an_open_door():
    with pytest.raises(ValueError):
        parse_keys(" \n ")


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_any_alteration_of_a_token_is_refused(data):
    tokens = PageTokens(StaticKey())
    token = tokens.issue(BINDING, STATE)
    index = data.draw(st.integers(0, len(token) - 1))
    replacement = data.draw(st.text(min_size=0, max_size=3).filter(lambda r: r != token[index]))
    altered = token[:index] + replacement + token[index + 1 :]
    with pytest.raises(Problem) as raised:
        tokens.open(BINDING, altered)
    assert raised.value.code is ProblemCode.INVALID_TOKEN


@settings(max_examples=200, deadline=None)
@given(garbage=st.text(max_size=300))
def test_garbage_is_an_invalid_token_never_a_crash(garbage):
    with pytest.raises(Problem) as raised:
        PageTokens(StaticKey()).open(BINDING, garbage)
    assert raised.value.code is ProblemCode.INVALID_TOKEN


# ---------------------------------------------------------------- the key in SSM, the real wiring


@pytest.fixture
def deployed(monkeypatch) -> Iterator[object]:
    with deployed_functions(monkeypatch) as client:
        yield client


def test_the_key_comes_from_ssm_decrypted_and_cached(deployed, monkeypatch):
    requests = []
    ssm = boto3.client("ssm", region_name="us-east-1")
    ssm.meta.events.register("provide-client-params.ssm.GetParameter", lambda params, **_: requests.append(params))
    monkeypatch.setitem(DEFAULT_PROVIDERS, "ssm", parameters.SSMProvider(boto3_client=ssm))
    fetch = ssm_key_source("/ocore/usage/test/pagination-key")
    assert fetch() == fetch() == (b"s3cret-page-key",)
    # one request, decrypting; the second read came from the 300 s cache
    assert requests == [{"Name": "/ocore/usage/test/pagination-key", "WithDecryption": True}]


def test_the_handlers_page_with_the_deployed_wiring(deployed):
    from functions.get_usage import app

    # GIVEN a project with five busy hours, stored through the functions' own wiring
    wiring.tables().project_repository.put_if_newer(Project("proj_a", "org_a", "Web shop"))
    hour, rng = parse_rfc3339("2026-11-20T00:00:00Z"), random.Random(1)
    hours = {hour + i * MICROS_PER_HOUR: random_usage(rng) for i in range(5)}
    wiring.tables().rollup_repository.write_series(SeriesOwner.PROJECT, "proj_a", Granularity.HOUR, hours)
    wiring.tables().rollup_repository.note_usage_months("org_a", "proj_a", [parse_rfc3339("2026-11-01T00:00:00Z")])
    # WHEN the org's usage is read two records at a time
    query = {"period": "hourly", "start_date": "2026-11-20", "end_date": "2026-11-20T05:00:00Z", "limit": "2"}
    first = call(app.lambda_handler, api_event("usage", query))
    token = first.body["nextToken"]
    second = call(app.lambda_handler, api_event("usage", {**query, "next_token": token}))
    replayed = call(app.lambda_handler, api_event("usage", {**query, "next_token": token}, org_id="org_b"))
    # THEN the token signed with the SSM key carries the next page, and only for its org
    assert first.status == 200 and len(first.body["items"]) == 2
    assert second.status == 200 and second.body["items"][0]["periodStart"] == "2026-11-20T02:00:00Z"
    assert (replayed.status, replayed.body["code"]) == (400, "invalid_token")


def test_rotating_the_key_in_ssm_keeps_paging_in_progress(deployed):
    from functions.get_usage import app

    # GIVEN a first page whose token was signed with the key in SSM
    wiring.tables().project_repository.put_if_newer(Project("proj_a", "org_a", "Web shop"))
    hour, rng = parse_rfc3339("2026-11-20T00:00:00Z"), random.Random(2)
    hours = {hour + i * MICROS_PER_HOUR: random_usage(rng) for i in range(3)}
    wiring.tables().rollup_repository.write_series(SeriesOwner.PROJECT, "proj_a", Granularity.HOUR, hours)
    wiring.tables().rollup_repository.note_usage_months("org_a", "proj_a", [parse_rfc3339("2026-11-01T00:00:00Z")])
    query = {"period": "hourly", "start_date": "2026-11-20", "end_date": "2026-11-20T03:00:00Z", "limit": "1"}
    token = call(app.lambda_handler, api_event("usage", query)).body["nextToken"]
    # WHEN the key rotates: the new key first, the old one kept on the second line
    ssm = boto3.client("ssm", region_name="us-east-1")
    name = "/ocore/usage/test/pagination-key"
    ssm.put_parameter(Name=name, Value="n3w-page-key\ns3cret-page-key", Type="SecureString", Overwrite=True)
    parameters.clear_caches()
    second = call(app.lambda_handler, api_event("usage", {**query, "next_token": token}))
    # THEN the old token still pages, and the next one is signed with the new key
    assert second.status == 200 and second.body["items"][0]["periodStart"] == "2026-11-20T01:00:00Z"
    assert PageTokens(lambda: (b"n3w-page-key",)).open(
        PageBinding("org_a", "GET /usage", _binding_parameters(query)), second.body["nextToken"]
    )
    # and once the old line is dropped, its tokens are invalid
    ssm.put_parameter(Name=name, Value="n3w-page-key", Type="SecureString", Overwrite=True)
    parameters.clear_caches()
    stale = call(app.lambda_handler, api_event("usage", {**query, "next_token": token}))
    assert (stale.status, stale.body["code"]) == (400, "invalid_token")


def _binding_parameters(query: dict[str, str]) -> dict[str, object]:
    from ocore_usage.api.queries import UsageQuery, read_parameters

    values = read_parameters(UsageQuery, query).values()
    return {name: value for name, value in values.items() if name not in {"limit", "next_token", "format", "tz"}}
