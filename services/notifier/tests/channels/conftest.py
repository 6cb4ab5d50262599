from collections.abc import AsyncIterator

import pytest

from notifier.channels.webhook import new_webhook_secret
from notifier_devtools.webhook_receiver import WebhookReceiver


@pytest.fixture
def secret() -> str:
    return new_webhook_secret()


@pytest.fixture
def receiver(secret: str) -> WebhookReceiver:
    return WebhookReceiver(secrets=[secret])


@pytest.fixture
async def receiver_url(receiver: WebhookReceiver) -> AsyncIterator[str]:
    async with receiver.serving() as base_url:
        yield base_url
