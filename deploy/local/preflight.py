"""`make run`'s first step: stop at once, with the way out, when RabbitMQ is not there
or a port the stack needs is taken."""

import os
import socket
import sys

from kombu import Connection

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")

# The listeners of the local stack: (env var that moves it, default, what listens there).
PORTS = (
    ("NOTICES_API_PORT", 8000, "notices-api"),
    ("NOTIFIER_API_PORT", 8001, "the notifier's API"),
    ("SMTP_PORT", 1025, "the SMTP sink"),
    ("OUTBOX_RELAY_METRICS_PORT", 9108, "the outbox relay's metrics"),
)

HOW_TO_START = """\
RabbitMQ is not reachable at AMQP_URL={url}
  ({error})
Start one, then run `make run` again:
  - Debian/Ubuntu:  sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached
  - Docker:         docker compose -f deploy/compose.yaml up -d rabbitmq
  - elsewhere:      export AMQP_URL=amqp://user:password@host:5672/vhost
"""

PORT_TAKEN = """\
Port {port} ({what}) is already in use. Stop whatever listens there, or move it:
  {name}=<free port> make run
"""


def broker_problem() -> str | None:
    try:
        with Connection(AMQP_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # any failure to connect ends the same way: say how to fix it
        return HOW_TO_START.format(url=AMQP_URL, error=error)
    return None


def port_problems() -> list[str]:
    problems = []
    for name, default, what in PORTS:
        port = int(os.environ.get(name, default))
        if port == 0:  # the relay's metrics are off
            continue
        with socket.socket() as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            try:
                probe.bind(("0.0.0.0", port))
            except OSError:
                problems.append(PORT_TAKEN.format(port=port, what=what, name=name))
    return problems


def main() -> int:
    problems = [p for p in [broker_problem(), *port_problems()] if p]
    for problem in problems:
        sys.stderr.write(problem)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
