"""Author photos of received webmentions, copied to this site: pages never hotlink them.

Spec: https://www.w3.org/TR/webmention/#security-considerations (a source and what it points
to are a stranger's: fetched with limits, never trusted); the photo comes from the author's
h-card (https://indieweb.org/authorship-spec) and is shown beside the response as
https://indieweb.org/comments describes.

Each photo URL is fetched once, through the guarded client (public addresses only) within
`PHOTO_TIMEOUT` seconds and `PHOTO_MAX_BYTES`, and kept only if Pillow reads it as an intact
image of one of `PHOTO_TYPES`, no larger than `PHOTO_MAX_SIDE` pixels a side.
"""

from __future__ import annotations

import asyncio
import hashlib
import io

import httpx
from PIL import Image

from hearth.server.core.http import fetch
from hearth.server.core.job_worker import JobContext
from hearth.server.core.media.files import media_url, store_media
from hearth.server.core.models import Media

PHOTO_TIMEOUT = 10.0
PHOTO_MAX_BYTES = 1024 * 1024
PHOTO_MAX_SIDE = 2048
PHOTO_TYPES = {"JPEG": "image/jpeg", "PNG": "image/png", "GIF": "image/gif", "WEBP": "image/webp"}


def image_type(data: bytes) -> str | None:
    """The content type of `data` if it is an intact JPEG, PNG, GIF or WebP of sane size."""
    try:
        with Image.open(io.BytesIO(data), formats=list(PHOTO_TYPES)) as image:
            kind = PHOTO_TYPES.get(image.format or "")
            if max(image.size) > PHOTO_MAX_SIDE:
                return None
            image.verify()
    except Exception:  # Pillow reports broken images with many exception types
        return None
    return kind


async def cached_photo(ctx: JobContext, url: str | None) -> str | None:
    """A local copy of the author photo at `url`, or None: pages never hotlink it.

    Each URL is fetched once (the copy is reused by later responses); a failure to fetch
    or an unacceptable image only means no photo.
    """
    if not url or ctx.http is None:
        return None
    key = "author-photo-" + hashlib.sha256(url.encode()).hexdigest()
    cached = await Media.filter(original_name=key).order_by("-id").first()
    if cached is not None:
        return media_url(ctx.settings, cached)
    try:
        fetched = await fetch(
            ctx.http,
            "GET",
            url,
            headers={"Accept": "image/*"},
            max_bytes=PHOTO_MAX_BYTES,
            total_timeout=PHOTO_TIMEOUT,
        )
    except httpx.HTTPError:
        return None
    content_type = await asyncio.to_thread(image_type, fetched.content)
    if fetched.status_code != 200 or content_type is None:
        return None
    media = await store_media(ctx.settings, fetched.content, content_type, original_name=key)
    return media_url(ctx.settings, media)
