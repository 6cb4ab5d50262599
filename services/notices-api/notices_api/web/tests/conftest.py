"""Fixtures of the web app's tests. The browser fixtures are in browser.py, a plugin of the
suite's conftest."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from notices_api.web import preferences
from notices_api.web.tests.browser import save_screenshot
from notices_api.web.tests.fakes import FakePreferencesStore


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return lambda page, name: save_screenshot(page, f"web-{name}")


@pytest.fixture
def fake_preferences(monkeypatch: pytest.MonkeyPatch) -> FakePreferencesStore:
    fake = FakePreferencesStore()
    monkeypatch.setattr(preferences, "preferences_store", lambda: fake)
    return fake
