"""An SMTP server (aiosmtpd) that accepts and records every message.

In-process (tests, benchmarks)::

    sink = SmtpSink(rcpt_replies={"later@example.org": "451 4.3.0 try again later"})
    async with sink.serving() as port:
        ...
        async with asyncio.timeout(10):
            mails = await sink.wait_for(3)

As a process (`make run`, e2e)::

    python -m notifier_devtools.smtp_sink --port 1025 --dir var/mail

Each mail is logged as one line (message_id, to, subject) and, with a directory,
written there as ``<ns-time>-<pid>-<n>.eml``; a duplicate with the same
Message-ID gets its own file, so duplicates stay countable.
"""

import argparse
import asyncio
import email
import email.message
import email.parser
import email.policy
import os
import ssl
import time
import weakref
from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager, suppress
from dataclasses import dataclass, field
from email.header import decode_header, make_header
from functools import cached_property
from itertools import count
from pathlib import Path
from typing import Any

import structlog
from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session

from notifier_devtools.logs import configure_devtool_logging

logger = structlog.get_logger("notifier_devtools.smtp_sink")
_HEADER_PARSER = email.parser.BytesHeaderParser(policy=email.policy.compat32)


@dataclass(frozen=True)
class ReceivedMail:
    mail_from: str
    rcpt_tos: tuple[str, ...]
    message_id: str | None
    subject: str
    raw: bytes = field(repr=False)

    @cached_property
    def message(self) -> email.message.EmailMessage:
        """The whole message, parsed on demand (with local line endings, as a mail client
        shows it): parsing every mail up front would make the sink the bottleneck."""
        message = email.message_from_bytes(
            self.raw.replace(b"\r\n", b"\n"), policy=email.policy.default
        )
        assert isinstance(message, email.message.EmailMessage)
        return message


class SmtpSink:
    def __init__(
        self,
        *,
        mail_dir: Path | None = None,
        rcpt_replies: Mapping[str, str] | None = None,
        tls_context: ssl.SSLContext | None = None,
        credentials: tuple[str, str] | None = None,
    ) -> None:
        """``rcpt_replies`` maps a recipient address to the reply its RCPT gets
        (e.g. ``"550 5.1.1 no such user"``), to script failures. With
        ``tls_context`` the sink offers STARTTLS and requires it; with
        ``credentials`` (user, password) it requires AUTH (over TLS)."""
        self.mails: list[ReceivedMail] = []
        self.connections_opened = 0
        self._mail_dir = mail_dir
        self._rcpt_replies = dict(rcpt_replies or {})
        self._tls_context = tls_context
        self._credentials = credentials
        self._file_numbers = count(1)
        self._arrived = asyncio.Condition()
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        if mail_dir is not None:
            mail_dir.mkdir(parents=True, exist_ok=True)

    @asynccontextmanager
    async def serving(
        self, *, host: str = "127.0.0.1", port: int = 0, implicit_tls: ssl.SSLContext | None = None
    ) -> AsyncIterator[int]:
        """Serve on the running loop; yields the bound port (pick a free one with 0).

        With ``implicit_tls`` every connection is TLS from its first byte (SMTPS).
        """
        server = await asyncio.get_running_loop().create_server(
            self._new_session, host, port, ssl=implicit_tls
        )
        try:
            yield server.sockets[0].getsockname()[1]
        finally:
            server.close()
            self.drop_connections()
            await server.wait_closed()

    async def wait_for(self, count: int) -> list[ReceivedMail]:
        """Wait until at least ``count`` mails arrived (bound it with asyncio.timeout)."""
        async with self._arrived:
            await self._arrived.wait_for(lambda: len(self.mails) >= count)
        return list(self.mails)

    def drop_connections(self) -> None:
        """Close every open client connection, as a server restart would."""
        for session in list(self._sessions):
            if session.transport is not None:
                session.transport.close()

    # aiosmtpd handler hooks

    async def handle_RCPT(  # noqa: N802 (aiosmtpd's hook name)
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self._rcpt_replies.get(address)
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(  # noqa: N802 (aiosmtpd's hook name)
        self, server: SMTP, session: Session, envelope: Envelope
    ) -> str:
        raw = envelope.original_content or b""
        headers = _HEADER_PARSER.parsebytes(raw)
        mail = ReceivedMail(
            mail_from=str(envelope.mail_from),
            rcpt_tos=tuple(envelope.rcpt_tos),
            message_id=headers["Message-ID"],
            subject=str(make_header(decode_header(headers["Subject"] or ""))),
            raw=raw,
        )
        if self._mail_dir is not None:
            name = f"{time.time_ns()}-{os.getpid()}-{next(self._file_numbers)}.eml"
            await asyncio.to_thread((self._mail_dir / name).write_bytes, raw)
        logger.info(
            "mail received", message_id=mail.message_id, to=mail.rcpt_tos, subject=mail.subject
        )
        async with self._arrived:
            self.mails.append(mail)
            self._arrived.notify_all()
        return "250 Message accepted for delivery"

    def _authenticate(
        self, server: SMTP, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        # handled=False: aiosmtpd itself answers 235 or 535.
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        given = (auth_data.login.decode(), auth_data.password.decode())
        return AuthResult(success=given == self._credentials, handled=False)

    def _new_session(self) -> SMTP:
        self.connections_opened += 1
        session = SMTP(
            self,
            hostname="smtp-sink",
            tls_context=self._tls_context,
            require_starttls=self._tls_context is not None,
            authenticator=self._authenticate if self._credentials else None,
            auth_required=self._credentials is not None,
            auth_require_tls=self._tls_context is not None,
            loop=asyncio.get_running_loop(),
        )
        self._sessions.add(session)
        return session


async def _serve_forever(*, host: str, port: int, mail_dir: Path | None) -> None:
    sink = SmtpSink(mail_dir=mail_dir)
    async with sink.serving(host=host, port=port) as bound_port:
        logger.info("smtp sink listening", host=host, port=bound_port, mail_dir=str(mail_dir))
        await asyncio.Event().wait()


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description="SMTP sink that records every mail.")
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=1025)
    parser.add_argument("--dir", type=Path, default=None, help="write each mail as a .eml file")
    args: Any = parser.parse_args(argv)
    configure_devtool_logging()
    with suppress(KeyboardInterrupt):
        asyncio.run(_serve_forever(host=args.host, port=args.port, mail_dir=args.dir))


if __name__ == "__main__":
    main()
