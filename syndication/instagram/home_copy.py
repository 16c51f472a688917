"""An Instagram post made at home, all or nothing: its files, the post, and what links them.

Used by both ways home, the API copy (`poll`) and the zip import (`history`):

    files stored one by one (downloaded, or read from the zip)
        --> one transaction: create_post + the caller's `link` (the media row or the
            import marker) + post_changed (it only queues jobs, so they commit with the post)

On any failure (a file refused, the claim lost, the link refused, the transaction raising,
the job cancelled) the files stored so far are removed again with the media service's
`discard` (`hearth.server.core.media.ingest`): the media store never keeps files no post
uses. After the commit nothing can fail, and a kill between the post and its announcement
cannot happen: both are in one commit.
"""

from __future__ import annotations

from collections.abc import AsyncGenerator, Awaitable, Callable
from contextlib import aclosing
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from hearth.server.core.events import post_changed
from hearth.server.core.media.ingest import discard
from hearth.server.core.models import Media, Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings


@dataclass(frozen=True)
class Draft:
    """The post to create once every file is stored."""

    properties: dict[str, list[Any]]
    published: datetime | None
    client_id: str


async def create_with_files(
    settings: Settings,
    files: AsyncGenerator[Media, None],
    draft: Callable[[list[Media]], Draft],
    link: Callable[[Post], Awaitable[None]],
) -> Post:
    """Store every file `files` yields, then create the post `draft` makes of them and `link` it.

    `link` runs in the post's transaction: raising there rolls the post back. Whatever is
    raised, from `files`, `draft`, `link` or the database, the stored files are discarded and
    the exception goes on to the caller.
    """
    stored: list[Media] = []
    try:
        async with aclosing(files):
            async for media in files:
                stored.append(media)
        made = draft(stored)
        async with in_transaction():
            post = await create_post(
                made.properties, published=made.published, client_id=made.client_id
            )
            await link(post)
            await post_changed(settings, post)
    except BaseException:
        await discard(settings, stored)
        raise
    return post
