"""/unsubscribe: the link of every email's ``List-Unsubscribe`` header, open to recipients.

Only a link signed for its user and category is honoured. A GET shows a page
with a button (link scanners follow GETs); a POST, also RFC 8058 one-click from
the mail client, opts the user out of that category's email.
"""

from html import escape
from typing import Annotated
from uuid import UUID

from fastapi import APIRouter, HTTPException, Query, status
from fastapi.responses import HTMLResponse

from notifier.api.context import LinkKeysDep, StoreDep
from notifier.api.preferences import opt_out_of_email
from notifier.unsubscribe import is_signed

# A malformed signature (not hex, non-ASCII) is a 400 before any key is tried.
Signature = Annotated[str, Query(pattern=r"^[0-9a-f]{64}$")]

router = APIRouter(prefix="/unsubscribe", include_in_schema=False)


@router.get("", response_class=HTMLResponse)
async def unsubscribe_page(user: UUID, category: str, sig: Signature, keys: LinkKeysDep) -> str:
    _require_signed(keys, user, category, sig)
    return _page(
        f"Stop emails about {escape(category)}?",
        '<form method="post"><button type="submit">Unsubscribe</button></form>',
    )


@router.post("", response_class=HTMLResponse)
async def unsubscribe(
    user: UUID, category: str, sig: Signature, keys: LinkKeysDep, store: StoreDep
) -> str:
    _require_signed(keys, user, category, sig)
    async with store.transaction() as session:
        await opt_out_of_email(session, user_id=user, category=category, now=store.clock())
    return _page("Unsubscribed", f"You will get no more emails about {escape(category)}.")


def _require_signed(keys: list[str], user: UUID, category: str, signature: str) -> None:
    if not is_signed(keys=keys, user_id=user, category=category, signature=signature):
        raise HTTPException(status.HTTP_403_FORBIDDEN, "This unsubscribe link is not valid.")


def _page(title: str, body: str) -> str:
    return (
        f"<!doctype html><html><head><meta charset=utf-8><title>{title}</title></head>"
        f"<body><h1>{title}</h1><p>{body}</p></body></html>"
    )
