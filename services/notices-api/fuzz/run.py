"""``make fuzz``: schemathesis against a live notices-api, as a publisher and as a recipient.

Makes its own PostgreSQL database, migrates it, starts gunicorn (production
settings) on a free port, seeds a group, a published notice and a draft through
the API, then runs ``schemathesis run`` against ``/api/schema/`` once per role.
The run is bounded by FUZZ_MAX_EXAMPLES per operation and seeded (FUZZ_SEED,
printed) so a failure can be replayed. Everything is torn down in ``finally``.

The sign-out operations revoke the token they are called with: the role runs leave them
out, and each has a last run of its own, as a user whose token nothing else uses.
"""

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import psycopg

SERVICE_DIR = Path(__file__).resolve().parents[1]
CHECKS = ",".join(
    [
        "not_a_server_error",
        "status_code_conformance",
        "content_type_conformance",
        "response_headers_conformance",
        "response_schema_conformance",
        "negative_data_rejection",
        "unsupported_method",
        "ignored_auth",
    ]
)


SIGN_OUT_OPERATIONS = ("auth_logout", "auth_logout_all")


def log(message: str) -> None:
    print(f"fuzz: {message}", flush=True)


@contextmanager
def scratch_database(admin_url: str) -> Iterator[str]:
    name = f"fuzz_notices_api_{uuid.uuid4().hex[:10]}"
    with psycopg.connect(admin_url, autocommit=True) as admin:
        admin.execute(f'CREATE DATABASE "{name}"')
    try:
        yield urlunsplit(urlsplit(admin_url)._replace(path=f"/{name}"))
    finally:
        with psycopg.connect(admin_url, autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


def manage(env: dict[str, str], *args: str) -> str:
    done = subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=SERVICE_DIR,
        env=env,
        capture_output=True,
        text=True,
    )
    if done.returncode != 0:
        raise RuntimeError(f"manage.py {' '.join(args)} failed:\n{done.stderr}")
    return done.stdout.strip()


def call(base: str, token: str, method: str, path: str, body: Any = None) -> Any:
    request = urllib.request.Request(
        f"{base}{path}",
        method=method,
        data=json.dumps(body).encode() if body is not None else None,
        headers={"Authorization": f"Token {token}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read() or b"null")


def signed_in(base: str, token: str) -> bool:
    try:
        call(base, token, "GET", "/api/v1/me/")
    except urllib.error.HTTPError as error:
        if error.code == 401:
            return False
        raise
    return True


def wait_until_ready(base: str, server: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError("the server exited during start-up")
        try:
            with urllib.request.urlopen(f"{base}/readyz", timeout=2):
                return
        except OSError:
            time.sleep(0.3)
    raise RuntimeError("the server did not become ready within 60 s")


def seed(base: str, publisher_token: str, recipient_token: str) -> dict[str, list[str]]:
    """Data for the fuzzer to meet, returned as the ids it should try in paths.

    A group with the recipient in it, two published notices (one read), drafts.
    Without real ids nearly every ``{notice_id}`` request would end in a 404.
    """
    recipient = call(base, recipient_token, "GET", "/api/v1/me/")
    group = call(base, publisher_token, "POST", "/api/v1/groups/", {"name": "Everyone"})
    members = {"user_ids": [recipient["id"]]}
    call(base, publisher_token, "POST", f"/api/v1/groups/{group['id']}/members/", members)
    notice_ids = []
    for title in ("Welcome", "Maintenance window", "Draft one", "Draft two"):
        draft = {"title": title, "recipient_group_ids": [group["id"]]}
        notice = call(base, publisher_token, "POST", "/api/v1/notices/", draft)
        notice_ids.append(notice["id"])
        if not title.startswith("Draft"):
            call(base, publisher_token, "POST", f"/api/v1/notices/{notice['id']}/publish/")
    call(base, recipient_token, "POST", f"/api/v1/notices/{notice_ids[0]}/read/")
    return {"notice_id": notice_ids, "group_id": [group["id"]], "user_id": [recipient["id"]]}


def write_config(path: Path, ids: dict[str, list[str]]) -> None:
    """A schemathesis.toml that draws path ids from the seeded ones most of the time."""
    lines = []
    for parameter, values in ids.items():
        quoted = ", ".join(f'"{value}"' for value in values)
        lines += [f"[dictionaries.{parameter}]", f"values = [{quoted}]", ""]
    lines.append("[parameters]")
    lines += [
        f'"path.{parameter}" = {{ dictionary = "{parameter}", probability = 0.8 }}'
        for parameter in ids
    ]
    path.write_text("\n".join(lines) + "\n")


def create_user(env: dict[str, str], username: str, *options: str) -> str:
    """A user through the operator's command; its API token."""
    return manage(
        env, "create_user", "--username", username, "--email", f"{username}@example.org", *options
    )


def main() -> int:
    admin_url = os.environ.get("TEST_POSTGRES_URL", "postgres://postgres@127.0.0.1:5432/postgres")
    max_examples = os.environ.get("FUZZ_MAX_EXAMPLES", "15")
    fuzz_seed = os.environ.get("FUZZ_SEED", str(secrets.randbelow(2**31)))
    log(f"seed {fuzz_seed}, max {max_examples} examples per operation and role")
    with scratch_database(admin_url) as database_url:
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "config.settings.production",
            "DJANGO_SECRET_KEY": secrets.token_urlsafe(48),
            "DJANGO_ALLOWED_HOSTS": "127.0.0.1,localhost",
            "DATABASE_URL": database_url,
            "LOG_LEVEL": os.environ.get("FUZZ_LOG_LEVEL", "WARNING"),
            "THROTTLE_RATE_ANON": "100000/minute",
            "THROTTLE_RATE_USER": "100000/minute",
            "THROTTLE_RATE_AUTH": "100000/minute",
        }
        manage(env, "migrate", "--no-input")
        tokens = {
            "publisher": create_user(env, "fuzz-publisher", "--publisher"),
            "recipient": create_user(env, "fuzz-recipient"),
        }
        but_sign_out = [arg for op in SIGN_OUT_OPERATIONS for arg in ("--exclude-operation-id", op)]
        runs = [(role, token, but_sign_out) for role, token in tokens.items()]
        runs += [
            (f"user calling {op}", create_user(env, f"fuzz-{op}"), ["--include-operation-id", op])
            for op in SIGN_OUT_OPERATIONS
        ]
        port = free_port()
        base = f"http://127.0.0.1:{port}"
        server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "config.wsgi",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                "2",
                "--timeout",
                "60",
                # gunicorn answers an over-long request line itself (414, HTML) before the
                # app sees it; in production the proxy in front sets that limit. Here every
                # request reaches the API, whose answers are what the schema describes.
                "--limit-request-line",
                "0",
                "--limit-request-field_size",
                "0",
            ],
            cwd=SERVICE_DIR,
            env=env,
        )
        config = SERVICE_DIR / "var" / f"fuzz-{port}.toml"
        config.parent.mkdir(exist_ok=True)
        try:
            wait_until_ready(base, server)
            write_config(config, seed(base, tokens["publisher"], tokens["recipient"]))
            failed = []
            for role, token, operations in runs:
                log(f"schemathesis as the {role}")
                result = subprocess.run(
                    [
                        sys.executable,
                        "-m",
                        "schemathesis.cli",
                        "--config-file",
                        str(config),
                        "run",
                        f"{base}/api/schema/",
                        *operations,
                        "--header",
                        f"Authorization: Token {token}",
                        "--checks",
                        CHECKS,
                        "--max-examples",
                        max_examples,
                        "--seed",
                        fuzz_seed,
                        # One worker: hypothesis parses lambda sources with ast, which
                        # CPython 3.11 does not support from several threads at once
                        # ("AST constructor recursion depth mismatch").
                        "--workers",
                        "1",
                        "--no-color",
                    ],
                    # schemathesis keeps a cache in its working directory; var/ is ignored.
                    cwd=config.parent,
                    env=env,
                )
                if result.returncode != 0:
                    failed.append(role)
            for role, token in tokens.items():
                # Had a run revoked its token, it would have tested little but 401s.
                if not signed_in(base, token):
                    log(f"the {role}'s token was revoked during the run")
                    failed.append(role)
        finally:
            config.unlink(missing_ok=True)
            server.terminate()
            server.wait(timeout=30)
    if failed:
        log(f"FAILED as {', '.join(failed)} (replay with FUZZ_SEED={fuzz_seed})")
        return 1
    log("no server error and no response that breaks the schema")
    return 0


if __name__ == "__main__":
    sys.exit(main())
