"""Showing stored contexts: each reply, like, repost and bookmark link becomes an h-cite.

Spec: https://indieweb.org/reply-context. A post's `u-in-reply-to` (`u-like-of` ...) link is
shown as `<div class="u-in-reply-to h-cite">` with the target's name (`p-name u-url`),
author (`p-author h-card`), snippet (`p-content`) and published date (`dt-published`), so an
mf2 parser reads the same URL as before plus the context. The templates already render a
client's own h-cite this way (`item` in templates/_macros.html); a stored context is turned
into the same view. The author's photo is kept but not shown: pages never hotlink strangers.
"""

from __future__ import annotations

import dataclasses
import hashlib
from collections.abc import Sequence
from typing import Any

from hearth.server.contexts.tables import StoredContext
from hearth.server.core.render import ContextLink, EntryView
from hearth.server.core.render_types import embedded


def needs_fetch(link: ContextLink) -> bool:
    """Whether a link's context must be fetched: the client sent a bare URL, or an h-cite
    with nothing to show but its URL (one with a name, author or content is shown as sent)."""
    cite = link.cite
    return cite is None or not (cite.names or cite.authors or cite.contents)


def cite_properties(row: StoredContext) -> dict[str, Any]:
    """A stored context as the mf2 h-cite it is shown as."""
    props: dict[str, list[Any]] = {"url": [row.url]}
    if row.name:
        props["name"] = [row.name]
    card = {k: [v] for k, v in (("name", row.author_name), ("url", row.author_url)) if v}
    if card:
        props["author"] = [{"type": ["h-card"], "properties": card}]
    if row.snippet:
        props["content"] = [row.snippet]
    if row.published:
        props["published"] = [row.published]
    return {"type": ["h-cite"], "properties": props}


def _with_stored(link: ContextLink, stored: dict[str, StoredContext]) -> ContextLink:
    row = stored.get(link.url) if needs_fetch(link) else None
    cite = embedded(cite_properties(row), link.url) if row is not None else None
    return dataclasses.replace(link, cite=cite) if cite is not None else link


async def with_contexts(views: Sequence[EntryView]) -> list[EntryView]:
    """`views` with the stored context of every link that has one (one query for all)."""
    urls = {link.url for view in views for link in view.context if needs_fetch(link)}
    if not urls:
        return list(views)
    hashes = [hashlib.sha256(url.encode()).hexdigest() for url in urls]
    rows = await StoredContext.filter(url_hash__in=hashes)
    stored = {row.url: row for row in rows}
    return [
        dataclasses.replace(view, context=[_with_stored(link, stored) for link in view.context])
        if any(link.url in stored for link in view.context)
        else view
        for view in views
    ]
