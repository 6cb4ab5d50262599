"""Signed webhooks (Standard Webhooks) over one shared httpx.AsyncClient.

Server-side request forgery guard: the connection pool resolves each host once,
refuses it when any of its addresses is not globally routable, and connects to
exactly the addresses it checked (see ``GuardedNetworkBackend``), so a DNS
answer cannot change between the check and the connect. Redirects are not
followed: they could lead anywhere, and an endpoint is registered at its final URL.
"""

import asyncio
import base64
import email.utils
import hashlib
import hmac
import ipaddress
import itertools
import math
import secrets
import socket
import ssl
import time
from collections.abc import Awaitable, Callable, Iterable
from datetime import UTC, datetime

import httpcore
import httpx

from notifier.channels.base import Outcome, SendResult, WebhookMessage

SECRET_PREFIX = "whsec_"
CONTENT_TYPE = "application/cloudevents+json"
_RESPONSE_BODY_LIMIT_BYTES = 64 * 1024
_CONNECTIONS_PER_POOL = 5
# Below the 5 s idle timeout of many servers (uvicorn, Node), so we drop an idle
# connection before the server does rather than race its close with a request.
_KEEPALIVE_EXPIRY_SECONDS = 4.0


class BlockedAddressError(Exception):
    """The webhook host resolves to an address the notifier must not call."""


def new_webhook_secret() -> str:
    """A fresh signing secret: whsec_ + base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def sign(*, secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """One ``v1,<base64 HMAC-SHA256>`` signature of ``{id}.{timestamp}.{body}``."""
    if not secret.startswith(SECRET_PREFIX):
        raise ValueError("webhook secrets start with whsec_")
    key = base64.b64decode(secret.removeprefix(SECRET_PREFIX), validate=True)
    if not key:
        raise ValueError("empty webhook secret")
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(key, signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def is_public_address(address: str) -> bool:
    ip = ipaddress.ip_address(address)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        ip = ip.ipv4_mapped
    return ip.is_global and not (ip.is_multicast or ip.is_reserved or ip.is_unspecified)


def parse_retry_after(value: str | None, *, now: datetime | None = None) -> float | None:
    """Retry-After as seconds from now: delta-seconds or an HTTP date; None if unusable."""
    if value is None:
        return None
    value = value.strip()
    if value.isdigit():
        return float(value)
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return max(0.0, (moment - (now or datetime.now(UTC))).total_seconds())


class HttpxWebhookChannel:
    """``timeout_seconds`` bounds each read and write, ``deadline_seconds`` the whole
    exchange (a server trickling its answer byte by byte cannot hold a connection for
    ever); time spent waiting for a free connection does not count, and the message
    is signed only once it has one, so its timestamp is fresh.

    The ``max_connections`` are spread over small pools used in turn, and sends
    beyond them wait here rather than in a pool: httpcore's pool does bookkeeping
    over all its connections for every request, quadratic in their number, so one
    pool of 20 costs about twice the CPU per webhook of four pools of 5
    (bench/notifier/channels_throughput.py).

    Requests go to the pools' transports, not through an ``httpx.AsyncClient``: a
    client's cookie jar, auth and redirect steps are work a webhook never needs, and
    were a sixth of a send's CPU (py-spy, docs/performance.md).
    """

    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        connect_timeout_seconds: float = 5.0,
        deadline_seconds: float = 30.0,
        max_connections: int = 20,
        allow_private_addresses: bool = False,
        user_agent: str = "notices-notifier",
    ) -> None:
        self._deadline_seconds = deadline_seconds
        self._timeout = httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds).as_dict()
        self._headers = {"user-agent": user_agent, "content-type": CONTENT_TYPE}
        self._free_connections = asyncio.Semaphore(max_connections)
        pool_count = math.ceil(max_connections / _CONNECTIONS_PER_POOL)
        # One context for every pool: each one built loads the CA bundle again (tens of ms).
        ssl_context = httpx.create_ssl_context()
        self._transports = [
            _GuardedTransport(
                ssl_context=ssl_context,
                allow_private_addresses=allow_private_addresses,
                max_connections=math.ceil(max_connections / pool_count),
            )
            for _ in range(pool_count)
        ]
        self._next_transport = itertools.cycle(self._transports)

    async def send(self, message: WebhookMessage) -> SendResult:
        try:
            url = httpx.URL(message.url)
        except httpx.InvalidURL as exc:
            return SendResult(Outcome.FAILED, error=f"invalid webhook URL: {exc}")
        if url.scheme not in ("http", "https") or not url.host:
            return SendResult(Outcome.FAILED, error=f"not an http(s) URL: {message.url}")
        async with self._free_connections:
            try:
                headers = signed_headers(message, timestamp=int(time.time()))
            except ValueError as exc:
                return SendResult(Outcome.FAILED, error=f"cannot sign: {exc}")
            request = httpx.Request(
                "POST",
                url,
                headers={**self._headers, **headers},
                content=message.body,
                extensions={"timeout": self._timeout},
            )
            return await self._exchange(next(self._next_transport), request)

    async def _exchange(
        self, transport: httpx.AsyncBaseTransport, request: httpx.Request
    ) -> SendResult:
        try:
            async with asyncio.timeout(self._deadline_seconds):
                response = await transport.handle_async_request(request)
                try:
                    await _drain(response)
                finally:
                    await response.aclose()
        except BlockedAddressError as exc:
            return SendResult(Outcome.FAILED, error=str(exc))
        except (httpx.TimeoutException, TimeoutError) as exc:
            return SendResult(Outcome.RETRY, error=f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return SendResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}")
        return classify_response(response.status_code, response.headers.get("retry-after"))

    async def aclose(self) -> None:
        for transport in self._transports:
            await transport.aclose()


def signed_headers(message: WebhookMessage, *, timestamp: int) -> dict[str, str]:
    if not message.secrets:
        raise ValueError("no signing secret")
    webhook_id = str(message.delivery_id)
    signatures = " ".join(
        sign(secret=secret, webhook_id=webhook_id, timestamp=timestamp, body=message.body)
        for secret in message.secrets
    )
    return {
        "webhook-id": webhook_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": signatures,
    }


def classify_response(status_code: int, retry_after: str | None) -> SendResult:
    if 200 <= status_code < 300:
        return SendResult(Outcome.DELIVERED, status_code=status_code)
    if status_code == 410:
        return SendResult(Outcome.GONE, status_code=status_code, error="410 Gone")
    if status_code == 429 or status_code >= 500:
        return SendResult(
            Outcome.RETRY,
            status_code=status_code,
            error=f"HTTP {status_code}",
            retry_after_seconds=parse_retry_after(retry_after),
        )
    return SendResult(Outcome.FAILED, status_code=status_code, error=f"HTTP {status_code}")


async def _drain(response: httpx.Response) -> None:
    """Read (and discard) at most a bounded part of the body, so the connection stays reusable."""
    received = 0
    async for chunk in response.aiter_raw():
        received += len(chunk)
        if received > _RESPONSE_BODY_LIMIT_BYTES:
            return


Resolver = Callable[[str, int], Awaitable[list[str]]]


class GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, refuses non-public answers, connects to the addresses it checked."""

    def __init__(
        self,
        *,
        allow_private_addresses: bool,
        resolve: Resolver | None = None,
        inner: httpcore.AsyncNetworkBackend | None = None,
    ) -> None:
        self._allow_private_addresses = allow_private_addresses
        self._resolve = resolve or resolve_host
        self._inner = inner or httpcore.AnyIOBackend()

    async def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        local_address: str | None = None,
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        if self._allow_private_addresses:
            return await self._inner.connect_tcp(host, port, timeout, local_address, socket_options)
        addresses = await self._resolve(host, port)
        blocked = [address for address in addresses if not is_public_address(address)]
        if blocked:
            raise BlockedAddressError(
                f"refused: {host} resolves to non-public address(es) {', '.join(blocked)}"
            )
        last_error: Exception | None = None
        for address in addresses:
            try:
                return await self._inner.connect_tcp(
                    address, port, timeout, local_address, socket_options
                )
            except (httpcore.ConnectError, httpcore.ConnectTimeout) as exc:
                last_error = exc
        raise last_error or httpcore.ConnectError(f"{host} has no address")

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def resolve_host(host: str, port: int) -> list[str]:
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    return list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(
        self, *, ssl_context: ssl.SSLContext, allow_private_addresses: bool, max_connections: int
    ) -> None:
        super().__init__(verify=ssl_context)
        # httpx offers no public hook for the network backend; httpcore's pool does.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=ssl_context,
            max_connections=max_connections,
            max_keepalive_connections=max_connections,
            keepalive_expiry=_KEEPALIVE_EXPIRY_SECONDS,
            network_backend=GuardedNetworkBackend(allow_private_addresses=allow_private_addresses),
        )
