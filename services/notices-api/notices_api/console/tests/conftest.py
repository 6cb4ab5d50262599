"""Fixtures of the console's tests: a fake notifier, and a headless Chromium signed in as
someone (Debian's chromium, driven by Playwright)."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, ViewportSize, sync_playwright

from notices_api.accounts.models import User
from notices_api.console import delivery
from notices_api.console.tests.fakes import FakeDeliveryStates

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[5] / "docs" / "ui"
DESKTOP: ViewportSize = {"width": 1200, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

PageFor = Callable[..., Page]


@pytest.fixture
def fake_notifier(monkeypatch: pytest.MonkeyPatch) -> FakeDeliveryStates:
    fake = FakeDeliveryStates()
    monkeypatch.setattr(delivery, "delivery_states", lambda: fake)
    return fake


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(f"{CHROMIUM} is missing: apt-get install -y chromium")
    # Playwright's sync API runs an event loop in this thread; Django would take the test's
    # own (synchronous) database calls for calls from async code.
    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        yield browser
        browser.close()


@pytest.fixture
def page_for(browser: Browser, live_server: object) -> Iterator[PageFor]:
    """A page in a fresh browser context, signed in as ``user`` through a real session."""
    contexts = []

    def open_page(user: User, *, viewport: ViewportSize = DESKTOP) -> Page:
        client = Client()
        client.force_login(user)
        context = browser.new_context(viewport=viewport, base_url=str(live_server))
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


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    def save(page: Page, name: str) -> None:
        SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SCREENSHOTS / f"console-{name}.png"), full_page=True)

    return save
