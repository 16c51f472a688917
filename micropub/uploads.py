"""Files sent with a multipart create: stored in the media store, their URLs put in the post.

Spec: https://www.w3.org/TR/micropub/#uploading-files (§3.3.1: `photo`, `video` and `audio`
file parts; the server stores them and uses their URLs as the property values)

Each file goes through the core's media service
(`hearth.server.core.media.ingest.ingest_upload`), exactly as on the media endpoint, and a
refusal becomes the same Micropub error (`hearth.micropub.media_endpoint.refusal_error`:
413 for a file over the size limit, 400 otherwise). Files are stored only after the request
has been parsed, authorized and checked against receipts, and before the post's transaction
(image checks can take a while and must not hold the database). If a later file is refused
or the create fails, the files already stored are removed again (`discard`), so a rejected
request leaves nothing behind.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from starlette.datastructures import UploadFile

from hearth.micropub.errors import InvalidRequest
from hearth.micropub.media_endpoint import refusal_error
from hearth.server.core.media.ingest import discard, ingest_upload
from hearth.server.core.media.refusals import MediaRefused
from hearth.server.core.models import Media
from hearth.server.core.settings import Settings

__all__ = ["file_digest", "store_uploads"]

# The media type each upload property takes.
_KINDS = {"photo": "image/", "video": "video/", "audio": "audio/"}


async def file_digest(upload: UploadFile) -> str:
    """SHA-256 of an uploaded file, read without consuming it."""
    data = await upload.read()
    await upload.seek(0)
    return hashlib.sha256(data).hexdigest()


async def _store_upload(settings: Settings, upload: UploadFile) -> Media:
    """Check one uploaded file and store it, exactly as the media endpoint does.

    `ingest_upload` reads the type from the bytes, checks images with Pillow and strips
    their metadata; it stores nothing when it refuses a file, which is 400 or 413 here.
    """
    try:
        return await ingest_upload(settings, upload)
    except MediaRefused as exc:
        raise refusal_error(exc) from exc


async def store_uploads(settings: Settings, files: Sequence[tuple[str, UploadFile]]) -> list[Media]:
    """Store every `(property, file)`, in order; all or none.

    A file must be of its property's kind: an image for `photo`, a video for `video`, audio
    for `audio` (whatever its part said it was).
    """
    stored: list[Media] = []
    try:
        for prop, upload in files:
            media = await _store_upload(settings, upload)
            stored.append(media)
            if not media.content_type.startswith(_KINDS[prop]):
                name = upload.filename or "a file"
                raise InvalidRequest(f"{name} is {media.content_type}, not a {prop}")
    except BaseException:
        await discard(settings, stored)
        raise
    return stored
