"""`make demo`: the whole flow against a running `make run`, through public interfaces only.

notices-api's HTTP API (and its `create_user` command for accounts), the notifier's HTTP
API, the SMTP sink's mail files and a webhook receiver this script starts itself
(notifier_devtools.webhook_receiver). It creates a publisher, two groups and five
recipients, subscribes the receiver to every notice event, publishes a notice with a
reminder after 20 s, marks it read as two recipients,
waits for the reminders and prints what happened.
"""

import email
import email.policy
import json
import os
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from standardwebhooks.webhooks import Webhook

ROOT = Path(__file__).resolve().parents[2]
API_DIR = ROOT / "services" / "notices-api"
API = f"http://127.0.0.1:{os.environ.get('NOTICES_API_PORT', '8000')}"
NOTIFIER = f"http://127.0.0.1:{os.environ.get('NOTIFIER_API_PORT', '8001')}"
NOTIFIER_TOKEN = os.environ.get("NOTIFIER_API_TOKEN", "")
MAIL_DIR = ROOT / os.environ.get("LOCAL_MAIL_DIR", "var/mail")
REMIND_AFTER_SECONDS = 20
WAIT_SECONDS = 60

RUN = uuid.uuid4().hex[:6]
RECIPIENTS = {  # username: the group they are in
    "ada": "Engineering",
    "grace": "Engineering",
    "linus": "Engineering",
    "margaret": "Operations",
    "ken": "Operations",
}
READERS = ("ada", "margaret")
# Every demo user signs in to the web app with this password (and uses a token for the API).
PASSWORD = "demo-password"


@dataclass
class User:
    username: str
    email: str
    token: str
    id: str = ""


class DemoError(Exception):
    pass


def call(
    base: str,
    method: str,
    path: str,
    *,
    token: str = "",
    scheme: str = "Token",
    body: Any = None,
    headers: dict[str, str] | None = None,
) -> Any:
    request = urllib.request.Request(
        base + path,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={
            "Content-Type": "application/json",
            **({"Authorization": f"{scheme} {token}"} if token else {}),
            **(headers or {}),
        },
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            payload = response.read()
    except urllib.error.HTTPError as error:
        raise DemoError(f"{method} {base}{path}: {error.code} {error.read().decode()}") from error
    return json.loads(payload) if payload else None


def api(method: str, path: str, user: User, body: Any = None, **kwargs: Any) -> Any:
    return call(API, method, f"/api/v1{path}", token=user.token, body=body, **kwargs)


def notifier(method: str, path: str, body: Any = None) -> Any:
    return call(NOTIFIER, method, path, token=NOTIFIER_TOKEN, scheme="Bearer", body=body)


def wait_until(what: str, condition: Any, timeout: float = WAIT_SECONDS) -> Any:
    deadline = time.monotonic() + timeout
    while not (result := condition()):
        if time.monotonic() > deadline:
            raise DemoError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(0.5)
    return result


def step(message: str) -> None:
    print(f"  · {message}", flush=True)


def check_stack() -> None:
    for name, url in (("notices-api", API), ("notifier", NOTIFIER)):
        try:
            call(url, "GET", "/healthz")
        except (DemoError, OSError) as error:
            raise DemoError(
                f"{name} does not answer at {url} ({error}): start `make run` first"
            ) from error


def create_user(username: str, *, publisher: bool = False) -> User:
    address = f"{username}.{RUN}@example.org"
    command = [sys.executable, "manage.py", "create_user", "--username", f"{username}-{RUN}"]
    command += ["--email", address, "--password", PASSWORD]
    command += ["--publisher"] if publisher else []
    done = subprocess.run(command, cwd=API_DIR, capture_output=True, text=True, check=False)
    if done.returncode:
        raise DemoError(f"create_user {username}: {done.stderr.strip()}")
    user = User(username, address, done.stdout.strip().splitlines()[-1])
    user.id = api("GET", "/me/", user)["id"]
    return user


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def start_webhook_receiver() -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    process = subprocess.Popen(
        [sys.executable, "-m", "notifier_devtools.webhook_receiver", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    base = f"http://127.0.0.1:{port}"

    def answers() -> bool:
        try:
            call(base, "GET", "/_received")
        except (DemoError, OSError):
            return False
        return True

    wait_until("the webhook receiver to listen", answers, timeout=30)
    return process, base


def mails_to(addresses: set[str]) -> list[email.message.EmailMessage]:
    found = []
    for path in sorted(MAIL_DIR.glob("*.eml")):
        message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
        if message["To"] in addresses:
            assert isinstance(message, email.message.EmailMessage)
            found.append(message)
    return found


def demo() -> None:
    check_stack()
    started = time.monotonic()
    print(f"demo run {RUN}: notices-api {API}, notifier {NOTIFIER}, mail in {MAIL_DIR}")

    receiver, receiver_url = start_webhook_receiver()
    endpoint: dict[str, Any] = {}
    try:
        with ThreadPoolExecutor(max_workers=len(RECIPIENTS) + 1) as pool:
            publisher_future = pool.submit(create_user, "olivia", publisher=True)
            users = dict(zip(RECIPIENTS, pool.map(create_user, RECIPIENTS), strict=True))
            publisher = publisher_future.result()
        step(f"publisher {publisher.username}-{RUN} and recipients {', '.join(users)}")

        endpoint = notifier(
            "POST",
            "/v1/webhook-endpoints",
            {
                "url": f"{receiver_url}/hooks/demo-{RUN}",
                "description": f"make demo {RUN}",
                "event_types": [
                    "notices.notice.published.v1",
                    "notices.notice.read.v1",
                    "notices.notice.archived.v1",
                ],
            },
        )
        call(receiver_url, "POST", "/_secrets", body={"secret": endpoint["secret"]})
        step(f"webhook endpoint {endpoint['url']} (secret from the notifier API)")

        group_ids = []
        for group in sorted(set(RECIPIENTS.values())):
            created = api("POST", "/groups/", publisher, {"name": f"{group} {RUN}"})
            members = [users[name].id for name, g in RECIPIENTS.items() if g == group]
            api("POST", f"/groups/{created['id']}/members/", publisher, {"user_ids": members})
            group_ids.append(created["id"])
            step(f"group {group}: {', '.join(n for n, g in RECIPIENTS.items() if g == group)}")

        notice = api(
            "POST",
            "/notices/",
            publisher,
            {
                "title": f"Fire drill on Thursday ({RUN})",
                "body": "The alarm sounds at 10:00. Meet at the car park.",
                "category": "safety",
                "remind_after_seconds": REMIND_AFTER_SECONDS,
                "recipient_group_ids": group_ids,
                "recipient_user_ids": [],
            },
        )
        request_id = f"demo-{RUN}"
        api(
            "POST",
            f"/notices/{notice['id']}/publish/",
            publisher,
            headers={"X-Request-ID": request_id},
        )
        published_at = time.monotonic()
        step(f"published notice {notice['id']} (X-Request-ID {request_id}) to both groups")

        addresses = {user.email for user in users.values()}
        wait_until("one email per recipient", lambda: len(mails_to(addresses)) >= len(users))
        step(f"{len(users)} emails arrived in {MAIL_DIR}")

        for name in READERS:
            api("POST", f"/notices/{notice['id']}/read/", users[name])
        step(f"read by {', '.join(READERS)}")

        def webhook_calls() -> list[dict[str, Any]]:
            received = call(receiver_url, "GET", "/_received")
            return [c for c in received["calls"] if c["path"] == f"/hooks/demo-{RUN}"]

        wait_until("the webhook calls", lambda: len(webhook_calls()) >= 1 + len(READERS))

        non_readers = {u.email for n, u in users.items() if n not in READERS}
        remaining = REMIND_AFTER_SECONDS - (time.monotonic() - published_at)
        step(
            f"waiting {max(0, remaining):.0f}s for the reminders"
            f" (due {REMIND_AFTER_SECONDS}s after publishing)"
        )

        def reminders() -> list[email.message.EmailMessage]:
            found = [m for m in mails_to(addresses) if str(m["Subject"]).startswith("Reminder")]
            return found if len(found) >= len(non_readers) else []

        wait_until("the reminders", reminders, timeout=REMIND_AFTER_SECONDS + WAIT_SECONDS)
        time.sleep(2)  # a reminder to a reader would arrive with the others
        summarize(
            users=users,
            publisher=publisher,
            notice_id=notice["id"],
            endpoint_secret=endpoint["secret"],
            calls=webhook_calls(),
            rejected=call(receiver_url, "GET", "/_received")["rejected"],
        )
        print_sign_in(users=users, publisher=publisher, notice_id=notice["id"])
        print(f"\ndone in {time.monotonic() - started:.0f}s")
    finally:
        if endpoint:  # the receiver goes away with the demo: so does its subscription
            notifier("DELETE", f"/v1/webhook-endpoints/{endpoint['id']}")
        receiver.terminate()
        receiver.wait(timeout=10)


def print_sign_in(*, users: dict[str, User], publisher: User, notice_id: str) -> None:
    print(f"\nopen in a browser (every demo user's password: {PASSWORD})")
    print(f"  inbox             {API}/")
    print(f"  the demo notice   {API}/notices/{notice_id}/")
    print(f"  console           {API}/console/  (publisher only)")
    print(f"  publisher         {publisher.username}-{RUN}")
    for name in users:
        print(f"  recipient         {name}-{RUN}")


def summarize(
    *,
    users: dict[str, User],
    publisher: User,
    notice_id: str,
    endpoint_secret: str,
    calls: list[dict[str, Any]],
    rejected: int,
) -> None:
    by_address = {user.email: name for name, user in users.items()}
    mails = mails_to(set(by_address))
    notices = [m for m in mails if not str(m["Subject"]).startswith("Reminder")]
    reminders = [m for m in mails if str(m["Subject"]).startswith("Reminder")]
    print("\nemails delivered (SMTP sink files)")
    for message in mails:
        print(f"  {by_address[message['To']]:<9} {message['Subject']}  {message['Message-ID']}")

    verifier = Webhook(endpoint_secret)
    print("\nwebhook calls received")
    for received in calls:
        verifier.verify(received["body"], received["headers"])  # raises when it does not verify
        event = json.loads(received["body"])
        reader = ""
        if event["type"] == "notices.notice.read.v1":
            reader = next(n for n, u in users.items() if u.id == event["data"]["user_id"])
        print(f"  {event['type']:<30} {reader:<9} webhook-id {received['webhook_id']}  verified")
    print(f"  signatures rejected by the receiver: {rejected}")

    reminded = sorted(by_address[m["To"]] for m in reminders)
    expected = sorted(name for name in users if name not in READERS)
    verdict = "only non-readers" if reminded == expected else f"MISMATCH, expected {expected}"
    print(f"\nreminders: {', '.join(reminded)} ({verdict}; {', '.join(READERS)} had read it)")

    print("\nacknowledgement ledger (notifier GET /v1/notices/{id}/acknowledgements)")
    names = {user.id: name for name, user in users.items()}
    print(f"  {'user':<9} {'email':<10} {'reminder':<10} read at")
    for row in notifier("GET", f"/v1/notices/{notice_id}/acknowledgements"):
        read_at = "-"
        if row["read_at"]:
            read_at = f"{datetime.fromisoformat(row['read_at']).astimezone(UTC):%H:%M:%S} UTC"
        print(
            f"  {names[row['user_id']]:<9} {row['delivery_status']:<10} "
            f"{row['reminder_status'] or '-':<10} {read_at}"
        )
    receipts = api("GET", f"/notices/{notice_id}/receipts/", publisher)
    print(f"\nnotices-api receipts: {receipts['read_count']} of {receipts['recipient_count']} read")
    if reminded != expected or len(notices) != len(users) or rejected:
        raise DemoError("the flow did not end as expected (see above)")


def main() -> int:
    try:
        demo()
    except DemoError as error:
        print(f"\nmake demo: {error}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
