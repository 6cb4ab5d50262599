"""The recipient's pages in a real headless Chromium: sign in, read, the live badge."""

from conftest import PASSWORD
from playwright.sync_api import expect

from notices_api.web.tests.browser import PHONE
from notices_api.web.tests.factories import publish_to

BADGE_WITHIN_MS = 5_000


def test_sign_in_read_a_notice_and_the_badge_goes_down(page_for, screenshot, publisher, recipient):
    publish_to(
        publisher,
        "Heating off on Monday",
        recipient,
        category="facilities",
        body="The boiler is serviced.\nWrap up warm.",
    )
    publish_to(publisher, "Fire drill on Thursday", recipient, category="safety", urgent=True)
    page = page_for(None)

    page.goto("/")
    expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
    screenshot(page, "sign-in")
    page.get_by_label("Username").fill("bob")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()

    inbox = page.get_by_role("list", name="Notices")
    expect(inbox.get_by_role("link")).to_have_count(2)
    expect(inbox.locator(".unread")).to_have_count(2)
    badge = page.locator("[data-unread-badge]")
    expect(badge).to_have_text("2")
    screenshot(page, "inbox")

    inbox.get_by_role("link", name="Heating off on Monday").click()
    expect(page.get_by_role("heading", name="Heating off on Monday")).to_be_visible()
    expect(page.get_by_role("status")).to_contain_text("Read ")
    expect(badge).to_have_text("1")
    screenshot(page, "notice")

    page.get_by_role("link", name="← Inbox").click()
    expect(inbox.locator(".unread")).to_have_count(1)
    expect(inbox.locator(".unread")).to_contain_text("Fire drill on Thursday")


def test_a_notice_published_from_another_browser_shows_in_the_badge_without_a_reload(
    page_for, screenshot, publisher, recipient, group
):
    page = page_for(recipient)
    page.goto("/")
    expect(page.get_by_text("No notices for you yet.")).to_be_visible()
    badge = page.locator("[data-unread-badge]")
    expect(badge).to_have_text("")
    page.evaluate("window.stillTheSamePage = true")

    console = page_for(publisher)  # another browser context: the publisher's own session
    console.goto("/console/notices/new/")
    console.get_by_label("Title").fill("Water off at noon")
    console.get_by_label("Body").fill("The mains are repaired between 12:00 and 14:00.")
    console.get_by_label("Readers (1 member)").check()
    console.get_by_role("button", name="Save draft and preview").click()
    console.get_by_role("button", name="Publish to 1 person").click()
    expect(console.get_by_role("status")).to_contain_text("Published.")

    expect(badge).to_have_text("1", timeout=BADGE_WITHIN_MS)
    assert page.evaluate("window.stillTheSamePage") is True
    screenshot(page, "badge-live")


def test_another_users_notice_is_not_found_and_the_inbox_fits_a_phone(
    page_for, screenshot, publisher, recipient, outsider
):
    secret = publish_to(publisher, "For eve only", outsider)
    for number in range(3):
        publish_to(publisher, f"Notice {number}", recipient, category="general")

    page = page_for(recipient)
    response = page.goto(f"/notices/{secret.id}/")
    assert response is not None
    assert response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    screenshot(page, "not-found")

    phone = page_for(recipient, viewport=PHONE)
    phone.goto("/?category=general")
    expect(phone.get_by_role("list", name="Notices").get_by_role("link")).to_have_count(3)
    screenshot(phone, "inbox-phone")


def test_notification_settings_from_the_inbox(
    page_for, screenshot, publisher, recipient, fake_preferences
):
    publish_to(publisher, "Boiler", recipient, category="facilities")
    publish_to(publisher, "Party", recipient, category="social")
    page = page_for(recipient)
    page.goto("/")

    page.get_by_role("link", name="Notification settings").click()
    page.get_by_label("social").check()
    page.get_by_label("Quiet hours from").fill("22:00")
    page.get_by_label("Quiet hours until").fill("07:00")
    page.get_by_role("button", name="Save").click()

    expect(page.get_by_role("status")).to_have_text("Saved.")
    assert fake_preferences.saved[recipient.id].opt_outs == {"email": ["social"]}
    screenshot(page, "settings")
