"""The `instagram.poll` job: copy new Instagram media home as posts (PESOS).

shared/reference/instagram.md §0 item 2 (no "new media" webhook: poll `/me/media`), §1.5
(newest first, cursor paging, `since` is creation time so edits need dedupe by id), §1.11 (rate
limits) and §6 (the recommended pipeline).

* Pages `/me/media` until a page holds media already copied and older than `OVERLAP`; media in
  the overlap window are re-read so edited captions reach the post.
* Each media gets its `InstagramMedia` row first (primary key = media id), then one poller
  claims the copy (`copying`, a compare-and-set with a lease), downloads every file into the
  media store, and creates the post and links the row in one transaction: never two posts
  for one media, whatever races. A failed download marks the row `failed`; the next poll
  retries it. No post is made without its media.
* The claim's lease is the worker's job lease (`HEARTH_JOB_LEASE_SECONDS`): a poller killed
  mid-copy holds up the media exactly as long as the queue holds up its job, then the next
  poll takes the copy over. The claim is renewed after each file, so a long carousel is not
  taken over while it still makes progress; a poller that finds its claim gone stops.
* A copied media whose first comment is not posted yet gets its job queued again on every
  poll (idempotent by key): a crash between the copy and the queueing loses no comment.
* After each run (success or a retryable failure) the next poll is queued at the next slot of
  `instagram_poll_seconds`, keyed by the slot, so concurrent runs schedule it once.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q
from tortoise.transactions import in_transaction

from micropub.errors import MicropubError
from micropub.media import copy_remote_photo
from server import jobs
from server.events import post_changed
from server.media import media_url
from server.models import InstagramAccount, InstagramMedia, Post
from server.posts import create_post, set_categories
from server.settings import Settings
from server.worker import Handler, JobContext
from syndication.instagram import account as accounts
from syndication.instagram import pesos
from syndication.instagram.backfeed import schedule_comment_polls
from syndication.instagram.client import InstagramClient
from syndication.instagram.comments import schedule_first_comment
from syndication.instagram.errors import InstagramError, RateLimited, TemporaryError, TokenInvalid
from syndication.instagram.graph import Media

log = logging.getLogger(__name__)

POLL = "instagram.poll"
OVERLAP = timedelta(days=2)
MAX_PAGES = 400  # /me/media returns at most 10K media (§1.5)


@dataclass
class PollResult:
    copied: int = 0
    updated: int = 0
    failed: int = 0


def _now() -> datetime:
    return datetime.now(UTC)


async def ensure_polling(settings: Settings) -> None:
    """Queue a poll now if an account is connected with a working token.

    Called on connect and whenever a worker starts, so the self-scheduling poll chain comes
    back after downtime (a new key each second: polls are idempotent).
    """
    account = await accounts.current_account()
    if account is not None and account.token_state == accounts.TOKEN_OK:
        await jobs.enqueue(POLL, {"reason": "connect"}, key=f"{POLL}:start:{int(time.time())}")


async def schedule_next(settings: Settings, account: InstagramAccount) -> None:
    period = max(settings.instagram_poll_seconds, 1)
    start = max(_now(), account.paused_until or _now())
    slot = int(start.timestamp() // period) + 1
    run_at = datetime.fromtimestamp(slot * period, UTC)
    await jobs.enqueue(
        POLL, {"reason": "schedule"}, key=f"{POLL}:slot:{period}:{slot}", run_at=run_at
    )


async def poll_once(settings: Settings, http: httpx.AsyncClient) -> PollResult:
    """One poll; raises jobs.Retry / PermanentFailure like a job. No account: nothing to do."""
    result = PollResult()
    account = await accounts.active_account()
    if account is None:
        return result
    client = accounts.client_for(settings, http, account)
    horizon = _now() - OVERLAP
    seen: set[str] = set()
    after: str | None = None
    async with accounts.api_errors(account):
        for _ in range(MAX_PAGES):
            page = await client.list_media(after)
            await accounts.check_usage(account, client)
            stop = False
            for media in page.items:
                seen.add(media.id)
                old_and_known = await _handle(settings, http, media, horizon, result)
                stop = stop or old_and_known
            if stop or not (page.has_next and page.after):
                break
            after = page.after
        # Failed copies that have scrolled out of the pages read above are tried again.
        for row in await InstagramMedia.filter(copy_state="failed"):
            if row.media_id not in seen:
                await _retry_failed(settings, client, http, row, horizon, result)
    account.last_polled_at = _now()
    await account.save(update_fields=["last_polled_at", "updated_at"])
    # Comments of recent copies are polled on their own decaying schedule (backfeed).
    await schedule_comment_polls(settings)
    return result


async def _retry_failed(
    settings: Settings,
    client: InstagramClient,
    http: httpx.AsyncClient,
    row: InstagramMedia,
    horizon: datetime,
    result: PollResult,
) -> None:
    try:
        media = await client.media(row.media_id)
    except (TokenInvalid, RateLimited, TemporaryError):
        raise
    except InstagramError as exc:  # e.g. deleted on Instagram: keep the row, say why
        row.last_error = str(exc)[:4000]
        await row.save(update_fields=["last_error", "updated_at"])
        return
    await _handle(settings, http, media, horizon, result)


async def _row(media: Media) -> InstagramMedia:
    values: dict[str, Any] = {
        "permalink": media.permalink, "media_type": media.media_type,
        "timestamp": media.timestamp, "caption": media.caption, "like_count": media.like_count,
    }  # fmt: skip
    try:
        row, _ = await InstagramMedia.get_or_create(values, media_id=media.id)
    except IntegrityError:  # another poller inserted it between our lookup and insert
        row = await InstagramMedia.get(media_id=media.id)
    return row


async def _handle(
    settings: Settings, http: httpx.AsyncClient, media: Media, horizon: datetime, result: PollResult
) -> bool:
    """Copy or refresh one media; True when it is copied and older than the overlap window."""
    row = await _row(media)
    if row.copy_state != "copied":
        await _copy(settings, http, media, result)
        return False
    if media.timestamp and media.timestamp < horizon:
        return True
    if row.comment_id is None:
        await _first_comment_if_new(settings, media)
    if (media.caption or None) != (row.caption or None):
        await _update_caption(settings, row, media)
        result.updated += 1
    return False


def copy_lease(settings: Settings) -> timedelta:
    """How long a copy claim lasts unless renewed: the job lease (see the module docstring)."""
    return timedelta(seconds=settings.job_lease_seconds)


async def _claim(settings: Settings, media_id: str) -> bool:
    now = _now()
    claimable = Q(copy_state__in=["pending", "failed"]) | Q(
        copy_state="copying", updated_at__lt=now - copy_lease(settings)
    )
    claimed = await InstagramMedia.filter(claimable, media_id=media_id, post_id=None).update(
        copy_state="copying", updated_at=now
    )
    return bool(claimed)


async def _renew(media_id: str) -> bool:
    """Restart the claim's lease after a file; False if the copy was finished meanwhile."""
    renewed = await InstagramMedia.filter(
        media_id=media_id, copy_state="copying", post_id=None
    ).update(updated_at=_now())
    return bool(renewed)


async def _fail(media_id: str, error: str, result: PollResult) -> None:
    log.warning("instagram poll: media %s not copied: %s", media_id, error)
    await InstagramMedia.filter(media_id=media_id, copy_state="copying").update(
        copy_state="failed", last_error=error[:4000], updated_at=_now()
    )
    result.failed += 1


async def _copy(
    settings: Settings, http: httpx.AsyncClient, media: Media, result: PollResult
) -> None:
    if not await _claim(settings, media.id):
        return  # copied meanwhile, or another poller is copying it now
    if missing := pesos.missing_files(media):
        await _fail(media.id, f"Instagram gives no media_url for {', '.join(missing)}", result)
        return
    files: dict[str, str] = {}
    for url in pesos.remote_urls(media):
        try:
            files[url] = media_url(settings, await copy_remote_photo(settings, http, url))
        except (httpx.HTTPError, MicropubError) as exc:
            await _fail(media.id, f"download failed: {type(exc).__name__}: {exc}", result)
            return
        if not await _renew(media.id):
            return  # our claim expired and another poller finished the copy: let it win
    properties, published = pesos.to_post(media, files)
    async with in_transaction():
        post = await create_post(properties, published=published, client_id="instagram")
        linked = await InstagramMedia.filter(media_id=media.id, copy_state="copying").update(
            post_id=post.id, copy_state="copied", last_error=None, updated_at=_now()
        )
        if not linked:  # our claim expired and another poller took over: let it win
            raise jobs.Retry(f"lost the copy claim on Instagram media {media.id}")
    await post_changed(settings, post)
    result.copied += 1
    await _first_comment_if_new(settings, media)


# Media older than the account's connection by more than this is history: the copy gets no
# first comment (the issue: history imports never comment unless asked).
HISTORY_GRACE = timedelta(days=1)


async def _first_comment_if_new(settings: Settings, media: Media) -> None:
    account = await InstagramAccount.first()
    row = await InstagramMedia.get_or_none(media_id=media.id)
    if account is None or row is None or media.timestamp is None:
        return
    if media.timestamp >= account.created_at - HISTORY_GRACE:
        await schedule_first_comment(settings, row)


async def _update_caption(settings: Settings, row: InstagramMedia, media: Media) -> None:
    await InstagramMedia.filter(media_id=row.media_id).update(
        caption=media.caption, like_count=media.like_count, updated_at=_now()
    )
    post = await Post.filter(instagram_media__media_id=row.media_id).first()
    if post is None:
        return
    previous = dict(post.properties)
    properties = {k: v for k, v in post.properties.items() if k not in ("content", "category")}
    post.properties = properties | pesos.caption_properties(media.caption)
    post.updated = _now()
    await post.save()
    await set_categories(post)
    await post_changed(settings, post, previous_properties=previous)


async def handle_poll(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.poll` job; queues the next scheduled poll unless the account is gone."""
    if ctx.http is None:
        raise jobs.Retry("no HTTP client in this worker")
    try:
        result = await poll_once(ctx.settings, ctx.http)
        log.info("instagram poll (%s): %s", payload.get("reason"), result)
    finally:
        # Whatever happened, unless the token went bad: polling must not stop on one error.
        account = await accounts.current_account()
        if account is not None and account.token_state == accounts.TOKEN_OK:
            await schedule_next(ctx.settings, account)


HANDLERS: dict[str, Handler] = {POLL: handle_poll}
