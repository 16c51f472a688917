"""The media store: files under data_dir/media with unguessable names, served at /media/.

Each file's Content-Type is recorded when it is stored and sent back exactly, never guessed
from the name again, so an upload is served as what it was checked to be. `store_media`
writes bytes as given: files from outside come in through `hearth.server.core.media.ingest`,
which checks and cleans them first. Storing is two steps, `write_file` (blocking: the bytes
hashed and written, so a worker thread can do it) and `record` (the Media row, without which
nothing is served), so a bulk import can write its files in threads and record them in its
own transaction; a file written but never recorded is removed with `unlink`.
"""

from __future__ import annotations

import hashlib
import mimetypes
import os
import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass

from starlette.requests import Request
from starlette.responses import FileResponse, Response
from starlette.routing import Route

from hearth.server.core.models import Media
from hearth.server.core.settings import Settings
from hearth.server.core.web import error_page, settings_of

# 192 random bits: a media URL cannot be guessed, only shared.
_TOKEN_BYTES = 24
_NAME = re.compile(r"^[A-Za-z0-9_-]{16,64}(\.[a-z0-9]{1,8})?$")
_EXTENSIONS = {"image/jpeg": ".jpg", "audio/mpeg": ".mp3", "video/quicktime": ".mov"}


def extension_for(content_type: str) -> str:
    return _EXTENSIONS.get(content_type) or mimetypes.guess_extension(content_type) or ""


@dataclass(frozen=True)
class StoredFile:
    """A file written into the media dir but not yet recorded: not served until `record`."""

    name: str
    content_type: str
    size: int
    sha256: str
    original_name: str | None

    def row(self) -> Media:
        """Its (unsaved) Media row, e.g. for `Media.bulk_create`."""
        return Media(
            name=self.name,
            content_type=self.content_type,
            size=self.size,
            sha256=self.sha256,
            original_name=self.original_name,
        )


def write_file(
    settings: Settings, data: bytes, content_type: str, original_name: str | None = None
) -> StoredFile:
    """Write `data` to the media dir under a new name; blocking (hashing and writing), so
    callers off the event loop can do it in the thread that made the bytes."""
    name = secrets.token_urlsafe(_TOKEN_BYTES) + extension_for(content_type)
    path = settings.media_dir / name
    # Write to a temporary name and rename, so a crash never leaves a half file served.
    partial = path.with_suffix(path.suffix + ".part")
    try:
        partial.write_bytes(data)
    except FileNotFoundError:  # the dir is made when first missing, not checked per file
        settings.media_dir.mkdir(parents=True, exist_ok=True)
        partial.write_bytes(data)
    os.replace(partial, path)
    digest = hashlib.sha256(data).hexdigest()
    return StoredFile(name, content_type, len(data), digest, original_name)


async def record(settings: Settings, stored: StoredFile) -> Media:
    """Record a written file, so it is served; the file is removed again if that fails."""
    try:
        media = stored.row()
        await media.save(force_create=True)
    except BaseException:
        unlink(settings, [stored])
        raise
    return media


def unlink(settings: Settings, stored: Iterable[StoredFile]) -> None:
    """Remove written files that were never recorded (their caller's work failed)."""
    for file in stored:
        (settings.media_dir / file.name).unlink(missing_ok=True)


async def store_media(
    settings: Settings, data: bytes, content_type: str, original_name: str | None = None
) -> Media:
    """Write `data` to the media dir and record it; returns the new row."""
    return await record(settings, write_file(settings, data, content_type, original_name))


def media_url(settings: Settings, media: Media | StoredFile) -> str:
    return settings.absolute(f"media/{media.name}")


async def stored_files(settings: Settings, urls: Iterable[str]) -> dict[str, Media]:
    """The media store's rows for those of `urls` that are this site's media URLs."""
    prefix = settings.absolute("media/")
    names = {
        url[len(prefix) :]: url
        for url in urls
        if url.startswith(prefix) and _NAME.match(url[len(prefix) :])
    }
    if not names:
        return {}
    return {names[row.name]: row for row in await Media.filter(name__in=list(names))}


async def serve_media(request: Request) -> Response:
    name = request.path_params["name"]
    media = await Media.get_or_none(name=name) if _NAME.match(name) else None
    settings = settings_of(request)
    path = settings.media_dir / name if media else None
    if media is None or path is None or not path.is_file():
        return await error_page(request, 404, "Not found", "There is no file at this address.")
    return FileResponse(
        path,
        media_type=media.content_type,
        headers={
            # Names never change content, so caches may keep them for good.
            "Cache-Control": "public, max-age=31536000, immutable",
            "X-Content-Type-Options": "nosniff",
        },
    )


routes = [Route("/media/{name}", serve_media, name="media")]
