"""The whole story through public interfaces only: HTTP of both services, SMTP, webhooks.

Users are made with notices-api's `create_user` command (there is no sign-up API);
everything else goes through notices-api's and the notifier's HTTP APIs, and what
arrives is read from the SMTP sink's files and the webhook receiver.
"""

import json
import secrets
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from standardwebhooks.webhooks import Webhook
from support.stack import Stack, wait_for

pytestmark = pytest.mark.timeout(600)

GROUPS = {"crew": ("ana", "ben"), "office": ("cho", "dev")}
DIRECT = ("eve",)  # addressed by user id, in no group
DELIVERY_TIMEOUT = 60.0
REMIND_AFTER_SECONDS = 20  # long enough for the reads to land before it is due


@dataclass(frozen=True)
class Person:
    name: str
    email: str
    token: str
    id: str


@dataclass(frozen=True)
class World:
    publisher: Person
    people: dict[str, Person]
    group_ids: dict[str, str]
    webhook_path: str
    webhook_secret: str

    def names_of(self, *groups: str) -> set[str]:
        return {name for group in groups for name in GROUPS[group]}

    def by_email(self, address: str) -> str:
        return next(p.name for p in self.people.values() if p.email == address)

    def by_id(self, user_id: str) -> str:
        return next(p.name for p in self.people.values() if p.id == user_id)


@pytest.fixture(scope="module")
def world(stack: Stack) -> World:
    tag = uuid.uuid4().hex[:6]

    def person(name: str, publisher: bool = False) -> Person:
        address = f"{name}.{tag}@e2e.example"
        token = stack.create_user(f"{name}-{tag}", email=address, publisher=publisher)
        with stack.api_client(token) as api:
            user_id = api.get("/me/").raise_for_status().json()["id"]
        return Person(name, address, token, user_id)

    names = [name for members in GROUPS.values() for name in members] + list(DIRECT)
    with ThreadPoolExecutor(max_workers=3) as pool:
        publisher_future = pool.submit(person, "pat", True)
        people = dict(zip(names, pool.map(person, names), strict=True))
        publisher = publisher_future.result()

    group_ids = {}
    with stack.api_client(publisher.token) as api:
        for group, members in GROUPS.items():
            created = api.post("/groups/", json={"name": f"{group}-{tag}"}).raise_for_status()
            group_ids[group] = created.json()["id"]
            api.post(
                f"/groups/{group_ids[group]}/members/",
                json={"user_ids": [people[name].id for name in members]},
            ).raise_for_status()
            listed = api.get(f"/groups/{group_ids[group]}/members/").raise_for_status().json()
            members_listed = listed["results"] if isinstance(listed, dict) else listed
            assert {m["id"] for m in members_listed} == {people[n].id for n in members}

    webhook_path = f"/hooks/e2e-{tag}"
    with stack.notifier_client() as notifier:
        endpoint = notifier.post(
            "/v1/webhook-endpoints",
            json={
                "url": f"{stack.receiver_url}{webhook_path}",
                "event_types": [
                    "notices.notice.published.v1",
                    "notices.notice.read.v1",
                    "notices.notice.archived.v1",
                ],
            },
        )
        assert endpoint.status_code == 201, endpoint.text
    secret = endpoint.json()["secret"]
    with stack.receiver_client() as receiver:
        receiver.post("/_secrets", json={"secret": secret}).raise_for_status()
    return World(publisher, people, group_ids, webhook_path, secret)


def draft(stack: Stack, world: World, **fields: Any) -> str:
    with stack.api_client(world.publisher.token) as api:
        created = api.post(
            "/notices/",
            json={"body": "Details inside.", "recipient_user_ids": [], **fields},
        )
    assert created.status_code == 201, created.text
    assert created.json()["status"] == "draft"
    return str(created.json()["id"])


def publish(stack: Stack, world: World, notice_id: str, **headers: str) -> dict[str, Any]:
    with stack.api_client(world.publisher.token) as api:
        published = api.post(f"/notices/{notice_id}/publish/", headers=headers)
    assert published.status_code == 200, published.text
    assert published.json()["status"] == "published"
    return dict(published.json())


def mails_with_subject(stack: Stack, subject: str) -> list[Any]:
    return [m for m in stack.mails() if m["Subject"] == subject]


def webhook_events(stack: Stack, world: World, notice_id: str) -> list[dict[str, Any]]:
    """Verified, answered-2xx webhook calls about ``notice_id``, with their parsed event."""
    verifier = Webhook(world.webhook_secret)
    found = []
    for call in stack.webhook_calls():
        if call["path"] != world.webhook_path or not 200 <= call["status"] < 300:
            continue
        # The receiver verified it already; verify again with the secret the API gave us.
        verifier.verify(call["body"], call["headers"])
        event = json.loads(call["body"])
        if event["data"]["notice_id"] == notice_id:
            found.append({**call, "event": event})
    return found


def unread_ids(stack: Stack, person: Person) -> set[str]:
    with stack.api_client(person.token) as api:
        listed = api.get("/notices/", params={"unread": "true", "page_size": 100})
    return {notice["id"] for notice in listed.raise_for_status().json()["results"]}


def unread_count(stack: Stack, person: Person) -> int:
    with stack.api_client(person.token) as api:
        return int(api.get("/notices/unread-count/").raise_for_status().json()["unread"])


# --- a notice to two groups and one user --------------------------------------------------


@dataclass(frozen=True)
class Published:
    notice_id: str
    title: str
    request_id: str
    trace_id: str
    response_request_id: str


@pytest.fixture(scope="module")
def published(stack: Stack, world: World) -> Published:
    title = f"Water off on Tuesday {uuid.uuid4().hex[:6]}"
    notice_id = draft(
        stack,
        world,
        title=title,
        body="From 9 to 11 in building B.",
        category="facilities",
        recipient_group_ids=list(world.group_ids.values()),
        recipient_user_ids=[world.people["eve"].id],
    )
    recipient = world.people["ana"]
    with stack.api_client(recipient.token) as api:
        assert api.get(f"/notices/{notice_id}/").status_code == 404  # a draft is not shown
    assert notice_id not in unread_ids(stack, recipient)
    assert mails_with_subject(stack, title) == []

    request_id = f"e2e-{uuid.uuid4().hex}"
    trace_id = secrets.token_hex(16)
    with stack.api_client(world.publisher.token) as api:
        response = api.post(
            f"/notices/{notice_id}/publish/",
            headers={
                "X-Request-ID": request_id,
                "traceparent": f"00-{trace_id}-{secrets.token_hex(8)}-01",
            },
        )
    assert response.status_code == 200, response.text
    return Published(notice_id, title, request_id, trace_id, response.headers["X-Request-ID"])


def test_publish_emails_every_recipient_once(
    stack: Stack, world: World, published: Published
) -> None:
    everyone = world.names_of("crew", "office") | set(DIRECT)
    mails = wait_for(
        "the notice's emails",
        lambda: (
            (found := mails_with_subject(stack, published.title))
            and len(found) >= len(everyone)
            and found
        ),
        timeout=DELIVERY_TIMEOUT,
    )
    assert sorted(world.by_email(m["To"]) for m in mails) == sorted(everyone)
    message_ids = {m["Message-ID"] for m in mails}
    assert len(message_ids) == len(mails)
    for message in mails:
        assert message["From"] == "Notices <notices@e2e.example>"
        assert str(message["Message-ID"]).endswith("@e2e.example>")
        text = message.get_body(preferencelist=("plain",))
        assert text is not None
        assert "From 9 to 11 in building B." in text.get_content()
        # A long header is folded on the wire; unfolded it keeps the fold's leading space.
        assert message["List-Unsubscribe"].strip().startswith(f"<{stack.notifier_url}/")
        assert message["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    # The link is signed for its recipient: it opens, without the operator's token.
    # (Following it with a POST would opt the recipient out; the notifier tests do that.)
    link = mails[0]["List-Unsubscribe"].strip().strip("<>")
    page = httpx.get(link, timeout=10)
    assert page.status_code == 200
    assert "Unsubscribe" in page.text


def test_publish_calls_the_webhook_with_a_valid_signature(
    stack: Stack, world: World, published: Published
) -> None:
    calls = wait_for(
        "the published webhook",
        lambda: webhook_events(stack, world, published.notice_id),
        timeout=DELIVERY_TIMEOUT,
    )
    assert len(calls) == 1
    event = calls[0]["event"]
    assert event["type"] == "notices.notice.published.v1"
    assert event["data"]["title"] == published.title
    assert event["data"]["category"] == "facilities"
    expected = world.names_of("crew", "office") | set(DIRECT)
    assert {world.by_id(u) for u in event["data"]["recipient_ids"]} == expected
    assert set(event["data"]["group_ids"]) == set(world.group_ids.values())
    assert calls[0]["headers"]["webhook-id"]  # the receiver verified id, timestamp, signature


def test_published_notice_is_unread_for_its_recipients_only(
    stack: Stack, world: World, published: Published
) -> None:
    for person in world.people.values():
        assert published.notice_id in unread_ids(stack, person), person.name
    with stack.api_client(world.publisher.token) as api:
        receipts = api.get(f"/notices/{published.notice_id}/receipts/").raise_for_status().json()
    assert receipts["recipient_count"] == len(world.people)
    assert receipts["read_count"] == 0


def test_one_request_and_trace_id_across_api_relay_and_notifier_logs(
    stack: Stack, world: World, published: Published
) -> None:
    assert published.response_request_id == published.request_id

    def lines(process: str, event: str) -> list[dict[str, Any]]:
        return [
            line
            for line in stack.logs(process)
            if line.get("event") == event and line.get("trace_id") == published.trace_id
        ]

    api_lines = wait_for("the API's line", lambda: lines("api", "http_request"), timeout=30)
    assert api_lines[0]["request_id"] == published.request_id
    assert api_lines[0]["path"].endswith(f"/notices/{published.notice_id}/publish/")

    relay_lines = wait_for(
        "the relay's line", lambda: lines("relay", "outbox_event_published"), timeout=60
    )
    assert relay_lines[0]["correlation_id"] == published.request_id
    assert relay_lines[0]["event_type"] == "notices.notice.published.v1"
    event_id = relay_lines[0]["event_id"]

    def delivered() -> list[dict[str, Any]]:
        return [
            line
            for line in lines("notifier", "delivery_attempted")
            if line["outcome"] == "delivered"
        ]

    notifier_lines = wait_for("the notifier's delivery lines", delivered, timeout=60)
    for line in notifier_lines:
        assert line["correlationid"] == published.request_id
        assert line["event_id"] == event_id


# --- reads, reminders, archive -------------------------------------------------------------


def test_reminders_go_to_non_readers_only_and_archive_cancels_what_is_pending(
    stack: Stack, world: World
) -> None:
    crew_and_office = list(world.group_ids.values())
    audience = world.names_of("crew", "office")
    readers, non_readers = {"ana", "cho"}, {"ben", "dev"}
    ana, ben = world.people["ana"], world.people["ben"]
    unread_before = {name: unread_count(stack, world.people[name]) for name in audience}

    tag = uuid.uuid4().hex[:6]
    read_title, archived_title = f"Fire drill {tag}", f"Canteen closed {tag}"
    read_id = draft(
        stack,
        world,
        title=read_title,
        remind_after_seconds=REMIND_AFTER_SECONDS,
        recipient_group_ids=crew_and_office,
    )
    archived_id = draft(
        stack,
        world,
        title=archived_title,
        remind_after_seconds=REMIND_AFTER_SECONDS,
        recipient_group_ids=crew_and_office,
    )
    publish(stack, world, read_id)
    publish(stack, world, archived_id)
    for name in audience:
        assert unread_count(stack, world.people[name]) == unread_before[name] + 2, name

    for title in (read_title, archived_title):
        wait_for(
            f"the emails of {title}",
            lambda title=title: len(mails_with_subject(stack, title)) >= len(audience),
            timeout=DELIVERY_TIMEOUT,
        )

    read_at = {}
    for name in readers:
        with stack.api_client(world.people[name].token) as api:
            first = api.post(f"/notices/{read_id}/read/")
            again = api.post(f"/notices/{read_id}/read/")
        assert (first.status_code, again.status_code) == (201, 200)
        assert first.json()["read_at"] == again.json()["read_at"]  # one receipt, one event
        read_at[name] = first.json()["read_at"]
    with stack.api_client(world.publisher.token) as api:
        archived = api.post(f"/notices/{archived_id}/archive/").raise_for_status().json()
        receipts = api.get(f"/notices/{read_id}/receipts/").raise_for_status().json()
    assert archived["status"] == "archived"
    assert receipts["recipient_count"] == len(audience)
    assert receipts["read_count"] == len(readers)
    assert {r["user"]["id"] for r in receipts["read"]} == {world.people[n].id for n in readers}
    assert {u["id"] for u in receipts["unread"]} == {world.people[n].id for n in non_readers}

    assert read_id not in unread_ids(stack, ana)
    assert read_id in unread_ids(stack, ben)
    for name in audience:
        assert archived_id not in unread_ids(stack, world.people[name]), name
        expected = unread_before[name] + (0 if name in readers else 1)
        assert unread_count(stack, world.people[name]) == expected, name

    # The notifier hears of the reads and the archive: webhooks, and its ledger.
    read_calls = wait_for(
        "the read webhooks",
        lambda: (
            (
                calls := [
                    c
                    for c in webhook_events(stack, world, read_id)
                    if c["event"]["type"] == "notices.notice.read.v1"
                ]
            )
            and len(calls) >= len(readers)
            and calls
        ),
        timeout=DELIVERY_TIMEOUT,
    )
    assert sorted(world.by_id(c["event"]["data"]["user_id"]) for c in read_calls) == sorted(readers)
    wait_for(
        "the archived webhook",
        lambda: any(
            c["event"]["type"] == "notices.notice.archived.v1"
            for c in webhook_events(stack, world, archived_id)
        ),
        timeout=DELIVERY_TIMEOUT,
    )
    with stack.notifier_client() as notifier:
        reminders = notifier.get(
            "/v1/deliveries", params={"notice_id": archived_id, "channel": "email"}
        ).raise_for_status()
    reminder_rows = [d for d in reminders.json() if d["kind"] == "reminder"]
    assert len(reminder_rows) == len(audience)
    assert {d["status"] for d in reminder_rows} == {"cancelled"}

    # The reminders come after REMIND_AFTER_SECONDS, to the non-readers of the read notice only.
    reminder_subject = f"Reminder: {read_title}"
    wait_for(
        "the reminders",
        lambda: len(mails_with_subject(stack, reminder_subject)) >= len(non_readers),
        timeout=REMIND_AFTER_SECONDS + DELIVERY_TIMEOUT,
    )

    def ledger_settled() -> list[dict[str, Any]] | None:
        with stack.notifier_client() as notifier:
            rows: list[dict[str, Any]] = (
                notifier.get(f"/v1/notices/{read_id}/acknowledgements").raise_for_status().json()
            )
        pending = [r for r in rows if r["reminder_status"] == "pending"]
        return None if pending else rows

    acknowledgements = wait_for("the ledger to settle", ledger_settled, timeout=DELIVERY_TIMEOUT)
    reminded = sorted(world.by_email(m["To"]) for m in mails_with_subject(stack, reminder_subject))
    assert reminded == sorted(non_readers)
    assert mails_with_subject(stack, f"Reminder: {archived_title}") == []

    ledger = {world.by_id(row["user_id"]): row for row in acknowledgements}
    assert set(ledger) == audience
    for name, row in ledger.items():
        assert row["delivery_status"] == "delivered", name
        if name in readers:
            assert (row["reminder_status"], row["reminders_sent"]) == ("cancelled", 0), name
            assert row["read_at"] is not None
        else:
            assert (row["reminder_status"], row["reminders_sent"]) == ("delivered", 1), name
            assert row["read_at"] is None
