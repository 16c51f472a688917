"""The `instagram.webhook_change` job: what a queued webhook change leads to.

The `comments` field's value: https://developers.facebook.com/docs/instagram-platform/webhooks.
There is no "new media" webhook, so a comment on a media Hearth does not know is a hint to
poll now.
`hearth.syndication.instagram.webhook` verifies and queues each change; this job reads it:

* `comments` / `live_comments`: if the media is known (an `InstagramMedia` row), queue
  `instagram.comment_changed` `{media_id, comment_id, text, from, parent_id}` keyed by the
  comment id and a hash of its text (an edit is a new effect, a replay is not). Our own
  permashortcitation comment (the media's stored `comment_id`) is skipped. If the media is not
  known, or the change names no media or comment, the webhook is only a hint: queue
  `instagram.poll`, keyed per minute so a burst of comments causes one poll.
* `mentions` and anything else: nothing to do; the DONE job row is the record.
"""

from __future__ import annotations

import hashlib
import logging
import time
from typing import Any

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext
from hearth.syndication.instagram.backfeed import COMMENT_CHANGED
from hearth.syndication.instagram.poll import POLL
from hearth.syndication.instagram.tables import InstagramMedia
from hearth.syndication.instagram.webhook import COMMENT_FIELDS, KIND, hashed_key

log = logging.getLogger(__name__)

# Job.idempotency_key is a 255-character column.
MAX_KEY = 255


def _id(value: Any) -> str | None:
    if isinstance(value, bool) or not isinstance(value, str | int):
        return None
    text = str(value).strip()
    return text or None


def _media_id(value: dict[str, Any]) -> str | None:
    media = value.get("media")
    if isinstance(media, dict):
        found = _id(media.get("id"))
        if found:
            return found
    return _id(value.get("media_id"))


def poll_key(now: float | None = None) -> str:
    """One webhook-triggered poll per minute, however many comments arrive in it."""
    minute = int((time.time() if now is None else now) // 60)
    return f"{POLL}:webhook:{minute}"


async def _queue_poll(media_id: str | None) -> None:
    payload = {"reason": "webhook", "media_id": media_id}
    await job_queue.enqueue(POLL, payload, key=poll_key())


async def _comment_changed(value: Any) -> None:
    if not isinstance(value, dict):
        raise job_queue.PermanentFailure("a comments change whose value is not an object")
    media_id = _media_id(value)
    comment_id = _id(value.get("id")) or _id(value.get("comment_id"))
    media = await InstagramMedia.get_or_none(media_id=media_id) if media_id else None
    if media is None or comment_id is None:
        # Unknown media (a post the poller has not copied yet), or too little to go on.
        await _queue_poll(media_id)
        return
    if media.comment_id is not None and media.comment_id == comment_id:
        log.info("instagram webhook: comment %s is our own citation comment", comment_id)
        return
    text = value.get("text")
    text = text if isinstance(text, str) else None
    author = value.get("from")
    payload = {
        "media_id": media_id,
        "comment_id": comment_id,
        "text": text,
        "from": author if isinstance(author, dict) else None,
        "parent_id": _id(value.get("parent_id")),
    }
    text_hash = hashlib.sha256((text or "").encode()).hexdigest()[:32]
    key = f"{COMMENT_CHANGED}:{comment_id}:{text_hash}"
    if len(key) > MAX_KEY:
        key = hashed_key(COMMENT_CHANGED, comment_id, text_hash)
    await job_queue.enqueue(COMMENT_CHANGED, payload, key=key)


async def handle_change(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Turn one queued webhook change into the work it hints at (see the module docstring)."""
    field = payload.get("field")
    if field in COMMENT_FIELDS:
        await _comment_changed(payload.get("value"))
        return
    log.info("instagram webhook: job %s: nothing to do for a %r change", ctx.job.id, field)


HANDLERS: dict[str, Handler] = {KIND: handle_change}
