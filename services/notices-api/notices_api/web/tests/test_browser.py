"""The recipient's pages in a real headless Chromium."""

import re

import pytest
from conftest import PASSWORD
from playwright.sync_api import Page, expect

from notices_api.accounts.models import User
from notices_api.notices.models import Notice
from notices_api.notices.services import notice_draft_create, notice_publish
from notices_api.web.tests.browser import Screenshot, SignIn

pytestmark = pytest.mark.django_db(transaction=True)


def test_sign_in_lists_unread_and_opening_marks_read(
    page: Page, sign_in: SignIn, screenshot: Screenshot, recipient: User, published: Notice
) -> None:
    sign_in(page, "bob", PASSWORD)
    expect(page.get_by_role("heading", name="Inbox")).to_be_visible()
    badge = page.locator("#unread-badge")
    expect(badge).to_have_text("1")
    expect(page.locator(".notice.unread")).to_contain_text(published.title)
    screenshot(page, "inbox")

    page.get_by_role("link", name=published.title).click()
    expect(page.get_by_role("heading", name=published.title)).to_be_visible()
    expect(badge).to_have_text("0")
    screenshot(page, "notice")


def test_a_published_notice_reaches_the_badge_without_reload(
    page: Page, sign_in: SignIn, publisher: User, recipient: User
) -> None:
    sign_in(page, "bob", PASSWORD)
    badge = page.locator("#unread-badge")
    expect(badge).to_have_text("0")
    draft = notice_draft_create(author=publisher, title="Lift out", audience_users=[recipient])
    notice_publish(notice=draft, actor=publisher)
    expect(badge).to_have_text("1", timeout=5_000)


def test_the_sign_in_page(page: Page, live_server: object, screenshot: Screenshot) -> None:
    page.goto(f"{live_server}/inbox/")
    expect(page).to_have_url(re.compile(r"/login/\?next=/inbox/"))
    screenshot(page, "sign-in")


def test_a_notice_not_for_the_user_is_a_404_page(
    page: Page,
    sign_in: SignIn,
    screenshot: Screenshot,
    outsider: User,
    published: Notice,
    live_server: object,
) -> None:
    sign_in(page, "eve", PASSWORD)
    response = page.goto(f"{live_server}/notices/{published.id}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    screenshot(page, "not-found")
