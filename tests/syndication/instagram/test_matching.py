"""The zip import and the API poller bring the same post home once, whichever comes first.

The data export has no media ids or permalinks: `matching` pairs an
exported post with its API media by time, a few seconds apart at most, closest first, each
post with one media. The zip goes through the real import jobs, Instagram is the fake over
real HTTP, and the result is read back from the site's pages as microformats.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncGenerator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import mf2py
import pytest
from starlette.applications import Starlette

from hearth.server.core.models import Media, Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import connection, history, poll
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.tables import (
    CopyState,
    InstagramAccount,
    InstagramImport,
    InstagramMedia,
)
from tests.syndication.instagram.export_setup import PHOTO_TIME, export_zip, run_worker
from tests.syndication.instagram.instagram_setup import fake_media

PHOTO_AT = datetime.fromtimestamp(PHOTO_TIME, UTC)
CAPTION = "Sunrise at the lake #sunrise with @ann.b"


@pytest.fixture(name="settings")
def settings_fixture(instagram_settings: Settings) -> Settings:
    return instagram_settings


async def import_zip(settings: Settings, tmp_path: Path) -> None:
    await history.queue_import(settings, [export_zip(tmp_path / "export.zip")])
    await run_worker(settings)


def permalink(fake: FakeInstagram, media_id: str) -> str:
    return f"{fake.base}p/{fake_media(fake, media_id).shortcode}/"


async def syndication_links(client: httpx.AsyncClient, post: Post) -> list[str]:
    page = await client.get(f"/{post.path}")
    assert 200 == page.status_code
    properties = mf2py.parse(doc=page.text, url=str(page.url))["items"][0]["properties"]
    return list(properties.get("syndication", []))


async def test_zip_then_poll_links_the_imported_post(
    settings: Settings, http: httpx.AsyncClient, client: httpx.AsyncClient,
    fake: FakeInstagram, tmp_path: Path,
) -> None:  # fmt: skip
    """Imported first, then polled: no second post; the imported one gains its permalink."""
    await import_zip(settings, tmp_path)
    media_id = fake.add_media("IMAGE", caption=CAPTION, when=PHOTO_AT)
    await connection.connect(settings, http, fake.token)
    result = await poll.poll_once(settings, http)
    assert 2 == await Post.all().count()
    assert (0, 1) == (result.copied, result.linked)
    imported = await Post.get(published=PHOTO_AT)
    row = await InstagramMedia.get(media_id=media_id)
    assert (CopyState.COPIED, imported.id) == (row.copy_state, row.post_id)  # type: ignore[attr-defined]
    assert [permalink(fake, media_id)] == await syndication_links(client, imported)
    assert 0 == (await poll.poll_once(settings, http)).copied


async def test_export_time_seconds_after_the_api_time_still_matches(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, tmp_path: Path
) -> None:
    """The export's post time is often a second or two after Instagram's: still one post."""
    await import_zip(settings, tmp_path)
    fake.add_media("IMAGE", caption=CAPTION, when=PHOTO_AT - timedelta(seconds=2))
    await connection.connect(settings, http, fake.token)
    await poll.poll_once(settings, http)
    assert 2 == await Post.all().count()


async def imported_post(when: datetime, key: str) -> Post:
    post = await create_post({"content": [key]}, published=when, client_id=history.CLIENT_ID)
    await InstagramImport.create(key=key, post=post, source="imported", published=when)
    return post


async def test_closest_imported_post_wins(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """Two imported posts near the media's time: the nearer one becomes its copy."""
    await imported_post(PHOTO_AT, "a" * 64)
    nearer = await imported_post(PHOTO_AT + timedelta(seconds=2), "b" * 64)
    media_id = fake.add_media("IMAGE", when=PHOTO_AT + timedelta(seconds=3))
    await connection.connect(settings, http, fake.token)
    await poll.poll_once(settings, http)
    assert nearer.id == (await InstagramMedia.get(media_id=media_id)).post_id  # type: ignore[attr-defined]


async def test_imported_post_of_another_media_is_not_taken(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A media at the time of an imported post already linked to another gets its own copy."""
    imported = await imported_post(PHOTO_AT, "a" * 64)
    first = fake.add_media("IMAGE", caption="first", when=PHOTO_AT)
    await connection.connect(settings, http, fake.token)
    await poll.poll_once(settings, http)
    second = fake.add_media("IMAGE", caption="second", when=PHOTO_AT + timedelta(seconds=1))
    assert 1 == (await poll.poll_once(settings, http)).copied
    assert imported.id == (await InstagramMedia.get(media_id=first)).post_id  # type: ignore[attr-defined]
    copy = await Post.get(instagram_media__media_id=second)
    assert (poll.CLIENT_ID, "second") == (copy.client_id, copy.properties["content"][0]["value"])


async def test_api_copy_seconds_away_is_not_imported_again(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, tmp_path: Path
) -> None:
    """Polled first (its time two seconds off the export's), then imported: one post."""
    fake.add_media("IMAGE", caption=CAPTION, when=PHOTO_AT - timedelta(seconds=2))
    await connection.connect(settings, http, fake.token)
    await poll.poll_once(settings, http)
    await import_zip(settings, tmp_path)
    assert 1 == await Post.filter(client_id=poll.CLIENT_ID).count()
    assert 1 == await Post.filter(client_id=history.CLIENT_ID).count()  # only the carousel
    assert 1 == await InstagramImport.filter(source="api").count()


@pytest.mark.parametrize("state", [CopyState.FAILED, CopyState.UNAVAILABLE, CopyState.PENDING])
async def test_media_the_api_could_not_copy_comes_home_from_the_zip(
    settings: Settings, app: Starlette, tmp_path: Path, state: CopyState
) -> None:
    """A media known to the poller but not copied (e.g. copyright-flagged) is imported."""
    await InstagramMedia.create(media_id="1790", timestamp=PHOTO_AT, copy_state=state)
    await import_zip(settings, tmp_path)
    post = await Post.get(published=PHOTO_AT)
    assert history.CLIENT_ID == post.client_id
    assert not await InstagramImport.filter(source="api").exists()


async def connected_account(fake: FakeInstagram) -> None:
    """The account, without the poll job a connection queues (these tests poll by hand)."""
    await InstagramAccount.create(
        user_id=fake.user_id, username=fake.username, access_token=fake.token
    )


async def test_import_done_while_the_poller_downloads_is_linked_not_copied(
    settings: Settings, http: httpx.AsyncClient, fake: FakeInstagram, tmp_path: Path
) -> None:
    """The zip import finishes while the poller downloads the same post's photo: the poller
    links the imported post and discards its download; still one post, no stray file."""
    media_id = fake.add_media("IMAGE", caption=CAPTION, when=PHOTO_AT)
    await connected_account(fake)
    fake.hold_downloads()
    polling = asyncio.create_task(poll.poll_once(settings, http))
    assert await asyncio.to_thread(fake.download_held.wait, 10)
    await import_zip(settings, tmp_path)
    files_after_import = await Media.all().count()
    fake.release_downloads()
    result = await polling
    assert (0, 1) == (result.copied, result.linked)
    assert 2 == await Post.all().count()
    imported = await Post.get(published=PHOTO_AT)
    assert imported.id == (await InstagramMedia.get(media_id=media_id)).post_id  # type: ignore[attr-defined]
    assert files_after_import == await Media.all().count()


async def test_api_copy_done_while_the_zip_is_read_is_not_imported_again(
    settings: Settings,
    http: httpx.AsyncClient,
    fake: FakeInstagram,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """The poller copies the post while the import reads its files: the import keeps the
    API's copy (marked so), discards what it read, and makes no second post."""
    fake.add_media("IMAGE", caption=CAPTION, when=PHOTO_AT)
    await connected_account(fake)
    reading = history._read_files

    async def read_while_polled(*args: Any) -> AsyncGenerator[Media, None]:
        await poll.poll_once(settings, http)  # the poller, meanwhile
        async for stored in reading(*args):
            yield stored

    monkeypatch.setattr(history, "_read_files", read_while_polled)
    await import_zip(settings, tmp_path)
    assert 2 == await Post.all().count()
    assert 1 == await InstagramImport.filter(source="api").count()
    referenced = {url for post in await Post.all() for url in post.properties.get("photo", [])}
    assert len(referenced) + 1 == await Media.all().count()  # + the carousel's video
