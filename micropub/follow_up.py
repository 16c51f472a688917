"""What a Micropub create leaves for later: telling the post-change listeners.

Issue #14 asked the request path of a create to do "the least work that keeps the
guarantees: validate, one transaction, queue the rest". Telling the listeners
(`core.events.post_changed`: webmentions to send, WebSub pings, reply contexts, silo work)
reads and writes a dozen rows; instead the create's transaction queues this one job, and
the job tells them, as the create itself used to, a moment later. The post and the job
commit together, so no post is left untold; listeners queue their work under keys named
by the change, so a job run twice (a crash between the telling and its completion) queues
nothing twice.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from tortoise.transactions import in_transaction

from hearth.server.core import job_queue, one_trip
from hearth.server.core.events import post_changed
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.models import Post

__all__ = ["HANDLERS", "KIND", "tell_later"]

KIND = "micropub.created"


def tell_later(post_id: int, now: datetime) -> one_trip.Statement:
    """The job, queued in the create's transaction (one per post)."""
    return job_queue.insert_statement(KIND, {"post_id": post_id}, key=f"{KIND}:{post_id}", now=now)


async def tell(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Job handler: tell the listeners of the post as it is now stored."""
    post_id = payload.get("post_id")
    if not isinstance(post_id, int):
        raise job_queue.PermanentFailure(f"{KIND} needs a post_id")
    async with in_transaction():
        post = await Post.get_or_none(id=post_id)
        if post is not None:
            await post_changed(ctx.settings, post)


HANDLERS: dict[str, Handler] = {KIND: tell}
