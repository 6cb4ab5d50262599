import asyncio
import email
import email.policy
import uuid
from collections.abc import Callable
from pathlib import Path

from notifier.channels.base import EmailMessage, Outcome
from notifier.channels.email import SmtpEmailChannel
from notifier_devtools.smtp_sink import SmtpSink

StartProcess = Callable[..., int]  # the start_devtool fixture: name, *args -> port


def an_email(delivery_id: uuid.UUID) -> EmailMessage:
    return EmailMessage(
        delivery_id=delivery_id,
        to_address="ann@example.org",
        subject="Hello",
        text_body="text",
        html_body="<p>html</p>",
    )


async def send(port: int, *messages: EmailMessage) -> list[Outcome]:
    channel = SmtpEmailChannel(host="127.0.0.1", port=port, from_address="n@notices.example")
    try:
        return [(await channel.send(message)).outcome for message in messages]
    finally:
        await channel.aclose()


async def test_writes_every_mail_even_duplicates_as_eml(tmp_path: Path) -> None:
    sink = SmtpSink(mail_dir=tmp_path / "mail")
    same = uuid.uuid4()
    async with sink.serving() as port:
        outcomes = await send(port, an_email(same), an_email(same), an_email(uuid.uuid4()))
        async with asyncio.timeout(10):
            await sink.wait_for(3)

    assert outcomes == [Outcome.DELIVERED] * 3
    files = sorted((tmp_path / "mail").glob("*.eml"))
    assert len(files) == 3
    message_ids = [
        email.message_from_bytes(path.read_bytes(), policy=email.policy.default)["Message-ID"]
        for path in files
    ]
    assert message_ids.count(f"<{same}@notices.example>") == 2


async def test_wait_for_returns_once_enough_mails_arrived() -> None:
    sink = SmtpSink()
    async with sink.serving() as port:
        waiting = asyncio.create_task(sink.wait_for(2))
        await send(port, an_email(uuid.uuid4()))
        await asyncio.sleep(0.05)
        assert not waiting.done()
        await send(port, an_email(uuid.uuid4()))
        async with asyncio.timeout(10):
            mails = await waiting

    assert len(mails) == 2


async def test_runs_as_a_process(tmp_path: Path, start_devtool: StartProcess) -> None:
    port = start_devtool("smtp_sink", "--dir", str(tmp_path))

    outcomes = await send(port, an_email(uuid.uuid4()))

    assert outcomes == [Outcome.DELIVERED]  # the sink answers 250 after writing the file
    assert len(await asyncio.to_thread(lambda: list(tmp_path.glob("*.eml")))) == 1
