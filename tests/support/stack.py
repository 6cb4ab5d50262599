"""The whole platform as real processes, isolated per run, for e2e, chaos and benchmarks.

``running_stack()`` makes fresh PostgreSQL databases (API and notifier) and a fresh
RabbitMQ vhost named after a run id, migrates both stores, and starts on free ports:
notices-api (gunicorn, production settings), the outbox relay, the notifier (consumer,
dispatcher, API), an SMTP sink writing each mail to a directory, and a webhook receiver
that verifies signatures. ``notifier_roles`` splits the notifier into one process per
subset of its roles (``NOTIFIER_ROLES``), named ``notifier-<roles>``. Every process
runs in its own process group with
LOG_FORMAT=json, its output appended to ``<log_dir>/<name>.log``. On exit every
process group is killed and the databases and the vhost are dropped, also when the
body failed.

    with running_stack() as stack:
        token = stack.create_user("alice", publisher=True)
        ...
        stack.kill("relay", signal.SIGKILL); stack.start("relay")
"""

import email
import email.message
import email.policy
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import ExitStack, contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, TypeVar
from urllib.parse import quote, urlsplit, urlunsplit

import httpx
import psycopg

ROOT = Path(__file__).resolve().parents[2]
API_DIR = ROOT / "services" / "notices-api"
POSTGRES_URL = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
AMQP_URL = os.environ.get("TEST_AMQP_URL", "amqp://guest:guest@127.0.0.1:5672/")
STARTUP_TIMEOUT_SECONDS = 90.0
STOP_TIMEOUT_SECONDS = 15.0

T = TypeVar("T")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def wait_for(
    what: str, probe: Callable[[], T | None], *, timeout: float, interval: float = 0.2
) -> T:
    """Call ``probe`` until it returns something truthy; fail with ``what`` after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        if time.monotonic() > deadline:
            raise TimeoutError(f"gave up waiting for {what} after {timeout:.0f}s")
        time.sleep(interval)


def _with_database(url: str, database: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{database}"))


def _with_vhost(url: str, vhost: str) -> str:
    parts = urlsplit(url)
    return urlunsplit(parts._replace(path=f"/{quote(vhost, safe='')}"))


def rabbitmqctl(*args: str) -> str:
    done = subprocess.run(
        ["rabbitmqctl", "-q", *args], capture_output=True, text=True, timeout=60, check=False
    )
    if done.returncode:
        raise RuntimeError(f"rabbitmqctl {' '.join(args)}: {done.stderr.strip()}")
    return done.stdout


@dataclass
class ManagedProcess:
    """One service process: started in its own process group, restartable, logs appended."""

    name: str
    command: list[str]
    cwd: Path
    env: dict[str, str]
    log_path: Path
    ready: Callable[[], bool] = lambda: True
    popen: subprocess.Popen[bytes] | None = None
    starts: int = 0

    def start(self, *, wait: bool = True) -> None:
        assert not self.running, f"{self.name} is already running"
        with self.log_path.open("ab") as log:
            self.popen = subprocess.Popen(
                self.command,
                cwd=self.cwd,
                env=self.env,
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        wait_for(f"{self.name} to be ready", self._ready_or_died, timeout=STARTUP_TIMEOUT_SECONDS)

    @property
    def running(self) -> bool:
        return self.popen is not None and self.popen.poll() is None

    def kill(self, signum: int = signal.SIGKILL) -> None:
        """Signal the whole process group (a kill -9 takes the process and its children)."""
        if self.popen is None:
            return
        if self.popen.poll() is None:
            with suppress(ProcessLookupError):
                os.killpg(self.popen.pid, signum)
        if signum == signal.SIGKILL:
            self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)

    def stop(self) -> None:
        """SIGTERM, then SIGKILL if it does not end in time."""
        if not self.running:
            return
        assert self.popen is not None
        self.kill(signal.SIGTERM)
        try:
            self.popen.wait(timeout=STOP_TIMEOUT_SECONDS)
        except subprocess.TimeoutExpired:
            self.kill(signal.SIGKILL)

    def log_records(self) -> list[dict[str, Any]]:
        """The JSON lines of the log (other lines, e.g. a traceback, are skipped)."""
        records = []
        for line in self.log_path.read_text(errors="replace").splitlines():
            if line.startswith("{"):
                try:
                    records.append(json.loads(line))
                except json.JSONDecodeError:
                    continue
        return records

    def _ready_or_died(self) -> bool:
        if self.popen is not None and self.popen.poll() is not None:
            tail = self.log_path.read_text(errors="replace")[-3000:]
            raise RuntimeError(f"{self.name} exited with {self.popen.returncode}:\n{tail}")
        try:
            return self.ready()
        except (httpx.HTTPError, OSError):
            return False


@dataclass
class Stack:
    run_id: str
    work_dir: Path
    api_database: str
    notifier_database: str
    vhost: str
    notifier_token: str
    api_port: int
    notifier_port: int
    smtp_port: int
    receiver_port: int
    api_database_url: str = ""
    notifier_database_url: str = ""
    amqp_url: str = ""  # with this run's vhost
    processes: dict[str, ManagedProcess] = field(default_factory=dict)

    @property
    def api_url(self) -> str:
        return f"http://127.0.0.1:{self.api_port}"

    @property
    def notifier_url(self) -> str:
        return f"http://127.0.0.1:{self.notifier_port}"

    @property
    def receiver_url(self) -> str:
        return f"http://127.0.0.1:{self.receiver_port}"

    @property
    def mail_dir(self) -> Path:
        return self.work_dir / "mail"

    @property
    def log_dir(self) -> Path:
        return self.work_dir / "logs"

    def api_client(self, token: str | None = None) -> httpx.Client:
        headers = {"Authorization": f"Token {token}"} if token else {}
        return httpx.Client(base_url=f"{self.api_url}/api/v1", headers=headers, timeout=30)

    def notifier_client(self) -> httpx.Client:
        return httpx.Client(
            base_url=self.notifier_url,
            headers={"Authorization": f"Bearer {self.notifier_token}"},
            timeout=30,
        )

    def receiver_client(self) -> httpx.Client:
        return httpx.Client(base_url=self.receiver_url, timeout=30)

    def start(self, name: str, *, wait: bool = True) -> None:
        self.processes[name].start(wait=wait)

    def kill(self, name: str, signum: int = signal.SIGKILL) -> None:
        self.processes[name].kill(signum)

    def logs(self, name: str) -> list[dict[str, Any]]:
        return self.processes[name].log_records()

    def manage(self, *args: str) -> str:
        """``manage.py <args>`` of notices-api against this run's database; its stdout."""
        api = self.processes["api"]
        done = subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=API_DIR,
            env=api.env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        if done.returncode:
            raise RuntimeError(f"manage.py {' '.join(args)}: {done.stderr[-3000:]}")
        return done.stdout

    def create_user(self, username: str, *, email: str, publisher: bool = False) -> str:
        """A user through the operator's command (there is no sign-up API); its API token."""
        args = ["create_user", "--username", username, "--email", email]
        return self.manage(*args, *(["--publisher"] if publisher else [])).strip().splitlines()[-1]

    def mails(self) -> list[email.message.EmailMessage]:
        """Every mail the SMTP sink wrote, oldest first (a duplicate is a file of its own)."""
        found = []
        for path in sorted(self.mail_dir.glob("*.eml")):
            message = email.message_from_bytes(path.read_bytes(), policy=email.policy.default)
            assert isinstance(message, email.message.EmailMessage)
            found.append(message)
        return found

    def webhook_calls(self) -> list[dict[str, Any]]:
        """Every call the receiver verified (with the status it answered), oldest first."""
        with self.receiver_client() as receiver:
            calls: list[dict[str, Any]] = (
                receiver.get("/_received").raise_for_status().json()["calls"]
            )
        return calls

    def vhost_connections(self) -> list[str]:
        """Pids of this run's broker connections (only ever this vhost's)."""
        listing = rabbitmqctl("list_connections", "vhost", "pid")
        return [
            line.split("\t")[1]
            for line in listing.splitlines()
            if "\t" in line and line.split("\t")[0] == self.vhost
        ]

    def close_vhost_connections(self, reason: str = "chaos") -> int:
        closed = 0
        for pid in self.vhost_connections():
            try:
                rabbitmqctl("close_connection", pid, reason)
                closed += 1
            except RuntimeError:
                continue  # already gone
        return closed

    def terminate_database_backends(self) -> int:
        """pg_terminate_backend for every session on this run's two databases only."""
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            rows = admin.execute(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
                " WHERE datname = ANY(%s) AND pid <> pg_backend_pid()",
                ([self.api_database, self.notifier_database],),
            ).fetchall()
        return len(rows)


def _http_ok(url: str) -> Callable[[], bool]:
    return lambda: httpx.get(url, timeout=2).status_code == 200


def _accepts_connections(port: int) -> Callable[[], bool]:
    def probe() -> bool:
        with socket.create_connection(("127.0.0.1", port), timeout=2):
            return True

    return probe


@contextmanager
def scratch_database(name: str) -> Iterator[str]:
    """A database of this name for the block, dropped after it (its URL)."""
    with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield _with_database(POSTGRES_URL, name)
    finally:
        with psycopg.connect(POSTGRES_URL, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@contextmanager
def _vhost(name: str) -> Iterator[str]:
    rabbitmqctl("add_vhost", name)
    try:
        rabbitmqctl("set_permissions", "-p", name, "guest", ".*", ".*", ".*")
        yield _with_vhost(AMQP_URL, name)
    finally:
        rabbitmqctl("delete_vhost", name)


@contextmanager
def running_stack(
    work_dir: Path,
    *,
    api_env: Mapping[str, str] | None = None,
    notifier_env: Mapping[str, str] | None = None,
    relay_env: Mapping[str, str] | None = None,
    receiver_args: tuple[str, ...] = (),
    notifier_roles: Sequence[str] | None = None,
) -> Iterator[Stack]:
    """Everything up and ready; torn down (processes, databases, vhost) on exit.

    ``api_env`` (API and relay), ``notifier_env`` and ``relay_env`` add or override
    settings of those processes;
    ``receiver_args`` are extra flags of the webhook receiver (e.g. a failure rate);
    ``notifier_roles``: None runs one ``notifier run`` named ``notifier``; otherwise
    one process per entry (e.g. ``("consumer", "dispatcher", "api")``), named
    ``notifier-consumer`` ..., each serving its probes on a port of its own, the one
    with the api role on the stack's notifier port.
    """
    run_id = uuid.uuid4().hex[:10]
    stack = Stack(
        run_id=run_id,
        work_dir=work_dir,
        api_database=f"e2e_api_{run_id}",
        notifier_database=f"e2e_notifier_{run_id}",
        vhost=f"notices-test-{run_id}",
        notifier_token=secrets.token_urlsafe(24),
        api_port=free_port(),
        notifier_port=free_port(),
        smtp_port=free_port(),
        receiver_port=free_port(),
    )
    stack.log_dir.mkdir(parents=True, exist_ok=True)
    with ExitStack() as cleanup:
        api_database_url = cleanup.enter_context(scratch_database(stack.api_database))
        notifier_database_url = cleanup.enter_context(scratch_database(stack.notifier_database))
        amqp_url = cleanup.enter_context(_vhost(stack.vhost))
        stack.api_database_url, stack.notifier_database_url = (
            api_database_url,
            notifier_database_url,
        )
        stack.amqp_url = amqp_url
        common = {
            "PATH": os.environ["PATH"],
            "HOME": os.environ.get("HOME", "/tmp"),
            "LOG_FORMAT": "json",
            "LOG_LEVEL": "INFO",
            "AMQP_URL": amqp_url,
        }
        api_env = {
            **common,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": api_database_url,
            "NOTICES_PUBLIC_BASE_URL": stack.api_url,
            "OUTBOX_RELAY_METRICS_PORT": "0",
            **(api_env or {}),
        }
        notifier_run_env = {
            **common,
            "NOTIFIER_DATABASE_URL": notifier_database_url,
            "NOTIFIER_API_HOST": "127.0.0.1",
            "NOTIFIER_API_PORT": str(stack.notifier_port),
            "NOTIFIER_API_TOKEN": stack.notifier_token,
            "NOTIFIER_PUBLIC_BASE_URL": stack.notifier_url,
            "NOTIFIER_ALLOW_PRIVATE_WEBHOOKS": "true",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(stack.smtp_port),
            "SMTP_FROM": "Notices <notices@e2e.example>",
            **(notifier_env or {}),
        }
        python = sys.executable
        logs = stack.log_dir

        def process(
            name: str,
            command: list[str],
            env: dict[str, str],
            ready: Callable[[], bool],
            cwd: Path = ROOT,
        ) -> ManagedProcess:
            managed = ManagedProcess(
                name, command, cwd=cwd, env=env, log_path=logs / f"{name}.log", ready=ready
            )
            stack.processes[name] = managed
            cleanup.callback(managed.stop)
            return managed

        process(
            "api",
            [python, "-m", "gunicorn", "config.wsgi:application", "--bind",
             f"127.0.0.1:{stack.api_port}", "--workers", "2", "--threads", "4"],
            api_env,
            _http_ok(f"{stack.api_url}/readyz"),
            API_DIR,
        )  # fmt: skip
        process(
            "relay",
            [python, "manage.py", "outbox_relay"],
            # DEBUG: one outbox_event_published line per event, with its ids.
            {**api_env, "LOG_LEVEL": "DEBUG", **(relay_env or {})},
            lambda: True,
            API_DIR,
        )
        notifiers = (
            {"notifier": notifier_run_env}
            if notifier_roles is None
            else {
                f"notifier-{roles.replace(',', '-')}": {
                    **notifier_run_env,
                    "NOTIFIER_ROLES": roles,
                    "NOTIFIER_API_PORT": str(
                        stack.notifier_port if "api" in roles.split(",") else free_port()
                    ),
                }
                for roles in notifier_roles
            }
        )
        for name, env in notifiers.items():
            process(
                name,
                [_notifier_command(), "run"],
                env,
                _http_ok(f"http://127.0.0.1:{env['NOTIFIER_API_PORT']}/readyz"),
            )
        process(
            "smtp",
            [python, "-m", "notifier_devtools.smtp_sink", "--port", str(stack.smtp_port),
             "--dir", str(stack.mail_dir)],
            common,
            _accepts_connections(stack.smtp_port),
        )  # fmt: skip
        process(
            "receiver",
            [python, "-m", "notifier_devtools.webhook_receiver", "--port",
             str(stack.receiver_port), *receiver_args],
            common,
            _http_ok(f"{stack.receiver_url}/_received"),
        )  # fmt: skip

        _run([python, "manage.py", "migrate", "--no-input"], cwd=API_DIR, env=api_env)
        _run([_notifier_command(), "migrate"], cwd=ROOT, env=notifier_run_env)
        for name in ("smtp", "receiver", "api", *notifiers):
            stack.start(name, wait=False)
        # The notifier declares the queue before the relay publishes: RabbitMQ drops
        # what no queue is bound for.
        for name in ("smtp", "receiver", "api", *notifiers):
            stack.processes[name].wait_ready()
        stack.start("relay")
        yield stack


def _notifier_command() -> str:
    return str(Path(sys.executable).with_name("notifier"))


def _run(command: list[str], *, cwd: Path, env: dict[str, str]) -> None:
    done = subprocess.run(
        command, cwd=cwd, env=env, capture_output=True, text=True, timeout=300, check=False
    )
    if done.returncode:
        raise RuntimeError(f"{' '.join(command)} failed:\n{done.stdout}\n{done.stderr}"[-4000:])
