"""Swagger UI and ReDoc in a real (headless) browser, against ``make run``'s server, offline.

Debian's ``chromium`` driven by Playwright (never ``playwright install``: the
browser is the system's). CI installs chromium (``.ci/run``); elsewhere the
test is skipped when it is missing. Any request the pages try to send off
this machine is blocked and fails the test: the docs must work without the
internet. Screenshots go to ``artifacts/``.
"""

from __future__ import annotations

import json
import os
import shutil
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import ConsoleMessage, Page, Request, Route, sync_playwright

from devtools.fuzz import dev_server, free_port

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
ARTIFACTS = Path(__file__).resolve().parent.parent / "artifacts"
LOCAL_HOSTS = {"127.0.0.1", "localhost"}
PASSWORD = "correct horse battery"
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

pytestmark = pytest.mark.browser

if not Path(CHROMIUM).exists():
    if os.environ.get("CI"):
        pytest.fail("CI must run the browser tests: .ci/run installs chromium", pytrace=False)
    pytest.skip("chromium is not installed (apt-get install chromium)", allow_module_level=True)


@pytest.fixture(scope="module")
def server() -> Iterator[str]:
    with dev_server(free_port(), ARTIFACTS / "browser-devserver.log") as url:
        yield url


@pytest.fixture(scope="module")
def browser_page(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Page, list[str]]]:
    """A page whose requests may go to this machine only.

    The others are refused and listed, with any breach of the pages' CSP.
    """
    blocked: list[str] = []
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path_factory.mktemp("chromium-profile")),
            executable_path=CHROMIUM,
            headless=True,
            args=CHROMIUM_ARGS,
            viewport={"width": 1280, "height": 1600},
        )

        def only_local(route: Route, request: Request) -> None:
            if urlsplit(request.url).hostname in LOCAL_HOSTS:
                route.continue_()
            else:
                blocked.append(request.url)
                route.abort()

        context.route("**/*", only_local)
        page = context.pages[0] if context.pages else context.new_page()

        # A page that breaks its own Content-Security-Policy says so on the console.
        # Images are the exception: ReDoc's attribution logo is on Redocly's CDN,
        # the policy refuses it on purpose, and ReDoc then leaves it out.
        def csp_breach(message: ConsoleMessage) -> None:
            text = message.text
            if "Content Security Policy" in text and "img-src" not in text:
                blocked.append(text)

        page.on("console", csp_breach)
        try:
            yield page, blocked
        finally:
            context.close()


def sign_up(url: str, name: str) -> None:
    payload = {
        "username": name,
        "first_name": "Ada",
        "last_name": "Lovelace",
        "phone_number": "+12345678901",
        "email": f"{name}@example.com",
        "password": PASSWORD,
    }
    request = urllib.request.Request(
        f"{url}/signup",
        data=json.dumps(payload).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        assert response.status == 200


def test_swagger_ui_authorizes_with_the_password_form_and_calls_users_me(
    server: str, browser_page: tuple[Page, list[str]]
) -> None:
    page, blocked = browser_page
    sign_up(server, "ada")
    page.goto(f"{server}/docs")
    page.wait_for_selector(".opblock-tag-section .opblock", timeout=30_000)

    page.click("button.authorize")
    page.fill("#oauth_username", "ada")
    page.fill("#oauth_password", PASSWORD)
    page.click(".auth-btn-wrapper button.authorize")
    page.wait_for_selector(".auth-btn-wrapper button.authorize:has-text('Logout')")
    page.click(".auth-btn-wrapper button.btn-done")

    me = page.locator("#operations-Users-read_me")
    me.locator(".opblock-summary").click()
    me.locator("button.try-out__btn").click()
    me.locator("button.execute").click()
    status = me.locator(".live-responses-table .response .response-col_status").first
    status.wait_for(timeout=30_000)
    assert status.inner_text().strip() == "200"
    response_body = me.locator(".live-responses-table .response-col_description pre").first
    shown = json.loads(response_body.inner_text())
    assert shown["username"] == "ada"
    assert "password" not in response_body.inner_text()

    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "docs.png"), full_page=True)
    assert not blocked, f"the docs page tried to leave the machine: {blocked}"


def test_redoc_renders_the_operations(server: str, browser_page: tuple[Page, list[str]]) -> None:
    page, blocked = browser_page
    page.goto(f"{server}/redoc")
    page.wait_for_selector("h2:has-text('Read my profile')", timeout=30_000)
    titles = page.locator("h2").all_inner_texts()
    for title in ("Signup", "Login", "List movies", "Rate a movie", "Add reply to comment"):
        assert title in titles
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / "redoc.png"))
    assert not blocked, f"the ReDoc page tried to leave the machine: {blocked}"
