"""What happens after a post changes: the one place that queues the follow-up work.

Micropub creates, updates, deletes and undeletes, imports and the admin all call
`post_changed` once the change is stored. It only enqueues durable jobs (WebSub pings,
webmentions, remote photo copies, and the Instagram citation comment of a copied media
following its deletion), so the request that made the change never waits on another server.
"""

from __future__ import annotations

from typing import Any

from hearth.micropub.remote_copy import schedule_copies
from hearth.server import websub
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings
from hearth.server.webmention.send import schedule_webmentions
from hearth.syndication.instagram.retract import follow_deletion as instagram_follow_deletion


def _change_key(post: Post) -> str:
    # Keyed by post and modification time: the same stored change is never announced twice.
    return f"post:{post.id}:{post.modified_at.timestamp():.6f}"


async def post_changed(
    settings: Settings,
    post: Post,
    *,
    was_public: bool = False,
    previous_properties: dict[str, list[Any]] | None = None,
) -> None:
    """Announce a stored change to `post`.

    `was_public` says the post was public before this change (so a post that just left
    view, by deletion or a visibility change, still updates feeds); `previous_properties`
    are its properties before an update, so links it no longer has are told too.
    """
    if post.is_public or was_public:
        await websub.schedule_ping(settings, reason_key=_change_key(post))
    # Its own rules: unlisted posts send too, deleted ones re-send to every former target.
    await schedule_webmentions(settings, post, previous_properties)
    await schedule_copies(settings, post)
    # A deleted Instagram copy takes its citation comment back; an undelete posts it again.
    # (Imported at the top: retract must never import the poller, which imports this module.)
    await instagram_follow_deletion(settings, post)
