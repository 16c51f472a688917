"""Files from outside into the media store: checked, cleaned and stored, or refused.

Spec: https://www.w3.org/TR/micropub/#media-endpoint (§3.6), which leaves the checks to the
server, and https://www.w3.org/TR/micropub/#uploading-files (a server may copy a file given
by URL). This is the one way an uploaded, imported or downloaded file gets into the store:

* `ingest_bytes` checks and stores bytes (`prepare` does the same in the caller's thread
  without recording the Media row, for an import that records its files in its own
  transaction). The type always comes from the bytes: images are
  checked and cleaned by `hearth.server.core.media.images` (EXIF and GPS stripped unless
  `Settings.media_keep_exif`; HEIC is stored as JPEG, `hearth.server.core.media.heic`), audio
  and video are recognised by their container's magic bytes and stored as sent, except that
  MP4, MOV, 3GP and M4A files lose their recording location
  (`hearth.server.core.media.video_location`, same setting) without a byte of them moving;
  one whose box tree cannot be walked is refused. Anything else, SVG included (it can carry
  script), is refused.
* `ingest_upload` does the same for a multipart file part (the Micropub media endpoint, and
  the `photo`/`video`/`audio` parts of a Micropub create), reading no further than the limit.
* `copy_remote_photo` does the same for a URL, fetched through the guarded client (the
  "copy photos given by URL" job, a silo's poll).
* `discard` removes stored files again, for a caller whose work failed after storing them.

`Settings.media_max_bytes` bounds every file. Each refusal is a
`hearth.server.core.media.refusals.MediaRefused` naming its kind, and nothing is stored when
one is raised; callers say what it means for them (the media endpoint maps it to a Micropub
error, an import job fails with its reason).
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Sequence
from functools import partial
from pathlib import PurePosixPath

import httpx
from starlette.datastructures import UploadFile

from hearth.server.core.http import BlockedAddressError, ResponseTooLarge, fetch
from hearth.server.core.media import heic
from hearth.server.core.media.files import StoredFile, record, unlink, write_file
from hearth.server.core.media.images import clean_image, identify
from hearth.server.core.media.refusals import (
    MediaTooLarge,
    RemoteUnavailable,
    UnreadableMedia,
)
from hearth.server.core.media.video_location import CONTENT_TYPES, BrokenBoxes, strip_location
from hearth.server.core.models import Media
from hearth.server.core.settings import Settings

__all__ = [
    "copy_remote_photo",
    "discard",
    "ingest_bytes",
    "ingest_upload",
    "prepare",
    "written_in_thread",
]

_CHUNK = 64 * 1024


async def ingest_bytes(settings: Settings, data: bytes, original_name: str | None) -> Media:
    """Check `data`, clean it if it is an image or an MP4/MOV, and store it; returns the row.

    Images lose their EXIF and GPS, MP4, MOV, 3GP and M4A files their recording location,
    unless `settings.media_keep_exif`. Raises MediaTooLarge over `settings.media_max_bytes`,
    UnsupportedMedia for a type Hearth does not store and UnreadableMedia for an empty or
    broken file. Nothing is stored when it raises.
    """
    _check_size(settings, data)
    # One trip to a worker thread for all the blocking work: checks, cleaning, hash, write.
    stored = await written_in_thread(settings, partial(prepare, settings, data, original_name))
    return await record(settings, stored)


async def written_in_thread(settings: Settings, write: Callable[[], StoredFile]) -> StoredFile:
    """`write` (a `prepare`, say) run in a worker thread. Cancelled meanwhile, the thread
    still runs to its end: the file it wrote is then removed, so none is left unrecorded."""
    work = asyncio.ensure_future(asyncio.to_thread(write))
    try:
        return await asyncio.shield(work)
    except asyncio.CancelledError:
        work.add_done_callback(lambda done: _unlink_written(settings, done))
        raise


def _unlink_written(settings: Settings, done: asyncio.Future[StoredFile]) -> None:
    if not done.cancelled() and done.exception() is None:
        unlink(settings, [done.result()])


def _check_size(settings: Settings, data: bytes) -> None:
    if len(data) > settings.media_max_bytes:
        raise MediaTooLarge(f"the file is larger than {settings.media_max_bytes} bytes")
    if not data:
        raise UnreadableMedia("the file is empty")


def prepare(settings: Settings, data: bytes, original_name: str | None) -> StoredFile:
    """`ingest_bytes` without the Media row: checked, cleaned and written, not yet served.

    Blocking and CPU-heavy: for a worker thread. The caller records the file
    (`hearth.server.core.media.files.record`, or the row in its own transaction) or removes
    it (`files.unlink`). Raises as `ingest_bytes` does, and then writes nothing.
    """
    _check_size(settings, data)
    content_type, fmt = identify(data)
    keep = settings.media_keep_exif
    if fmt == "HEIF":  # few browsers show HEIC: store the picture as a JPEG
        data = heic.to_jpeg(data, keep_metadata=keep)
        content_type, fmt = identify(data)
    if fmt is not None:
        data = clean_image(data, fmt, keep_metadata=keep)
    elif content_type in CONTENT_TYPES and not keep:
        data = _without_location(data)
    name = PurePosixPath((original_name or "").replace("\\", "/")).name[:255] or None
    return write_file(settings, data, content_type, name)


def _without_location(data: bytes) -> bytes:
    """An ISO BMFF file (MP4, MOV, 3GP, M4A) with its recording location neutralised."""
    try:
        return strip_location(data)
    except BrokenBoxes as exc:
        # Refused, not stored as sent: a tree that cannot be walked may still hold a position.
        raise UnreadableMedia(
            f"the file's boxes are broken, so its location cannot be removed: {exc}"
        ) from exc


async def ingest_upload(settings: Settings, upload: UploadFile) -> Media:
    """Store an uploaded multipart file part after checking it (see `ingest_bytes`).

    The part's own Content-Type and file name are never trusted; the name is kept only as
    `Media.original_name`. Reading stops as soon as the size limit is passed.
    """
    limit = settings.media_max_bytes
    if upload.size is not None and upload.size > limit:
        raise MediaTooLarge(f"the file is larger than {limit} bytes")
    await upload.seek(0)
    chunks: list[bytes] = []
    size = 0
    while chunk := await upload.read(_CHUNK):
        size += len(chunk)
        if size > limit:
            raise MediaTooLarge(f"the file is larger than {limit} bytes")
        chunks.append(chunk)
    return await ingest_bytes(settings, b"".join(chunks), upload.filename)


async def copy_remote_photo(settings: Settings, http: httpx.AsyncClient, url: str) -> Media:
    """Download `url` into the media store, checked and cleaned exactly like an upload.

    Raises MediaTooLarge, UnsupportedMedia or UnreadableMedia for a file that will never be
    acceptable, and RemoteUnavailable when it could not be fetched: with the `status` of an
    answer other than 2xx (`retryable` if 5xx or 429), or without one when no answer came
    (`retryable`) or the address is one the guarded client (`hearth.server.core.http`) never
    connects to (not `retryable`). Any supported type is stored: a caller that wants a
    picture checks `media.content_type`.
    """
    try:
        response = await fetch(http, "GET", url, max_bytes=settings.media_max_bytes)
    except ResponseTooLarge as exc:
        raise MediaTooLarge(f"{url} is larger than {settings.media_max_bytes} bytes") from exc
    except BlockedAddressError as exc:
        raise RemoteUnavailable(f"{url}: {exc}", retryable=False) from exc
    except httpx.HTTPError as exc:
        raise RemoteUnavailable(f"{url}: {type(exc).__name__}: {exc}", retryable=True) from exc
    if not response.is_success:
        status = response.status_code
        retryable = status >= 500 or status == 429
        raise RemoteUnavailable(f"{url}: {status}", status=status, retryable=retryable)
    return await ingest_bytes(settings, response.content, PurePosixPath(response.url.path).name)


async def discard(settings: Settings, stored: Sequence[Media]) -> None:
    """Remove stored files again (their rows and their files)."""
    for media in stored:
        (settings.media_dir / media.name).unlink(missing_ok=True)
        await Media.filter(id=media.id).delete()
