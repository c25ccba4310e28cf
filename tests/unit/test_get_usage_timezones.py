"""``tz`` on the three GETs, through their Lambda handlers on moto, against the brute-force reference.

The world holds sparse hourly usage from February to November 2026, across the DST changes of
America/New_York (March 8, November 1), Europe/Berlin (March 29, October 25) and
Australia/Lord_Howe (30 minutes: April 5, October 4), and Asia/Kolkata's half-hour offset. The
reference (tests/support/read_reference.py) groups every UTC hour by the local date of its first
instant with zoneinfo: nothing of the zones module, the planner or the stored daily and monthly
buckets.
"""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from ocore_usage.domain.timeline import parse_rfc3339
from tests.support.read_api import ReadApi, WorldProject
from tests.support.read_reference import ReadReference
from tests.support.read_reference import instant as t

FIRST_HOUR = parse_rfc3339("2026-02-20T00:00:00Z")
HOURS = 24 * 265  # to 2026-11-12
NOW = "2026-11-12T02:30:00Z"
WORLD = [
    WorldProject("proj_a", "org_a", "Web shop", density=0.15),
    WorldProject("proj_b", "org_a", "Batch", density=0.05),
    WorldProject("proj_x", "org_b", "Other tenant", density=0.05),
]
ZONES = ["America/New_York", "Europe/Berlin", "Australia/Lord_Howe", "Asia/Kolkata"]


@pytest.fixture
def zoned(world: ReadReference) -> Iterator[Any]:
    """Sets the reference's zone for one test."""

    def use(tz: str | None) -> ReadReference:
        world.tz = tz
        return world

    yield use
    world.tz = None


RANGES = [
    # across spring DST changes (New York, Berlin, Lord Howe's end of summer time), clipped both ends
    ("daily", "2026-03-05T07:00:00Z", "2026-04-08T05:00:00Z"),
    # whole local days around the autumn changes (the dates are local midnights with tz)
    ("daily", "2026-10-01", "2026-11-05"),
    ("monthly", "2026-02-20T00:00:00Z", "2026-11-12T03:00:00Z"),
    ("monthly", "2026-03-01", "2026-05-01"),
]


def effective(api: ReadApi, query: dict[str, str], route: str = "usage", **kwargs: Any) -> tuple[int, int]:
    body = api.get(route, query, **kwargs).body
    return t(body["startDate"]), t(body["endDate"])


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize(("period", "start", "end"), RANGES)
def test_one_projects_local_buckets_equal_the_brute_force_reference(api, zoned, zone, period, start, end):
    # GIVEN a range at a period in a zone
    query = {"period": period, "start_date": start, "end_date": end, "tz": zone}
    # WHEN one project's usage is read
    answer = api.get("project", query, project_id="proj_a")
    # THEN each record is the hours whose local date (month) is its own, labelled with the local midnight
    assert answer.status == 200, answer.body
    first, last = t(answer.body["startDate"]), t(answer.body["endDate"])
    assert answer.body == zoned(zone).project_usage("proj_a", first, last, period)
    offsets = ("-05:00", "-04:00", "+01:00", "+02:00", "+10:30", "+11:00", "+05:30")
    assert all(item["periodStart"].endswith(offsets) for item in answer.body["items"])


@pytest.mark.parametrize("zone", ZONES)
@pytest.mark.parametrize("fill", ["none", "zero"])
def test_org_wide_local_buckets_and_org_totals_equal_the_reference(api, zoned, zone, fill):
    query = {"period": "daily", "start_date": "2026-03-25", "end_date": "2026-04-10", "tz": zone, "fill": fill}
    answer = api.get("usage", query)
    first, last = t(answer.body["startDate"]), t(answer.body["endDate"])
    assert answer.body == zoned(zone).org_usage("org_a", first, last, "daily", fill)


@pytest.mark.parametrize("zone", ZONES)
def test_totals_are_exactly_the_sum_of_the_local_buckets(api, zone):
    # GIVEN a month of local days across a DST change, every bucket listed (fill=zero)
    query = {"period": "daily", "start_date": "2026-03-20", "end_date": "2026-04-20", "tz": zone}
    body = api.get("project", query, project_id="proj_a").body
    items, totals = body["items"], body["totals"]
    # THEN byte counts add up exactly, the peak is the largest bucket's, and the hour figures add up
    # to within the rounding of each record to 6 decimals
    for field in ("bandwidthInBytes", "bandwidthOutBytes"):
        assert sum(item[field] for item in items) == totals[field]
    assert max(item["instanceCount"] for item in items) == totals["instanceCount"]
    for field in ("cpuCoreHours", "ramGbHours", "diskGbHours", "instanceHours"):
        assert abs(sum(item[field] for item in items) - totals[field]) <= Decimal("0.000001") * len(items)


@pytest.mark.parametrize(
    ("zone", "day", "first_hour", "hours", "label"),
    [
        ("Europe/Berlin", "2026-03-29", "2026-03-28T23:00:00Z", 23, "2026-03-29T00:00:00+01:00"),
        ("America/New_York", "2026-11-01", "2026-11-01T04:00:00Z", 25, "2026-11-01T00:00:00-04:00"),
        ("Australia/Lord_Howe", "2026-04-05", "2026-04-04T13:00:00Z", 25, "2026-04-05T00:00:00+11:00"),
        ("Australia/Lord_Howe", "2026-10-04", "2026-10-03T14:00:00Z", 23, "2026-10-04T00:00:00+10:30"),
        ("Asia/Kolkata", "2026-03-29", "2026-03-28T19:00:00Z", 24, "2026-03-29T00:00:00+05:30"),
    ],
)
def test_a_date_names_the_local_day(api, zoned, zone, day, first_hour, hours, label):
    # GIVEN a date-only range of one local day
    following = {"2026-03-29": "2026-03-30", "2026-11-01": "2026-11-02", "2026-04-05": "2026-04-06"}
    following |= {"2026-10-04": "2026-10-05"}
    query = {"period": "daily", "start_date": day, "end_date": following[day], "tz": zone}
    answer = api.get("project", query, project_id="proj_a")
    # THEN the range is that day's bucket: its UTC hours, 23, 24 or 25 of them
    start, end = t(answer.body["startDate"]), t(answer.body["endDate"])
    assert (answer.body["startDate"], (end - start) // 3_600_000_000) == (first_hour, hours)
    (item,) = answer.body["items"]
    assert item["periodStart"] == label
    assert answer.body == zoned(zone).project_usage("proj_a", start, end, "daily")


def test_instants_keep_their_meaning_with_tz(api):
    query = {"period": "hourly", "start_date": "2026-03-29T00:30:00+01:00", "end_date": "2026-03-29T05:00:00Z"}
    expected = (t("2026-03-28T23:00:00Z"), t("2026-03-29T05:00:00Z"))
    assert effective(api, {**query, "tz": "Asia/Kolkata"}) == effective(api, query) == expected


def test_hourly_buckets_stay_utc_hours(api):
    query = {"period": "hourly", "start_date": "2026-03-28T20:00:00Z", "end_date": "2026-03-29T04:00:00Z"}
    plain = api.get("project", query, project_id="proj_a").body
    for zone in ZONES:
        assert api.get("project", {**query, "tz": zone}, project_id="proj_a").body == plain


@pytest.mark.parametrize("route", ["project", "usage", "totals"])
def test_tz_utc_is_the_published_answer(api, route):
    query = {"start_date": "2026-03-01", "end_date": "2026-04-01", **({} if route == "totals" else {"period": "daily"})}
    in_utc = api.get(route, {**query, "tz": "UTC"}, project_id="proj_a")
    assert in_utc.text == api.get(route, query, project_id="proj_a").text


@pytest.mark.parametrize("route", ["project", "usage", "totals"])
@pytest.mark.parametrize("zone", ["Mars/Olympus_Mons", "europe/berlin", "Europe/Berlin%20", "localtime", "UTC+1", ""])
def test_an_unknown_zone_is_a_400_problem(api, route, zone):
    answer = api.get(route, {"tz": zone}, project_id="proj_a")
    assert (answer.status, answer.content_type) == (400, "application/problem+json")
    assert (answer.body["code"], answer.body["errors"][0]["field"]) == ("invalid_timezone", "tz")


# ---------------------------------------------------------------- defaults and longest ranges in the zone


@pytest.fixture
def at(api: ReadApi) -> Iterator[Any]:
    saved = api.clock.now

    def move(instant: str) -> None:
        api.clock.now = t(instant)

    yield move
    api.clock.now = saved


@pytest.mark.parametrize(
    ("now", "zone", "query", "start", "end"),
    [
        # daily: the local day 30 days before the day holding the end
        ("2026-03-29T12:30:00Z", "Europe/Berlin", {"period": "daily"}, "2026-02-26T23:00:00Z", "2026-03-29T13:00:00Z"),
        ("2026-03-29T12:30:00Z", None, {"period": "daily"}, "2026-02-27T00:00:00Z", "2026-03-29T13:00:00Z"),
        # monthly: the local month 11 months before the end's (April 2025 in Berlin began at +02:00)
        ("2026-03-29T12:30:00Z", "Europe/Berlin", {"period": "monthly"}, "2025-03-31T22:00:00Z",
         "2026-03-29T13:00:00Z"),
        # totals: the local month of the range's last hour; at 00:30 on April 1 in Berlin that is April
        ("2026-03-31T22:30:00Z", "Europe/Berlin", {}, "2026-03-31T22:00:00Z", "2026-03-31T23:00:00Z"),
        ("2026-03-31T22:30:00Z", None, {}, "2026-03-01T00:00:00Z", "2026-03-31T23:00:00Z"),
        # in Kolkata the hour 18:00-19:00Z starts at 23:30 on March 31: still March
        ("2026-03-31T18:40:00Z", "Asia/Kolkata", {}, "2026-02-28T19:00:00Z", "2026-03-31T19:00:00Z"),
        ("2026-03-31T19:10:00Z", "Asia/Kolkata", {}, "2026-03-31T19:00:00Z", "2026-03-31T20:00:00Z"),
        ("2026-04-05T15:10:00Z", "Australia/Lord_Howe", {"period": "daily"}, "2026-03-06T13:00:00Z",
         "2026-04-05T16:00:00Z"),
    ],
)  # fmt: skip
def test_defaults_follow_the_zones_calendar(api, at, now, zone, query, start, end):
    at(now)
    route = "usage" if query else "totals"
    assert effective(api, {**query, **({"tz": zone} if zone else {})}, route) == (t(start), t(end))


def test_the_longest_daily_range_counts_local_days(api):
    # 1,830 local days in Lord Howe, from a summer day start (00:00 +11:00) to a winter one (00:30 +10:30)
    query = {"period": "daily", "start_date": "2026-04-04", "end_date": "2031-04-08", "limit": "1", "fill": "none"}
    assert api.get("project", {**query, "tz": "Australia/Lord_Howe"}, project_id="proj_a").status == 200
    # the same instants without tz are one hour longer than 1,830 UTC days
    start, end = "2026-04-03T13:00:00Z", "2031-04-07T14:00:00Z"
    answer = api.get("project", {**query, "start_date": start, "end_date": end}, project_id="proj_a")
    assert (answer.status, answer.body["code"]) == (400, "range_too_large")
    # and one more local day is too long in the zone too
    longer = {**query, "end_date": "2031-04-09", "tz": "Australia/Lord_Howe"}
    assert api.get("project", longer, project_id="proj_a").body["code"] == "range_too_large"


def test_the_longest_monthly_range_counts_local_months(api):
    # (an org without usage: the range's rule is what is tested, not ten years of reads)
    query = {"period": "monthly", "start_date": "2026-04-01", "end_date": "2036-04-01", "tz": "Europe/Berlin"}
    answer = api.get("usage", query, org_id="org_empty")
    assert answer.status == 200
    assert (answer.body["startDate"], answer.body["endDate"]) == ("2026-03-31T22:00:00Z", "2036-03-31T22:00:00Z")
    longer = api.get("usage", {**query, "end_date": "2036-04-02"}, org_id="org_empty")
    assert longer.body["code"] == "range_too_large"


# ---------------------------------------------------------------- pages


def test_pages_in_a_zone_concatenate_and_their_tokens_are_bound_to_it(api, zoned):
    query = {"period": "daily", "start_date": "2026-03-20", "end_date": "2026-04-10", "tz": "Asia/Kolkata"}
    whole = api.get("usage", {**query, "fill": "zero"}).body
    items, token = [], None
    while True:
        page = api.get("usage", {**query, "fill": "zero", "limit": "7", **({"next_token": token} if token else {})})
        items += page.body["items"]
        token = page.body.get("nextToken")
        if token is None:
            break
        # a token of this zone serves no other zone, nor the published calendar
        for other in ({**query, "tz": "Europe/Berlin"}, {k: v for k, v in query.items() if k != "tz"}):
            refused = api.get("usage", {**other, "fill": "zero", "limit": "7", "next_token": token})
            assert (refused.status, refused.body["code"]) == (400, "invalid_token")
    assert items == whole["items"]
    first, last = t(whole["startDate"]), t(whole["endDate"])
    assert whole == zoned("Asia/Kolkata").org_usage("org_a", first, last, "daily", "zero")


def test_a_token_of_the_published_calendar_serves_tz_utc(api):
    query = {"period": "daily", "start_date": "2026-03-01", "end_date": "2026-03-10", "limit": "3"}
    token = api.get("project", query, project_id="proj_a").body["nextToken"]
    answer = api.get("project", {**query, "tz": "UTC", "next_token": token}, project_id="proj_a")
    assert answer.status == 200 and answer.body["items"][0]["periodStart"] == "2026-03-04T00:00:00Z"
