"""The email's link in a real browser against the real processes: sign in, land on the
notice, and the read reaches the publisher's receipts."""

import os
import re
import uuid
from pathlib import Path

import pytest
from playwright.sync_api import expect, sync_playwright
from support.stack import Stack, wait_for

pytestmark = pytest.mark.timeout(300)

CHROMIUM = Path(os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium"))
PASSWORD = "e2e-web-password"
DELIVERY_TIMEOUT = 60.0


def test_the_emails_link_leads_through_sign_in_to_the_notice_and_records_the_read(
    stack: Stack,
) -> None:
    tag = uuid.uuid4().hex[:6]
    publisher = stack.create_user(f"wpub-{tag}", email=f"wpub.{tag}@e2e.example", publisher=True)
    address = f"wren.{tag}@e2e.example"
    command = ["create_user", "--username", f"wren-{tag}", "--email", address]
    token = stack.manage(*command, "--password", PASSWORD).strip().splitlines()[-1]
    with stack.api_client(token) as api:
        wren = api.get("/me/").raise_for_status().json()["id"]
    title = f"Lift out of order {tag}"
    with stack.api_client(publisher) as api:
        body = {"title": title, "body": "Use the stairs.", "recipient_user_ids": [wren]}
        created = api.post("/notices/", json=body).raise_for_status()
        notice_id = created.json()["id"]
        api.post(f"/notices/{notice_id}/publish/").raise_for_status()

    mail = wait_for(
        "the notice's email",
        lambda: next((m for m in stack.mails() if m["To"] == address), None),
        timeout=DELIVERY_TIMEOUT,
    )
    text = mail.get_body(preferencelist=("plain",))
    assert text is not None
    found = re.search(r"Open the notice: (\S+)", text.get_content())
    assert found is not None
    link = found.group(1)
    assert link == f"{stack.api_url}/notices/{notice_id}/"

    os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM))
        try:
            page = browser.new_page()
            page.goto(link)
            expect(page.get_by_role("heading", name="Sign in")).to_be_visible()
            page.get_by_label("Username").fill(f"wren-{tag}")
            page.get_by_label("Password").fill(PASSWORD)
            page.get_by_role("button", name="Sign in").click()
            expect(page.get_by_role("heading", name=title)).to_be_visible()
            assert page.url == link
        finally:
            browser.close()

    with stack.api_client(publisher) as api:
        receipts = api.get(f"/notices/{notice_id}/receipts/").raise_for_status().json()
    assert receipts["read_count"] == 1
