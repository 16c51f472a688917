"""Stored contexts: fetched by a durable job after every post change that links a target.

Spec: https://indieweb.org/reply-context. `queue_on_change` (the feature's post-change
listener, inside the change's transaction) queues one `contexts.fetch` job per reply, like,
repost and bookmark target that has no stored context, or one older than `REFRESH`; a
target the client already described (an h-cite with a name, author or content) is shown as
given and never fetched. The job key names the change and the target, so a change is never
fetched twice; the job upserts the one row of its URL, so retries and several posts linking
the same page keep one context. Failures that may pass (timeouts, 5xx, 429) are retried;
on the last attempt, or for any other failure, the post shows the bare link.
"""

from __future__ import annotations

import hashlib
import logging
from datetime import UTC, datetime, timedelta
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hearth.server.contexts.display import needs_fetch
from hearth.server.contexts.fetching import Unavailable, load_context
from hearth.server.contexts.reading import LinkContext
from hearth.server.contexts.tables import StoredContext
from hearth.server.core import job_queue, page_changes
from hearth.server.core.events import PostChange
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.render import entry_view

KIND = "contexts.fetch"
MAX_ATTEMPTS = 4
MAX_URL = 2048
# A stored context is fetched again, on a later change of a post linking it, after this.
REFRESH = timedelta(days=1)
log = logging.getLogger(__name__)


def url_hash(url: str) -> str:
    return hashlib.sha256(url.encode()).hexdigest()


def _fresh(row: StoredContext | None) -> bool:
    return row is not None and datetime.now(UTC) - row.fetched_at < REFRESH


async def queue_on_change(change: PostChange) -> None:
    """Queue a fetch of every target of `change.post` whose context is missing or old."""
    if change.post.deleted_at is not None:
        return
    links = entry_view(change.post, change.settings).context
    for url in dict.fromkeys(link.url for link in links if needs_fetch(link)):
        if len(url) > MAX_URL or _fresh(await StoredContext.get_or_none(url_hash=url_hash(url))):
            continue
        key = f"{KIND}:{change.key}:{url_hash(url)}"
        payload = {"url": url, "post_id": change.post.id}  # whose pages show it
        await job_queue.enqueue(KIND, payload, key=key, max_attempts=MAX_ATTEMPTS)


def _url_or_none(value: str | None) -> str | None:
    return value if value and len(value) <= MAX_URL else None


async def store(found: LinkContext) -> None:
    """Create or replace the stored context of `found.url`."""
    values: dict[str, Any] = {
        "url": found.url,
        "name": found.name,
        "author_name": found.author_name,
        "author_url": _url_or_none(found.author_url),
        "author_photo": _url_or_none(found.author_photo),
        "snippet": found.snippet,
        "published": found.published,
        "fetched_at": datetime.now(UTC),
    }
    digest = url_hash(found.url)
    if await StoredContext.filter(url_hash=digest).update(**values):
        return
    try:
        async with in_transaction():  # a savepoint, should the caller be in a transaction
            await StoredContext.create(url_hash=digest, **values)
    except IntegrityError:  # stored meanwhile by another worker
        await StoredContext.filter(url_hash=digest).update(**values)


async def fetch_and_store(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The `contexts.fetch` job: read `payload["url"]`'s context and store it."""
    url = payload.get("url")
    if not isinstance(url, str) or not url:
        raise job_queue.PermanentFailure(f"{KIND} needs a url")
    # The post's pages may have been rendered without it: they change once it is stored
    # (here or by another post's job), bumped when this job ends. A job queued before jobs
    # named their post changes every page.
    post_id = payload.get("post_id")
    if isinstance(post_id, int):
        page_changes.changed(post_id)
    else:
        page_changes.changed(site=True)
    if _fresh(await StoredContext.get_or_none(url_hash=url_hash(url))):
        return  # another post's job fetched it meanwhile
    try:
        if ctx.http is not None:
            found = await load_context(ctx.http, url)
        else:
            async with create_http_client(ctx.settings) as client:
                found = await load_context(client, url)
    except Unavailable as exc:
        if exc.transient and ctx.job.attempts < ctx.job.max_attempts:
            raise job_queue.Retry(str(exc)) from exc
        log.info("no context for %s: %s", url, exc)
        return  # the page shows the bare link
    await store(found)


HANDLERS: dict[str, Handler] = {KIND: fetch_and_store}
