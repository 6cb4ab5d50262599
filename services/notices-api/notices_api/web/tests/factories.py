from typing import Any

from django.test import Client

from notices_api.accounts.models import User
from notices_api.notices.models import Notice
from notices_api.notices.services import notice_draft_create, notice_publish


def publish_to(author: User, title: str, *to: User, **fields: Any) -> Notice:
    """A notice published through the service layer, as the console and the API publish."""
    draft = notice_draft_create(author=author, title=title, audience_users=list(to), **fields)
    return notice_publish(notice=draft, actor=author)


def signed_in_client(user: User, **options: Any) -> Client:
    client = Client(**options)
    client.force_login(user)
    return client
