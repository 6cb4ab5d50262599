"""Email over SMTP (aiosmtplib) with a small pool of reused connections.

Each pooled client keeps its connection open between sends and reconnects when
it finds it closed. A connection the server closed while it sat idle is retried
once on a fresh connection within the same send. Failures while setting up a
connection (connect, EHLO, STARTTLS, AUTH) are never the message's fault, so
they are transient whatever the reply code; only replies to the mail
transaction itself can fail a message permanently.
"""

import asyncio
import email.message
import email.utils

import aiosmtplib

from notifier.channels.base import EmailMessage, Outcome, SendResult

# The channel sets these itself; a caller's header must not replace them.
_RESERVED_HEADERS = frozenset(
    {"from", "to", "subject", "date", "message-id", "mime-version", "content-type"}
)
_TRANSIENT_ERRORS = (aiosmtplib.SMTPException, OSError, TimeoutError)


class _ConnectionSetupError(Exception):
    """Could not open a usable SMTP session (connect, EHLO, STARTTLS or AUTH failed)."""


class SmtpEmailChannel:
    def __init__(
        self,
        *,
        host: str,
        port: int,
        from_address: str,
        start_tls: bool = False,
        username: str | None = None,
        password: str | None = None,
        validate_certs: bool = True,
        connect_timeout_seconds: float = 10.0,
        command_timeout_seconds: float = 30.0,
        pool_size: int = 4,
    ) -> None:
        if pool_size < 1:
            raise ValueError("pool_size must be at least 1")
        self._from_address = from_address
        self._message_id_domain = _domain_of(from_address)
        self._connect_timeout_seconds = connect_timeout_seconds
        self._idle: asyncio.Queue[aiosmtplib.SMTP] = asyncio.Queue()
        self._closed = False
        for _ in range(pool_size):
            self._idle.put_nowait(
                aiosmtplib.SMTP(
                    hostname=host,
                    port=port,
                    username=username,
                    password=password,
                    start_tls=start_tls,
                    validate_certs=validate_certs,
                    timeout=command_timeout_seconds,
                )
            )

    async def send(self, message: EmailMessage) -> SendResult:
        if self._closed:
            raise RuntimeError("SmtpEmailChannel is closed")
        try:
            mime = self.build_mime(message)
        except ValueError as exc:
            return SendResult(Outcome.FAILED, error=f"invalid message: {exc}")
        client = await self._idle.get()
        try:
            await self._send_on(client, mime)
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
        finally:
            self._idle.put_nowait(client)
        return SendResult(Outcome.DELIVERED, status_code=250)

    async def aclose(self) -> None:
        self._closed = True
        while not self._idle.empty():
            client = self._idle.get_nowait()
            if client.is_connected:
                try:
                    await client.quit()
                except _TRANSIENT_ERRORS:
                    client.close()

    def build_mime(self, message: EmailMessage) -> email.message.EmailMessage:
        """The MIME message as sent: multipart/alternative, text first, then HTML."""
        mime = email.message.EmailMessage()
        mime["From"] = self._from_address
        mime["To"] = message.to_address
        mime["Subject"] = message.subject
        mime["Date"] = email.utils.formatdate(localtime=False, usegmt=True)
        mime["Message-ID"] = f"<{message.delivery_id}@{self._message_id_domain}>"
        for name, value in message.headers.items():
            if name.lower() in _RESERVED_HEADERS:
                raise ValueError(f"header {name!r} is set by the channel")
            mime[name] = value
        mime.set_content(message.text_body)
        mime.add_alternative(message.html_body, subtype="html")
        return mime

    async def _send_on(self, client: aiosmtplib.SMTP, mime: email.message.EmailMessage) -> None:
        if client.is_connected:
            try:
                await client.send_message(mime)
                return
            except aiosmtplib.SMTPServerDisconnected:
                client.close()  # closed while idle (server timeout): once more, freshly
        await self._connect(client)
        await client.send_message(mime)

    async def _connect(self, client: aiosmtplib.SMTP) -> None:
        try:
            await client.connect(timeout=self._connect_timeout_seconds)
        except _TRANSIENT_ERRORS as exc:
            client.close()
            raise _ConnectionSetupError(f"smtp connect: {_describe(exc)}") from exc


def _by_reply_code(code: int, reply: str) -> SendResult:
    outcome = Outcome.FAILED if 500 <= code < 600 else Outcome.RETRY
    return SendResult(outcome, status_code=code, error=reply)


def _describe(exc: BaseException) -> str:
    return f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__


def _domain_of(address: str) -> str:
    _, addr_spec = email.utils.parseaddr(address)
    local, at, domain = addr_spec.rpartition("@")
    if not (local and at and domain):
        raise ValueError(f"from_address {address!r} has no domain")
    return domain
