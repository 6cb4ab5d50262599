"""Email over SMTP (aiosmtplib) with a small pool of reused connections.

Each pooled client keeps its connection open between sends and reconnects when
it finds it closed. A connection the server closed while it sat idle is retried
once on a fresh connection within the same send. Failures while setting up a
connection (connect, EHLO, STARTTLS, AUTH) are never the message's fault, so
they are transient whatever the reply code; only 5xx replies to the mail
transaction itself (except 530, which refuses our session) fail a message for good.
"""

import asyncio
import binascii
import email.utils
from email.header import Header
from enum import StrEnum
from typing import TypedDict

import aiosmtplib

from notifier.channels.base import EmailMessage, Outcome, SendResult

# The channel sets these itself; a caller's header must not replace them.
_RESERVED_HEADERS = frozenset(
    {
        "from",
        "to",
        "subject",
        "date",
        "message-id",
        "mime-version",
        "content-type",
        "content-transfer-encoding",
    }
)
_TRANSIENT_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)
# 530 (authentication or STARTTLS required) refuses our session, not the message:
# a configuration to fix, after which the message should still go out.
_SESSION_NOT_AUTHORISED = 530
# RFC 5322 2.1.1: a line is at most 998 characters plus CRLF; longer header values
# are folded (as encoded words).
_MAX_LINE_OCTETS = 1000


class SmtpTls(StrEnum):
    """How the SMTP session is protected (SMTP_TLS)."""

    OPPORTUNISTIC = "opportunistic"  # STARTTLS when the server offers it, else plain
    REQUIRED = "required"  # STARTTLS or no session: never a plain-text send
    IMPLICIT = "implicit"  # TLS from the first byte (SMTPS, usually port 465)
    OFF = "off"  # never TLS, even when offered (a local sink only)


class SmtpTlsOptions(TypedDict):
    use_tls: bool
    start_tls: bool | None


def smtp_tls_options(tls: SmtpTls) -> SmtpTlsOptions:
    """aiosmtplib's connection options for ``tls``: ``start_tls=None`` is its opportunistic mode."""
    options: dict[SmtpTls, SmtpTlsOptions] = {
        SmtpTls.OPPORTUNISTIC: {"use_tls": False, "start_tls": None},
        SmtpTls.REQUIRED: {"use_tls": False, "start_tls": True},
        SmtpTls.IMPLICIT: {"use_tls": True, "start_tls": False},
        SmtpTls.OFF: {"use_tls": False, "start_tls": False},
    }
    return options[tls]


class _ConnectionSetupError(Exception):
    """Could not open a usable SMTP session (connect, EHLO, STARTTLS or AUTH failed)."""


class SmtpEmailChannel:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        tls: SmtpTls = SmtpTls.OPPORTUNISTIC,
        username: str | None = None,
        password: str | None = None,
        validate_certs: bool = True,
        cert_bundle: str | None = None,
        connect_timeout_seconds: float = 10.0,
        command_timeout_seconds: float = 30.0,
        pool_size: int = 4,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        display_name, self._envelope_from = email.utils.parseaddr(from_address)
        self._from_header = email.utils.formataddr((display_name, self._envelope_from))
        self._message_id_domain = _domain_of(self._envelope_from)
        self._connect_timeout_seconds = connect_timeout_seconds
        self._pool_size = pool_size
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._closed = False
        for _ in range(pool_size):
            self._idle.put_nowait(
                aiosmtplib.SMTP(
                    hostname=host,
                    port=port,
                    username=username,
                    password=password,
                    **smtp_tls_options(tls),
                    validate_certs=validate_certs,
                    cert_bundle=cert_bundle,
                    timeout=command_timeout_seconds,
                )
            )

    async def send(self, message: EmailMessage) -> SendResult:
        if self._closed:
            raise RuntimeError("SmtpEmailChannel is closed")
        try:
            mime = self.compose(message)
        except ValueError as exc:
            return SendResult(Outcome.FAILED, error=f"invalid message: {exc}")
        client = await self._idle.get()
        try:
            await self._send_on(client, mime, message.to_address)
        except _ConnectionSetupError as exc:
            return SendResult(Outcome.RETRY, error=str(exc))
        except aiosmtplib.SMTPRecipientsRefused as exc:
            refusal = exc.recipients[0]
            return _by_reply_code(refusal.code, refusal.message)
        except aiosmtplib.SMTPResponseException as exc:
            return _by_reply_code(exc.code, exc.message)
        except aiosmtplib.SMTPNotSupported as exc:
            return SendResult(Outcome.FAILED, error=str(exc))
        except _TRANSIENT_ERRORS as exc:
            client.close()
            return SendResult(Outcome.RETRY, error=_describe(exc))
        except BaseException:
            client.close()  # cancelled mid-transaction: the session's state is unknown
            raise
        finally:
            self._idle.put_nowait(client)
        return SendResult(Outcome.DELIVERED, status_code=250)

    async def aclose(self) -> None:
        """Waits for sends in flight, then says QUIT on every open connection."""
        if self._closed:
            return
        self._closed = True
        clients = [await self._idle.get() for _ in range(self._pool_size)]
        for client in clients:
            if client.is_connected:
                try:
                    await client.quit()
                except _TRANSIENT_ERRORS:
                    client.close()
            self._idle.put_nowait(client)

    def compose(self, message: EmailMessage) -> bytes:
        """The message as sent: multipart/alternative, text first, then HTML.

        Written out directly rather than through ``email.generator``, which took ten
        times as long as rendering the templates (0.56 ms of a send, mostly folding
        headers and searching the bodies for a boundary). Both parts are
        quoted-printable, so the boundary can start with ``=_``: quoted-printable
        writes every ``=`` as ``=3D``, no body line can match it, and no search is
        needed.
        """
        for name, value in (("To", message.to_address), ("Subject", message.subject)):
            _check_header(name, value)
        boundary = f"=_{message.delivery_id.hex}"
        headers = [
            ("From", self._from_header),
            ("To", message.to_address),
            ("Subject", message.subject),
            ("Date", email.utils.formatdate(localtime=False, usegmt=True)),
            ("Message-ID", f"<{message.delivery_id}@{self._message_id_domain}>"),
        ]
        for name, value in message.headers.items():
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the channel")
            _check_header(name, value)
            headers.append((name, value))
        headers += [
            ("MIME-Version", "1.0"),
            ("Content-Type", f'multipart/alternative; boundary="{boundary}"'),
        ]
        head = "".join(_header_line(name, value) for name, value in headers)
        parts = b"".join(
            _quoted_printable_part(boundary, subtype, body)
            for subtype, body in (("plain", message.text_body), ("html", message.html_body))
        )
        return b"%s\r\n%s--%s--\r\n" % (head.encode("ascii"), parts, boundary.encode("ascii"))

    async def _send_on(self, client: aiosmtplib.SMTP, mime: bytes, to_address: str) -> None:
        if client.is_connected:
            try:
                await client.sendmail(self._envelope_from, [to_address], mime)
                return
            except aiosmtplib.SMTPServerDisconnected:
                client.close()  # closed while idle (server timeout): once more, freshly
        await self._connect(client)
        await client.sendmail(self._envelope_from, [to_address], mime)

    async def _connect(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.connect(timeout=self._connect_timeout_seconds)
        except _TRANSIENT_ERRORS as exc:
            client.close()
            raise _ConnectionSetupError(f"smtp connect: {_describe(exc)}") from exc


def _by_reply_code(code: int, reply: str) -> SendResult:
    permanent = 500 <= code < 600 and code != _SESSION_NOT_AUTHORISED
    return SendResult(Outcome.FAILED if permanent else Outcome.RETRY, status_code=code, error=reply)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _header_line(name: str, value: str) -> str:
    """One header, CRLF-terminated: as it is when ASCII and short enough, else RFC 2047-encoded."""
    line = f"{name}: {value}\r\n"
    if value.isascii() and len(line) <= _MAX_LINE_OCTETS:
        return line
    encoded = Header(value, "utf-8", header_name=name).encode(linesep="\r\n")
    return f"{name}: {encoded}\r\n"


def _quoted_printable_part(boundary: str, subtype: str, body: str) -> bytes:
    lines = body.replace("\r\n", "\n").replace("\r", "\n").encode("utf-8")
    encoded = binascii.b2a_qp(lines, istext=True).replace(b"\n", b"\r\n")
    # The CRLF before the next boundary belongs to the boundary (RFC 2046 5.1.1).
    return (
        (
            f"--{boundary}\r\n"
            f'Content-Type: text/{subtype}; charset="utf-8"\r\n'
            "Content-Transfer-Encoding: quoted-printable\r\n\r\n"
        ).encode("ascii")
        + encoded
        + b"\r\n"
    )


def _check_header(name: str, value: str) -> None:
    if not (name.isascii() and name.isprintable()) or ":" in name or " " in name:
        raise ValueError(f"{name!r} is not a header name")
    if "\r" in value or "\n" in value:
        raise ValueError(f"header {name!r} holds a line break")


def _domain_of(address: str) -> str:
    local, at, domain = address.rpartition("@")
    if not (local and at and domain):
        raise ValueError(f"from_address {address!r} has no domain")
    return domain
