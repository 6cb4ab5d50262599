"""Fixtures of the web app's tests. The browser fixtures are in browser.py, a plugin of the
suite's conftest."""

from collections.abc import Callable

import pytest
from playwright.sync_api import Page

from notices_api.web.tests.browser import save_screenshot


@pytest.fixture
def screenshot() -> Callable[[Page, str], None]:
    return lambda page, name: save_screenshot(page, f"web-{name}")
