"""The ports the dispatcher sends through, and what a send attempt can come to.

A channel sends one message and reports the outcome; it never decides about
retries or writes to the store. The dispatcher records the attempt and asks
``retry_delay`` when to try again.
"""

import random
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Protocol
from uuid import UUID


class Outcome(StrEnum):
    DELIVERED = "delivered"
    RETRY = "retry"  # transient: timeouts, 429, 5xx, connection errors, SMTP 4xx
    FAILED = "failed"  # permanent: other 4xx, SMTP 5xx, refused address
    GONE = "gone"  # webhook 410: the endpoint is to be disabled


@dataclass(frozen=True, slots=True)
class SendResult:
    outcome: Outcome
    status_code: int | None = None
    error: str | None = None
    retry_after_seconds: float | None = None  # a server's Retry-After, honoured when set


@dataclass(frozen=True, slots=True)
class EmailMessage:
    delivery_id: UUID  # also the Message-ID, so duplicates at the server are recognisable
    to_address: str
    subject: str
    text_body: str
    html_body: str
    headers: Mapping[str, str] = field(default_factory=dict)  # e.g. List-Unsubscribe


@dataclass(frozen=True, slots=True)
class WebhookMessage:
    delivery_id: UUID  # the webhook-id header
    url: str
    secrets: tuple[str, ...]  # whsec_... ; several during a rotation, each signs
    body: bytes  # the CloudEvent, structured mode


class EmailChannel(Protocol):
    async def send(self, message: EmailMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


class WebhookChannel(Protocol):
    async def send(self, message: WebhookMessage) -> SendResult: ...

    async def aclose(self) -> None: ...


def retry_delay(
    *,
    attempt: int,
    base_seconds: float,
    cap_seconds: float,
    retry_after_seconds: float | None = None,
    rng: random.Random | None = None,
) -> float:
    """Exponential backoff with full jitter; a server's Retry-After is a floor.

    ``attempt`` counts from 1 (the attempt that just failed).
    """
    ceiling = min(cap_seconds, base_seconds * 2 ** (attempt - 1))
    delay = (rng or random).uniform(0, ceiling)
    if retry_after_seconds is not None:
        delay = max(delay, min(retry_after_seconds, cap_seconds))
    return delay
