"""Email bodies from Jinja2 templates: sandboxed, HTML autoescaped, undefined names fail.

Templates live in ``notifier/templates/email/<kind>.{subject.txt,txt,html}``; the
``.html`` ones are autoescaped, the text ones are not (they are never HTML). The
greeting is composed here, once for both bodies, so a recipient without a display
name reads "Hello," rather than "Hello ,".
"""

from dataclasses import asdict, dataclass
from enum import StrEnum
from functools import cache
from typing import NamedTuple

import jinja2
from jinja2.sandbox import SandboxedEnvironment


class EmailKind(StrEnum):
    NOTICE = "notice"
    REMINDER = "reminder"


@dataclass(frozen=True, slots=True)
class EmailContext:
    title: str
    summary: str
    url: str
    category: str
    urgent: bool
    recipient_name: str
    unsubscribe_url: str
    # The web app's notification settings page; empty: the email links to none.
    preferences_url: str = ""

    def __post_init__(self) -> None:
        # Autoescaping keeps a URL inside its attribute but cannot make a
        # javascript: or data: link harmless; only web links go into an email.
        links = {"url": self.url, "unsubscribe_url": self.unsubscribe_url}
        if self.preferences_url:
            links["preferences_url"] = self.preferences_url
        for name, link in links.items():
            if not link.startswith(("https://", "http://")):
                raise ValueError(f"{name} must be an http(s) URL")


class RenderedEmail(NamedTuple):
    subject: str
    text: str
    html: str


@cache
def _environment() -> SandboxedEnvironment:
    return SandboxedEnvironment(
        loader=jinja2.PackageLoader("notifier", "templates"),
        autoescape=jinja2.select_autoescape(enabled_extensions=("html",), default=False),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        # The templates ship in the package and never change under a running process;
        # checking their files before every render was a tenth of a delivery's CPU.
        auto_reload=False,
    )


def _greeting(recipient_name: str) -> str:
    name = " ".join(recipient_name.split())
    return f"Hello {name}," if name else "Hello,"


def render_notice_email(*, kind: EmailKind, context: EmailContext) -> RenderedEmail:
    environment = _environment()
    values = {**asdict(context), "greeting": _greeting(context.recipient_name)}
    subject = environment.get_template(f"email/{kind}.subject.txt").render(values)
    return RenderedEmail(
        # A subject is one header line whatever the title holds.
        subject=" ".join(subject.split()),
        text=environment.get_template(f"email/{kind}.txt").render(values),
        html=environment.get_template(f"email/{kind}.html").render(values),
    )
