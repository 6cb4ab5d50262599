"""`make run`'s last process: waits until the stack answers, then says where everything is.

It stays up (honcho stops the whole stack when one process ends) until honcho stops it.
"""

import os
import signal
import sys
import time
import urllib.error
import urllib.request

API_PORT = int(os.environ.get("NOTICES_API_PORT", "8000"))
NOTIFIER_PORT = int(os.environ.get("NOTIFIER_API_PORT", "8001"))
SMTP_PORT = int(os.environ.get("SMTP_PORT", "1025"))
RELAY_METRICS_PORT = int(os.environ.get("OUTBOX_RELAY_METRICS_PORT", "9108"))
NOTIFIER_TOKEN = os.environ.get("NOTIFIER_API_TOKEN", "")
MAIL_DIR = os.environ.get("LOCAL_MAIL_DIR", "var/mail")
STARTUP_TIMEOUT_SECONDS = 120

BANNER = """
  notices platform is up (Ctrl-C stops everything)

  notices-api     http://localhost:{api}/api/v1/      docs http://localhost:{api}/api/docs/
                  admin http://localhost:{api}/admin/  health /healthz, /readyz, /metrics
  notifier API    http://localhost:{notifier}/v1/     Authorization: Bearer {token}
                  health http://localhost:{notifier}/healthz, /readyz, /metrics
  outbox relay    {relay}
  mail            SMTP sink on localhost:{smtp}; every mail is a file in {mail_dir}/*.eml

  a publisher and its API token:
    cd services/notices-api && uv run python manage.py create_user \\
        --username alice --email alice@example.org --publisher --password 'alice-secret-1'
  a recipient: the same without --publisher. API tour: docs/api.md
  the whole flow in a minute, from another terminal:  make demo
"""


def healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            return bool(response.status == 200)
    except (urllib.error.URLError, OSError):
        return False


def main() -> int:
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))
    probes = [
        f"http://127.0.0.1:{API_PORT}/healthz",
        f"http://127.0.0.1:{NOTIFIER_PORT}/healthz",
    ]
    deadline = time.monotonic() + STARTUP_TIMEOUT_SECONDS
    while not all(healthy(url) for url in probes):
        if time.monotonic() > deadline:
            print(f"the stack did not answer {probes} within {STARTUP_TIMEOUT_SECONDS}s")
            return 1
        time.sleep(0.5)
    relay = (
        f"metrics http://localhost:{RELAY_METRICS_PORT}/metrics"
        if RELAY_METRICS_PORT
        else "metrics off"
    )
    print(
        BANNER.format(
            api=API_PORT,
            notifier=NOTIFIER_PORT,
            token=NOTIFIER_TOKEN or "(NOTIFIER_API_TOKEN is empty: /v1 refuses every call)",
            relay=relay,
            smtp=SMTP_PORT,
            mail_dir=MAIL_DIR,
        ),
        flush=True,
    )
    while True:
        signal.pause()


if __name__ == "__main__":
    raise SystemExit(main())
