import os
import shutil
from pathlib import Path

import pytest
from django.db import connections

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking"]


@pytest.fixture
def browser_page(monkeypatch):
    """A page in a headless Chromium, driven with Playwright's sync API."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} is missing: install it with `apt-get install -y chromium`")
    sync_api = pytest.importorskip("playwright.sync_api", reason="playwright is not installed (requirements-dev.txt)")
    # Playwright's sync API runs an event loop in this thread; the live server's ORM calls
    # happen in its own thread, but fixtures and assertions here use the ORM too.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_api.sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            page.set_default_timeout(15_000)
            yield page
        finally:
            browser.close()
            # While Playwright's loop runs, Django keeps this thread's connections apart (asgiref
            # locals follow the loop's context): close them here, or PostgreSQL keeps an idle
            # session open and the test database cannot be dropped.
            connections.close_all()


@pytest.fixture
def screenshot(tmp_path):
    """Save a full-page screenshot under the test's temp dir (and SCREENSHOT_DIR when set)."""

    def take(page, name: str) -> Path:
        path = tmp_path / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        if os.environ.get("SCREENSHOT_DIR"):
            target = Path(os.environ["SCREENSHOT_DIR"])
            target.mkdir(parents=True, exist_ok=True)
            shutil.copy(path, target / path.name)
        return path

    return take
