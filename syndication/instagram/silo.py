"""Instagram as a silo value: everything it plugs into Hearth, in one `Feature`.

PESOS copies and their first comment, comment backfeed, webhooks, the data-export import
(job handlers); the webhook and the admin's Connect routes; the poll and token-refresh
chains restarted when a worker starts; taking the citation comment back when a copy is
deleted (post-change listener); the dashboard section; `hearth instagram ...`; and
"N likes on Instagram" under a copied post's permalink.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from hearth.server.core.body_limit import BodyLimit
from hearth.server.core.events import PostChange
from hearth.server.core.features import Command, Feature, ModelApp, PermalinkNote
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import (
    account,
    admin,
    backfeed,
    command_line,
    connect,
    job_handlers,
    poll,
    retract,
    webhook,
)
from hearth.syndication.instagram.silo_settings import InstagramSettings


async def follow_deletion(change: PostChange) -> None:
    """A deleted copy takes its citation comment back; an undelete posts it again."""
    await retract.follow_deletion(change.settings, change.post)


async def likes(post: Post) -> Sequence[PermalinkNote]:
    """ "N likes on Instagram", linked to the Instagram copy, for a copied post."""
    found = await backfeed.instagram_likes(post)
    if found is None:
        return ()
    count, permalink = found
    return (PermalinkNote(f"{count} {'like' if count == 1 else 'likes'} on Instagram", permalink),)


async def refresh_chain(settings: Settings) -> None:
    """Restart the token refresh chain if it ended while no worker ran."""
    await account.ensure_refresh()


SILO = Feature(
    "instagram",
    routes=[*webhook.routes, *connect.routes],
    body_limits=[BodyLimit(webhook.PATH, webhook.MAX_BODY, own_check=True)],
    job_handlers=job_handlers.HANDLERS,
    on_worker_start=[poll.ensure_polling, refresh_chain],
    on_post_changed=[follow_deletion],
    admin_sections=[admin.SECTION],
    admin_notices={
        "instagram": "Instagram connected. Hearth polls it now and copies new posts home.",
        "instagram_poll": "Poll queued: the worker asks Instagram for new posts next.",
    },
    commands=[
        Command(
            "instagram",
            "connect Instagram and copy posts home",
            command_line.configure,
            command_line.run,
        )
    ],
    permalink_notes=likes,
    # Copies link every #tag and @person to instagram.com, which takes no webmentions.
    hosts_without_webmention=frozenset({"instagram.com", "www.instagram.com"}),
    settings_section=InstagramSettings,
    template_dir=Path(__file__).parent / "templates",
    model_app=ModelApp(
        "instagram",
        models="hearth.syndication.instagram.tables",
        migrations="hearth.syndication.instagram.migrations",
    ),
)
