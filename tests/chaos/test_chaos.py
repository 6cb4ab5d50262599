"""Nothing lost, nothing delivered twice in the ledger, while the harness breaks things.

Publishes CHAOS_NOTICES notices (default 2,000) to three of five recipients each, over
the HTTP API, while a seeded plan of faults runs: kill -9 of the relay and of the
notifier (restarted after a pause), closing this run's RabbitMQ connections (only its
own vhost: the broker is shared, so its app is never restarted), terminating this run's
PostgreSQL sessions, and a webhook receiver that fails a seeded fraction of calls. One
deliberately poisoned message goes to the exchange too. When everything has drained it
prints a ledger and asserts:

- every committed outbox event was published and consumed (nothing lost);
- every expected delivery (an email per recipient, a webhook per notice) is in the
  ledger exactly once, delivered, with exactly one delivered attempt;
- every duplicate at the SMTP and webhook sinks (by Message-ID / webhook-id) is a
  delivery that was leased, in flight or sent but not yet recorded, at one of the faults
  that can repeat a send (a notifier kill, its database sessions terminated): the ids
  are read from the notifier's ledger right after each such fault;
- the dead-letter queue holds the poison message and nothing else.

``CHAOS_SEED`` replays the same plan (which faults, in which order, after which pauses;
the interleaving with the load still depends on timing). The seed is printed first.
"""

import json
import os
import random
import secrets
import signal
import subprocess
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from email.message import EmailMessage

import httpx
import psycopg
import pytest
from kombu import Connection, Exchange, Producer
from support.stack import Stack, running_stack, wait_for

SEED = int(os.environ.get("CHAOS_SEED") or secrets.randbelow(2**31))
NOTICES = int(os.environ.get("CHAOS_NOTICES", "2000"))
RECIPIENTS_PER_NOTICE = 3
USERS = 5
LOADERS = 6
WEBHOOK_FAILURE_RATE = 0.05
# (fault, how many times): the plan is this list, shuffled with the seed.
FAULTS = (
    ("kill_relay", 4),
    ("kill_notifier", 4),
    ("cut_broker_connections", 3),
    ("terminate_database_sessions", 3),
)
PAUSE_BETWEEN_FAULTS = (4.0, 16.0)  # seconds, drawn with the seed: spread over the load
RESTART_AFTER = (0.5, 3.0)
DRAIN_TIMEOUT = 420.0
EMAIL_CONCURRENCY = 8
WEBHOOK_CONCURRENCY = 32
POISON = b"this is not a CloudEvent"

pytestmark = pytest.mark.timeout(900)


@dataclass
class Injected:
    counts: Counter[str] = field(default_factory=Counter)
    log: list[str] = field(default_factory=list)
    # Deliveries under a lease right after a fault that can repeat a send.
    in_flight: set[str] = field(default_factory=set)
    error: BaseException | None = None

    def note(self, fault: str, detail: str = "") -> None:
        self.counts[fault] += 1
        self.log.append(f"{time.strftime('%H:%M:%S')} {fault} {detail}".rstrip())


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    print(f"\nchaos seed {SEED} (replay with CHAOS_SEED={SEED}), {NOTICES} notices")
    with running_stack(
        tmp_path_factory.mktemp("chaos"),
        api_env={"THROTTLE_RATE_USER": "1000000/minute"},
        notifier_env={
            "NOTIFIER_DELIVERY_BACKOFF_BASE": "0.2",
            "NOTIFIER_DELIVERY_BACKOFF_CAP": "2",
            # A killed notifier's claims come back after this; sends take milliseconds.
            "NOTIFIER_CLAIM_LEASE_SECONDS": "15",
            "NOTIFIER_EMAIL_CONCURRENCY": str(EMAIL_CONCURRENCY),
            "NOTIFIER_WEBHOOK_CONCURRENCY": str(WEBHOOK_CONCURRENCY),
        },
        relay_env={"LOG_LEVEL": "INFO", "OUTBOX_RELAY_RECONNECT_CAP_SECONDS": "2"},
        receiver_args=("--failure-rate", str(WEBHOOK_FAILURE_RATE), "--seed", str(SEED)),
    ) as started:
        yield started
        print(f"chaos logs were in {started.log_dir}")


def create_audience(stack: Stack) -> tuple[str, list[str]]:
    tag = uuid.uuid4().hex[:6]

    def user_id(name: str, publisher: bool = False) -> tuple[str, str]:
        token = stack.create_user(
            f"{name}-{tag}", email=f"{name}.{tag}@chaos.example", publisher=publisher
        )
        with stack.api_client(token) as api:
            return token, str(api.get("/me/").raise_for_status().json()["id"])

    with ThreadPoolExecutor(max_workers=3) as pool:
        publisher = pool.submit(user_id, "publisher", True)
        users = [pool.submit(user_id, f"user{n}") for n in range(USERS)]
        return publisher.result()[0], [future.result()[1] for future in users]


def subscribe_receiver(stack: Stack) -> None:
    with stack.notifier_client() as notifier:
        created = notifier.post(
            "/v1/webhook-endpoints", json={"url": f"{stack.receiver_url}/hooks/chaos"}
        )
        assert created.status_code == 201, created.text
    with stack.receiver_client() as receiver:
        receiver.post("/_secrets", json={"secret": created.json()["secret"]}).raise_for_status()


def retrying(api: httpx.Client, method: str, path: str, **kwargs: object) -> httpx.Response:
    """The API answers 5xx while its database sessions are being terminated: try again."""
    for _ in range(30):
        try:
            response = api.request(method, path, **kwargs)  # type: ignore[arg-type]
        except httpx.TransportError:
            time.sleep(0.5)
            continue
        if response.status_code < 500:
            return response
        time.sleep(0.5)
    raise AssertionError(f"{method} {path} kept failing")


def publish_notices(stack: Stack, token: str, user_ids: list[str]) -> dict[str, list[str]]:
    """Draft and publish NOTICES notices; their ids and recipients."""
    published: dict[str, list[str]] = {}
    lock = threading.Lock()

    def load(worker: int) -> None:
        with stack.api_client(token) as api:
            for n in range(worker, NOTICES, LOADERS):
                recipients = [user_ids[(n + k) % USERS] for k in range(RECIPIENTS_PER_NOTICE)]
                created = retrying(
                    api,
                    "POST",
                    "/notices/",
                    json={
                        "title": f"Chaos notice {n}",
                        "body": f"Body of notice {n}.",
                        "recipient_user_ids": recipients,
                    },
                )
                assert created.status_code == 201, created.text
                notice_id = created.json()["id"]
                done = retrying(api, "POST", f"/notices/{notice_id}/publish/")
                # A 409 after a retry: the first attempt was published after all.
                assert done.status_code in (200, 409), done.text
                with lock:
                    published[notice_id] = recipients

    with ThreadPoolExecutor(max_workers=LOADERS) as pool:
        for result in [pool.submit(load, worker) for worker in range(LOADERS)]:
            result.result()
    return published


def inject_faults(stack: Stack, rng: random.Random, injected: Injected) -> None:
    try:
        run_fault_plan(stack, rng, injected)
    except BaseException as error:  # the test thread reports it
        injected.error = error
        raise


def run_fault_plan(stack: Stack, rng: random.Random, injected: Injected) -> None:
    plan = [fault for fault, times in FAULTS for _ in range(times)]
    rng.shuffle(plan)
    for fault in plan:
        time.sleep(rng.uniform(*PAUSE_BETWEEN_FAULTS))
        if fault in ("kill_relay", "kill_notifier"):
            name = fault.removeprefix("kill_")
            stack.kill(name, signal.SIGKILL)
            leased = leased_deliveries(stack) if name == "notifier" else set()
            injected.in_flight |= leased
            injected.note(fault, f"{len(leased)} deliveries leased" if leased else "")
            time.sleep(rng.uniform(*RESTART_AFTER))
            stack.start(name)
        elif fault == "cut_broker_connections":
            injected.note(fault, f"{stack.close_vhost_connections()} connections")
        else:
            sessions = stack.terminate_database_backends()
            leased = leased_deliveries(stack)
            injected.in_flight |= leased
            injected.note(fault, f"{sessions} sessions, {len(leased)} deliveries leased")


def leased_deliveries(stack: Stack) -> set[str]:
    """Deliveries a dispatcher holds: sent or being sent, and not yet recorded."""
    rows = query(
        stack.notifier_database_url,
        "SELECT id::text FROM deliveries WHERE status = 'pending' AND claim_token IS NOT NULL",
    )
    return {str(row[0]) for row in rows}


def publish_poison(stack: Stack) -> None:
    with Connection(stack.amqp_url) as connection:
        producer = Producer(connection.channel())
        producer.publish(
            POISON,
            exchange=Exchange("notices.events", type="topic"),
            routing_key="notice.published.v1",
            content_type="application/cloudevents+json",
            delivery_mode=2,
            message_id=str(uuid.uuid4()),
        )


def query(url: str, sql: str) -> list[tuple[object, ...]]:
    with psycopg.connect(url) as connection:
        return connection.execute(sql).fetchall()  # type: ignore[arg-type]


def message_id_of(mail: EmailMessage) -> str:
    """The delivery id a mail's Message-ID carries (``<id@domain>``)."""
    return str(mail["Message-ID"]).strip("<>").split("@")[0]


def dead_letters(stack: Stack) -> list[dict[str, str]]:
    notifier = stack.processes["notifier"]
    done = subprocess.run(
        [notifier.command[0], "dlq", "list"],
        env=notifier.env,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]


def test_nothing_lost_nothing_doubled_under_faults(stack: Stack) -> None:
    rng = random.Random(SEED)
    injected = Injected()
    token, user_ids = create_audience(stack)
    subscribe_receiver(stack)
    publish_poison(stack)

    started = time.monotonic()
    faults = threading.Thread(target=inject_faults, args=(stack, rng, injected), daemon=True)
    faults.start()
    published = publish_notices(stack, token, user_ids)
    loaded = time.monotonic()
    faults.join(timeout=300)
    assert not faults.is_alive(), "the fault plan did not finish"
    assert injected.error is None, f"injecting a fault failed: {injected.error!r}"
    for name in ("relay", "notifier"):
        assert stack.processes[name].running, f"{name} is not running after the faults"

    expected_emails = {(n, u) for n, users in published.items() for u in users}
    expected_webhooks = set(published)

    def drained() -> bool:
        pending = query(
            stack.api_database_url,
            "SELECT count(*) FROM outbox_outboxevent WHERE status <> 'published'",
        )[0][0]
        undelivered = query(
            stack.notifier_database_url,
            "SELECT count(*) FROM deliveries WHERE status <> 'delivered'",
        )[0][0]
        delivered = query(stack.notifier_database_url, "SELECT count(*) FROM deliveries")[0][0]
        return (
            pending == 0
            and undelivered == 0
            and delivered == len(expected_emails) + len(expected_webhooks)
        )

    wait_for("everything to drain", drained, timeout=DRAIN_TIMEOUT, interval=2)
    drained_at = time.monotonic()

    # --- the ledger ----------------------------------------------------------------------
    outbox = query(stack.api_database_url, "SELECT id::text, status FROM outbox_outboxevent")
    committed = {row[0] for row in outbox}
    published_events = {row[0] for row in outbox if row[1] == "published"}
    consumed = {
        row[0] for row in query(stack.notifier_database_url, "SELECT event_id::text FROM inbox")
    }
    deliveries = query(
        stack.notifier_database_url,
        "SELECT d.id::text, d.notice_id::text, d.target_id::text, d.channel, d.kind, d.status,"
        " (SELECT count(*) FROM attempts a WHERE a.delivery_id = d.id"
        "   AND a.outcome = 'delivered') FROM deliveries d",
    )
    email_rows = {(r[1], r[2]) for r in deliveries if r[3] == "email" and r[4] == "notice"}
    webhook_rows = {r[1] for r in deliveries if r[3] == "webhook"}
    delivered = [r for r in deliveries if r[5] == "delivered"]
    failed = [r for r in deliveries if r[5] == "failed"]
    not_once = [r for r in deliveries if r[6] != 1]

    mails = Counter(message_id_of(m) for m in stack.mails())
    calls = stack.webhook_calls()
    webhook_2xx = Counter(c["webhook_id"] for c in calls if 200 <= c["status"] < 300)
    webhook_failed_by_design = sum(1 for c in calls if not 200 <= c["status"] < 300)
    mail_duplicates = sum(n - 1 for n in mails.values())
    webhook_duplicates = sum(n - 1 for n in webhook_2xx.values())
    sent_twice = {i for i, n in mails.items() if n > 1} | {
        i for i, n in webhook_2xx.items() if n > 1
    }
    unexplained = sent_twice - injected.in_flight
    letters = dead_letters(stack)

    print(
        "\n".join(
            [
                f"chaos ledger (seed {SEED})",
                f"  notices published over HTTP      {len(published)}",
                f"  events committed (outbox)        {len(committed)}",
                f"  events published (confirmed)     {len(published_events)}",
                f"  events consumed (notifier inbox) {len(consumed)}",
                f"  deliveries expected              "
                f"{len(expected_emails) + len(expected_webhooks)}"
                f" ({len(expected_emails)} email, {len(expected_webhooks)} webhook)",
                f"  deliveries in the ledger         {len(deliveries)}",
                f"  delivered / failed               {len(delivered)} / {len(failed)}",
                f"  not exactly one delivered attempt {len(not_once)}",
                f"  SMTP sink: mails / distinct / duplicates "
                f"{sum(mails.values())} / {len(mails)} / {mail_duplicates}"
                f" (leased at a fault: {len(injected.in_flight)})",
                f"  webhook sink: 2xx / distinct / duplicates / failed on purpose "
                f"{sum(webhook_2xx.values())} / {len(webhook_2xx)} / {webhook_duplicates}"
                f" / {webhook_failed_by_design}",
                f"  duplicates not leased at a fault {sorted(unexplained)}",
                f"  dead letters                     {len(letters)}"
                f" {sorted(Counter(letter['reason'] for letter in letters).items())}",
                f"  faults injected                  {dict(injected.counts)}",
                *(f"    {line}" for line in injected.log),
                f"  load {loaded - started:.0f}s, drained {drained_at - started:.0f}s after start",
            ]
        )
    )

    assert len(published) == NOTICES
    assert published_events == committed, "an outbox event was never published"
    assert committed <= consumed, "a published event never reached the notifier's inbox"
    assert email_rows == expected_emails
    assert webhook_rows == expected_webhooks
    assert len(deliveries) == len(expected_emails) + len(expected_webhooks)
    assert failed == []
    assert not_once == [], "a delivery recorded as delivered more or less than once"

    assert len(mails) == len(expected_emails), "a delivered email never reached the sink"
    assert len(webhook_2xx) == len(expected_webhooks), "a delivered webhook never arrived"
    assert unexplained == set(), "a delivery was sent twice without a fault to explain it"

    assert [letter["reason"] for letter in letters] == ["invalid_json"]
    assert letters[0]["body"] == POISON.decode()
    assert sum(injected.counts.values()) == sum(times for _, times in FAULTS)
