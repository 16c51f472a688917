"""The `instagram.poll` job: copy new Instagram media home as posts (PESOS).

Instagram sends no webhook for new media (its fields:
https://developers.facebook.com/docs/instagram-platform/webhooks), so Hearth polls
`/me/media`, which lists newest first with cursor paging, and whose `since` is creation time,
so edits need a dedupe by id:
https://developers.facebook.com/docs/instagram-platform/instagram-graph-api/reference/ig-user/media
Rate limits: https://developers.facebook.com/docs/graph-api/overview/rate-limiting.

* Pages `/me/media` until a page holds media already copied and older than `OVERLAP`; media in
  the overlap window are re-read so edited captions reach the post.
* Each media gets its `InstagramMedia` row first (primary key = media id), then one poller
  claims the copy (`copying`, a compare-and-set with a lease). A media the zip import
  brought home already (`matching`) is linked to that post, which gains its permalink.
  Otherwise the poller downloads every file into the media store, and creates the post and
  links the row in one transaction (`home_copy`: no files left behind if anything fails):
  never two posts for one media, whatever races. A failed download marks the row `failed` and a
  later poll retries it; a media Instagram gives no file for (copyright-flagged) becomes
  `unavailable`, and one Instagram says is deleted `gone`: neither is retried. No post is
  made without its media.
* The claim's lease is the worker's job lease (`HEARTH_JOB_LEASE_SECONDS`): a poller killed
  mid-copy holds up the media exactly as long as the queue holds up its job, then the next
  poll takes the copy over. The claim is renewed after each file, so a long carousel is not
  taken over while it still makes progress; a poller that finds its claim gone stops.
* A copied media whose first comment is not posted yet gets its job queued again on every
  poll (idempotent by key): a crash between the copy and the queueing loses no comment.
* After each run (success or a retryable failure) the next poll is queued at the next slot of
  `poll_seconds` (`HEARTH_INSTAGRAM_POLL_SECONDS`), keyed by the slot, so concurrent runs
  schedule it once.
"""

from __future__ import annotations

import logging
import time
from collections.abc import AsyncGenerator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.expressions import Q

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.media.files import media_url
from hearth.server.core.media.ingest import copy_remote_photo
from hearth.server.core.media.refusals import MediaRefused
from hearth.server.core.models import Media as StoredMedia
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account as accounts
from hearth.syndication.instagram import copied, home_copy, matching, pesos
from hearth.syndication.instagram.api_errors import (
    InstagramError,
    RateLimited,
    TemporaryError,
    TokenInvalid,
)
from hearth.syndication.instagram.backfeed import schedule_comment_polls
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.graph import Media
from hearth.syndication.instagram.silo_settings import instagram
from hearth.syndication.instagram.tables import (
    CopyState,
    InstagramAccount,
    InstagramImport,
    InstagramMedia,
)

log = logging.getLogger(__name__)

POLL = "instagram.poll"
OVERLAP = timedelta(days=2)
MAX_PAGES = 400  # /me/media returns at most 10K media
# The client_id of API copies, beside the zip import's "instagram-export".
CLIENT_ID = "instagram"


@dataclass
class PollResult:
    copied: int = 0
    updated: int = 0
    failed: int = 0
    linked: int = 0  # media linked to the post the zip import made of them


def _now() -> datetime:
    return datetime.now(UTC)


async def ensure_polling(settings: Settings) -> None:
    """Queue a poll now if an account is connected with a working token.

    Called on connect and whenever a worker starts, so the self-scheduling poll chain comes
    back after downtime (a new key each second: polls are idempotent).
    """
    account = await accounts.current_account()
    if account is not None and account.token_state == accounts.TOKEN_OK:
        await job_queue.enqueue(POLL, {"reason": "connect"}, key=f"{POLL}:start:{int(time.time())}")


async def schedule_next(settings: Settings, account: InstagramAccount) -> None:
    period = max(instagram(settings).poll_seconds, 1)
    slot, run_at = job_queue.next_slot(max(_now(), account.paused_until or _now()), period)
    await job_queue.enqueue(
        POLL, {"reason": "schedule"}, key=f"{POLL}:slot:{period}:{slot}", run_at=run_at
    )


async def poll_once(settings: Settings, http: httpx.AsyncClient) -> PollResult:
    """One poll; raises job_queue.Retry / PermanentFailure like a job. No account: nothing to do."""
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
        # Failed copies that have scrolled out of the pages read above are tried again
        # (UNAVAILABLE and GONE ones are not: trying again would only cost a call each poll).
        for row in await InstagramMedia.filter(copy_state=CopyState.FAILED):
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
    except InstagramError as exc:  # keep the row and say why; a deleted media is GONE
        state = CopyState.GONE if exc.missing else CopyState.FAILED
        prefix = "deleted on Instagram: " if state == CopyState.GONE else ""
        await InstagramMedia.filter(media_id=row.media_id, copy_state=CopyState.FAILED).update(
            copy_state=state, last_error=f"{prefix}{exc}"[:4000], updated_at=_now()
        )
        return
    await _handle(settings, http, media, horizon, result)


async def _row(media: Media) -> InstagramMedia:
    try:
        row, _ = await InstagramMedia.get_or_create(_media_fields(media), media_id=media.id)
    except IntegrityError:  # another poller inserted it between our lookup and insert
        row = await InstagramMedia.get(media_id=media.id)
    return row


def _media_fields(media: Media) -> dict[str, Any]:
    """What the row keeps of the media: set on creation and again when its copy is linked."""
    return {
        "permalink": media.permalink, "media_type": media.media_type,
        "timestamp": media.timestamp, "caption": media.caption, "like_count": media.like_count,
    }  # fmt: skip


async def _handle(
    settings: Settings, http: httpx.AsyncClient, media: Media, horizon: datetime, result: PollResult
) -> bool:
    """Copy or refresh one media; True when it is copied and older than the overlap window."""
    row = await _row(media)
    if row.copy_state != CopyState.COPIED:
        await _copy(settings, http, media, result)
        return False
    if media.timestamp and media.timestamp < horizon:
        return True
    if row.comment_id is None:
        await copied.first_comment_if_new(settings, media)
    if (media.caption or None) != (row.caption or None):
        await copied.update_caption(settings, row, media)
        result.updated += 1
    return False


def copy_lease(settings: Settings) -> timedelta:
    """How long a copy claim lasts unless renewed: the job lease (see the module docstring)."""
    return timedelta(seconds=settings.job_lease_seconds)


async def _claim(settings: Settings, media_id: str) -> bool:
    """Claim the copy of `media_id`: free, failed, its lease run out, or its holder dead."""
    now = _now()
    me = str(job_queue.this_process())
    claimable = Q(copy_state__in=[CopyState.PENDING, CopyState.FAILED]) | Q(
        copy_state=CopyState.COPYING, updated_at__lt=now - copy_lease(settings)
    )
    claimed = await InstagramMedia.filter(claimable, media_id=media_id, post_id=None).update(
        copy_state=CopyState.COPYING, updated_at=now, copy_holder=me
    )
    if claimed:
        return True
    # Held: by a process on this host that is provably gone (kill -9 mid-download)? Then
    # take it over now, compare-and-set on that holder so only one taker wins.
    held = await InstagramMedia.get_or_none(
        media_id=media_id, post_id=None, copy_state=CopyState.COPYING
    )
    if held is None or held.copy_holder is None or not job_queue.holder_gone(held.copy_holder):
        return False
    taken = await InstagramMedia.filter(
        media_id=media_id, post_id=None, copy_state=CopyState.COPYING, copy_holder=held.copy_holder
    ).update(updated_at=now, copy_holder=me)
    if taken:
        log.info(
            "instagram poll: media %s: its copier %s is gone; taken over",
            media_id,
            held.copy_holder,
        )
    return bool(taken)


async def _renew(media_id: str) -> bool:
    """Restart the claim's lease after a file; False if the copy was finished meanwhile."""
    renewed = await InstagramMedia.filter(
        media_id=media_id, copy_state=CopyState.COPYING, post_id=None
    ).update(updated_at=_now())
    return bool(renewed)


async def _fail(media_id: str, error: str, result: PollResult, state: CopyState) -> None:
    """Give up the claim as FAILED (the next poll tries again) or UNAVAILABLE (it does not)."""
    log.warning("instagram poll: media %s not copied (%s): %s", media_id, state, error)
    await InstagramMedia.filter(media_id=media_id, copy_state=CopyState.COPYING).update(
        copy_state=state, last_error=error[:4000], updated_at=_now()
    )
    result.failed += 1


class _ClaimLost(Exception):
    """Our claim expired and another poller took the copy over: let it win."""


class _ImportedMeanwhile(Exception):
    """The zip import brought the media home while its files downloaded."""

    def __init__(self, imported: InstagramImport) -> None:
        super().__init__(imported.key)
        self.imported = imported


async def _adopt(
    settings: Settings,
    imported: InstagramImport,
    media: Media,
    link: Callable[[Post], Awaitable[None]],
    result: PollResult,
) -> bool:
    """Link the zip-imported post to the media instead of copying it; False if another
    media took that post first (then the media is copied after all)."""
    try:
        adopted = await matching.adopt(settings, imported, media.permalink, link)
    except _ClaimLost:
        return True  # another poller has the media: nothing for us to do
    if adopted:
        result.linked += 1
        await copied.first_comment_if_new(settings, media)
    return adopted


class _DownloadFailed(Exception):
    """A file of the media could not be downloaded or stored; the message says why."""


async def _link(media: Media, post: Post) -> None:
    """Point the claimed row at its post (in the post's transaction); _ClaimLost if not ours."""
    linked = await InstagramMedia.filter(media_id=media.id, copy_state=CopyState.COPYING).update(
        post_id=post.id, copy_state=CopyState.COPIED, last_error=None, updated_at=_now(),
        **_media_fields(media),
    )  # fmt: skip
    if not linked:
        raise _ClaimLost(media.id)


async def _copy(
    settings: Settings, http: httpx.AsyncClient, media: Media, result: PollResult
) -> None:
    if not await _claim(settings, media.id):
        return  # copied meanwhile, or another poller is copying it now

    async def link(post: Post) -> None:
        await _link(media, post)

    async def link_new(post: Post) -> None:
        # The zip import may have brought it home while the files downloaded.
        await matching.hold_home_lock()
        if (late := await matching.imported_post(media.timestamp)) is not None:
            raise _ImportedMeanwhile(late)
        await _link(media, post)

    imported = await matching.imported_post(media.timestamp)
    if imported is not None and await _adopt(settings, imported, media, link, result):
        return
    if missing := pesos.missing_files(media):
        error = f"Instagram gives no media_url for {', '.join(missing)}"
        await _fail(media.id, error, result, CopyState.UNAVAILABLE)
        return
    urls = pesos.remote_urls(media)

    def draft(stored: list[StoredMedia]) -> home_copy.Draft:
        files = {url: media_url(settings, copy) for url, copy in zip(urls, stored, strict=True)}
        properties, published = pesos.to_post(media, files)
        return home_copy.Draft(properties, published, CLIENT_ID)

    try:
        await home_copy.create_with_files(
            settings, _download(settings, http, media.id, urls), draft, link_new
        )
    except _ImportedMeanwhile as exc:  # the files are discarded; the imported post is linked
        if not await _adopt(settings, exc.imported, media, link, result):
            await _fail(media.id, "an imported post was found meanwhile", result, CopyState.FAILED)
        return
    except _DownloadFailed as exc:
        await _fail(media.id, str(exc), result, CopyState.FAILED)
        return
    except _ClaimLost:
        log.info("instagram poll: media %s was copied by another poller", media.id)
        return
    result.copied += 1
    await copied.first_comment_if_new(settings, media)


async def _download(
    settings: Settings, http: httpx.AsyncClient, media_id: str, urls: list[str]
) -> AsyncGenerator[StoredMedia, None]:
    """Each file of the media in the media store, renewing the claim after each."""
    for url in urls:
        try:
            stored = await copy_remote_photo(settings, http, url)
        except MediaRefused as exc:  # refused, or the CDN did not give it (RemoteUnavailable)
            raise _DownloadFailed(f"download failed: {type(exc).__name__}: {exc}") from exc
        yield stored
        if not await _renew(media_id):
            raise _ClaimLost(media_id)


async def handle_poll(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `instagram.poll` job; queues the next scheduled poll unless the account is gone."""
    if ctx.http is None:
        raise job_queue.Retry("no HTTP client in this worker")
    try:
        result = await poll_once(ctx.settings, ctx.http)
        log.info("instagram poll (%s): %s", payload.get("reason"), result)
    finally:
        # Whatever happened, unless the token went bad: polling must not stop on one error.
        account = await accounts.current_account()
        if account is not None and account.token_state == accounts.TOKEN_OK:
            await schedule_next(ctx.settings, account)


HANDLERS: dict[str, Handler] = {POLL: handle_poll}
