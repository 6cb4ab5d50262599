"""Signed one-click unsubscribe links (RFC 8058): a recipient leaves one category's email.

The link carries the user id, the category and an HMAC of both, so the open
``/unsubscribe`` route needs no login and cannot be used for anyone else. The key
is derived from ``NOTIFIER_API_TOKEN``; with no token no link verifies.
"""

import hashlib
import hmac
from urllib.parse import urlencode
from uuid import UUID

_KEY_LABEL = b"notifier/unsubscribe/v1"


def _signature(secret: str, user_id: UUID, category: str) -> str:
    # A key of its own: a leaked link must say nothing about the API token.
    key = hmac.new(secret.encode(), _KEY_LABEL, hashlib.sha256).digest()
    return hmac.new(key, f"{user_id}\n{category}".encode(), hashlib.sha256).hexdigest()


def unsubscribe_url(*, base_url: str, secret: str, user_id: UUID, category: str) -> str:
    query = urlencode(
        {"user": str(user_id), "category": category, "sig": _signature(secret, user_id, category)}
    )
    return f"{base_url.rstrip('/')}/unsubscribe?{query}"


def is_signed(*, secret: str, user_id: UUID, category: str, signature: str) -> bool:
    expected = _signature(secret, user_id, category)
    return bool(secret) and hmac.compare_digest(expected, signature)
