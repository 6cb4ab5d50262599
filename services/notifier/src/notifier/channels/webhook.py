"""Signed webhooks (Standard Webhooks) over one shared httpx.AsyncClient.

Server-side request forgery guard: the connection pool resolves each host once,
refuses it when any of its addresses is not globally routable, and connects to
exactly the addresses it checked (see ``_GuardedNetworkBackend``), so a DNS
answer cannot change between the check and the connect. Redirects are not
followed: they could lead anywhere, and an endpoint is registered at its final URL.
"""

import asyncio
import base64
import email.utils
import hashlib
import hmac
import ipaddress
import secrets
import socket
import time
from collections.abc import Iterable
from datetime import UTC, datetime

import httpcore
import httpx

from notifier.channels.base import Outcome, SendResult, WebhookMessage

SECRET_PREFIX = "whsec_"
CONTENT_TYPE = "application/cloudevents+json"
_RESPONSE_BODY_LIMIT_BYTES = 64 * 1024


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
    def __init__(
        self,
        *,
        timeout_seconds: float = 10.0,
        connect_timeout_seconds: float = 5.0,
        max_connections: int = 100,
        max_keepalive_connections: int = 50,
        allow_private_addresses: bool = False,
        user_agent: str = "notices-notifier",
    ) -> None:
        transport = _GuardedTransport(
            allow_private_addresses=allow_private_addresses,
            limits=httpx.Limits(
                max_connections=max_connections,
                max_keepalive_connections=max_keepalive_connections,
            ),
        )
        self._client = httpx.AsyncClient(
            transport=transport,
            timeout=httpx.Timeout(timeout_seconds, connect=connect_timeout_seconds),
            follow_redirects=False,
            headers={"user-agent": user_agent, "content-type": CONTENT_TYPE},
        )

    async def send(self, message: WebhookMessage) -> SendResult:
        try:
            headers = signed_headers(message, timestamp=int(time.time()))
            request = self._client.build_request(
                "POST", message.url, headers=headers, content=message.body
            )
        except (ValueError, httpx.InvalidURL) as exc:
            return SendResult(Outcome.FAILED, error=f"invalid webhook: {exc}")
        if request.url.scheme not in ("http", "https") or not request.url.host:
            return SendResult(Outcome.FAILED, error=f"not an http(s) URL: {message.url}")
        try:
            response = await self._client.send(request, stream=True)
            try:
                await _drain(response)
            finally:
                await response.aclose()
        except BlockedAddressError as exc:
            return SendResult(Outcome.FAILED, error=str(exc))
        except httpx.TimeoutException as exc:
            return SendResult(Outcome.RETRY, error=f"timeout: {type(exc).__name__}")
        except httpx.TransportError as exc:
            return SendResult(Outcome.RETRY, error=f"{type(exc).__name__}: {exc}")
        return classify_response(response.status_code, response.headers.get("retry-after"))

    async def aclose(self) -> None:
        await self._client.aclose()


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


class _GuardedNetworkBackend(httpcore.AsyncNetworkBackend):
    """Resolves once, refuses non-public answers, connects to the addresses it checked."""

    def __init__(self, *, allow_private_addresses: bool) -> None:
        self._inner = httpcore.AnyIOBackend()
        self._allow_private_addresses = allow_private_addresses

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
        addresses = await _resolve(host, port)
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
        assert last_error is not None  # _resolve never returns an empty list
        raise last_error

    async def connect_unix_socket(
        self,
        path: str,
        timeout: float | None = None,  # noqa: ASYNC109 (httpcore's interface)
        socket_options: Iterable[httpcore.SOCKET_OPTION] | None = None,
    ) -> httpcore.AsyncNetworkStream:
        raise BlockedAddressError("unix sockets are not webhook targets")

    async def sleep(self, seconds: float) -> None:
        await self._inner.sleep(seconds)


async def _resolve(host: str, port: int) -> list[str]:
    try:
        answers = await asyncio.get_running_loop().getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except OSError as exc:
        raise httpcore.ConnectError(f"cannot resolve {host}: {exc}") from exc
    addresses = list(dict.fromkeys(str(sockaddr[0]) for *_, sockaddr in answers))
    if not addresses:
        raise httpcore.ConnectError(f"{host} has no address")
    return addresses


class _GuardedTransport(httpx.AsyncHTTPTransport):
    def __init__(self, *, allow_private_addresses: bool, limits: httpx.Limits) -> None:
        super().__init__(limits=limits)
        # httpx offers no public hook for the network backend; httpcore's pool does.
        self._pool = httpcore.AsyncConnectionPool(
            ssl_context=httpx.create_ssl_context(),
            max_connections=limits.max_connections,
            max_keepalive_connections=limits.max_keepalive_connections,
            keepalive_expiry=limits.keepalive_expiry,
            network_backend=_GuardedNetworkBackend(allow_private_addresses=allow_private_addresses),
        )
