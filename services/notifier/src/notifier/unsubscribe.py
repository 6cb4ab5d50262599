"""Signed one-click unsubscribe links (RFC 8058): a recipient leaves one category's email.

The link carries the user id, the category and an HMAC of both, so the open
``/unsubscribe`` route needs no login and cannot be used for anyone else. The key
is derived from the first of ``NOTIFIER_LINK_SIGNING_KEYS`` and every key of the list
verifies, so a key is rotated by putting a new one first and dropping the old one
once the links it signed have aged out. Unset, the list is ``NOTIFIER_API_TOKEN``
alone: links mailed before the setting existed verify with
``NOTIFIER_LINK_SIGNING_KEYS=<new key>,<API token>``. An empty key verifies nothing.
"""

import hashlib
import hmac
from collections.abc import Sequence
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


def is_signed(*, keys: Sequence[str], user_id: UUID, category: str, signature: str) -> bool:
    # Bytes: compare_digest refuses a non-ASCII str, and a link is anyone's to edit.
    presented = signature.encode()
    return any(
        key and hmac.compare_digest(_signature(key, user_id, category).encode(), presented)
        for key in keys
    )
