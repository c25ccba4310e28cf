"""Query parameters of the read routes: every error code with a request that triggers it, the
defaults of each period, and no input that produces a 5xx."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from ocore_usage.api.queries import resolve_range
from ocore_usage.domain.periods import Period
from ocore_usage.domain.problems import Problem, ProblemCode
from tests.support.read_api import WorldProject
from tests.support.read_reference import instant as t
from tests.support.read_reference import iso, to_us

FIRST_HOUR = to_us(datetime(2026, 11, 20, tzinfo=UTC))
HOURS = 24 * 7
WORLD = [WorldProject("proj_a", "org_a", "Web shop", density=0.3)]


ERRORS = [
    # (route, query, code, status)
    ("usage", [("period", "weekly")], "invalid_period", 400),
    ("usage", [("period", "")], "invalid_period", 400),
    ("usage", [("period", "Daily")], "invalid_period", 400),
    ("project", [("period", "total")], "invalid_period", 400),
    ("usage", [("start_date", "2026-13-01")], "invalid_date", 400),
    ("usage", [("start_date", "yesterday")], "invalid_date", 400),
    ("usage", [("start_date", "2026-11-01T00:00:00")], "invalid_date", 400),  # no offset
    ("usage", [("end_date", "2026-11-01 00:00:00Z")], "invalid_date", 400),
    ("usage", [("end_date", "0001-01-01T00:00:00+01:00")], "invalid_date", 400),
    ("usage", [("end_date", "9999-12-31T23:59:59Z")], "invalid_date", 400),
    ("totals", [("start_date", "2026-02-30")], "invalid_date", 400),
    ("usage", [("start_date", "2026-11-02"), ("end_date", "2026-11-01")], "invalid_range", 400),
    ("usage", [("start_date", "2026-11-01"), ("end_date", "2026-11-01")], "invalid_range", 400),
    ("usage", [("start_date", "2027-01-01")], "invalid_range", 400),  # after the default end (now)
    ("totals", [("start_date", "2026-11-01T00:00:00Z"), ("end_date", "2026-11-01T00:00:00Z")], "invalid_range", 400),
    ("usage", [("perid", "daily")], "unknown_parameter", 400),
    ("project", [("period", "daily"), ("startDate", "2026-11-01")], "unknown_parameter", 400),
    ("usage", [("period", "hourly"), ("start_date", "2026-08-01"), ("end_date", "2026-11-03")], "range_too_large", 400),
    ("usage", [("period", "daily"), ("start_date", "2020-01-01"), ("end_date", "2025-01-06")], "range_too_large", 400),
    (
        "usage",
        [("period", "monthly"), ("start_date", "2016-11-01"), ("end_date", "2026-11-01T01:00:00Z")],
        "range_too_large",
        400,
    ),
    ("totals", [("start_date", "2016-01-01"), ("end_date", "2026-01-01T01:00:00Z")], "range_too_large", 400),
    ("usage", [("next_token", "not-a-token")], "invalid_token", 400),
    ("usage", [("next_token", "")], "invalid_token", 400),
    ("usage", [("limit", "0")], "invalid_limit", 400),
    ("usage", [("limit", "5001")], "invalid_limit", 400),
    ("usage", [("limit", "ten")], "invalid_limit", 400),
    ("usage", [("limit", "-1")], "invalid_limit", 400),
    ("usage", [("limit", "1.5")], "invalid_limit", 400),
    ("usage", [("period", "daily"), ("period", "daily")], "validation_error", 400),
    ("project", [("limit", "5"), ("limit", "6")], "validation_error", 400),
    ("usage", [("fill", "some")], "validation_error", 400),
    ("usage", [("project_id", "proj_elsewhere")], "project_not_found", 404),
]


@pytest.mark.parametrize(("route", "query", "code", "status"), ERRORS)
def test_each_bad_request_gets_its_code_as_problem_json(api, route, query, code, status):
    answer = api.get(route, query)
    assert (answer.status, answer.body["code"]) == (status, code), answer.body
    assert answer.content_type == "application/problem+json"
    assert set(answer.body) <= {"type", "title", "status", "detail", "code", "errors"}
    assert answer.body["status"] == status and answer.body["type"].endswith(code.replace("_", "-"))


def test_unknown_parameters_are_all_named(api):
    answer = api.get("usage", [("perid", "daily"), ("strat_date", "x"), ("period", "daily")])
    assert answer.body["code"] == "unknown_parameter"
    assert [e["field"] for e in answer.body["errors"]] == ["perid", "strat_date"]
    assert "perid" in answer.body["detail"] and "strat_date" in answer.body["detail"]


def test_a_repeated_parameter_is_found_in_the_raw_query_string(api):
    # API Gateway joins repeated values with commas; only rawQueryString shows the repetition
    answer = api.get("usage", [("period", "daily"), ("period", "hourly")])
    assert answer.body["errors"] == [{"field": "period", "message": "given more than once"}]


def test_every_bad_value_is_listed(api):
    answer = api.get("usage", [("period", "weekly"), ("start_date", "x"), ("limit", "0")])
    assert answer.body["code"] == "invalid_period"
    assert [e["field"] for e in answer.body["errors"]] == ["period", "start_date", "limit"]


def test_a_missing_scope_is_403(api):
    answer = api.get("usage", scopes="usage:write")
    assert (answer.status, answer.body["code"]) == (403, "insufficient_scope")


def test_an_unexpected_fault_is_a_500_problem_with_the_request_id_and_no_trace(api, monkeypatch):
    def broken(*args, **kwargs):
        raise RuntimeError("table gone: secret internals")

    monkeypatch.setattr(api.reports.rollups, "read_series", broken)
    answer = api.get("usage", {"period": "daily"}, request_id="req-fault-1")
    assert (answer.status, answer.body["code"], answer.body["requestId"]) == (500, "internal_error", "req-fault-1")
    assert "secret" not in answer.text and "Traceback" not in answer.text


@pytest.mark.parametrize(
    ("period", "now", "start", "end"),
    [
        ("hourly", "2026-11-26T02:30:00Z", "2026-11-25T03:00:00Z", "2026-11-26T03:00:00Z"),
        ("hourly", "2026-11-26T02:00:00Z", "2026-11-25T02:00:00Z", "2026-11-26T02:00:00Z"),
        ("daily", "2026-11-26T02:30:00Z", "2026-10-27T00:00:00Z", "2026-11-26T03:00:00Z"),
        ("monthly", "2026-11-26T02:30:00Z", "2025-12-01T00:00:00Z", "2026-11-26T03:00:00Z"),
        ("monthly", "2026-03-31T23:10:00Z", "2025-05-01T00:00:00Z", "2026-04-01T00:00:00Z"),
        ("total", "2026-11-26T02:30:00Z", "2026-11-01T00:00:00Z", "2026-11-26T03:00:00Z"),
        ("total", "2026-11-01T00:00:00Z", "2026-10-01T00:00:00Z", "2026-11-01T00:00:00Z"),
    ],
)
def test_default_ranges(period, now, start, end):
    time_range = resolve_range(None, None, Period(period), t(now))
    assert (iso(time_range.start), iso(time_range.end)) == (start, end)


def test_defaults_follow_an_explicit_end_and_dates_widen_to_whole_hours():
    daily = resolve_range(None, t("2026-11-10T12:30:00+02:00"), Period.DAILY, t("2030-01-01"))
    assert (iso(daily.start), iso(daily.end)) == ("2026-10-11T00:00:00Z", "2026-11-10T11:00:00Z")
    widened = resolve_range(t("2026-11-10T10:59:59.999999Z"), t("2026-11-10T11:00:00.000001Z"), Period.HOURLY, 0)
    assert (iso(widened.start), iso(widened.end)) == ("2026-11-10T10:00:00Z", "2026-11-10T12:00:00Z")


@pytest.mark.parametrize(
    ("period", "start", "end", "fits"),
    [
        ("hourly", "2026-01-01", "2026-04-04", True),  # 93 days
        ("hourly", "2026-01-01", "2026-04-04T01:00:00Z", False),
        ("daily", "2020-01-01", "2025-01-04", True),  # 1,830 days
        ("daily", "2020-01-01", "2025-01-04T01:00:00Z", False),
        ("monthly", "2016-11-01", "2026-11-01", True),  # 120 months
        ("monthly", "2016-11-15T05:00:00Z", "2026-11-15T05:00:00Z", True),
        ("monthly", "2016-11-15T05:00:00Z", "2026-11-15T06:00:00Z", False),
        ("total", "2016-02-29", "2026-02-28", True),
        ("total", "2016-02-29", "2026-02-28T01:00:00Z", False),
    ],
)
def test_longest_ranges(period, start, end, fits):
    try:
        resolve_range(t(start), t(end), Period(period), t("2030-01-01"))
    except Problem as problem:
        assert problem.code is ProblemCode.RANGE_TOO_LARGE and not fits
    else:
        assert fits


NAMES = st.sampled_from(["period", "start_date", "end_date", "fill", "limit", "next_token", "project_id", "x", ""])
VALUES = st.one_of(
    st.sampled_from(["hourly", "daily", "monthly", "zero", "none", "2026-11-20", "2026-11-21T05:00:00+05:00", "1"]),
    st.text(max_size=40),
    st.integers(-(10**20), 10**20).map(str),
    st.datetimes().map(lambda d: d.isoformat() + "Z"),
)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(
    route=st.sampled_from(["project", "usage", "totals"]),
    query=st.lists(st.tuples(NAMES, VALUES), max_size=5),
    project_id=st.text(max_size=70),
)
def test_no_input_produces_a_5xx(api, route, query, project_id):
    answer = api.get(route, query, project_id=project_id or "proj_a")
    assert answer.status in (200, 400, 404), answer.body
