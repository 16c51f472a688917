"""The first comment with the permashortcitation, against the fake Instagram over real HTTP.

shared/reference/instagram.md §4.1 (the comment trick), §5.1 (the citation format), §1.6.
The helpers and fixtures here are shared with test_instagram_backfeed.py.
"""

from __future__ import annotations

import asyncio
import dataclasses
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, datetime

import httpx
import pytest
from starlette.applications import Starlette
from starlette.datastructures import Secret

from server import jobs
from server.http import create_http_client
from server.models import InstagramAccount, InstagramMedia, Job, JobState, Post
from server.posts import create_post
from server.settings import ALL_NETWORKS, Settings
from server.tasks import job_handlers
from server.worker import JobContext, Worker
from syndication.instagram import comments
from tests.syndication.fake_instagram import FakeInstagram, FakeMedia, serve_instagram


@pytest.fixture(name="fake")
def fake_fixture() -> Iterator[FakeInstagram]:
    with serve_instagram() as fake:
        yield fake


@pytest.fixture(name="settings")
def instagram_settings_fixture(settings: Settings, fake: FakeInstagram) -> Settings:
    return dataclasses.replace(
        settings,
        instagram_api_url=fake.base.rstrip("/"),
        instagram_app_id=fake.app_id,
        instagram_app_secret=Secret(fake.app_secret),
        allowed_private_networks=ALL_NETWORKS,
        moderation="all",
    )


@pytest.fixture(name="http")
async def http_fixture(settings: Settings, app: Starlette) -> AsyncIterator[httpx.AsyncClient]:
    """The guarded client; depends on `app` so the database is up."""
    async with create_http_client(settings) as http:
        yield http


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
        await Job.filter(state=JobState.QUEUED, attempts__gt=0).update(run_at=jobs.utcnow())
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
    assert all(r is None or isinstance(r, jobs.Retry) for r in results)
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
    off = dataclasses.replace(settings)
    object.__setattr__(off, "instagram_first_comment", False)
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
    """Hearth under a path cites host and path, lower-cased (instagram.md §5.1)."""
    settings = Settings(url="https://Example.org/blog/")
    assert "(example.org/blog s/t5my1)" == comments.citation(settings, "t5my1")
    assert "t5my1" == comments.cited_code(settings, "Hi (example.org/blog s/t5my1)")
