"""Signed unsubscribe links: only the link made for a user and category verifies."""

import uuid
from urllib.parse import parse_qs, urlsplit

from notifier.unsubscribe import is_signed, unsubscribe_url

SECRET = "api-token"


def _query(url: str) -> dict[str, str]:
    return {name: values[0] for name, values in parse_qs(urlsplit(url).query).items()}


def test_the_link_verifies_for_its_user_and_category_only() -> None:
    ann, bob = uuid.uuid4(), uuid.uuid4()
    url = unsubscribe_url(base_url="https://n.example/", secret=SECRET, user_id=ann, category="a&b")
    assert url.startswith("https://n.example/unsubscribe?")
    query = _query(url)
    assert query["category"] == "a&b"
    signature = query["sig"]
    assert is_signed(keys=[SECRET], user_id=ann, category="a&b", signature=signature)
    assert not is_signed(keys=[SECRET], user_id=bob, category="a&b", signature=signature)
    assert not is_signed(keys=[SECRET], user_id=ann, category="other", signature=signature)
    assert not is_signed(keys=["another"], user_id=ann, category="a&b", signature=signature)


def test_without_a_secret_no_link_verifies() -> None:
    ann = uuid.uuid4()
    url = unsubscribe_url(base_url="https://n.example", secret="", user_id=ann, category="c")
    assert not is_signed(keys=[""], user_id=ann, category="c", signature=_query(url)["sig"])
