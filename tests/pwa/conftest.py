"""The driver app's browser: like tests/browser.py's `page`, but in a persistent (non-incognito) profile, because
Chrome does not offer to install an app from an incognito window (installability error `in-incognito`)."""

import os
import re

import pytest

from tests.browser import ARTIFACTS


@pytest.fixture
def app_page(monkeypatch, tmp_path, request):
    from playwright.sync_api import sync_playwright

    from tools.embedded import chromium_path

    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    args = ["--host-resolver-rules=MAP *.localhost 127.0.0.1"]
    if os.geteuid() == 0:
        args.append("--no-sandbox")  # chromium refuses to run its sandbox as root
    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),
            executable_path=chromium_path(),
            args=args,
            viewport={"width": 375, "height": 812},
            is_mobile=True,
            has_touch=True,
        )
        page = context.pages[0] if context.pages else context.new_page()
        yield page
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        name = re.sub(r"[^\w.-]+", "_", request.node.nodeid.split("::", 1)[-1])
        page.screenshot(path=str(ARTIFACTS / f"pwa-{name}.png"), full_page=True)
        context.close()
