"""The dashboard's Instagram section: the connected account and the latest media.

Shows whether an account is connected (or how to connect one), its token's state with what
to do about an error, any rate-limit pause and the last poll; then the most recent media
with their own-site copy, first comment, backfed comments and likes.

The access token never reaches the template: the section's data holds only the fields below.
The silo value (`silo.py`) offers it to the dashboard.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from starlette.requests import Request
from tortoise.expressions import RawSQL
from tortoise.functions import Count

from hearth.server.core.features import AdminSection
from hearth.server.core.models import AdminSession, Interaction
from hearth.server.core.settings import Settings
from hearth.server.core.web import settings_of
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram.backfeed import ORIGIN
from hearth.syndication.instagram.comments import CLAIM_PREFIX
from hearth.syndication.instagram.silo_settings import instagram
from hearth.syndication.instagram.tables import CopyState, InstagramAccount, InstagramMedia

RECENT_MEDIA = 20
# Copy states whose last error says why there is no copy (what a copied row once hit is old).
SHOWN_ERRORS = frozenset({CopyState.FAILED, CopyState.UNAVAILABLE, CopyState.GONE})
CONNECT_COMMAND = "hearth instagram connect --access-token TOKEN"


@dataclass(frozen=True)
class AccountView:
    """What the admin may see of the account: everything but the access token."""

    username: str
    user_id: str
    profile_url: str
    token_state: str
    token_expires_at: datetime | None
    last_error: str | None
    paused_until: datetime | None
    last_polled_at: datetime | None


@dataclass(frozen=True)
class MediaRow:
    media_id: str
    permalink: str | None
    media_type: str | None
    timestamp: datetime | None
    post_url: str | None
    post_path: str | None
    copy_state: str
    last_error: str | None
    comment: str
    comment_short_code: str | None
    backfed: int
    comments_polled_at: datetime | None
    like_count: int | None


def account_view(account: InstagramAccount, now: datetime) -> AccountView:
    paused = account.paused_until
    return AccountView(
        username=account.username,
        user_id=account.user_id,
        profile_url=f"https://www.instagram.com/{account.username}/",
        token_state=account.token_state,
        token_expires_at=account.token_expires_at,
        last_error=account.last_error,
        paused_until=paused if paused is not None and paused > now else None,
        last_polled_at=account.last_polled_at,
    )


def comment_state(media: InstagramMedia, settings: Settings) -> str:
    """posted, posting, not yet, or off (HEARTH_INSTAGRAM_FIRST_COMMENT is false)."""
    if media.comment_id and media.comment_id.startswith(CLAIM_PREFIX):
        return "posting"
    if media.comment_id:
        return "posted"
    return "not yet" if instagram(settings).first_comment else "off"


async def backfed_counts(post_ids: list[int]) -> dict[int, int]:
    """Instagram responses per post, for `post_ids`."""
    if not post_ids:
        return {}
    rows = (
        await Interaction.filter(origin=ORIGIN, post_id__in=post_ids)
        .annotate(n=Count("id"))
        .group_by("post_id")
        .values("post_id", "n")
    )
    return {int(r["post_id"]): int(r["n"]) for r in rows}


async def load_instagram(request: Request, session: AdminSession) -> Mapping[str, Any]:
    """The account (or None), the connect command, and the latest media rows."""
    settings = settings_of(request)
    account = await accounts.current_account()
    media = (
        await InstagramMedia.all()
        # Newest first, undated rows (not fetched yet) last: said outright, as SQLite and
        # PostgreSQL put NULLs at opposite ends of a descending order.
        .annotate(undated=RawSQL('"timestamp" IS NULL'))
        .order_by("undated", "-timestamp", "-created_at")
        .limit(RECENT_MEDIA)
        .prefetch_related("post")
    )
    counts = await backfed_counts([m.post.id for m in media if m.post is not None])
    rows = [
        MediaRow(
            media_id=m.media_id,
            permalink=m.permalink,
            media_type=m.media_type,
            timestamp=m.timestamp,
            post_url=settings.absolute(m.post.path) if m.post is not None else None,
            post_path=f"/{m.post.path}" if m.post is not None else None,
            copy_state=m.copy_state,
            last_error=m.last_error if m.copy_state in SHOWN_ERRORS else None,
            comment=comment_state(m, settings),
            comment_short_code=m.comment_short_code,
            backfed=counts.get(m.post.id, 0) if m.post is not None else 0,
            comments_polled_at=m.comments_polled_at,
            like_count=m.like_count,
        )
        for m in media
    ]
    return {
        "account": account_view(account, datetime.now(UTC)) if account is not None else None,
        "connect_command": CONNECT_COMMAND,
        "media": rows,
    }


SECTION = AdminSection(
    "instagram",
    "Instagram",
    "admin/section_instagram.html",
    load_instagram,
    weight=100,
    page="silos",
)
