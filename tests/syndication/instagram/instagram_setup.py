"""Setting the Instagram scene in-process: a copied media, running jobs, the owner's comments."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Job, JobState
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram.fake import FakeInstagram, FakeMedia
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia
from hearth.wiring import job_handlers


def fake_media(fake: FakeInstagram, media_id: str) -> FakeMedia:
    return next(m for m in fake.media if m.id == media_id)


async def copied_media(fake: FakeInstagram, *, like_count: int = 0) -> InstagramMedia:
    """A media "posted in the app", its own-site copy and the connected account."""
    await InstagramAccount.get_or_create(
        user_id=fake.user_id, defaults={"username": fake.username, "access_token": fake.token}
    )
    media_id = fake.add_media("IMAGE", caption="Sunset over the bay", like_count=like_count)
    permalink = f"{fake.base}p/{fake_media(fake, media_id).shortcode}/"
    post = await create_post({"content": ["Sunset over the bay"], "syndication": [permalink]})
    return await InstagramMedia.create(
        media_id=media_id, post=post, permalink=permalink, timestamp=datetime.now(UTC)
    )


async def run_jobs(settings: Settings, http: httpx.AsyncClient) -> None:
    """Run every queued job that is due now, retries included (their wait is skipped).

    Skipping a wait also ends a rate-limit pause of the account: time has "passed".
    """
    worker = Worker(settings, job_handlers(), http=http)
    for _ in range(100):
        await Job.filter(state=JobState.QUEUED, attempts__gt=0).update(run_at=job_queue.utcnow())
        await InstagramAccount.all().update(paused_until=None)
        if not await worker.run_once():
            return


def ours(fake: FakeInstagram, media_id: str) -> list[str]:
    """The texts of the owner's comments on a media."""
    return [
        c.text
        for c in fake.comments.values()
        if c.media_id == media_id and c.username == fake.username
    ]
