"""The first comment: the permashortcitation of the own-site copy, posted on the Instagram media.

shared/reference/instagram.md §0 item 6 and §4.1: the caption cannot be edited through the API,
so Hearth comments, as the owner, text ending with the permashortcitation of the copy, e.g.
`Also on my website (example.com s/p5my1)` (§5.1: the citation must be the very last thing,
as granary's original-post-discovery regex anchors it with `$`). Creating and deleting comments:
§1.6.

Job `instagram.first_comment` `{media_id}`, queued by `schedule_first_comment` with the key
(media id, short code). Exactly once per media across retries, restarts and workers:

* `InstagramMedia.comment_id` is claimed with a compare-and-set before any Graph API write, set
  to `posting:<unix time>`; a second worker finds it taken and retries later. A claim older than
  `CLAIM_SECONDS` (its worker died) may be taken over.
* Before posting, the media's comments are listed (§1.6); a comment of ours that already cites
  the current short code (the stored id, or by the account's username) is adopted, not posted
  again. Ours citing another code (the short link changed), and extra copies, are deleted.
* The new comment's id and the short code it cites are saved right after the POST.

Settings (read with `getattr` until `Settings` grows them): `instagram_first_comment` (bool,
default True; env `HEARTH_INSTAGRAM_FIRST_COMMENT`) and `instagram_comment_template` (default
`DEFAULT_TEMPLATE`, `{citation}` is replaced; env `HEARTH_INSTAGRAM_COMMENT_TEMPLATE`).
"""

from __future__ import annotations

import logging
import re
import time
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from server import jobs
from server.models import InstagramAccount, InstagramMedia, Job, Post
from server.settings import Settings
from syndication.instagram import account as accounts
from syndication.instagram.client import Comment, InstagramClient

if TYPE_CHECKING:
    from server.worker import Handler, JobContext

log = logging.getLogger(__name__)

KIND = "instagram.first_comment"
DEFAULT_TEMPLATE = "Also on my website {citation}"
CLAIM_PREFIX = "posting:"
CLAIM_SECONDS = 300.0
# How long a second worker waits for the one holding the claim.
BUSY_RETRY_SECONDS = 60.0


def enabled(settings: Settings) -> bool:
    return settings.instagram_first_comment


def site_host(settings: Settings) -> str:
    """The citation's domain part: the site's host plus its path, if Hearth runs under one."""
    parts = urlsplit(settings.url)
    return (parts.netloc.rpartition("@")[2] + parts.path.rstrip("/")).lower()


def citation(settings: Settings, short_code: str) -> str:
    """The permashortcitation `(example.com s/XXXX)` of a short code (§5.1)."""
    return f"({site_host(settings)} s/{short_code})"


def comment_text(settings: Settings, short_code: str) -> str:
    template = settings.instagram_comment_template or DEFAULT_TEMPLATE
    cite = citation(settings, short_code)
    text = template.replace("{citation}", cite).rstrip()
    return text if text.endswith(cite) else f"{text} {cite}".lstrip()


def cited_code(settings: Settings, text: str) -> str | None:
    """The short code a text ending with one of our citations cites, else None."""
    pattern = rf"\({re.escape(site_host(settings))} s/([^\s)]+)\)\s*$"
    match = re.search(pattern, text, flags=re.IGNORECASE)
    return match.group(1) if match else None


def is_ours(settings: Settings, account: InstagramAccount, media: InstagramMedia, c: Any) -> bool:
    """Hearth's own citation comment: never backfed (§4.1 step 3)."""
    if media.comment_id is not None and c.id == media.comment_id:
        return True
    author = (getattr(c, "username", None) or "").lower()
    return author == account.username.lower() and cited_code(settings, c.text or "") is not None


async def schedule_first_comment(settings: Settings, media: InstagramMedia) -> Job | None:
    """Queue the first comment for `media` once its copy exists (the poller calls this).

    Idempotent: keyed by (media id, short code), so calling it on every poll is fine, and a
    changed short code queues a job that replaces the old comment. None when the setting is
    off, the media has no post, or the comment already cites the current code.
    """
    post_id = media.post_id  # type: ignore[attr-defined]
    post = await Post.get_or_none(id=post_id) if post_id is not None else None
    if not enabled(settings) or post is None:
        return None
    if media.comment_short_code == post.short_code and media.comment_id is not None:
        return None
    key = f"{KIND}:{media.media_id}:{post.short_code}"
    return await jobs.enqueue(KIND, {"media_id": media.media_id}, key=key)


async def client_for(ctx: JobContext) -> tuple[InstagramAccount, InstagramClient]:
    """The connected account and a client with its token.

    The same gate as polling (`account.active_account`): waits out a rate-limit pause and
    stops while the token is expired or revoked.
    """
    account = await accounts.active_account()
    if account is None:
        raise jobs.PermanentFailure("no Instagram account is connected")
    if ctx.http is None:
        raise jobs.PermanentFailure("the worker has no HTTP client")
    return account, accounts.client_for(ctx.settings, ctx.http, account)


async def _claim(media: InstagramMedia) -> str | None:
    """Compare-and-set `comment_id` to a claim; the previous value, or raise Retry if busy."""
    current = media.comment_id
    if current and current.startswith(CLAIM_PREFIX):
        since = float(current.removeprefix(CLAIM_PREFIX) or 0)
        if time.time() - since < CLAIM_SECONDS:
            raise jobs.Retry(
                "another worker is posting this comment", retry_after=BUSY_RETRY_SECONDS
            )
    rows = InstagramMedia.filter(media_id=media.media_id)
    rows = rows.filter(comment_id=current) if current else rows.filter(comment_id__isnull=True)
    if not await rows.update(comment_id=f"{CLAIM_PREFIX}{time.time():.0f}"):
        raise jobs.Retry("another worker is posting this comment", retry_after=BUSY_RETRY_SECONDS)
    return None if current is None or current.startswith(CLAIM_PREFIX) else current


def _flatten(comments: list[Comment]) -> list[Comment]:
    return [c for top in comments for c in (top, *top.replies)]


async def _post_once(
    ctx: JobContext,
    account: InstagramAccount,
    client: InstagramClient,
    media: InstagramMedia,
    short_code: str,
    previous: str | None,
) -> str:
    """Adopt our comment citing `short_code`, or post it; delete our other ones. Its id."""
    keep: str | None = None
    for c in _flatten(await client.comments(media.media_id)):
        mine = c.id == previous or (
            (c.username or "").lower() == account.username.lower()
            and cited_code(ctx.settings, c.text) is not None
        )
        if not mine:
            continue
        if keep is None and cited_code(ctx.settings, c.text) == short_code:
            keep = c.id
        else:
            await client.delete_comment(c.id)
    if keep is None:
        keep = await client.create_comment(media.media_id, comment_text(ctx.settings, short_code))
    return keep


async def first_comment(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.first_comment` job (see the module docstring)."""
    media = await InstagramMedia.get_or_none(media_id=str(payload.get("media_id")))
    post = await Post.get_or_none(id=media.post_id) if media else None  # type: ignore[attr-defined]
    if media is None or post is None or not enabled(ctx.settings):
        return
    done = media.comment_id and not media.comment_id.startswith(CLAIM_PREFIX)
    if done and media.comment_short_code == post.short_code:
        return
    account, client = await client_for(ctx)
    previous = await _claim(media)
    try:
        # api_errors: a bad token or a rate limit also marks the account, as for polling.
        async with accounts.api_errors(account):
            comment_id = await _post_once(ctx, account, client, media, post.short_code, previous)
    except BaseException:
        # Release the claim. The old comment may be gone already; the next run lists again.
        await InstagramMedia.filter(media_id=media.media_id).update(comment_id=previous)
        raise
    await InstagramMedia.filter(media_id=media.media_id).update(
        comment_id=comment_id, comment_short_code=post.short_code
    )
    log.info("instagram: first comment %s on media %s", comment_id, media.media_id)


HANDLERS: dict[str, Handler] = {KIND: first_comment}
