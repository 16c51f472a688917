"""What the editor shows before anything is stored: the post as the site would show it, and
the page each response (reply, like, repost, bookmark) points at.

The post preview is the permalink's own markup (`_macros.html`'s `entry`) for an unsaved
`Post` holding the properties the post would have once the request is carried out
(Micropub's `apply_update` for an edit), so the preview is the page, sanitized HTML and
all. Targets are read by `hearth.server.contexts.fetch_context` (mf2, through the site's
guarded HTTP client), the same reading the published post's context comes from.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import httpx

from hearth.micropub.editor.fields import LINK_FIELDS, EditorForm
from hearth.micropub.parsing import MicropubRequest, apply_update
from hearth.server.contexts import LinkContext, fetch_context
from hearth.server.core import post_types
from hearth.server.core.models import Post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.render import EntryView, entry_view
from hearth.server.core.settings import Settings
from hearth.server.core.timestamps import now

__all__ = ["link_previews", "post_preview"]


async def link_previews(http: httpx.AsyncClient, form: EditorForm) -> dict[str, LinkContext]:
    """The context of each response URL in the form, by property (those that have one)."""
    wanted = [(prop, url) for prop, _ in LINK_FIELDS if (url := form.link(prop))]
    found = await asyncio.gather(*(fetch_context(http, url) for _, url in wanted))
    return {prop: context for (prop, _), context in zip(wanted, found, strict=True) if context}


def _published(properties: Mapping[str, list[Any]], fallback: datetime) -> datetime:
    values = properties.get("published") or []
    try:
        return datetime.fromisoformat(values[0]) if values else fallback
    except (TypeError, ValueError):
        return fallback


def post_preview(
    settings: Settings, request: MicropubRequest | None, post: Post | None
) -> EntryView:
    """The post as its page would show it after `request` (a create, or an edit of `post`;
    None: `post` as it is)."""
    if request is not None and request.kind == "create":
        properties = request.properties
    elif post is not None and request is not None and request.update is not None:
        properties = apply_update(post.properties, request.update)
    else:
        properties = post.properties if post is not None else {}
    draft = Post(
        path=post.path if post is not None else "preview",
        short_code=post.short_code if post is not None else "preview",
        h_type="entry",
        properties=properties,
        post_type=post_types.discover("entry", properties),
        published=_published(properties, post.published if post is not None else now()),
        updated=None,
        status=Status.PUBLISHED,
        visibility=Visibility.PUBLIC,
    )
    return entry_view(draft, settings)
