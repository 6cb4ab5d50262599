import asyncio
import dataclasses
import email.message
import email.parser
import email.policy
import socket
import ssl
import subprocess
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import pytest

from notifier.channels.base import EmailMessage, Outcome
from notifier.channels.email import SmtpEmailChannel, SmtpTls, smtp_tls_options
from notifier_devtools.smtp_sink import SmtpSink

MakeChannel = Callable[..., Awaitable[SmtpEmailChannel]]
TEMPORARY_FAILURE = "temporarily@example.org"
PERMANENT_FAILURE = "nobody@example.org"


@pytest.fixture
def sink() -> SmtpSink:
    return SmtpSink(
        rcpt_replies={
            TEMPORARY_FAILURE: "451 4.3.0 mailbox busy, try again later",
            PERMANENT_FAILURE: "550 5.1.1 no such user",
        }
    )


@pytest.fixture
async def sink_port(sink: SmtpSink) -> AsyncIterator[int]:
    async with sink.serving() as port:
        yield port


def an_email(to_address: str = "ann@example.org", **changes: Any) -> EmailMessage:
    message = EmailMessage(
        delivery_id=uuid.uuid4(),
        to_address=to_address,
        subject="Boiler maintenance on Friday",
        text_body="The heating is off from 8 to 12.\n",
        html_body="<p>The heating is off from <b>8 to 12</b>.</p>\n",
        headers={"List-Unsubscribe": "<https://notices.example/u/abc>"},
    )
    return dataclasses.replace(message, **changes)


@pytest.fixture
async def make_channel() -> AsyncIterator[MakeChannel]:
    channels: list[SmtpEmailChannel] = []

    async def make(*, port: int, **options: object) -> SmtpEmailChannel:
        channel = SmtpEmailChannel(
            host="127.0.0.1",
            port=port,
            from_address="Notices <no-reply@notices.example>",
            **options,  # type: ignore[arg-type]
        )
        channels.append(channel)
        return channel

    yield make
    for channel in channels:
        await channel.aclose()


def a_free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
    return port


async def test_sends_text_and_html_alternatives_with_id_and_headers(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port)
    message = an_email()

    result = await channel.send(message)

    assert result.outcome is Outcome.DELIVERED
    (mail,) = sink.mails
    assert mail.rcpt_tos == ("ann@example.org",)
    assert mail.mail_from == "no-reply@notices.example"
    assert mail.message_id == f"<{message.delivery_id}@notices.example>"
    assert mail.subject == "Boiler maintenance on Friday"
    assert mail.message["List-Unsubscribe"] == "<https://notices.example/u/abc>"
    assert mail.message.get_content_type() == "multipart/alternative"
    text, html = mail.message.iter_parts()
    assert text.get_content_type() == "text/plain"
    assert text.get_content() == message.text_body
    assert html.get_content_type() == "text/html"
    assert html.get_content() == message.html_body


async def test_reuses_one_connection_for_many_sends(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port, pool_size=1)

    results = [await channel.send(an_email()) for _ in range(20)]

    assert {result.outcome for result in results} == {Outcome.DELIVERED}
    assert len(sink.mails) == 20
    assert sink.connections_opened == 1


async def test_concurrent_sends_share_a_bounded_pool(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port, pool_size=3)
    messages = [an_email(f"user{n}@example.org") for n in range(50)]

    results = await asyncio.gather(*(channel.send(message) for message in messages))

    assert {result.outcome for result in results} == {Outcome.DELIVERED}
    assert sorted(mail.message_id or "" for mail in sink.mails) == sorted(
        f"<{message.delivery_id}@notices.example>" for message in messages
    )
    assert sink.connections_opened <= 3


@pytest.mark.parametrize("settle", [True, False], ids=["noticed-closed", "closed-under-us"])
async def test_reconnects_after_the_server_dropped_the_connection(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel, settle: bool
) -> None:
    channel = await make_channel(port=sink_port, pool_size=1)
    assert (await channel.send(an_email())).outcome is Outcome.DELIVERED

    sink.drop_connections()
    if settle:
        await asyncio.sleep(0.1)  # let the client see the close before its next send
    result = await channel.send(an_email())

    assert result.outcome is Outcome.DELIVERED
    assert len(sink.mails) == 2
    assert sink.connections_opened == 2


async def test_retries_while_the_server_is_down_then_delivers(
    sink: SmtpSink, make_channel: MakeChannel
) -> None:
    port = a_free_port()
    channel = await make_channel(port=port, pool_size=1)

    down = await channel.send(an_email())
    async with sink.serving(port=port):
        up = await channel.send(an_email())

    assert down.outcome is Outcome.RETRY
    assert down.error is not None
    assert "connect" in down.error
    assert up.outcome is Outcome.DELIVERED


async def test_a_server_that_never_greets_times_out_as_transient(
    make_channel: MakeChannel,
) -> None:
    async def silent(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await reader.read()  # holds the connection open and says nothing

    server = await asyncio.start_server(silent, "127.0.0.1", 0)
    async with server:
        port = server.sockets[0].getsockname()[1]
        channel = await make_channel(port=port, connect_timeout_seconds=0.3)
        result = await channel.send(an_email())

    assert result.outcome is Outcome.RETRY
    assert result.error is not None
    assert "Timeout" in result.error


@pytest.mark.parametrize(
    ("recipient", "outcome", "code"),
    [(TEMPORARY_FAILURE, Outcome.RETRY, 451), (PERMANENT_FAILURE, Outcome.FAILED, 550)],
    ids=["4xx", "5xx"],
)
async def test_classifies_reply_codes(
    sink: SmtpSink,
    sink_port: int,
    make_channel: MakeChannel,
    recipient: str,
    outcome: Outcome,
    code: int,
) -> None:
    channel = await make_channel(port=sink_port, pool_size=1)

    refused = await channel.send(an_email(recipient))
    after = await channel.send(an_email())

    assert (refused.outcome, refused.status_code) == (outcome, code)
    assert after.outcome is Outcome.DELIVERED  # the connection survived the refusal
    assert sink.connections_opened == 1


async def test_refuses_to_let_headers_replace_the_message_id(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port)

    result = await channel.send(an_email(headers={"Message-ID": "<forged@example.org>"}))

    assert result.outcome is Outcome.FAILED
    assert sink.mails == []


async def test_closing_quits_and_later_sends_are_an_error(
    sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port)
    await channel.send(an_email())

    await channel.aclose()

    with pytest.raises(RuntimeError, match="closed"):
        await channel.send(an_email())


def test_needs_a_from_address_with_a_domain() -> None:
    with pytest.raises(ValueError, match="domain"):
        SmtpEmailChannel(host="127.0.0.1", port=25, from_address="nobody")


async def test_non_ascii_subjects_and_bodies_arrive_intact(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port)
    subject = "Wartung der Heizungsanlage: bitte beachten Sie die geänderten Öffnungszeiten"
    text = "Grüße aus dem Büro\n" + "ä" * 200 + "\n"
    message = an_email(subject=subject, text_body=text, html_body=f"<p>{text}</p>")

    assert (await channel.send(message)).outcome is Outcome.DELIVERED

    (mail,) = sink.mails
    assert mail.subject == subject
    assert mail.message["Subject"] == subject
    text_part, html_part = mail.message.iter_parts()
    assert text_part.get_content() == text
    assert html_part.get_content() == f"<p>{text}</p>"


@pytest.mark.parametrize(
    "changes",
    [
        {"subject": "Hello\r\nBcc: victim@example.org"},
        {"headers": {"X-Note": "one\ntwo"}},
        {"headers": {"Bad Name": "value"}},
    ],
    ids=["subject", "header-value", "header-name"],
)
async def test_refuses_header_injection(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel, changes: dict[str, Any]
) -> None:
    channel = await make_channel(port=sink_port)

    result = await channel.send(an_email(**changes))

    assert result.outcome is Outcome.FAILED
    assert sink.mails == []


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1: (cert path, key path)."""
    directory = tmp_path_factory.mktemp("tls")
    cert, key = directory / "cert.pem", directory / "key.pem"
    subprocess.run(
        [
            *("openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1"),
            *("-subj", "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1"),
            *("-keyout", str(key), "-out", str(cert)),
        ],
        check=True,
        capture_output=True,
    )
    return str(cert), str(key)


@pytest.mark.parametrize(
    ("password", "outcome"),
    [("s3cret", Outcome.DELIVERED), ("wrong", Outcome.RETRY)],
    ids=["good-credentials", "bad-credentials"],
)
async def test_starttls_with_credentials(
    certificate: tuple[str, str], make_channel: MakeChannel, password: str, outcome: Outcome
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sink = SmtpSink(tls_context=server_tls, credentials=("notifier", "s3cret"))
    async with sink.serving() as port:
        channel = await make_channel(
            port=port,
            tls=SmtpTls.REQUIRED,
            cert_bundle=cert,
            username="notifier",
            password=password,
        )
        result = await channel.send(an_email())

    assert result.outcome is outcome
    assert len(sink.mails) == (1 if outcome is Outcome.DELIVERED else 0)


async def test_a_session_refused_for_want_of_starttls_is_transient(
    certificate: tuple[str, str], make_channel: MakeChannel
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sink = SmtpSink(tls_context=server_tls)
    async with sink.serving() as port:
        channel = await make_channel(port=port, tls=SmtpTls.OFF)
        result = await channel.send(an_email())

    assert (result.outcome, result.status_code) == (Outcome.RETRY, 530)
    assert sink.mails == []


async def test_by_default_the_session_upgrades_to_starttls_when_the_server_offers_it(
    certificate: tuple[str, str], make_channel: MakeChannel
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sink = SmtpSink(tls_context=server_tls)  # refuses MAIL before STARTTLS
    async with sink.serving() as port:
        channel = await make_channel(port=port, cert_bundle=cert)  # SMTP_TLS's default
        result = await channel.send(an_email())

    assert result.outcome is Outcome.DELIVERED
    assert len(sink.mails) == 1


async def test_implicit_tls_speaks_tls_from_the_first_byte(
    certificate: tuple[str, str], make_channel: MakeChannel
) -> None:
    cert, key = certificate
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    sink = SmtpSink()
    async with sink.serving(implicit_tls=server_tls) as port:
        smtps = await make_channel(port=port, tls=SmtpTls.IMPLICIT, cert_bundle=cert)
        plain = await make_channel(port=port, tls=SmtpTls.OFF, connect_timeout_seconds=2.0)
        assert (await smtps.send(an_email())).outcome is Outcome.DELIVERED
        assert (await plain.send(an_email())).outcome is Outcome.RETRY

    assert len(sink.mails) == 1


async def test_required_tls_sends_nothing_to_a_server_without_starttls(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port, tls=SmtpTls.REQUIRED)

    result = await channel.send(an_email())

    assert result.outcome is Outcome.RETRY
    assert sink.mails == []


async def test_opportunistic_tls_still_sends_to_a_server_without_starttls(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port, tls=SmtpTls.OPPORTUNISTIC)

    assert (await channel.send(an_email())).outcome is Outcome.DELIVERED


@pytest.mark.parametrize(
    ("tls", "options"),
    [
        (SmtpTls.OPPORTUNISTIC, {"use_tls": False, "start_tls": None}),
        (SmtpTls.REQUIRED, {"use_tls": False, "start_tls": True}),
        (SmtpTls.IMPLICIT, {"use_tls": True, "start_tls": False}),
        (SmtpTls.OFF, {"use_tls": False, "start_tls": False}),
    ],
)
def test_each_tls_mode_is_one_set_of_aiosmtplib_options(
    tls: SmtpTls, options: dict[str, bool | None]
) -> None:
    assert smtp_tls_options(tls) == options


async def test_a_send_cancelled_mid_transaction_leaves_no_broken_session(
    sink: SmtpSink, sink_port: int, make_channel: MakeChannel
) -> None:
    channel = await make_channel(port=sink_port, pool_size=1)
    await channel.send(an_email())
    cancelled = asyncio.create_task(channel.send(an_email()))
    await asyncio.sleep(0)  # let it start its transaction
    cancelled.cancel()
    with pytest.raises(asyncio.CancelledError):
        await cancelled

    results = [await channel.send(an_email()) for _ in range(3)]

    assert {result.outcome for result in results} == {Outcome.DELIVERED}


def _parsed(channel: SmtpEmailChannel, message: EmailMessage) -> email.message.EmailMessage:
    """The message as a mail store reads it: line ends as the receiving server keeps them."""
    wire = channel.compose(message)
    parsed = email.parser.BytesParser(policy=email.policy.default).parsebytes(
        wire.replace(b"\r\n", b"\n")
    )
    assert isinstance(parsed, email.message.EmailMessage)
    return parsed


@pytest.mark.parametrize(
    "text_body",
    [
        "no newline at the end",
        "--=_{hex}\n--=_{hex}--\nlines that look like the boundary\n",
        "lines\r\nending\rthree ways\n. a leading dot\n\n\n",
        "=3D, =, trailing space \nand tab\t\n" + "x" * 300,
    ],
    ids=["no-final-newline", "boundary-lookalike", "line-endings", "qp-specials"],
)
def test_every_body_comes_back_from_a_mail_parser_as_written(text_body: str) -> None:
    channel = SmtpEmailChannel(host="127.0.0.1", port=25, from_address="n@notices.example")
    message = an_email()
    text_body = text_body.replace("{hex}", message.delivery_id.hex)
    message = dataclasses.replace(message, text_body=text_body)

    parsed = _parsed(channel, message)

    text_part, html_part = parsed.iter_parts()
    expected = text_body.replace("\r\n", "\n").replace("\r", "\n")
    assert text_part.get_content() == expected
    assert html_part.get_content() == message.html_body
    assert all(len(line) <= 78 for line in channel.compose(message).split(b"\r\n")[12:])


def test_a_long_or_non_ascii_header_is_encoded_and_folded() -> None:
    channel = SmtpEmailChannel(host="127.0.0.1", port=25, from_address="n@notices.example")
    long_value = "<https://notices.example/unsubscribe?" + "a" * 1200 + ">"
    message = an_email(headers={"List-Unsubscribe": long_value, "X-Name": "Zoë Ärger"})

    wire = channel.compose(message)

    assert all(len(line) <= 998 for line in wire.split(b"\r\n"))
    parsed = _parsed(channel, message)
    assert parsed["List-Unsubscribe"] == long_value
    assert parsed["X-Name"] == "Zoë Ärger"
