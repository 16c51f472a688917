"""Sending webmentions: https://www.w3.org/TR/webmention/#sending-webmentions

`schedule_webmentions` runs after every stored change of a post (the webmention feature's
post-change listener, told by `hearth.server.core.events`) and queues one durable
`webmention.send` job per target: the links the post has now, the links it had
before this change, and every target it was ever sent to, so an update re-sends to links
since removed and a delete re-sends to all of them (§3.1.4, §3.1.5; a deleted post's page
answers 410 from the moment `deleted_at` is stored, before any job runs). Private posts and
drafts send nothing; unlisted posts do, as their pages are public.

The job re-discovers the endpoint before every attempt (§3.1.4 MUST; webmention.rocks'
endpoints are single-use), POSTs form-encoded `source` and `target` and nothing else, counts
any 2xx as success (§3.1.3), retries 429, 5xx and network errors (after `Retry-After` when
given) and gives up on other answers. Each outcome is kept in `OutgoingWebmention`.
"""

from __future__ import annotations

import asyncio
import hashlib
from collections.abc import Mapping
from datetime import UTC, datetime
from typing import Any

import httpx
from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hearth.server.core import job_queue
from hearth.server.core.http import (
    BlockedAddressError,
    create_http_client,
    error_excerpt,
    retry_after_seconds,
)
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Job, OutgoingWebmention, Post
from hearth.server.core.publication import Status, Visibility
from hearth.server.core.settings import Settings
from hearth.server.webmention.endpoint_discovery import DiscoveryError, discover_endpoint
from hearth.server.webmention.links import is_own, outgoing_targets

KIND = "webmention.send"
MAX_ATTEMPTS = 6
SEND_TIMEOUT = 30.0
PENDING, SENT, FAILED, SKIPPED = "pending", "sent", "failed", "skipped"
# Only the start of an endpoint's error answer is kept for the admin.
_EXCERPT = 300
# Errors no retry can mend: the URL itself is unusable or loops.
_PERMANENT = (httpx.TooManyRedirects, httpx.UnsupportedProtocol, httpx.InvalidURL)


def target_hash(target: str) -> str:
    return hashlib.sha256(target.encode()).hexdigest()


def job_key(post: Post, target: str) -> str:
    """One send per target per stored change: a retry never duplicates, an update re-sends."""
    return f"webmention:{post.id}:{post.modified_at.timestamp():.6f}:{target_hash(target)}"


async def record(post_id: int, target: str, **values: Any) -> None:
    """Upsert the `OutgoingWebmention` of (post, target) with `values`."""
    values["updated_at"] = datetime.now(UTC)
    rows = OutgoingWebmention.filter(post_id=post_id, target_hash=target_hash(target))
    if await rows.update(**values):
        return
    try:
        async with in_transaction():  # a savepoint, should the caller be in a transaction
            await OutgoingWebmention.create(
                post_id=post_id, target=target, target_hash=target_hash(target), **values
            )
    except IntegrityError:  # created meanwhile by another worker
        await rows.update(**values)


async def schedule_webmentions(
    settings: Settings, post: Post, previous_properties: Mapping[str, list[Any]] | None = None
) -> list[str]:
    """Queue a send to every target of this change of `post`; returns the targets queued."""
    if post.status != Status.PUBLISHED or post.visibility == Visibility.PRIVATE:
        return []
    targets = outgoing_targets(post, settings)
    if previous_properties:
        targets |= outgoing_targets(post, settings, previous_properties)
    sent_before = await OutgoingWebmention.filter(post_id=post.id).values_list("target", flat=True)
    targets |= {str(target) for target in sent_before if not is_own(str(target), settings)}
    queued = []
    for target in sorted(targets):
        key = job_key(post, target)
        if await Job.exists(idempotency_key=key):
            continue  # this change was announced already
        await record(post.id, target, state=PENDING)
        payload = {"post_id": post.id, "target": target}
        await job_queue.enqueue(KIND, payload, key=key, max_attempts=MAX_ATTEMPTS)
        queued.append(target)
    return queued


class _Attempt:
    """One attempt of one job: sends, and records why it stops."""

    def __init__(self, ctx: JobContext, post: Post, target: str) -> None:
        self.post_id, self.target = post.id, target
        self.source = ctx.settings.absolute(post.path)
        self.last = ctx.job.attempts >= ctx.job.max_attempts
        self.endpoint: str | None = None

    async def done(self, state: str, error: str | None = None, status: int | None = None) -> None:
        await record(
            self.post_id,
            self.target,
            state=state,
            endpoint=self.endpoint,
            status_code=status,
            last_error=error,
        )

    async def give_up(self, error: str, status: int | None = None) -> None:
        await self.done(FAILED, error, status)
        raise job_queue.PermanentFailure(error)

    async def retry(self, error: str, status: int | None = None, wait: float | None = None) -> None:
        await self.done(FAILED if self.last else PENDING, error, status)
        raise job_queue.Retry(error, retry_after=wait)

    async def run(self, client: httpx.AsyncClient) -> None:
        try:
            self.endpoint = await discover_endpoint(client, self.target)
        except BlockedAddressError as exc:
            return await self.done(SKIPPED, f"not sent: {exc}")
        except DiscoveryError as exc:
            if exc.transient:
                return await self.retry(str(exc), exc.status, exc.retry_after)
            return await self.give_up(str(exc), exc.status)
        except _PERMANENT as exc:
            return await self.give_up(f"discovering {self.target}: {exc}")
        except httpx.HTTPError as exc:
            return await self.retry(f"discovering {self.target}: {type(exc).__name__}: {exc}")
        if self.endpoint is None:
            return await self.done(SKIPPED, "no webmention endpoint")
        await self.notify(client, self.endpoint)

    async def notify(self, client: httpx.AsyncClient, endpoint: str) -> None:
        form = {"source": self.source, "target": self.target}
        try:
            async with asyncio.timeout(SEND_TIMEOUT):
                # No redirects: httpx would turn the POST into a GET on 301/302.
                request = client.stream("POST", endpoint, data=form, follow_redirects=False)
                async with request as response:
                    excerpt = await error_excerpt(response, _EXCERPT)
        except BlockedAddressError as exc:
            return await self.done(SKIPPED, f"not sent: {exc}")
        except _PERMANENT as exc:
            return await self.give_up(f"endpoint {endpoint}: {exc}")
        except (httpx.HTTPError, TimeoutError) as exc:
            return await self.retry(f"endpoint {endpoint}: {type(exc).__name__}: {exc}")
        status = response.status_code
        if 200 <= status < 300:
            return await self.done(SENT, None, status)
        error = f"endpoint {endpoint} answered {status}" + (f": {excerpt}" if excerpt else "")
        if status == 429 or status >= 500:
            return await self.retry(error, status, retry_after_seconds(response))
        await self.give_up(error, status)


async def send_webmention(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler: discover `target`'s endpoint and tell it about the post `post_id`."""
    post_id, target = payload.get("post_id"), payload.get("target")
    if not isinstance(post_id, int) or not isinstance(target, str) or not target:
        raise job_queue.PermanentFailure("webmention.send needs a post_id and a target")
    post = await Post.get_or_none(id=post_id)
    if post is None:
        return  # purged: there is no page left to tell anyone about
    attempt = _Attempt(ctx, post, target)
    if ctx.http is not None:
        return await attempt.run(ctx.http)
    async with create_http_client(ctx.settings) as client:
        await attempt.run(client)


HANDLERS: dict[str, Handler] = {KIND: send_webmention}
