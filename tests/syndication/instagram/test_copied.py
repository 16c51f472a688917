"""What a poll does for a media already home (syndication/instagram/copied.py).

Caption edits reach the copy, but never a post deleted on the site; a copy made on a retry
starts from the caption it was made with; the first comment follows the connected account.
The fake Instagram answers over real HTTP.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest

from hearth.server.core.media.refusals import RemoteUnavailable
from hearth.server.core.models import Job, Post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import comments, poll
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import InstagramAccount, InstagramMedia
from tests.syndication.instagram.instagram_setup import fake_media


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def test_caption_edit_leaves_a_deleted_post_alone(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, connected: InstagramAccount
) -> None:
    """A post deleted on the site keeps its content; the media row learns the new caption."""
    media_id = fake.add_media("IMAGE", caption="Before #old", like_count=3)
    await poll.poll_once(settings, http)
    post = await Post.get(instagram_media__media_id=media_id)
    await Post.filter(id=post.id).update(deleted_at=datetime.now(UTC))
    fake_media(fake, media_id).caption = "After #new"
    fake_media(fake, media_id).like_count = 5
    await poll.poll_once(settings, http)
    await post.refresh_from_db()
    assert "Before #old" == post.properties["content"][0]["value"]
    row = await InstagramMedia.get(media_id=media_id)
    assert ("After #new", 5) == (row.caption, row.like_count)


async def test_copy_made_on_a_retry_keeps_its_caption(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram,
    connected: InstagramAccount, monkeypatch: pytest.MonkeyPatch,
) -> None:  # fmt: skip
    """Caption edited between a failed copy and its retry: the copy has the new caption and
    the next poll finds nothing to update."""
    media_id = fake.add_media("IMAGE", caption="Draft caption")
    real = poll.copy_remote_photo

    async def broken(*args: Any) -> Any:
        raise RemoteUnavailable("ConnectError: CDN down", retryable=True)

    monkeypatch.setattr(poll, "copy_remote_photo", broken)
    await poll.poll_once(settings, http)
    fake_media(fake, media_id).caption = "Final caption"
    monkeypatch.setattr(poll, "copy_remote_photo", real)
    assert 1 == (await poll.poll_once(settings, http)).copied
    assert 0 == (await poll.poll_once(settings, http)).updated
    assert "Final caption" == (await InstagramMedia.get(media_id=media_id)).caption


async def test_first_comment_follows_the_current_account(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """With a stale account row left beside the current one, "new since connecting" is
    measured from the current account's connection."""
    stale = await InstagramAccount.create(user_id="1", username="old_handle", access_token="x")
    await InstagramAccount.filter(id=stale.id).update(
        created_at=datetime.now(UTC) + timedelta(days=365)
    )
    await InstagramAccount.create(
        user_id=fake.user_id, username=fake.username, access_token=fake.token
    )
    fake.add_media("IMAGE", caption="Posted after connecting")
    await poll.poll_once(settings, http)
    assert 1 == await Job.filter(kind=comments.KIND).count()
