"""First comments on history, when the owner asks: `hearth instagram comment-history`.

The first comment carries the copy's permashortcitation
(https://indieweb.org/permashortcitation; see `comments`). Media that were on Instagram
before the account was connected are copied home without a comment
(`copied.HISTORY_GRACE`): commenting on years of posts at once is not something to do
unasked. An owner who wants every Instagram copy to point home asks with this command; it
queues the `instagram.first_comment` job of every copied history media that has none,
`spacing` apart, oldest first, because a burst of identical comments looks like spam to
Instagram and eats the rate limit. The jobs are the ordinary first-comment jobs (same keys),
so asking twice, or while some are still queued, posts each comment once. Deleted copies
are left out.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from hearth.server.core.models import JobState
from hearth.server.core.progress import ProgressFactory, quiet
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram.comments import enabled, schedule_first_comment
from hearth.syndication.instagram.copied import HISTORY_GRACE
from hearth.syndication.instagram.tables import InstagramMedia

DEFAULT_SPACING = timedelta(minutes=1)


async def history_without_comment() -> list[InstagramMedia]:
    """Copied media older than the connection with no first comment, oldest first."""
    account = await accounts.current_account()
    if account is None:
        return []
    before = account.created_at - HISTORY_GRACE
    return (
        await InstagramMedia.filter(
            post_id__isnull=False,
            post__deleted_at__isnull=True,
            comment_id__isnull=True,
            timestamp__lt=before,
        )
        .order_by("timestamp", "media_id")
        .all()
    )


async def comment_history(
    settings: Settings,
    *,
    spacing: timedelta = DEFAULT_SPACING,
    progress: ProgressFactory = quiet,
) -> int:
    """Queue the first comment of every history copy lacking one; how many are queued.

    A comment whose job failed for good earlier stays failed (the admin lists why).
    `progress` is told each copy as its comment is queued (or found queued or done before).

    Raises ValueError when first comments are turned off (HEARTH_INSTAGRAM_FIRST_COMMENT).
    """
    if not enabled(settings):
        raise ValueError("first comments are turned off (HEARTH_INSTAGRAM_FIRST_COMMENT)")
    start = datetime.now(UTC)
    queued = 0
    history = await history_without_comment()
    with progress(len(history)) as steps:
        for media in history:
            job = await schedule_first_comment(settings, media, run_at=start + spacing * queued)
            queued += job is not None and job.state == JobState.QUEUED
            steps.advance()
    return queued
