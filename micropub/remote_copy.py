"""Copying media given by URL into the media store (`HEARTH_MEDIA_COPY_REMOTE`).

Micropub lets a client name a photo, video or audio file by URL
(https://www.w3.org/TR/micropub/#uploading-files). Such a post renders the remote URL at
once; with the setting on, a durable job then downloads the file through the guarded client,
checks and cleans it exactly like an upload (`hearth.server.core.media.ingest.copy_remote_photo`),
and points the post at the local copy, so the site stops depending on (and hotlinking)
another host. A file that can never be copied (refused, a 4xx, a blocked address) ends the job
with the reason; no answer, a 5xx or a 429 is tried again later.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.media.files import media_url
from hearth.server.core.media.ingest import copy_remote_photo
from hearth.server.core.media.refusals import MediaRefused, RemoteUnavailable
from hearth.server.core.models import Post
from hearth.server.core.settings import Settings

KIND = "media.copy_remote"
MEDIA_PROPERTIES = ("photo", "video", "audio")


def _url_of(value: Any) -> str | None:
    url = value.get("value") if isinstance(value, Mapping) else value
    return url if isinstance(url, str) else None


def remote_media_urls(settings: Settings, properties: Mapping[str, list[Any]]) -> set[str]:
    """The http(s) media URLs of a post that are not already on this site."""
    urls = {_url_of(v) for prop in MEDIA_PROPERTIES for v in properties.get(prop, [])}
    return {
        url
        for url in urls
        if url and url.startswith(("http://", "https://")) and not url.startswith(settings.url)
    }


async def schedule_copies(settings: Settings, post: Post) -> None:
    """Queue one copy job per remote media URL of `post` (once per post and URL)."""
    if not settings.media_copy_remote or post.deleted_at is not None:
        return
    for url in sorted(remote_media_urls(settings, post.properties)):
        await job_queue.enqueue(
            KIND, {"post_id": post.id, "url": url}, key=f"{KIND}:{post.id}:{url}"[:255]
        )


def _replace(values: list[Any], old: str, new: str) -> list[Any]:
    replaced: list[Any] = []
    for value in values:
        if isinstance(value, Mapping) and value.get("value") == old:
            replaced.append({**value, "value": new})
        else:
            replaced.append(new if value == old else value)
    return replaced


async def copy(ctx: JobContext, payload: dict[str, Any]) -> None:
    """Download one remote file and point the post's properties at the local copy."""
    url = payload["url"]
    if ctx.http is None:
        raise job_queue.PermanentFailure("no HTTP client")
    try:
        media = await copy_remote_photo(ctx.settings, ctx.http, url)
    except RemoteUnavailable as exc:  # its reason names the URL
        if exc.retryable:
            raise job_queue.Retry(exc.reason) from exc
        raise job_queue.PermanentFailure(exc.reason) from exc
    except MediaRefused as exc:
        raise job_queue.PermanentFailure(f"{url}: {exc}") from exc
    post = await Post.get_or_none(id=payload["post_id"])
    if post is None:
        return
    local = media_url(ctx.settings, media)
    properties = dict(post.properties)
    for prop in MEDIA_PROPERTIES:
        if prop in properties:
            properties[prop] = _replace(properties[prop], url, local)
    post.properties = properties
    # Only the URL changes; which sites the post links to does not, so no webmention is due.
    await post.save(update_fields=["properties", "modified_at"])


HANDLERS: dict[str, Handler] = {KIND: copy}
