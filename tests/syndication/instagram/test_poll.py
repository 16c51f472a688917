"""Connecting Instagram and the `instagram.poll` job, against the fake Instagram over real HTTP."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import mf2py
import pytest

from hearth.server.core import job_queue
from hearth.server.core.job_worker import JobContext
from hearth.server.core.media.refusals import RemoteUnavailable
from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import account, connection, poll
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def only_post(media_id: str) -> Post:
    row = await InstagramMedia.get(media_id=media_id)
    assert "copied" == row.copy_state
    post = await Post.get(instagram_media__media_id=media_id)
    return post


async def mf2_of(client: httpx.AsyncClient, post: Post) -> dict[str, Any]:
    response = await client.get(f"/{post.path}")
    assert 200 == response.status_code
    doc: dict[str, Any] = mf2py.parse(doc=response.text, url=str(response.url))
    return doc["items"][0]["properties"]


async def assert_served(client: httpx.AsyncClient, url: str, content_type: str) -> None:
    assert url.startswith("https://example.test/media/")
    response = await client.get(url)
    assert 200 == response.status_code
    assert response.headers["content-type"].startswith(content_type)


def permalink(fake: FakeInstagram, media_id: str) -> str:
    item = next(m for m in fake.media if m.id == media_id)
    return f"{fake.base}p/{item.shortcode}/"


async def test_connect_stores_account_from_me(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """connect asks /me, stores the one account (replacing another) and queues a poll."""
    await InstagramAccount.create(user_id="old", username="someone_else", access_token="x")
    row = await connection.connect(settings, http, fake.token)
    assert (fake.user_id, fake.username, "ok") == (row.user_id, row.username, row.token_state)
    assert [fake.user_id] == [a.user_id for a in await InstagramAccount.all()]
    assert await Job.filter(kind=poll.POLL).exists()
    assert await Job.filter(kind=account.REFRESH).exists()


async def test_image_becomes_post(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount,
) -> None:  # fmt: skip
    """A new IMAGE becomes a photo post: local copy served as JPEG, u-syndication, timestamp."""
    when = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
    media_id = fake.add_media("IMAGE", caption="Hello #sun @ann", alt_text="Sun", when=when)
    assert 1 == (await poll.poll_once(settings, http)).copied
    post = await only_post(media_id)
    assert when == post.published
    assert "photo" == post.post_type
    photo = post.properties["photo"][0]
    assert "Sun" == photo["alt"]
    await assert_served(client, photo["value"], "image/jpeg")
    properties = await mf2_of(client, post)
    assert [permalink(fake, media_id)] == properties["syndication"]
    assert "sun" in properties["category"]


async def test_carousel_becomes_post(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount,
) -> None:  # fmt: skip
    """A CAROUSEL_ALBUM becomes one post with its photos and video copied home, in order."""
    media_id = fake.add_media(
        "CAROUSEL_ALBUM", caption="Walk", children=("IMAGE", "VIDEO", "IMAGE")
    )
    await poll.poll_once(settings, http)
    post = await only_post(media_id)
    assert 2 == len(post.properties["photo"])
    for url in post.properties["photo"]:
        await assert_served(client, url, "image/jpeg")
    video = post.properties["video"][0]
    await assert_served(client, video["value"], "video/mp4")
    await assert_served(client, video["poster"], "image/jpeg")
    assert not any(fake.base in str(v) for v in post.properties["photo"] + [video])
    properties = await mf2_of(client, post)
    assert [permalink(fake, media_id)] == properties["syndication"]


async def test_video_becomes_post(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount,
) -> None:  # fmt: skip
    """A VIDEO (reel) becomes a video post with the thumbnail as poster, both copied home."""
    media_id = fake.add_media("VIDEO", caption="Waves #sea")
    await poll.poll_once(settings, http)
    post = await only_post(media_id)
    video = post.properties["video"][0]
    await assert_served(client, video["value"], "video/mp4")
    await assert_served(client, video["poster"], "image/jpeg")
    properties = await mf2_of(client, post)
    assert [permalink(fake, media_id)] == properties["syndication"]


async def test_paging_across_pages(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """Media spread over two pages of /me/media are all copied."""
    ids = [fake.add_media("IMAGE", caption=f"n{i}") for i in range(30)]
    assert 30 == (await poll.poll_once(settings, http)).copied
    assert set(ids) == {r.media_id for r in await InstagramMedia.filter(copy_state="copied")}
    assert 30 == await Post.all().count()


async def test_polling_twice_makes_no_duplicates(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """A second poll copies nothing again."""
    fake.add_media("IMAGE", caption="once")
    await poll.poll_once(settings, http)
    assert 0 == (await poll.poll_once(settings, http)).copied
    assert 1 == await Post.all().count()


async def test_concurrent_polls_make_no_duplicates(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """Two polls at once (poll, webhook and retry racing) still make one post per media."""
    for i in range(3):
        fake.add_media("IMAGE", caption=f"race {i}")
    results = await asyncio.gather(*(poll.poll_once(settings, http) for _ in range(2)))
    assert 3 == sum(r.copied for r in results)
    assert 3 == await Post.all().count()


async def test_old_media_stop_paging(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """Once copied media older than the overlap window show up, paging stops."""
    old = datetime.now(UTC) - timedelta(days=30)
    for i in range(30):
        fake.add_media("IMAGE", caption=f"old {i}", when=old + timedelta(minutes=i))
    await poll.poll_once(settings, http)
    fake.add_media("IMAGE", caption="new")
    fake.requests.clear()
    assert 1 == (await poll.poll_once(settings, http)).copied
    assert 1 == sum(path == "/me/media" for _, path in fake.requests)


async def test_caption_edit_updates_post(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount,
) -> None:  # fmt: skip
    """A caption edited on Instagram updates the recent post's content and categories."""
    media_id = fake.add_media("IMAGE", caption="First #one")
    await poll.poll_once(settings, http)
    fake.media[0].caption = "Second #two"
    assert 1 == (await poll.poll_once(settings, http)).updated
    post = await only_post(media_id)
    assert "Second #two" == post.properties["content"][0]["value"]
    assert ["two"] == post.properties["category"]
    assert "Second" in str((await mf2_of(client, post))["content"])


async def test_errors_then_recovery_complete_once(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """500s and a 429 make the poll retry (and pause); afterwards everything is copied once."""
    ids = [fake.add_media("IMAGE", caption=f"x{i}") for i in range(3)]
    fake.fail_next(2, status=500)
    with pytest.raises(job_queue.Retry):
        await poll.poll_once(settings, http)
    with pytest.raises(job_queue.Retry):
        await poll.poll_once(settings, http)
    fake.fail_next(1, status=429, retry_after=120)
    with pytest.raises(job_queue.Retry) as raised:
        await poll.poll_once(settings, http)
    assert 120 == raised.value.retry_after
    row = await InstagramAccount.get(user_id=fake.user_id)
    assert row.paused_until is not None and row.paused_until > datetime.now(UTC)
    with pytest.raises(job_queue.Retry):  # still paused: no call made
        await poll.poll_once(settings, http)
    await InstagramAccount.filter(id=row.id).update(paused_until=None)  # the window passed
    assert 3 == (await poll.poll_once(settings, http)).copied
    assert 0 == (await poll.poll_once(settings, http)).copied
    assert set(ids) == {r.media_id for r in await InstagramMedia.filter(copy_state="copied")}
    assert 3 == await Post.all().count()


async def test_high_usage_pauses(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """Usage headers at 95% pause the account for Meta's estimate before more calls."""
    fake.set_usage(95, regain_minutes=5)
    with pytest.raises(job_queue.Retry) as raised:
        await poll.poll_once(settings, http)
    assert 300 == raised.value.retry_after
    assert (await InstagramAccount.get(user_id=fake.user_id)).paused_until is not None


async def test_download_failure_retried_next_poll(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A failed download marks the media failed, makes no post, and the next poll copies it."""
    media_id = fake.add_media("IMAGE", caption="flaky")
    real = poll.copy_remote_photo

    async def broken(*args: Any) -> Any:
        raise RemoteUnavailable("ConnectError: CDN down", retryable=True)

    monkeypatch.setattr(poll, "copy_remote_photo", broken)
    assert 1 == (await poll.poll_once(settings, http)).failed
    row = await InstagramMedia.get(media_id=media_id)
    assert ("failed", True) == (row.copy_state, "CDN down" in (row.last_error or ""))
    assert 0 == await Post.all().count()
    monkeypatch.setattr(poll, "copy_remote_photo", real)
    assert 1 == (await poll.poll_once(settings, http)).copied
    await only_post(media_id)


async def test_token_invalid_marks_account_and_stops(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """Code 190 marks the account expired with what to do; polls then fail permanently."""
    fake.expire_token()
    with pytest.raises(job_queue.PermanentFailure):
        await poll.poll_once(settings, http)
    row = await InstagramAccount.get(user_id=fake.user_id)
    assert "expired" == row.token_state
    assert "hearth instagram connect" in (row.last_error or "")
    assert fake.token not in (row.last_error or "")
    fake.requests.clear()
    with pytest.raises(job_queue.PermanentFailure):
        await poll.poll_once(settings, http)
    assert [] == fake.requests


async def test_poll_job_schedules_next_poll_once(
    settings: Settings, http: httpx.AsyncClient, connected: InstagramAccount
) -> None:
    """The job queues the next poll at the next slot; two runs in one slot queue it once."""
    job = await Job.filter(kind=poll.POLL).first()
    assert job is not None
    context = JobContext(settings=settings, http=http, job=job)
    await poll.handle_poll(context, {"reason": "test"})
    await poll.handle_poll(context, {"reason": "test"})
    scheduled = await Job.filter(kind=poll.POLL, idempotency_key__contains=":slot:")
    assert 1 == len(scheduled)
    assert JobState.QUEUED == scheduled[0].state
    assert scheduled[0].run_at > datetime.now(UTC)


async def test_refresh_job_refreshes_a_token_near_expiry(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """With fewer than 10 days left the token is refreshed and the next refresh scheduled."""
    soon = datetime.now(UTC) + timedelta(days=3)
    await InstagramAccount.filter(id=connected.id).update(token_expires_at=soon)
    job = await Job.filter(kind=account.REFRESH).first()
    assert job is not None
    context = JobContext(settings=settings, http=http, job=job)
    await account.refresh_token(context, {"user_id": fake.user_id})
    row = await InstagramAccount.get(id=connected.id)
    assert fake.token == row.token(settings)
    assert row.token_expires_at is not None and row.token_expires_at > soon + timedelta(days=50)
    assert 2 == await Job.filter(kind=account.REFRESH).count()


def test_cli_connect_and_poll(tmp_path: Path, fake: FakeInstagram) -> None:
    """`hearth instagram connect` prints the account (never the token); `poll` copies now."""
    env = {
        **os.environ, "HEARTH_DATA_DIR": str(tmp_path / "site"), "HEARTH_URL": "https://me.example/",
        "HEARTH_INSTAGRAM_API_URL": fake.base.rstrip("/"),
        "HEARTH_ALLOW_PRIVATE_NETWORKS": "127.0.0.1/32",
    }  # fmt: skip

    def hearth(*args: str) -> subprocess.CompletedProcess[str]:
        command = [sys.executable, "-m", "hearth.cli", "instagram", *args]
        return subprocess.run(command, env=env, capture_output=True, text=True, timeout=60)

    fake.add_media("IMAGE", caption="from the CLI")
    connected = hearth("connect", "--access-token", fake.token)
    assert 0 == connected.returncode, connected.stderr
    assert f"@{fake.username} (id {fake.user_id})" in connected.stdout
    assert fake.token not in connected.stdout + connected.stderr
    polled = hearth("poll")
    assert 0 == polled.returncode, polled.stderr
    assert "Copied 1 posts" in polled.stdout


async def test_new_media_gets_its_first_comment_history_does_not(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """A media posted after connecting gets the short-link comment once; an old one none."""
    from hearth.server.core.job_worker import Worker
    from hearth.wiring import job_handlers

    old = fake.add_media(caption="from 2019", when=datetime(2019, 5, 1, tzinfo=UTC))
    new = fake.add_media(caption="just now")
    await poll.poll_once(settings, http)
    worker = Worker(settings, job_handlers(), http=http)
    for _ in range(20):  # the first-comment jobs, and whatever else is due now
        if not await worker.run_once():
            break
    ours = [c for c in fake.comments.values() if c.media_id == new]
    assert 1 == len(ours)
    short_code = (await only_post(new)).short_code
    assert ours[0].text.endswith(f"s/{short_code})")
    assert [] == [c for c in fake.comments.values() if c.media_id == old]


async def test_worker_start_restarts_polling(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """A worker starting queues a poll for a connected account; not for an expired token."""
    from hearth.wiring import on_worker_start

    await Job.filter(kind="instagram.poll").delete()
    await on_worker_start(settings)
    assert 1 == await Job.filter(kind="instagram.poll", state=JobState.QUEUED).count()
    await Job.filter(kind="instagram.poll").delete()
    connected.token_state = "expired"
    await connected.save()
    await on_worker_start(settings)
    assert 0 == await Job.filter(kind="instagram.poll").count()
