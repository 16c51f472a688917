"""The media service (hearth.server.core.media.ingest): files checked, cleaned and stored, or
refused with the kind of refusal and nothing stored; photos given by URL copied the same way.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (§3.6, checks left to the server),
https://www.w3.org/TR/micropub/#uploading-files (a server MAY download a file given by URL)
and https://www.w3.org/TR/micropub/#security-considerations (§6.1).
"""

from __future__ import annotations

import io
from collections.abc import Callable
from dataclasses import replace

import httpx
import pytest
from starlette.datastructures import UploadFile

from hearth.server.core.http import BlockedAddressError, HearthClient, create_http_client
from hearth.server.core.media.files import media_url
from hearth.server.core.media.ingest import (
    copy_remote_photo,
    discard,
    ingest_bytes,
    ingest_upload,
)
from hearth.server.core.media.refusals import (
    MediaRefused,
    MediaTooLarge,
    RefusalKind,
    RemoteUnavailable,
    UnreadableMedia,
    UnsupportedMedia,
)
from hearth.server.core.models import Media
from hearth.server.core.settings import Settings
from tests.server.core.media.media_data.factory import GPS, exif, heic, jpeg, opened
from tests.server.core.media.media_data.movies import ISO6709, MOOV_TYPE_AT, movie, neutralised

PHOTO_URL = "https://photos.example/2026/sunset.jpg"
DNS = {"photos.example": ["93.184.216.34"], "intranet.example": ["10.0.0.7"]}


def http_client(
    settings: Settings, respond: Callable[[httpx.Request], httpx.Response]
) -> HearthClient:
    """The real guarded client, over a mock network and a fake DNS."""

    async def resolve(host: str) -> list[str]:
        if host not in DNS:
            raise OSError(f"unknown host {host}")
        return DNS[host]

    return create_http_client(settings, transport=httpx.MockTransport(respond), resolver=resolve)


def serving(
    body: bytes, status: int = 200, content_type: str = "image/jpeg"
) -> Callable[[httpx.Request], httpx.Response]:
    return lambda request: httpx.Response(
        status, content=body, headers={"Content-Type": content_type}
    )


async def nothing_stored(settings: Settings) -> bool:
    """No row and no file in the media store."""
    files = list(settings.media_dir.iterdir()) if settings.media_dir.exists() else []
    return 0 == await Media.all().count() and [] == files


def test_each_kind_has_its_class() -> None:
    """Every kind of refusal is raised as its own MediaRefused subclass."""
    classes = (MediaTooLarge, UnsupportedMedia, UnreadableMedia, RemoteUnavailable)
    assert set(RefusalKind) == {cls.kind for cls in classes}
    assert all(issubclass(cls, MediaRefused) for cls in classes)
    assert "the reason" == str(UnreadableMedia("the reason"))


@pytest.mark.usefixtures("db")
async def test_photo_is_cleaned_and_stored(settings: Settings) -> None:
    """A JPEG with GPS is stored without it, under the last part of the name it came with."""
    media = await ingest_bytes(settings, jpeg(exif=exif(gps=True)), "C:\\Photos\\sunset.jpg")
    assert ("image/jpeg", "sunset.jpg") == (media.content_type, media.original_name)
    stored = (settings.media_dir / media.name).read_bytes()
    assert {} == dict(opened(stored).getexif().get_ifd(GPS))
    assert media.size == len(stored)


@pytest.mark.usefixtures("db")
async def test_heic_is_stored_as_jpeg(settings: Settings) -> None:
    """A HEIC photo becomes an upright JPEG without its GPS."""
    media = await ingest_bytes(settings, heic((40, 20), orientation=6), "IMG_0001.HEIC")
    assert "image/jpeg" == media.content_type
    picture = opened((settings.media_dir / media.name).read_bytes())
    assert ((20, 40), {}) == (picture.size, dict(picture.getexif().get_ifd(GPS)))


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("keep", [False, True], ids=["stripped", "kept"])
async def test_video_location_follows_the_keep_exif_setting(settings: Settings, keep: bool) -> None:
    """A MOV loses its recording location, unless media_keep_exif keeps it as sent."""
    media = await ingest_bytes(replace(settings, media_keep_exif=keep), movie(), "walk.mov")
    assert "video/quicktime" == media.content_type
    stored = (settings.media_dir / media.name).read_bytes()
    assert (movie() if keep else movie(neutralised)) == stored
    assert keep == (ISO6709 in stored)


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize(
    ("data", "refusal", "reason"),
    [
        (b"", UnreadableMedia, "the file is empty"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", UnsupportedMedia, "SVG is not accepted"),
        (b"%PDF-1.7\n", UnsupportedMedia, "unsupported media type: the file is not JPEG"),
        (jpeg()[:200], UnreadableMedia, "the file is not a valid JPEG image"),
        (heic()[:300], UnreadableMedia, "the file is not a valid HEIC/HEIF image"),
        (movie()[: MOOV_TYPE_AT + 200], UnreadableMedia, "location cannot be removed"),
        (jpeg() + bytes(1000), MediaTooLarge, "the file is larger than 1000 bytes"),
    ],
    ids=["empty", "svg", "pdf", "truncated-jpeg", "truncated-heic", "broken-mov", "too-large"],
)
async def test_refusals_name_their_kind_and_store_nothing(
    settings: Settings, data: bytes, refusal: type[MediaRefused], reason: str
) -> None:
    """Each refusal is raised with its kind and the reason a client is told; nothing stays."""
    limited = replace(settings, media_max_bytes=1000)
    with pytest.raises(refusal) as refused:
        await ingest_bytes(limited, data, "file.bin")
    assert reason in refused.value.reason
    assert await nothing_stored(settings)


@pytest.mark.usefixtures("db")
@pytest.mark.parametrize("declared", [True, False], ids=["size-declared", "size-unknown"])
async def test_upload_over_the_limit_is_too_large(settings: Settings, declared: bool) -> None:
    """An upload over media_max_bytes is refused, whether or not its size was declared."""
    data = jpeg() + bytes(200_000)
    upload = UploadFile(io.BytesIO(data), size=len(data) if declared else None, filename="a.jpg")
    limited = replace(settings, media_max_bytes=100_000)
    with pytest.raises(MediaTooLarge, match="the file is larger than 100000 bytes"):
        await ingest_upload(limited, upload)
    assert await nothing_stored(settings)


@pytest.mark.usefixtures("db")
async def test_upload_is_stored_by_its_bytes(settings: Settings) -> None:
    """The part's file name is kept as the original name; its type comes from the bytes."""
    upload = UploadFile(io.BytesIO(jpeg()), filename="holiday.png")
    media = await ingest_upload(settings, upload)
    assert ("image/jpeg", "holiday.png") == (media.content_type, media.original_name)


@pytest.mark.usefixtures("db")
async def test_discard_removes_rows_and_files(settings: Settings) -> None:
    """What discard is given leaves the store completely; other files stay."""
    first, second, kept = [await ingest_bytes(settings, jpeg(), f"{n}.jpg") for n in range(3)]
    await discard(settings, [first, second])
    assert [kept.id] == [media.id for media in await Media.all()]
    assert [kept.name] == [path.name for path in settings.media_dir.iterdir()]


async def test_remote_photo_is_copied_and_cleaned(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """The fetched JPEG is stored without its GPS, named after the URL, and served."""
    async with http_client(settings, serving(jpeg(exif=exif(gps=True)))) as http:
        media = await copy_remote_photo(settings, http, PHOTO_URL)
    assert "image/jpeg" == media.content_type
    assert "sunset.jpg" == media.original_name
    served = await client.get(media_url(settings, media))
    assert {} == dict(opened(served.content).getexif().get_ifd(GPS))


async def test_remote_non_image_is_unsupported(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """An HTML page at the URL (whatever its Content-Type says) raises UnsupportedMedia."""
    async with http_client(settings, serving(b"<html>nope</html>")) as http:
        with pytest.raises(UnsupportedMedia, match="unsupported media type"):
            await copy_remote_photo(settings, http, PHOTO_URL)
    assert 0 == await Media.all().count()


async def test_remote_file_over_the_limit_is_too_large(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """A body over media_max_bytes raises MediaTooLarge naming the URL and stores nothing."""
    small = replace(settings, media_max_bytes=100)
    async with http_client(small, serving(jpeg() + b"\0" * 1000)) as http:
        with pytest.raises(MediaTooLarge) as refused:
            await copy_remote_photo(small, http, PHOTO_URL)
    assert f"{PHOTO_URL} is larger than 100 bytes" == refused.value.reason
    assert 0 == await Media.all().count()


@pytest.mark.parametrize(
    ("status", "retryable"),
    [(404, False), (410, False), (301, False), (429, True), (500, True), (503, True)],
)
async def test_remote_error_status_is_unavailable(
    settings: Settings, client: httpx.AsyncClient, status: int, retryable: bool
) -> None:
    """An answer other than 2xx raises RemoteUnavailable with its status, so the job can tell
    it from a bad file, and whether asking again may help (5xx, 429)."""
    async with http_client(settings, serving(b"gone", status=status)) as http:
        with pytest.raises(RemoteUnavailable) as refused:
            await copy_remote_photo(settings, http, PHOTO_URL)
    assert (status, retryable) == (refused.value.status, refused.value.retryable)
    assert f"{PHOTO_URL}: {status}" == refused.value.reason
    assert 0 == await Media.all().count()


async def test_remote_without_an_answer_is_retryable(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """A connection that fails is RemoteUnavailable, retryable, naming what went wrong."""

    def respond(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async with http_client(settings, respond) as http:
        with pytest.raises(RemoteUnavailable) as refused:
            await copy_remote_photo(settings, http, PHOTO_URL)
    assert (None, True) == (refused.value.status, refused.value.retryable)
    assert f"{PHOTO_URL}: ConnectError: connection refused" == refused.value.reason
    assert isinstance(refused.value.__cause__, httpx.ConnectError)


async def test_private_addresses_are_not_fetched(
    settings: Settings, client: httpx.AsyncClient
) -> None:
    """A URL on a private network is refused by the guarded client, never fetched, and is
    never worth retrying."""
    requests: list[httpx.Request] = []

    def respond(request: httpx.Request) -> httpx.Response:
        requests.append(request)
        return httpx.Response(200, content=jpeg())

    async with http_client(settings, respond) as http:
        with pytest.raises(RemoteUnavailable) as refused:
            await copy_remote_photo(settings, http, "http://intranet.example/cam.jpg")
    assert isinstance(refused.value.__cause__, BlockedAddressError)
    assert (None, False) == (refused.value.status, refused.value.retryable)
    assert [] == requests
