import base64
from datetime import UTC, datetime

import pytest
from standardwebhooks.webhooks import Webhook

from notifier.channels.webhook import (
    is_public_address,
    new_webhook_secret,
    parse_retry_after,
    sign,
)


def test_new_secrets_are_whsec_with_32_random_bytes() -> None:
    secret = new_webhook_secret()

    assert secret.startswith("whsec_")
    assert len(base64.b64decode(secret.removeprefix("whsec_"))) == 32
    assert new_webhook_secret() != secret


def test_signature_matches_the_standard_webhooks_reference() -> None:
    secret = new_webhook_secret()
    body = '{"a": "é"}'
    timestamp = 1_760_000_000

    ours = sign(secret=secret, webhook_id="msg_1", timestamp=timestamp, body=body.encode())

    reference = Webhook(secret).sign("msg_1", datetime.fromtimestamp(timestamp, UTC), body)
    assert ours == reference


@pytest.mark.parametrize("secret", ["no-prefix", "whsec_", "whsec_not base64!"])
def test_malformed_secrets_are_rejected(secret: str) -> None:
    with pytest.raises(ValueError):  # noqa: PT011 (binascii.Error is a ValueError too)
        sign(secret=secret, webhook_id="msg_1", timestamp=1, body=b"{}")


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1",
        "10.1.2.3",
        "172.16.0.1",
        "192.168.1.1",
        "169.254.169.254",
        "100.64.0.1",
        "0.0.0.0",
        "224.0.0.1",
        "255.255.255.255",
        "::1",
        "::",
        "fd00::1",
        "fe80::1",
        "::ffff:127.0.0.1",
        "::ffff:10.0.0.1",
    ],
)
def test_non_global_addresses_are_not_public(address: str) -> None:
    assert not is_public_address(address)


@pytest.mark.parametrize("address", ["93.184.216.34", "1.1.1.1", "2606:4700:4700::1111"])
def test_global_addresses_are_public(address: str) -> None:
    assert is_public_address(address)


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("120", 120.0),
        (" 3 ", 3.0),
        ("Wed, 21 Oct 2026 07:28:30 GMT", 30.0),
        ("Wed, 21 Oct 2026 07:27:00 GMT", 0.0),  # in the past: no wait
        ("soon", None),
        ("-5", None),
        (None, None),
    ],
)
def test_retry_after_is_seconds_or_an_http_date(value: str | None, seconds: float | None) -> None:
    now = datetime(2026, 10, 21, 7, 28, 0, tzinfo=UTC)

    assert parse_retry_after(value, now=now) == seconds
