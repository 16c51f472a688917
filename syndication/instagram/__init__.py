"""Instagram: PESOS copies, the permashortcitation comment, comment backfeed and webhooks.

Modules: `client` speaks the Instagram API with Instagram Login, `errors` reads its error
objects and usage headers, `webhook` receives Meta's signed deliveries.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from syndication.base import SyndicationResult

if TYPE_CHECKING:
    from server.models import Post


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
