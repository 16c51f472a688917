"""Instagram: PESOS copies, the permashortcitation comment, comment backfeed and webhooks.

Modules: `client` speaks the Instagram API with Instagram Login (`graph` holds its answers'
shapes, `errors` reads its error objects and usage headers); `account` and `connect` hold the
connected account (CLI and admin OAuth); `poll` and `pesos` copy media home; `comments` posts
the first comment and `retract` takes it back when the copy is deleted; `backfeed` turns
Instagram comments into responses; `webhook` receives Meta's signed deliveries and `changes`
acts on them; `export_zip`, `export_json` and `history` import the data-export zip; `admin` is
the dashboard section; `jobs` lists every job handler.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from hearth.syndication.base import SyndicationResult

if TYPE_CHECKING:
    from hearth.server.core.models import Post


class InstagramSyndicator:
    """Instagram as a `Syndicator`.

    Instagram runs the other way round (PESOS): the owner posts in the app and Hearth copies
    the post home, then comments the short link on it. Publishing an own-site post to
    Instagram (content publishing, shared/reference/instagram.md §1.8) is not built yet, so
    `publish` refuses with an explanation rather than failing.
    """

    # The `mp-syndicate-to` name.
    name = "instagram"

    async def publish(self, post: Post, *, preview: bool) -> SyndicationResult:
        return SyndicationResult(
            description="Hearth copies Instagram posts home; it does not publish to Instagram.",
            abort=True,
            error="publishing to Instagram is not supported",
        )
