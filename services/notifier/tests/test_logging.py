"""configure_logging: one shape for every line of the process, structlog's and the stdlib's.

Each case runs in a fresh interpreter: logging is process-wide state, and what is under
test is what a process writes to its stdout and stderr, whoever holds the stream.
"""

import subprocess
import sys
import textwrap

from notifier_testing import log_lines


def _written_by(script: str) -> str:
    done = subprocess.run(
        [sys.executable, "-c", textwrap.dedent(script)],
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        timeout=120,
        check=True,
    )
    return done.stdout


LIBRARY_LINES = """
    import logging

    import faststream  # installs its own stderr handler on the "faststream" logger at import

    from notifier.logging import configure_logging

    configure_logging(log_format="{log_format}", level="DEBUG")
    logging.getLogger("faststream").warning("broker started")
    logging.getLogger("uvicorn.error").warning("invalid request")
    logging.getLogger("aio_pika.robust_connection").debug("connecting to %s", "rabbitmq")
    # FastStream's broker logs with the message's context as extras.
    logging.getLogger("notifier.broker").error(
        "consumer failed", extra={{"message_id": "m-1", "queue": "q", "exchange": "x"}}
    )
    try:
        raise RuntimeError("boom")
    except RuntimeError:
        logging.getLogger("some.library").exception("with a traceback")
"""

STRUCTLOG_LINES = """
    import structlog

    from notifier.logging import configure_logging

    configure_logging(log_format="json")
    structlog.get_logger("notifier.probe").info("probe_event", notice_id="n-1")
    structlog.get_logger("notifier.probe").debug("below_the_level")
"""


def test_structlog_events_are_json_lines_that_keep_their_keys() -> None:
    records, not_json = log_lines(_written_by(STRUCTLOG_LINES))

    assert not_json == []
    [record] = records
    assert record["event"] == "probe_event"
    assert record["level"] == "info"
    assert record["timestamp"].endswith("Z")
    assert record["notice_id"] == "n-1"
    assert record["logger"] == "notifier.probe"


def test_with_json_every_stdlib_logger_writes_json_lines() -> None:
    records, not_json = log_lines(_written_by(LIBRARY_LINES.format(log_format="json")))

    assert not_json == []
    by_logger = {record["logger"]: record for record in records}
    assert by_logger["faststream"]["event"] == "broker started"
    assert by_logger["uvicorn.error"]["level"] == "warning"
    assert by_logger["aio_pika.robust_connection"]["event"] == "connecting to rabbitmq"
    failed = by_logger["notifier.broker"]
    assert (failed["message_id"], failed["queue"], failed["exchange"]) == ("m-1", "q", "x")
    assert "RuntimeError: boom" in by_logger["some.library"]["exception"]
    assert all("timestamp" in record for record in by_logger.values())


def test_on_the_console_every_logger_writes_readable_lines() -> None:
    records, lines = log_lines(_written_by(LIBRARY_LINES.format(log_format="console")))

    assert records == []
    for logger_name, message in [
        ("faststream", "broker started"),
        ("uvicorn.error", "invalid request"),
        ("aio_pika.robust_connection", "connecting to rabbitmq"),
    ]:
        assert any(logger_name in line and message in line for line in lines), lines
    assert any("RuntimeError: boom" in line for line in lines)
