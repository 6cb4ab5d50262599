"""Fixtures of the console's tests: a fake notifier, and pages of the shared headless
Chromium (notices_api.web.tests.browser) signed in as someone."""

from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.test import Client
from playwright.sync_api import Browser, Page, ViewportSize

from notices_api.accounts.models import User
from notices_api.console import delivery
from notices_api.console.tests.fakes import FakeDeliveryStates
from notices_api.web.tests.browser import Screenshot

DESKTOP: ViewportSize = {"width": 1200, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}

PageFor = Callable[..., Page]


@pytest.fixture
def fake_notifier(monkeypatch: pytest.MonkeyPatch) -> FakeDeliveryStates:
    fake = FakeDeliveryStates()
    monkeypatch.setattr(delivery, "delivery_states", lambda: fake)
    return fake


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
def screenshot(screenshot: Screenshot) -> Screenshot:
    """The shared screenshot fixture, with the console's pages named ``console-*``."""
    return lambda page, name: screenshot(page, f"console-{name}")
