"""What a poll does for a media already home: its first comment, and caption edits.

`/me/media`'s `since` is creation time, so an edited caption is only seen by re-reading
recent media:
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
A copy's first comment carries its short link (`comments`).

* A copy of a media posted after the account was connected (less `HISTORY_GRACE`) gets its
  first comment queued; older ones are history and get none unless the owner asks
  (`history_comments`).
* An edited caption rewrites the post's content and categories, and the post is announced
  again (webmentions to links it gained or lost). A post deleted on the site is left as it
  is: only the media row learns the new caption.
"""

from __future__ import annotations

from datetime import timedelta

from tortoise.transactions import in_transaction

from hearth.server.core import timestamps
from hearth.server.core.events import post_changed
from hearth.server.core.models import Post
from hearth.server.core.posts import set_property_rows
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram import pesos
from hearth.syndication.instagram.comments import schedule_first_comment
from hearth.syndication.instagram.graph import Media
from hearth.syndication.instagram.tables import InstagramMedia

# Media older than the account's connection by more than this is history: the copy gets no
# first comment, as history is never commented on unless the owner asks (`history_comments`).
HISTORY_GRACE = timedelta(days=1)


async def first_comment_if_new(settings: Settings, media: Media) -> None:
    """Queue the first comment of the copy of `media` unless the media is history."""
    account = await accounts.current_account()
    row = await InstagramMedia.get_or_none(media_id=media.id)
    if account is None or row is None or media.timestamp is None:
        return
    if media.timestamp >= account.created_at - HISTORY_GRACE:
        await schedule_first_comment(settings, row)


async def update_caption(settings: Settings, row: InstagramMedia, media: Media) -> None:
    """Take the caption (and like count) edited on Instagram into the row and the post."""
    now = timestamps.now()
    async with in_transaction():  # the row, the post and its announcement: all or none
        await InstagramMedia.filter(media_id=row.media_id).update(
            caption=media.caption, like_count=media.like_count, updated_at=now
        )
        post = await Post.filter(instagram_media__media_id=row.media_id).first()
        if post is None or post.deleted_at is not None:
            return
        previous = dict(post.properties)
        kept = {k: v for k, v in post.properties.items() if k not in ("content", "category")}
        post.properties = kept | pesos.caption_properties(media.caption)
        post.updated = now
        await post.save()
        await set_property_rows(post)
        await post_changed(settings, post, previous_properties=previous)
