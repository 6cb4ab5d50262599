"""Browser-test fixtures shared by the web app's and the console's tests: a headless
Chromium (Debian's chromium, driven by Playwright), pages signed in as someone, and
screenshots (into docs/ui/ with ``UI_SCREENSHOTS=1``, as ``make screenshots`` runs them;
otherwise into a scratch folder, so a test run leaves the checkout as it was). The suite's
conftest loads it as a plugin, so a session has one Chromium."""

import os
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from notices_api.accounts.models import User
from notices_api.web import views

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
DOCS_SCREENSHOTS = Path(__file__).resolve().parents[5] / "docs" / "ui"
SCREENSHOTS = (
    DOCS_SCREENSHOTS
    if os.environ.get("UI_SCREENSHOTS") == "1"
    else Path(tempfile.gettempdir()) / "notices-ui-screenshots"
)
DESKTOP: ViewportSize = {"width": 1200, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

PageFor = Callable[..., Page]


def save_screenshot(page: Page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=True)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: make setup installs it (apt-get install -y chromium)")
    # Playwright's sync API runs an event loop in this thread; Django would take the test's
    # own (synchronous) database calls for calls from async code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def page_for(
    browser: Browser, live_server: object, monkeypatch: pytest.MonkeyPatch
) -> Iterator[PageFor]:
    """A page in a fresh browser context, signed in as ``user`` through a real session
    (``user=None``: signed out)."""
    # Every page streams the unread count; short streams let the live server's threads end
    # (and leave the test database) soon after their page closes.
    monkeypatch.setattr(views, "STREAM_SECONDS", 6.0)
    monkeypatch.setattr(views, "POLL_SECONDS", 0.5)
    contexts = []

    def open_page(user: User | None, *, viewport: ViewportSize = DESKTOP) -> Page:
        context = browser.new_context(viewport=viewport, base_url=str(live_server))
        if user is not None:
            client = Client()
            client.force_login(user)
            context.add_cookies(
                [
                    {
                        "name": settings.SESSION_COOKIE_NAME,
                        "value": client.cookies[settings.SESSION_COOKIE_NAME].value,
                        "url": str(live_server),
                    }
                ]
            )
        context.set_default_timeout(10_000)
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()
