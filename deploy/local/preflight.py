"""`make run`'s first step: stop at once, with the way out, when RabbitMQ is not there."""

import os
import sys

from kombu import Connection

AMQP_URL = os.environ.get("AMQP_URL", "amqp://guest:guest@localhost:5672/")

HOW_TO_START = """\
RabbitMQ is not reachable at AMQP_URL={url}
  ({error})
Start one, then run `make run` again:
  - Debian/Ubuntu:  sudo apt-get install rabbitmq-server && sudo rabbitmq-server -detached
  - Docker:         docker compose -f deploy/compose.yaml up -d rabbitmq
  - elsewhere:      export AMQP_URL=amqp://user:password@host:5672/vhost
"""


def main() -> int:
    try:
        with Connection(AMQP_URL, connect_timeout=3) as connection:
            connection.ensure_connection(max_retries=1)
    except Exception as error:  # any failure to connect ends the same way: say how to fix it
        sys.stderr.write(HOW_TO_START.format(url=AMQP_URL, error=error))
        return 1
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
