"""Fixtures of the console's tests: a fake notifier, screenshots. The browser fixtures are
in notices_api/web/tests/browser.py, a plugin of the suite's conftest."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from notices_api.console import delivery
from notices_api.console.tests.fakes import FakeDeliveryStates
from notices_api.web.tests.browser import save_screenshot


@pytest.fixture
def fake_notifier(monkeypatch: pytest.MonkeyPatch) -> FakeDeliveryStates:
    fake = FakeDeliveryStates()
    monkeypatch.setattr(delivery, "delivery_states", lambda: fake)
    return fake


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return lambda page, name: save_screenshot(page, f"console-{name}")
