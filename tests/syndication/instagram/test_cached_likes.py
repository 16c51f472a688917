"""An Instagram like count changed by the comment poll (backfeed) is on the cached permalink
at once (hearth.server.core.page_cache: the job's unit of work bumps the post)."""

from __future__ import annotations

from datetime import UTC, datetime

import httpx
import pytest

from hearth.server.core import job_queue
from hearth.server.core.models import Job, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import backfeed
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramMedia
from tests.server.cache_helpers import warm
from tests.syndication.instagram.instagram_setup import copied_media, fake_media, run_jobs


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def poll(settings: Settings, http: httpx.AsyncClient, media: InstagramMedia) -> None:
    """Queue a comment poll of `media` due now and run it."""
    await Job.filter(kind=backfeed.POLL_COMMENTS).delete()
    key = f"test:{datetime.now(UTC).timestamp()}"
    await job_queue.enqueue(backfeed.POLL_COMMENTS, {"media_id": media.media_id}, key=key)
    await run_jobs(settings, http)


async def test_a_new_like_count_is_on_the_cached_permalink(
    settings: Settings, http: httpx.AsyncClient, anonymous: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    media = await copied_media(fake, like_count=7)
    await poll(settings, http, media)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    await warm(anonymous, "/" + post.path)
    assert "7 likes on Instagram" in (await anonymous.get("/" + post.path)).text
    fake_media(fake, media.media_id).like_count = 9
    await poll(settings, http, media)
    assert "9 likes on Instagram" in (await anonymous.get("/" + post.path)).text
