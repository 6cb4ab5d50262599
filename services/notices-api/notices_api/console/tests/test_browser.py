"""The console in a real headless Chromium: compose, publish, watch reads arrive."""

import socket

import pytest
from playwright.sync_api import Locator, Page, expect

from notices_api.notices.models import Notice
from notices_api.notices.services import notice_draft_create, notice_mark_read, notice_publish
from notices_api.web.tests.browser import PHONE

READ_WITHIN_MS = 5_000


def test_publisher_composes_fixes_an_error_publishes_and_sees_a_read_arrive(
    page_for, screenshot, publisher, recipient, group, fake_notifier
):
    page = page_for(publisher)
    page.goto("/console/notices/new/")
    page.get_by_label("Title").fill("Fire drill on Thursday")
    page.get_by_label("Body").fill("The alarm sounds at 10:00.\nMeet at the car park.")
    page.get_by_label("Visible from (UTC)").fill("2030-06-10T10:00")
    page.get_by_label("Visible until (UTC)").fill("2030-06-09T10:00")
    page.get_by_label("Readers (1 member)").check()
    expect(page.locator(".audience-count")).to_contain_text("1 person will receive it")
    page.get_by_role("button", name="Save draft and preview").click()

    until = page.locator(".field-invalid", has=page.get_by_label("Visible until (UTC)"))
    expect(until.locator(".errors")).to_contain_text("Must be after visible_from.")
    screenshot(page, "compose-error")

    page.get_by_label("Visible from (UTC)").fill("")
    page.get_by_label("Visible until (UTC)").fill("")
    page.get_by_role("button", name="Save draft and preview").click()
    expect(page.get_by_role("heading", name="Preview: what recipients see")).to_be_visible()
    screenshot(page, "preview")

    page.get_by_role("button", name="Publish to 1 person").click()
    expect(page.get_by_role("status")).to_contain_text("Published.")
    notice = Notice.objects.get(title="Fire drill on Thursday")
    assert notice.status == Notice.Status.PUBLISHED
    fake_notifier.set(recipient.id, email="delivered", reminder="pending")

    page.get_by_role("link", name="Receipts").click()
    unread = page.locator("section", has=page.get_by_role("heading", name="Not read yet"))
    expect(unread).to_contain_text("Bob Reader")
    expect(unread).to_contain_text("Email sent")
    page.evaluate("window.stillTheSamePage = true")

    reader = page_for(recipient)  # the recipient's own browser opens the notice: a read
    reader.goto(f"/notices/{notice.id}/")
    expect(reader.get_by_role("heading", name="Fire drill on Thursday")).to_be_visible()

    read = page.locator("section", has=page.get_by_role("heading", name="Read (1)"))
    expect(read).to_contain_text("Bob Reader", timeout=READ_WITHIN_MS)
    assert page.evaluate("window.stillTheSamePage") is True  # no reload: the table was swapped
    screenshot(page, "receipts-live")


@pytest.fixture
def published(publisher, group, make_user):
    people = {
        "dave": make_user("dave", display_name="Dave Failing"),
        "erin": make_user("erin", display_name="Erin Early"),
        "frank": make_user("frank", display_name="Frank Noemail"),
    }
    notice = notice_draft_create(
        author=publisher,
        title="Office closed on Friday",
        body="Heating repairs.",
        audience_groups=[group],
        audience_users=list(people.values()),
    )
    notice_publish(notice=notice, actor=publisher)
    notice_mark_read(notice=notice, user=people["erin"])
    return notice, people


def test_receipts_show_each_recipients_delivery_state(
    page_for, screenshot, publisher, recipient, published, fake_notifier
):
    notice, people = published
    fake_notifier.set(recipient.id, email="delivered", reminder="delivered")
    fake_notifier.set(people["dave"].id, email="failed")
    fake_notifier.set(people["erin"].id, email="delivered", reminder="cancelled")
    fake_notifier.set(people["frank"].id, email=None)

    page: Page = page_for(publisher)
    page.goto(f"/console/notices/{notice.id}/receipts/")

    def row(username: str) -> Locator:
        return page.locator(f".receipt[data-username={username}]")

    expect(page.locator(".receipts-summary")).to_contain_text("1 of 4 read")
    expect(row("bob")).to_contain_text("Email sent")
    expect(row("bob")).to_contain_text("Reminder sent")
    expect(row("dave")).to_contain_text("Email failed")
    expect(row("erin")).to_contain_text("Read ")
    expect(row("erin")).to_contain_text("Reminder cancelled")
    expect(row("frank")).to_contain_text("No email")
    screenshot(page, "receipts")
    page.set_viewport_size(PHONE)
    screenshot(page, "receipts-phone")


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_receipts_show_reads_and_say_so_when_the_notifier_is_down(
    page_for, screenshot, settings, publisher, published
):
    notice, _ = published
    settings.NOTIFIER_API_URL = f"http://127.0.0.1:{_closed_port()}"

    page = page_for(publisher)
    page.goto(f"/console/notices/{notice.id}/receipts/")

    expect(page.get_by_role("status")).to_contain_text("Delivery state is unavailable")
    read = page.locator("section", has=page.get_by_role("heading", name="Read (1)"))
    expect(read).to_contain_text("Erin Early")
    expect(page.locator(".receipt-delivery")).to_have_count(0)
    screenshot(page, "receipts-notifier-down")


def test_notices_list_groups_and_a_phone_sized_compose_form(
    page_for, screenshot, publisher, published, fake_notifier
):
    page = page_for(publisher)
    page.goto("/console/")
    expect(page.get_by_role("link", name="Office closed on Friday")).to_be_visible()
    expect(page.get_by_role("link", name="1 of 4")).to_be_visible()
    screenshot(page, "notices")

    page.get_by_role("link", name="Groups").first.click()
    page.get_by_label("Name").fill("Night shift")
    page.get_by_role("button", name="Create group").click()
    expect(page.get_by_role("status")).to_contain_text("Group “Night shift” created")
    page.get_by_label("Dave Failing (dave)").check()
    page.get_by_role("button", name="Add to group").click()
    expect(page.get_by_role("heading", name="Members (1)")).to_be_visible()
    page.get_by_role("textbox", name="Name", exact=True).fill("Night shift B")
    page.get_by_role("button", name="Save").click()
    expect(page.get_by_role("heading", name="Night shift B")).to_be_visible()
    screenshot(page, "group")

    phone = page_for(publisher, viewport=PHONE)
    phone.goto("/console/notices/new/")
    phone.get_by_label("Category").focus()
    phone.keyboard.press("Enter")  # the form submits from the keyboard alone
    expect(phone.locator(".field-invalid").first).to_contain_text("This field is required.")
    screenshot(phone, "compose-phone")


def test_a_recipients_browser_is_refused_the_console_and_a_post_without_its_csrf_token(
    page_for, publisher, recipient, group
):
    reader = page_for(recipient)
    for url in ("/console/", "/console/notices/new/", f"/console/groups/{group.id}/"):
        response = reader.goto(url)
        assert response is not None
        assert response.status == 403, url

    # The publisher's own signed-in browser, posting the compose form without its token.
    console = page_for(publisher)
    console.goto("/console/notices/new/")
    refused = console.request.post(
        "/console/notices/new/", form={"title": "Forged", "body": "No token."}
    )
    assert refused.status == 403
    assert not Notice.objects.filter(title="Forged").exists()
