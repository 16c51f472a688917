"""WebSub publishing: telling the hub that the home page and the feeds changed.

Spec: https://www.w3.org/TR/websub/#publishing. The spec leaves the publish request to the
hub; the de-facto standard (PubSubHubbub 0.4, used by Superfeedr, websub.rocks and
switchboard) is a form POST of `hub.mode=publish` and `hub.url=<topic>`, one per topic.

Pings go through the durable job queue: `schedule_ping` enqueues one `websub.publish` job
per topic, keyed by the topic and the reason (e.g. the post and its modification time), so
the same change is never pinged twice and a hub that is down is retried with backoff.

A ping that is queued and not started yet covers every change stored before it runs (the hub
fetches the topic after the ping), so a change finding one queues nothing more: a burst of
changes, such as an import, costs a few pings rather than one per post and topic. Topics too
long for a readable key (hashed, see `ping_key`) are pinged for every change.
"""

from __future__ import annotations

import hashlib
from typing import Any

import httpx

from hearth.server import feeds
from hearth.server.core import job_queue
from hearth.server.core.events import PostChange
from hearth.server.core.features import Feature
from hearth.server.core.http import (
    BlockedAddressError,
    create_http_client,
    error_excerpt,
    retry_after_seconds,
)
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Job, JobState
from hearth.server.core.settings import Settings

KIND = "websub.publish"
# Job.idempotency_key is a 255-character column; longer keys are hashed to fit.
_MAX_KEY = 255
# Only a few bytes of a hub's answer are kept, for the error message on failure.
_ERROR_EXCERPT = 500


def ping_key(topic: str, reason_key: str) -> str:
    """The idempotency key of the ping of `topic` for `reason_key`."""
    key = f"websub:{topic}:{reason_key}"
    if len(key) <= _MAX_KEY:
        return key
    return "websub:" + hashlib.sha256(f"{topic}\n{reason_key}".encode()).hexdigest()


async def schedule_ping(settings: Settings, *, reason_key: str) -> None:
    """Queue a publish ping for every topic (home page and feeds); nothing without a hub.

    `reason_key` names the change, e.g. f"post:{id}:{modified_at timestamp}": pinging for
    the same reason again finds the existing jobs and queues nothing. A topic whose ping is
    still queued gets no second one (see the module docstring).
    """
    hub = settings.websub_hub
    if not hub:
        return
    for topic in feeds.topic_urls(settings):
        if await _ping_waiting(topic):
            continue  # it runs after this change is stored, so it tells the hub of it too
        await job_queue.enqueue(KIND, {"hub": hub, "topic": topic}, key=ping_key(topic, reason_key))


async def _ping_waiting(topic: str) -> bool:
    """Whether a ping of `topic` is queued and has not started (a running one may have
    been sent before the change being announced was stored)."""
    waiting = Job.filter(
        kind=KIND, state=JobState.QUEUED, idempotency_key__startswith=f"websub:{topic}:"
    )
    return await waiting.exists()


async def _post(client: httpx.AsyncClient, hub: str, topic: str) -> None:
    form = {"hub.mode": "publish", "hub.url": topic}
    try:
        # Streamed: only the status matters, and a hub's body must not fill memory. No
        # redirects: httpx would turn the POST into a GET on 301/302.
        async with client.stream("POST", hub, data=form, follow_redirects=False) as response:
            excerpt = await error_excerpt(response, _ERROR_EXCERPT)
    except BlockedAddressError as exc:
        raise job_queue.PermanentFailure(f"hub {hub} is not reachable: {exc}") from exc
    except (httpx.UnsupportedProtocol, httpx.InvalidURL) as exc:
        raise job_queue.PermanentFailure(f"hub URL {hub!r} is not usable: {exc}") from exc
    except httpx.HTTPError as exc:
        raise job_queue.Retry(f"hub {hub} did not answer: {type(exc).__name__}: {exc}") from exc
    status = response.status_code
    if 200 <= status < 300:
        return
    message = f"hub {hub} answered {status} for {topic}" + (f": {excerpt}" if excerpt else "")
    if status == 429 or status >= 500:
        raise job_queue.Retry(message, retry_after=retry_after_seconds(response))
    raise job_queue.PermanentFailure(message)


async def publish(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler: POST `hub.mode=publish&hub.url=<topic>` to the hub.

    2xx is success; 429, 5xx and network errors retry (after the hub's Retry-After when it
    gives one); any other answer fails permanently, since repeating it cannot help.
    """
    hub = payload.get("hub") or ctx.settings.websub_hub
    topic = payload.get("topic")
    if not isinstance(hub, str) or not hub or not isinstance(topic, str) or not topic:
        raise job_queue.PermanentFailure("websub.publish needs a hub and a topic")
    if ctx.http is not None:
        await _post(ctx.http, hub, topic)
        return
    async with create_http_client(ctx.settings) as client:
        await _post(client, hub, topic)


HANDLERS: dict[str, Handler] = {KIND: publish}


async def ping_on_change(change: PostChange) -> None:
    """A public change (or one that took a post out of view) pings the hub for every topic."""
    if change.post.is_public or change.was_public:
        await schedule_ping(change.settings, reason_key=change.key)


FEATURE = Feature("websub", job_handlers=HANDLERS, on_post_changed=[ping_on_change])
