"""InstagramClient against the fake Instagram over real HTTP (uvicorn on 127.0.0.1)."""

from __future__ import annotations

import logging
import traceback
from collections.abc import AsyncIterator
from dataclasses import replace
from datetime import datetime

import httpx
import pytest
from starlette.datastructures import Secret

from hearth.server.core.http import create_http_client
from hearth.server.core.job_queue import PermanentFailure, Retry
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.syndication.instagram.api_errors import (
    DEFAULT_PAUSE_SECONDS,
    InstagramError,
    RateLimited,
    TemporaryError,
    TokenInvalid,
    job_error,
)
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.fake import FakeInstagram
from hearth.syndication.instagram.silo_settings import InstagramSettings, with_instagram


@pytest.fixture(name="ig_settings")
def ig_settings_fixture(settings: Settings, fake: FakeInstagram) -> Settings:
    instagram = InstagramSettings(
        api_url=fake.base.rstrip("/"), app_id=fake.app_id, app_secret=Secret(fake.app_secret)
    )
    return replace(settings, sections=(instagram,), allowed_private_networks=ALL_NETWORKS)


@pytest.fixture(name="http")
async def http_fixture(ig_settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with create_http_client(ig_settings) as http:
        yield http


@pytest.fixture(name="ig")
def ig_fixture(
    http: httpx.AsyncClient, ig_settings: Settings, fake: FakeInstagram
) -> InstagramClient:
    return InstagramClient(http, ig_settings, Secret(fake.token))


async def test_me(ig: InstagramClient, fake: FakeInstagram) -> None:
    """`me()` returns the account's id and username."""
    account = await ig.me()
    assert (fake.user_id, fake.username) == (account.id, account.username)


async def test_version_prefix(
    http: httpx.AsyncClient, ig_settings: Settings, fake: FakeInstagram
) -> None:
    """With HEARTH_INSTAGRAM_API_VERSION set, calls go to /vNN.N/...; the fake accepts both."""
    versioned = InstagramClient(http, with_instagram(ig_settings, api_version="v25.0"), fake.token)
    await versioned.me()
    assert ("GET", "/me") == fake.requests[-1]


async def test_list_media__pages(ig: InstagramClient, fake: FakeInstagram) -> None:
    """Paging with `after` walks all media newest first and stops when `next` is absent."""
    ids = [fake.add_media(caption=f"photo {n}") for n in range(5)]
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        page = await ig.list_media(after, limit=2)
        seen += [media.id for media in page.items]
        pages += 1
        if not page.has_next:
            break
        after = page.after
    assert (list(reversed(ids)), 3) == (seen, pages)


async def test_list_media__fields(ig: InstagramClient, fake: FakeInstagram) -> None:
    """A listed image carries caption, permalink, timestamp, likes, alt text and a media URL."""
    fake.add_media("IMAGE", caption="Hello #tag", alt_text="A cat", like_count=3)
    (media,) = (await ig.list_media()).items
    assert ("IMAGE", "Hello #tag", "A cat", 3) == (
        media.media_type,
        media.caption,
        media.alt_text,
        media.like_count,
    )
    assert media.permalink and media.media_url and isinstance(media.timestamp, datetime)


async def test_list_media__carousel_children(ig: InstagramClient, fake: FakeInstagram) -> None:
    """A carousel lists its children in order with their types through field expansion."""
    fake.add_media("CAROUSEL_ALBUM", children=("IMAGE", "VIDEO", "IMAGE"))
    (album,) = (await ig.list_media()).items
    assert ["IMAGE", "VIDEO", "IMAGE"] == [child.media_type for child in album.children]


async def test_children(ig: InstagramClient, fake: FakeInstagram) -> None:
    """`children(id)` reads the carousel edge itself; a video child has a thumbnail."""
    album = fake.add_media("CAROUSEL_ALBUM", children=("IMAGE", "VIDEO"))
    children = await ig.children(album)
    assert [None, True] == [child.thumbnail_url and True for child in children]


async def test_media__video_thumbnail_is_served(
    ig: InstagramClient, http: httpx.AsyncClient, fake: FakeInstagram
) -> None:
    """A reel has a thumbnail, and its media URL serves MP4 bytes from the fake CDN."""
    media = await ig.media(fake.add_media("VIDEO"))
    assert media.media_url and media.thumbnail_url
    video = await http.get(media.media_url)
    thumbnail = await http.get(media.thumbnail_url)
    assert ("REELS", b"ftyp", b"\xff\xd8") == (
        media.media_product_type,
        video.content[4:8],
        thumbnail.content[:2],
    )


async def test_comments_with_replies(ig: InstagramClient, fake: FakeInstagram) -> None:
    """Comments come newest first, each with its replies, authors and parent ids."""
    media = fake.add_media()
    first = fake.add_comment(media, "Nice!", username="ann")
    fake.add_comment(media, "Wow", username="bob")
    reply = fake.add_comment(media, "Thanks", username=fake.username, parent_id=first)
    comments = await ig.comments(media)
    assert [("Wow", "bob", ()), ("Nice!", "ann", ((reply, first, fake.username),))] == [
        (c.text, c.username, tuple((r.id, r.parent_id, r.username) for r in c.replies))
        for c in comments
    ]


async def test_comments__all_pages(ig: InstagramClient, fake: FakeInstagram) -> None:
    """More than one page (50) of comments is read completely."""
    media = fake.add_media()
    for n in range(60):
        fake.add_comment(media, f"comment {n}")
    assert 60 == len(await ig.comments(media))


async def test_replies(ig: InstagramClient, fake: FakeInstagram) -> None:
    """`replies(comment_id)` lists a comment's replies oldest first."""
    media = fake.add_media()
    parent = fake.add_comment(media, "Question?")
    fake.add_comment(media, "one", parent_id=parent)
    fake.add_comment(media, "two", parent_id=parent)
    assert ["one", "two"] == [reply.text for reply in await ig.replies(parent)]


async def test_create_comment(ig: InstagramClient, fake: FakeInstagram) -> None:
    """A created comment gets an id and is authored by the owner."""
    media = fake.add_media()
    comment_id = await ig.create_comment(media, "Also on my site (example.test s/p5_p1)")
    stored = fake.comments[comment_id]
    assert (fake.username, fake.user_id, "Also on my site (example.test s/p5_p1)") == (
        stored.username,
        stored.from_id,
        stored.text,
    )


async def test_delete_comment(ig: InstagramClient, fake: FakeInstagram) -> None:
    """A deleted comment is gone from the media."""
    media = fake.add_media()
    comment_id = await ig.create_comment(media, "to delete")
    await ig.delete_comment(comment_id)
    assert [] == await ig.comments(media)


async def test_bad_id_refused_locally(ig: InstagramClient, fake: FakeInstagram) -> None:
    """An id that could change the request path is refused before any request."""
    with pytest.raises(InstagramError):
        await ig.media("../me")
    assert [] == fake.requests


async def test_error__expired_token(ig: InstagramClient, fake: FakeInstagram) -> None:
    """Code 190 (subcode 463) becomes TokenInvalid saying the token expired."""
    fake.expire_token()
    with pytest.raises(TokenInvalid) as caught:
        await ig.me()
    assert (190, 463, "the token expired") == (
        caught.value.code,
        caught.value.subcode,
        caught.value.reason,
    )


@pytest.mark.parametrize("code", [4, 17, 32, 613])
async def test_error__rate_limit_codes(ig: InstagramClient, fake: FakeInstagram, code: int) -> None:
    """Throttling codes become RateLimited with a pause."""
    fake.fail_next(status=400, error_code=code)
    with pytest.raises(RateLimited) as caught:
        await ig.me()
    assert (code, DEFAULT_PAUSE_SECONDS) == (caught.value.code, caught.value.retry_after)


async def test_error__429_honours_retry_after(ig: InstagramClient, fake: FakeInstagram) -> None:
    """An HTTP 429 with Retry-After pauses for exactly that long."""
    fake.fail_next(status=429, retry_after=120)
    with pytest.raises(RateLimited) as caught:
        await ig.me()
    assert 120.0 == caught.value.retry_after


async def test_error__usage_at_limit_uses_estimate(
    ig: InstagramClient, fake: FakeInstagram
) -> None:
    """A refusal with usage at 100% pauses for Meta's estimated_time_to_regain_access."""
    fake.set_usage(100, regain_minutes=7)
    fake.fail_next(status=403, error_code=80002)
    with pytest.raises(RateLimited) as caught:
        await ig.me()
    assert 7 * 60.0 == caught.value.retry_after


async def test_error__server_error_is_temporary(ig: InstagramClient, fake: FakeInstagram) -> None:
    """A 500 becomes TemporaryError, and the next call succeeds."""
    fake.fail_next(status=500)
    with pytest.raises(TemporaryError):
        await ig.me()
    assert fake.username == (await ig.me()).username


async def test_error__connection_refused_is_temporary(
    http: httpx.AsyncClient, ig_settings: Settings
) -> None:
    """A server that is not there becomes TemporaryError."""
    gone = with_instagram(ig_settings, api_url="http://127.0.0.1:9")
    with pytest.raises(TemporaryError):
        await InstagramClient(http, gone, "token").me()


async def test_error__other_is_instagram_error(ig: InstagramClient) -> None:
    """An unknown media id is a plain InstagramError (code 100), not a retryable one."""
    with pytest.raises(InstagramError) as caught:
        await ig.media("123")
    assert (InstagramError, 100) == (type(caught.value), caught.value.code)


@pytest.mark.parametrize(
    ("error", "expected"),
    [
        (RateLimited("r", retry_after=60), Retry),
        (TemporaryError("t"), Retry),
        (TokenInvalid("x"), PermanentFailure),
        (InstagramError("e"), PermanentFailure),
    ],
)
def test_job_error(error: InstagramError, expected: type[Exception]) -> None:
    """Waiting errors become job retries; the rest fail the job permanently."""
    assert expected is type(job_error(error))


async def test_usage_header_reported(ig: InstagramClient, fake: FakeInstagram) -> None:
    """A successful call with usage at 95% reports it, with a pause to take before the next."""
    fake.set_usage(95)
    await ig.me()
    assert ig.usage is not None
    assert (95.0, DEFAULT_PAUSE_SECONDS) == (ig.usage.percent, ig.usage.pause_seconds())


async def test_usage_low_means_no_pause(ig: InstagramClient, fake: FakeInstagram) -> None:
    """Usage well below the limit asks for no pause."""
    fake.set_usage(30)
    await ig.me()
    assert ig.usage is not None and 0.0 == ig.usage.pause_seconds()


async def test_token_never_in_errors_or_logs(
    ig: InstagramClient, fake: FakeInstagram, caplog: pytest.LogCaptureFixture
) -> None:
    """Neither error messages, tracebacks nor logs (httpx's included) contain the token."""
    caplog.set_level(logging.DEBUG)
    token = fake.token
    await ig.me()
    failures: list[BaseException] = []
    for status, code in ((400, 190), (500, None), (429, None)):
        fake.fail_next(status=status, error_code=code)
        try:
            await ig.me()
        except InstagramError as exc:
            failures.append(exc)
    assert 3 == len(failures)
    text = caplog.text + "".join("".join(traceback.format_exception(e)) for e in failures)
    assert token not in text


async def test_refresh_token(ig: InstagramClient, fake: FakeInstagram) -> None:
    """Refreshing returns a new 60-day token that works."""
    token = await ig.refresh_token()
    assert (fake.token, 5183944) == (str(token.access_token), token.expires_in)


async def test_refresh_token__expired(ig: InstagramClient, fake: FakeInstagram) -> None:
    """An expired token cannot be refreshed: TokenInvalid."""
    fake.expire_token()
    with pytest.raises(TokenInvalid):
        await ig.refresh_token()


@pytest.mark.parametrize("flat", [False, True])
async def test_exchange_code(
    http: httpx.AsyncClient, ig_settings: Settings, fake: FakeInstagram, flat: bool
) -> None:
    """A code becomes a short-lived token (either documented shape), then a 60-day one."""
    fake.flat_oauth_response = flat
    redirect = "https://example.test/admin/instagram/callback"
    ig = InstagramClient(http, ig_settings)
    short = await ig.exchange_code(fake.new_code(redirect) + "#_", redirect)
    long = await ig.long_lived_token(short.access_token)
    account = await InstagramClient(http, ig_settings, long.access_token).me()
    assert (fake.user_id, fake.user_id) == (short.user_id, account.id)


async def test_exchange_code__used_twice(
    http: httpx.AsyncClient, ig_settings: Settings, fake: FakeInstagram
) -> None:
    """A code works once; the second exchange is an InstagramError with Meta's message."""
    redirect = "https://example.test/cb"
    code = fake.new_code(redirect)
    ig = InstagramClient(http, ig_settings)
    await ig.exchange_code(code, redirect)
    with pytest.raises(InstagramError, match="already used"):
        await ig.exchange_code(code, redirect)
