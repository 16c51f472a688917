"""A copy that cannot be made: what is retried, what is not, and what it leaves behind.

syndication/instagram/poll.py with the fake Instagram over real HTTP: a copyright-flagged
media (no `media_url`) is UNAVAILABLE and a deleted one GONE, neither retried; a failed or
interrupted copy leaves no file in the media store; a copy's post and its announcement are
one commit. The dashboard shows why a media has no copy.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hearth.server.core import events
from hearth.server.core.media.refusals import RemoteUnavailable
from hearth.server.core.models import Job, Media, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import poll
from hearth.syndication.instagram.fake import FakeInstagram, fake_api
from hearth.syndication.instagram.fake.fake_records import FakeMedia
from hearth.syndication.instagram.tables import CopyState, InstagramAccount, InstagramMedia
from tests.syndication.instagram.instagram_setup import fake_media

OLD = datetime.now(UTC) - timedelta(days=30)


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


def copyright_flagged(monkeypatch: pytest.MonkeyPatch, media_id: str) -> None:
    """Instagram leaves `media_url` out for this media, as for copyright-flagged ones.

    As https://developers.facebook.com/docs/instagram-platform/reference/instagram-media says.
    """
    real: Callable[[FakeInstagram, FakeMedia], dict[str, Any]] = fake_api.media_fields

    def without_file(fake: FakeInstagram, item: FakeMedia) -> dict[str, Any]:
        fields = real(fake, item)
        return {k: v for k, v in fields.items() if k != "media_url" or item.id != media_id}

    monkeypatch.setattr(fake_api, "media_fields", without_file)


def scrolled_out(fake: FakeInstagram) -> None:
    """25 older media posted after the one under test: it is on /me/media's second page,
    which a poll no longer reads once the first page holds only copied old media."""
    for i in range(25):
        fake.add_media("IMAGE", caption=f"later {i}", when=OLD + timedelta(minutes=i + 1))


def node_reads(fake: FakeInstagram, media_id: str) -> int:
    return fake.requests.count(("GET", f"/{media_id}"))


def broken_downloads(monkeypatch: pytest.MonkeyPatch, *, after: int = 0) -> None:
    """The CDN fails every download after the first `after` ones."""
    real = poll.copy_remote_photo
    calls = 0

    async def flaky(*args: Any) -> Any:
        nonlocal calls
        calls += 1
        if calls > after:
            raise RemoteUnavailable("ConnectError: CDN down", retryable=True)
        return await real(*args)

    monkeypatch.setattr(poll, "copy_remote_photo", flaky)


async def test_media_without_a_file_is_unavailable_and_not_retried(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """No media_url: UNAVAILABLE with the reason, and later polls do not ask for it again."""
    flagged = fake.add_media("IMAGE", caption="Song in the background", when=OLD)
    copyright_flagged(monkeypatch, flagged)
    scrolled_out(fake)
    assert 1 == (await poll.poll_once(settings, http)).failed
    row = await InstagramMedia.get(media_id=flagged)
    assert CopyState.UNAVAILABLE == row.copy_state
    assert f"no media_url for {flagged}" in (row.last_error or "")
    fake.requests.clear()
    assert 0 == (await poll.poll_once(settings, http)).failed
    assert 0 == node_reads(fake, flagged)
    assert CopyState.UNAVAILABLE == (await InstagramMedia.get(media_id=flagged)).copy_state


async def test_failed_media_deleted_on_instagram_is_gone_and_not_retried(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A failed copy whose media Instagram says does not exist (100/33) becomes GONE."""
    media_id = fake.add_media("IMAGE", caption="Deleted in the app")
    broken_downloads(monkeypatch)
    await poll.poll_once(settings, http)
    fake.media.remove(fake_media(fake, media_id))
    await poll.poll_once(settings, http)
    row = await InstagramMedia.get(media_id=media_id)
    assert CopyState.GONE == row.copy_state
    assert "does not exist" in (row.last_error or "")
    fake.requests.clear()
    await poll.poll_once(settings, http)
    assert 0 == node_reads(fake, media_id)


async def test_failed_copy_out_of_the_listing_is_retried(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """A download failure stays FAILED: a later poll reads the media by id and copies it."""
    media_id = fake.add_media("IMAGE", caption="Flaky CDN", when=OLD)
    scrolled_out(fake)
    real = poll.copy_remote_photo
    broken_downloads(monkeypatch, after=25)
    await poll.poll_once(settings, http)
    assert CopyState.FAILED == (await InstagramMedia.get(media_id=media_id)).copy_state
    monkeypatch.setattr(poll, "copy_remote_photo", real)
    fake.requests.clear()
    assert 1 == (await poll.poll_once(settings, http)).copied
    assert 1 == node_reads(fake, media_id)


async def test_failed_carousel_leaves_no_files(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The second file of a carousel fails: the first is removed from the media store."""
    fake.add_media("CAROUSEL_ALBUM", caption="Half", children=("IMAGE", "IMAGE"))
    broken_downloads(monkeypatch, after=1)
    assert 1 == (await poll.poll_once(settings, http)).failed
    assert 0 == await Media.all().count()
    assert [] == list(settings.media_dir.glob("*"))


async def test_copy_that_lost_its_claim_leaves_no_files(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Another poller finished the copy meanwhile: ours removes the files it downloaded."""
    fake.add_media("CAROUSEL_ALBUM", caption="Raced", children=("IMAGE", "IMAGE"))
    original = poll._renew

    async def overtaken(media_id: str) -> bool:
        await InstagramMedia.filter(media_id=media_id).update(copy_state=CopyState.COPIED)
        return await original(media_id)

    monkeypatch.setattr(poll, "_renew", overtaken)
    await poll.poll_once(settings, http)
    assert 0 == await Media.all().count()


async def test_copy_and_its_announcement_are_one_commit(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """The worker dies while announcing a copy: no post is left unannounced; once the claim's
    lease passes, the next poll copies it with its WebSub ping."""
    settings = dataclasses.replace(settings, websub_hub="https://hub.example/")
    media_id = fake.add_media("IMAGE", caption="Announced")
    listening = events.listeners()

    async def killed(change: events.PostChange) -> None:
        raise RuntimeError("worker killed")

    events.set_listeners((*listening, killed))
    with pytest.raises(RuntimeError):
        await poll.poll_once(settings, http)
    assert (0, 0) == (await Post.all().count(), await Media.all().count())
    events.set_listeners(listening)
    await Job.filter(kind="websub.publish").delete()
    lease_over = datetime.now(UTC) - poll.copy_lease(settings) - timedelta(seconds=1)
    await InstagramMedia.filter(media_id=media_id).update(updated_at=lease_over)
    assert 1 == (await poll.poll_once(settings, http)).copied
    assert await Job.filter(kind="websub.publish").exists()


async def test_dashboard_says_why_a_media_has_no_copy(
    client: httpx.AsyncClient, signed_in: str
) -> None:
    """UNAVAILABLE and GONE media show their reason, like FAILED ones."""
    reasons = {
        CopyState.UNAVAILABLE: "Instagram gives no media_url for 1791",
        CopyState.GONE: "deleted on Instagram: Object with ID '1792' does not exist",
    }
    for n, (state, reason) in enumerate(reasons.items()):
        await InstagramMedia.create(media_id=f"179{n + 1}", copy_state=state, last_error=reason)
    page = await client.get("/admin/silos")
    assert 200 == page.status_code
    for state, reason in reasons.items():
        assert state.value in page.text
        assert reason.replace("'", "&#39;") in page.text
