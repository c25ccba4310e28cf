"""The demo chart of the local stack in headless Chromium: /demo/usage.html draws one bar per
record of GET /api/usage?period=daily, and the screenshot shows them painted."""

from __future__ import annotations

import io
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.error import HTTPError
from urllib.request import urlopen
from uuid import uuid4

import pytest
from PIL import Image
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support.ui import Select, WebDriverWait

from local.demo_chart import DEMO_CHART_PATH
from local.template import Template
from tests.support.browser import console_errors, headless_chromium, resources_loaded
from tests.support.samples import sample

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]

ORG = f"org_chart_{uuid4().hex[:8]}"  # an org of its own: the chart shows exactly these records
PROJECTS = {"prj_chart_a": "chart-a", "prj_chart_b": "chart-b"}
DAYS = 3
WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as driver:
        yield driver


@pytest.fixture(scope="module")
def usage(local_stack) -> None:
    """Two projects, one hour of samples on each of three consecutive days (24 h apart); only
    chart-a sends bytes out."""
    for project_id, name in PROJECTS.items():
        local_stack.register_project(project_id, ORG, name)
    hour = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)
    samples = [
        sample(
            sampleId=f"chart-{day}",
            projectId=project_id,
            instanceId="vm-1",
            intervalStart=(hour - timedelta(days=day)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            intervalSeconds=3600,
            cpuCores=2 * (index + 1) + day,
            ramGb=4,
            diskGb=10,
            bandwidthOutBytes=5000 if index == 0 else 0,
        )
        for index, project_id in enumerate(PROJECTS)
        for day in range(DAYS)
    ]
    response = local_stack.request(
        "POST", "/usage/samples", token=local_stack.token(scope="usage:write"), body={"samples": samples}
    )
    assert response.status == 202, response.body
    local_stack.rollup_until_done()


def daily_records(local_stack) -> list[dict[str, Any]]:
    """What the page reads: every page of GET /api/usage?period=daily for the org."""
    token, records, query = local_stack.token(org=ORG), [], {"period": "daily", "limit": "5000"}
    while True:
        page = local_stack.request("GET", "/usage", token=token, query=query).json()
        records += page["items"]
        if not page.get("nextToken"):
            return records
        query = {**query, "next_token": page["nextToken"]}


def bars(browser) -> list[dict[str, str]]:
    drawn: list[dict[str, str]] = browser.execute_script(
        "return [...document.querySelectorAll('#chart rect.bar')].map((bar) => ({project: bar.dataset.project,"
        " day: bar.dataset.day, value: bar.dataset.value, fill: bar.getAttribute('fill')}))"
    )
    return drawn


def test_make_dev_prints_the_chart_url(local_stack):
    assert f"demo chart: {local_stack.base_url}{DEMO_CHART_PATH}" in local_stack.log_text()


def test_the_chart_draws_one_bar_per_record_and_paints_them(local_stack, browser, usage):
    # GIVEN the chart page of the org
    browser.get(f"{local_stack.base_url}{DEMO_CHART_PATH}?org={ORG}")
    WebDriverWait(browser, WAIT_SECONDS).until(
        lambda b: b.find_element(By.TAG_NAME, "body").get_attribute("data-state") != "loading"
    )
    assert browser.find_element(By.TAG_NAME, "body").get_attribute("data-state") == "ready"

    # THEN it drew one bar per record the API answers, with the record's value (CPU core-hours)
    records = daily_records(local_stack)
    assert len(records) == len(PROJECTS) * DAYS
    drawn = bars(browser)
    assert sorted((b["project"], b["day"], float(b["value"])) for b in drawn) == sorted(
        (r["projectId"], r["periodStart"], float(r["cpuCoreHours"])) for r in records
    )

    # AND the screenshot of the chart shows each project's color over a bar's worth of pixels
    screenshot = Image.open(io.BytesIO(browser.find_element(By.ID, "chart").screenshot_as_png)).convert("RGB")
    pixels = Counter(screenshot.get_flattened_data())
    for fill in {b["fill"] for b in drawn}:
        color = tuple(int(fill[i : i + 2], 16) for i in (1, 3, 5))
        assert pixels[color] > 1000, (fill, pixels.most_common(5))

    # WHEN another metric is chosen THEN only the records with some of it get a bar
    Select(browser.find_element(By.ID, "metric")).select_by_value("bandwidthOutBytes")
    assert {b["project"] for b in bars(browser)} == {"prj_chart_a"}
    assert len(bars(browser)) == DAYS

    # AND the page used nothing but the stack (no CDN), without a console error
    assert all(url.startswith(local_stack.base_url) for url in resources_loaded(browser)), resources_loaded(browser)
    assert console_errors(browser) == []


def test_the_chart_is_the_runners_own_page_and_checks_its_org(local_stack):
    # the template routes nothing under /demo: the page never ships
    assert not [route for route in Template.load(ROOT / "template.yaml").routes if route.path.startswith("/demo")]
    with urlopen(f"{local_stack.base_url}{DEMO_CHART_PATH}", timeout=30) as page:
        assert page.status == 200 and page.headers["content-type"].startswith("text/html")
    with pytest.raises(HTTPError) as refused:
        urlopen(f"{local_stack.base_url}{DEMO_CHART_PATH}?org=no%20spaces", timeout=30)
    assert refused.value.code == 400
