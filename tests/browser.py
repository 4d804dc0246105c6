"""Browser tests: Playwright driving Debian's chromium (tools.embedded.chromium_path), never skipped.

Playwright's sync API keeps an event loop running in the test's thread while a browser is open, which Django takes
for async code and refuses database calls from. So each browser test gets its own browser (about half a second),
and Django's check is lifted for that test only (DJANGO_ALLOW_ASYNC_UNSAFE): the test's own queries are plain
synchronous code; the server under test is another process with its own checks.

`page` is a fresh page per test; its screenshot is kept as a test artifact in test-artifacts/screenshots/ (the last
view of every browser test, passed or failed), so a reviewer sees what the browser saw.
"""

import os
import re
from pathlib import Path

import pytest

ARTIFACTS = Path(__file__).resolve().parents[1] / "test-artifacts" / "screenshots"


@pytest.fixture
def browser(monkeypatch):
    from playwright.sync_api import sync_playwright

    from tools.embedded import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    args = ["--host-resolver-rules=MAP *.localhost 127.0.0.1"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium refuses to run its sandbox as root
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=chromium_path(), args=args)
        yield browser
        browser.close()


@pytest.fixture
def page(browser, request):
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    page = context.new_page()
    yield page
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)
    context.close()
