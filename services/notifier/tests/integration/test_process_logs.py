"""`notifier run` with LOG_FORMAT=json: every line it writes, on stdout or stderr, is JSON."""

import asyncio
from pathlib import Path

from integration_harness import eventually, free_port, migrated, notifier_process
from notifier_testing import log_lines


async def _send_a_malformed_request(port: int) -> None:
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"NOT HTTP AT ALL\r\n\r\n")
    await writer.drain()
    await reader.read()
    writer.close()
    await writer.wait_closed()


async def test_every_line_of_the_notifier_process_is_json(
    settings_env: dict[str, str], tmp_path: Path
) -> None:
    port = free_port()
    env = settings_env | {
        "NOTIFIER_API_PORT": str(port),
        "NOTIFIER_API_HOST": "127.0.0.1",
        # Debug, so that aio-pika and FastStream's broker write lines of their own.
        "LOG_LEVEL": "DEBUG",
        "LOG_FORMAT": "json",
    }
    await migrated(env)
    log = tmp_path / "notifier.log"

    async with notifier_process(env, log):
        # uvicorn answers it with a warning through its "uvicorn.error" logger.
        await _send_a_malformed_request(port)

        async def uvicorn_warned() -> bool:
            return "Invalid HTTP request" in log.read_text(errors="replace")

        await eventually(uvicorn_warned, within=60)

    records, not_json = log_lines(log.read_text(errors="replace"))
    assert not_json == []
    loggers = {record.get("logger", "") for record in records}
    assert "uvicorn.error" in loggers
    assert "notifier.broker" in loggers  # FastStream's
    assert any(name.startswith(("aio_pika", "aiormq")) for name in loggers), loggers
    started = next(r for r in records if r.get("event") == "notifier_started")
    assert {"event", "level", "timestamp"} <= started.keys()
