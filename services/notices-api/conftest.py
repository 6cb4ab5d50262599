"""Shared fixtures of the notices-api suite."""

from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.core.cache import cache
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from rest_framework.test import APIClient

from notices_api.accounts.models import User
from notices_api.accounts.services import auth_token_for, user_create
from notices_api.core import telemetry
from notices_api.groups.models import RecipientGroup
from notices_api.groups.services import group_create, group_members_add
from notices_api.notices.models import Notice
from notices_api.notices.services import notice_draft_create, notice_publish

# The browser fixtures (one Chromium per run), for the web app's and the console's tests.
pytest_plugins = ["notices_api.web.tests.browser"]

PASSWORD = "correct-horse-battery"

MakeUser = Callable[..., User]


@pytest.fixture(autouse=True)
def _fresh_throttle_counts() -> Iterator[None]:
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def finished_spans(monkeypatch: pytest.MonkeyPatch) -> InMemorySpanExporter:
    """Tracing on for the test (core.telemetry's tracer, no global provider): its spans."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    monkeypatch.setattr(telemetry, "_provider", provider)
    monkeypatch.setattr(telemetry, "tracer", provider.get_tracer("notices_api"))
    return exporter


@pytest.fixture
def make_user(db: None) -> MakeUser:
    counter = iter(range(1_000_000))

    def make(username: str | None = None, *, publisher: bool = False, **fields: Any) -> User:
        name = username or f"user{next(counter)}"
        return user_create(
            username=name,
            email=fields.pop("email", f"{name}@example.org"),
            password=PASSWORD,
            is_publisher=publisher,
            **fields,
        )

    return make


@pytest.fixture
def publisher(make_user: MakeUser) -> User:
    return make_user("alice", publisher=True, display_name="Alice Author")


@pytest.fixture
def other_publisher(make_user: MakeUser) -> User:
    return make_user("carol", publisher=True)


@pytest.fixture
def recipient(make_user: MakeUser) -> User:
    return make_user("bob", display_name="Bob Reader")


@pytest.fixture
def outsider(make_user: MakeUser) -> User:
    return make_user("eve")


@pytest.fixture
def client_for() -> Callable[[User], APIClient]:
    def make(user: User) -> APIClient:
        client = APIClient()
        client.credentials(HTTP_AUTHORIZATION=f"Token {auth_token_for(user=user).token}")
        return client

    return make


@pytest.fixture
def group(publisher: User, recipient: User) -> RecipientGroup:
    readers = group_create(name="Readers", owner=publisher)
    group_members_add(group=readers, actor=publisher, users=[recipient])
    return readers


@pytest.fixture
def draft(publisher: User, recipient: User) -> Notice:
    return notice_draft_create(
        author=publisher,
        title="Heating maintenance",
        body="<p>The heating is off on <b>Monday</b>.</p>",
        audience_users=[recipient],
    )


@pytest.fixture
def published(draft: Notice, publisher: User) -> Notice:
    return notice_publish(notice=draft, actor=publisher)
