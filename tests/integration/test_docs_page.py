"""The API docs page in headless Chromium, served by the local stack: GET /api/docs lists every
operation of docs/openapi.json, loads nothing from another origin, and "Try it out" with a reader
token calls the stack that serves the page and shows its 200."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from selenium import webdriver
from selenium.webdriver.common.by import By
from selenium.webdriver.support import expected_conditions as until
from selenium.webdriver.support.ui import WebDriverWait

from tests.support.browser import console_errors, headless_chromium, resources_loaded

pytestmark = pytest.mark.integration

ROOT = Path(__file__).resolve().parents[2]
WAIT_SECONDS = 30


@pytest.fixture(scope="module")
def browser() -> Iterator[webdriver.Chrome]:
    with headless_chromium() as driver:
        yield driver


def test_the_document_is_docs_openapi_json(local_stack):
    response = local_stack.request("GET", "/openapi.json")  # no token: the docs are public
    assert response.status == 200
    assert response.headers["content-type"] == "application/json"
    assert response.body == (ROOT / "docs" / "openapi.json").read_bytes()
    document = json.loads(response.body)
    assert document["servers"][0]["url"] == "/api"  # "Try it out" calls the origin serving the page
    assert document["components"]["securitySchemes"]["bearerAuth"]["scheme"] == "bearer"


def test_the_page_and_its_assets_are_public_and_an_unknown_asset_is_404(local_stack):
    for path, content_type in [
        ("/docs", "text/html"),
        ("/docs/swagger-ui-bundle.js", "text/javascript"),
        ("/docs/swagger-ui.css", "text/css"),
        ("/docs/docs.js", "text/javascript"),
    ]:
        response = local_stack.request("GET", path)
        assert response.status == 200, path
        assert response.headers["content-type"].startswith(content_type), path
    assert local_stack.request("GET", "/docs/../../template.yaml").status == 404
    assert local_stack.request("GET", "/docs/swagger-initializer.js").status == 404


def test_the_page_lists_every_operation_and_tries_one_out(local_stack, browser):
    # GIVEN the docs page of the running stack
    browser.get(f"{local_stack.api_url}/docs")
    wait = WebDriverWait(browser, WAIT_SECONDS)
    wait.until(until.presence_of_element_located((By.CSS_SELECTOR, "#operations-default-getUsageTotals")))

    # THEN it lists the document's operations: the three reads and the ingest
    listed = {
        (block.find_element(By.CSS_SELECTOR, ".opblock-summary-method").text, block.get_attribute("id"))
        for block in browser.find_elements(By.CSS_SELECTOR, ".opblock")
    }
    assert listed == {
        ("GET", "operations-default-getProjectUsage"),
        ("GET", "operations-default-getUsage"),
        ("GET", "operations-default-getUsageTotals"),
        ("POST", "operations-default-postUsageSamples"),
    }
    paths = {
        element.get_attribute("data-path")
        for element in browser.find_elements(By.CSS_SELECTOR, ".opblock-summary-path")
    }
    assert paths == {"/projects/{id}/usage", "/usage", "/usage/totals", "/usage/samples"}

    # WHEN a reader of org_demo authorizes with its bearer token
    browser.find_element(By.CSS_SELECTOR, ".auth-wrapper button.authorize").click()
    token_input = wait.until(until.element_to_be_clickable((By.CSS_SELECTOR, ".auth-container input")))
    token_input.send_keys(local_stack.token(org="org_demo", scope="usage:read"))
    browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper button.authorize").click()
    browser.find_element(By.CSS_SELECTOR, ".auth-btn-wrapper button.btn-done").click()

    # AND tries out GET /usage/totals
    operation = browser.find_element(By.ID, "operations-default-getUsageTotals")
    operation.find_element(By.CSS_SELECTOR, ".opblock-summary-control").click()
    wait.until(lambda _: operation.find_element(By.CSS_SELECTOR, ".try-out__btn")).click()
    wait.until(lambda _: operation.find_element(By.CSS_SELECTOR, "button.execute")).click()

    # THEN the page called this stack (the document's relative server) and shows the 200 and its body
    status = wait.until(
        lambda _: operation.find_element(By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_status")
    )
    assert status.text.strip() == "200"
    request_url = operation.find_element(By.CSS_SELECTOR, ".request-url pre").text
    assert request_url.partition("?")[0] == f"{local_stack.api_url}/usage/totals"  # with the defaults filled in
    body = operation.find_element(
        By.CSS_SELECTOR, ".live-responses-table tr.response .response-col_description pre"
    ).text
    assert '"totals"' in body

    # AND everything came from the stack itself (no CDN), without a console error
    assert all(url.startswith(local_stack.base_url) for url in resources_loaded(browser)), resources_loaded(browser)
    assert console_errors(browser) == []
