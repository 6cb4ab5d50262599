import dataclasses
from typing import Any

import pytest

from notifier.rendering import EmailContext, EmailKind, render_notice_email

CONTEXT = EmailContext(
    title="Heating off <script>alert('x')</script>",
    summary="Maintenance & repairs from 8 to 12.",
    url='https://notices.example/n/42?from=mail&x="y"',
    category="facilities",
    urgent=False,
    recipient_name="Ann <Admin>",
    unsubscribe_url="https://notices.example/u/abc",
)


@pytest.mark.parametrize("kind", list(EmailKind))
def test_html_is_autoescaped(kind: EmailKind) -> None:
    html = render_notice_email(kind=kind, context=CONTEXT).html

    assert "<script>" not in html
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "Ann &lt;Admin&gt;" in html
    assert "Maintenance &amp; repairs" in html
    assert 'href="https://notices.example/n/42?from=mail&amp;x=&#34;y&#34;"' in html
    assert 'href="https://notices.example/u/abc"' in html


@pytest.mark.parametrize("kind", list(EmailKind))
def test_text_is_plain_and_complete(kind: EmailKind) -> None:
    text = render_notice_email(kind=kind, context=CONTEXT).text

    assert "Hello Ann <Admin>," in text
    assert "Heating off <script>alert('x')</script>" in text
    assert "Maintenance & repairs from 8 to 12." in text
    assert CONTEXT.url in text
    assert CONTEXT.unsubscribe_url in text
    assert "&lt;" not in text


@pytest.mark.parametrize("kind", list(EmailKind))
@pytest.mark.parametrize("nameless", ["", "   ", "\t\n"], ids=["empty", "spaces", "tab-newline"])
def test_a_recipient_without_a_name_is_greeted_without_one(kind: EmailKind, nameless: str) -> None:
    context = dataclasses.replace(CONTEXT, recipient_name=nameless)

    email = render_notice_email(kind=kind, context=context)

    assert email.text.startswith("Hello,\n")
    assert "<p>Hello,</p>" in email.html
    for body in (email.text, email.html):
        assert "Hello ," not in body
        assert "Hello  " not in body


@pytest.mark.parametrize("kind", list(EmailKind))
def test_a_name_is_greeted_without_its_surrounding_whitespace(kind: EmailKind) -> None:
    context = dataclasses.replace(CONTEXT, recipient_name="  Ann  ")

    email = render_notice_email(kind=kind, context=context)

    assert email.text.startswith("Hello Ann,\n")
    assert "<p>Hello Ann,</p>" in email.html


def test_subjects_tell_notice_reminder_and_urgency_apart() -> None:
    urgent = dataclasses.replace(CONTEXT, title="Fire drill", urgent=True)

    assert render_notice_email(kind=EmailKind.NOTICE, context=urgent).subject == (
        "[Urgent] Fire drill"
    )
    assert render_notice_email(kind=EmailKind.REMINDER, context=urgent).subject == (
        "Reminder: [Urgent] Fire drill"
    )
    urgent_html = render_notice_email(kind=EmailKind.NOTICE, context=urgent).html
    assert "Urgent:" in urgent_html


def test_a_subject_is_one_line_whatever_the_title_holds() -> None:
    context = dataclasses.replace(CONTEXT, title="Line one\r\nBcc: victim@example.org\n")

    subject = render_notice_email(kind=EmailKind.NOTICE, context=context).subject

    assert subject == "Line one Bcc: victim@example.org"


def test_reminder_and_notice_lead_differently() -> None:
    notice = render_notice_email(kind=EmailKind.NOTICE, context=CONTEXT)
    reminder = render_notice_email(kind=EmailKind.REMINDER, context=CONTEXT)

    assert "was published" in notice.text
    assert "not read" in reminder.text
    assert "not read" in reminder.html


@pytest.mark.parametrize("field", ["url", "unsubscribe_url"])
@pytest.mark.parametrize("link", ["javascript:alert(1)", "data:text/html,<b>x</b>", "/relative"])
def test_only_web_links_are_accepted(field: str, link: str) -> None:
    changes: dict[str, Any] = {field: link}

    with pytest.raises(ValueError, match=field):
        dataclasses.replace(CONTEXT, **changes)


@pytest.mark.parametrize("kind", list(EmailKind))
def test_the_settings_page_is_linked_when_configured(kind: EmailKind) -> None:
    context = dataclasses.replace(CONTEXT, preferences_url="https://web.example/settings/")

    email = render_notice_email(kind=kind, context=context)

    assert "Notification settings: https://web.example/settings/" in email.text
    assert '<a href="https://web.example/settings/">Notification settings</a>' in email.html


@pytest.mark.parametrize("kind", list(EmailKind))
def test_no_settings_link_when_unconfigured(kind: EmailKind) -> None:
    email = render_notice_email(kind=kind, context=CONTEXT)

    for body in (email.text, email.html):
        assert "Notification settings" not in body


def test_a_settings_link_must_be_a_web_link() -> None:
    with pytest.raises(ValueError, match="preferences_url"):
        dataclasses.replace(CONTEXT, preferences_url="javascript:alert(1)")
