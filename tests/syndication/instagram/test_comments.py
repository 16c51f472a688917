"""The first comment with the permashortcitation, against the fake Instagram over real HTTP.

The comment trick: https://github.com/aaronpk/p3k/issues/29 ("PESOS photos from Instagram");
the citation's format: https://indieweb.org/permashortcitation; posting a comment (the
`comments` edge): https://developers.facebook.com/docs/instagram-platform/reference/instagram-media
"""

from __future__ import annotations

import asyncio

import httpx
import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import JobContext
from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import comments
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.silo_settings import with_instagram
from hearth.syndication.instagram.tables import InstagramMedia
from tests.syndication.instagram.instagram_setup import copied_media, ours, run_jobs


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def test_first_comment_posted_once_with_citation_at_end(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """The comment is posted as the owner, ends with `(host s/CODE)`, and its id is stored."""
    media = await copied_media(fake)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    await comments.schedule_first_comment(settings, media)
    await run_jobs(settings, http)
    assert [f"Also on my website (example.test s/{post.short_code})"] == ours(fake, media.media_id)
    await media.refresh_from_db()
    assert media.comment_id in fake.comments
    assert post.short_code == media.comment_short_code


async def test_running_twice_or_concurrently_posts_once(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Two workers at once and a rerun afterwards still leave exactly one comment."""
    media = await copied_media(fake)
    job = await comments.schedule_first_comment(settings, media)
    assert job is not None
    ctx = JobContext(settings, http, job)
    payload = {"media_id": media.media_id}
    results = await asyncio.gather(
        comments.first_comment(ctx, payload),
        comments.first_comment(ctx, payload),
        return_exceptions=True,
    )
    assert all(r is None or isinstance(r, job_queue.Retry) for r in results)
    await comments.first_comment(ctx, payload)
    await InstagramMedia.filter(media_id=media.media_id).update(comment_id=None)
    await comments.first_comment(ctx, payload)  # the stored id lost: found on Instagram
    assert 1 == len(ours(fake, media.media_id))
    assert 1 == await Job.filter(kind=comments.KIND).count()


async def test_earlier_comment_of_ours_is_adopted(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A comment posted before a crash (id never stored) is adopted, not duplicated."""
    media = await copied_media(fake)
    post = await Post.get(id=media.post_id)  # type: ignore[attr-defined]
    earlier = fake.add_comment(
        media.media_id,
        f"Also on my website (example.test s/{post.short_code})",
        username=fake.username,
    )
    await comments.schedule_first_comment(settings, media)
    await run_jobs(settings, http)
    await media.refresh_from_db()
    assert earlier == media.comment_id
    assert 1 == len(ours(fake, media.media_id))


async def test_changed_short_code_replaces_the_comment(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A new short link deletes the old comment and posts one citing the new code."""
    media = await copied_media(fake)
    await comments.schedule_first_comment(settings, media)
    await run_jobs(settings, http)
    await media.refresh_from_db()
    old_id = media.comment_id
    await Post.filter(id=media.post_id).update(short_code="p5zz9")  # type: ignore[attr-defined]
    await comments.schedule_first_comment(settings, media)
    await run_jobs(settings, http)
    await media.refresh_from_db()
    assert old_id not in fake.comments
    assert ["Also on my website (example.test s/p5zz9)"] == ours(fake, media.media_id)
    assert "p5zz9" == media.comment_short_code


async def test_setting_off_posts_nothing(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """With the first comment turned off nothing is queued and a queued job does nothing."""
    media = await copied_media(fake)
    job = await comments.schedule_first_comment(settings, media)
    assert job is not None
    off = with_instagram(settings, first_comment=False)
    assert await comments.schedule_first_comment(off, media) is None
    await run_jobs(off, http)
    assert [] == ours(fake, media.media_id)


async def test_server_error_then_success_posts_exactly_once(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A 500 makes the job retry; after recovery there is exactly one comment."""
    media = await copied_media(fake)
    fake.fail_next(1, status=500)
    job = await comments.schedule_first_comment(settings, media)
    assert job is not None
    await run_jobs(settings, http)
    await job.refresh_from_db()
    assert JobState.DONE == job.state
    assert 2 == job.attempts
    assert 1 == len(ours(fake, media.media_id))


def test_citation_includes_a_path() -> None:
    """Hearth under a path cites host and path, lower-cased (a permashortcitation)."""
    settings = Settings(url="https://Example.org/blog/")
    assert "(example.org/blog s/t5my1)" == comments.citation(settings, "t5my1")
    assert "t5my1" == comments.cited_code(settings, "Hi (example.org/blog s/t5my1)")
