"""Importing the whole Instagram history from the data-export zip(s), as durable jobs.

The export names no Instagram media ids or permalinks, so an imported post gets no
u-syndication, and its key is made from its first file and its time (`export_json`). The
caption becomes the same properties as in an API copy (`pesos`).

    hearth instagram import-zip PATH... --> queue_import: zips copied to DATA_DIR/imports/
        --> IMPORT job (keyed by the zips' hashes): reads the posts
            --> one IMPORT_POST job per post (keyed by the post's key): files + post

* `queue_import` reads the export once so a wrong zip is refused at the command, then keeps
  a copy of each zip named by its SHA-256, so the jobs do not depend on the original staying
  put; the same zips queued again find their job and queue nothing.
* An IMPORT_POST job stores the post's files through the core's media service,
  `hearth.server.core.media.ingest.ingest_bytes`, with the uploads' own checks (type from
  the bytes, image checks, EXIF and GPS stripped, HEIC stored as JPEG), then creates the
  post and its `InstagramImport` marker and announces it with `post_changed`, all in one
  transaction (`home_copy.create_with_files`: a failure leaves no stored file). The marker's
  key is the post's key, so a job run again after a crash, or the same post in another
  export, finds it and makes no second post. A file that cannot be stored (a broken file, one
  of a type Hearth does not store, one missing from the zips) fails that post's job with the
  reason, and only it.
* A post that matches a media already copied through the API (`matching.api_copy`: COPIED
  with its post, at one of the post's times within a few seconds) is home already: it gets a
  marker and nothing else. A media the API could not copy (failed, unavailable) does not
  count: the zip brings that post home. The other way round, the poller links a media to
  the post imported here (`matching.imported_post`) instead of copying it again.
* History never gets the first comment; stories, reels, archived and deleted posts are not
  read at all (`export_zip`).
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import re
import secrets
from collections.abc import AsyncGenerator, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tortoise.exceptions import IntegrityError

from hearth.server.core import job_queue
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.media.files import media_url
from hearth.server.core.media.ingest import ingest_bytes
from hearth.server.core.media.refusals import MediaRefused
from hearth.server.core.models import Job, Media, Post
from hearth.server.core.progress import ProgressFactory, quiet
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import home_copy, matching, pesos
from hearth.syndication.instagram.export_zip import (
    ExportError,
    ExportPost,
    read_export,
    read_member,
)
from hearth.syndication.instagram.tables import InstagramImport, InstagramMedia

log = logging.getLogger(__name__)

IMPORT = "instagram.import_zip"
IMPORT_POST = "instagram.import_post"
# The client_id of imported posts, beside the API copies' "instagram".
CLIENT_ID = "instagram-export"
_KEPT_NAME = re.compile(r"^[0-9a-f]{64}\.zip$")
_CHUNK = 1024 * 1024
# Property of a stored file, by the type its bytes have.
_PROPERTIES = {"image/": "photo", "video/": "video", "audio/": "audio"}


@dataclass(frozen=True)
class Queued:
    """What `queue_import` did: the import job, whether it is new, how many posts it holds."""

    job: Job
    new: bool
    posts: int


def imports_dir(settings: Settings) -> Path:
    return settings.data_dir / "imports"


def _copy_hashing(source: Path, partial: Path, advance: Callable[[int], None]) -> str:
    """Copy `source` to `partial`, telling `advance` each chunk; its SHA-256 in hex."""
    digest = hashlib.sha256()
    with source.open("rb") as reading, partial.open("wb") as writing:
        while chunk := reading.read(_CHUNK):
            digest.update(chunk)
            writing.write(chunk)
            advance(len(chunk))
    return digest.hexdigest()


def _keep_copy(settings: Settings, path: Path, advance: Callable[[int], None]) -> str:
    """Copy the zip at `path` into the imports dir as `<sha256>.zip`; returns that name.

    One pass that hashes as it copies, to a temporary name renamed at the end (a crash never
    leaves a half zip under the real name); the copy is dropped when that zip was kept
    before. `advance` is told the size of each chunk read.
    """
    folder = imports_dir(settings)
    folder.mkdir(parents=True, exist_ok=True)
    partial = folder / f"{secrets.token_hex(8)}.part"
    try:
        name = f"{_copy_hashing(path, partial, advance)}.zip"
        if not (folder / name).exists():
            os.replace(partial, folder / name)
    finally:  # kept before, or the copy failed
        partial.unlink(missing_ok=True)
    return name


async def queue_import(
    settings: Settings, paths: Sequence[Path], progress: ProgressFactory = quiet
) -> Queued:
    """Check the export in `paths`, keep copies, and queue its import (once per set of zips).

    `progress` is told the bytes of the zips as their copies are kept, the long part of a
    large export. Raises ExportError, with a message for the owner, when the zips are not an
    export.
    """
    export = await asyncio.to_thread(read_export, paths)
    with progress(sum(path.stat().st_size for path in paths)) as steps:
        names = [
            await asyncio.to_thread(_keep_copy, settings, path, steps.advance) for path in paths
        ]
    hashes = "\n".join(sorted(set(names)))
    key = f"{IMPORT}:{hashlib.sha256(hashes.encode()).hexdigest()}"
    earlier = await Job.get_or_none(idempotency_key=key)
    job = await job_queue.enqueue(IMPORT, {"zips": names}, key=key)
    return Queued(job, new=earlier is None, posts=len(export.posts))


def _zip_paths(settings: Settings, payload: dict[str, Any]) -> list[Path]:
    names = payload.get("zips")
    if not isinstance(names, list) or not all(_KEPT_NAME.match(str(n)) for n in names):
        raise job_queue.PermanentFailure("the job names no kept zip files")
    return [imports_dir(settings) / name for name in names]


async def handle_import(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The IMPORT job: one IMPORT_POST job per post of the export (each queued once)."""
    paths = _zip_paths(ctx.settings, payload)
    try:
        export = await asyncio.to_thread(read_export, paths)
    except ExportError as exc:
        raise job_queue.PermanentFailure(str(exc)) from None
    for reason in export.skipped:
        log.warning("instagram import: skipped %s", reason)
    for post in export.posts:
        data = {"zips": payload["zips"], "post": post.to_json()}
        await job_queue.enqueue(IMPORT_POST, data, key=f"{IMPORT_POST}:{post.key}")
    log.info("instagram import: %d posts queued", len(export.posts))


async def _read_files(
    settings: Settings, paths: list[Path], post: ExportPost
) -> AsyncGenerator[Media, None]:
    """Each file of the post stored in the media store, in order; PermanentFailure if one
    cannot be (the caller discards those stored before it)."""
    for item in post.media:
        if item.part is None or item.member is None or item.part >= len(paths):
            raise job_queue.PermanentFailure(f"{item.uri} is not in the export's zip files")
        try:
            limit = settings.media_max_bytes
            data = await asyncio.to_thread(read_member, paths[item.part], item.member, limit)
            stored = await ingest_bytes(settings, data, item.basename)
        except ExportError as exc:
            raise job_queue.PermanentFailure(str(exc)) from None
        except MediaRefused as exc:
            raise job_queue.PermanentFailure(f"{item.basename}: {exc.reason}") from None
        yield stored


def _properties(settings: Settings, post: ExportPost, stored: list[Media]) -> dict[str, Any]:
    """The post: caption as content and category (as for API copies), files in order."""
    properties: dict[str, list[Any]] = pesos.caption_properties(post.caption)
    for media in stored:
        kinds = (p for prefix, p in _PROPERTIES.items() if media.content_type.startswith(prefix))
        name = next(kinds, "photo")
        properties.setdefault(name, []).append(media_url(settings, media))
    return properties


class _CopiedMeanwhile(Exception):
    """The poller copied the post through the API while its files were read from the zip."""

    def __init__(self, copy: InstagramMedia) -> None:
        super().__init__(copy.media_id)
        self.copy = copy


async def _mark_api_copy(post: ExportPost, copy: InstagramMedia) -> None:
    """Record that the API's copy is this export post (so no run imports it again)."""
    post_id = copy.post_id  # type: ignore[attr-defined]
    marker = {"source": "api", "published": post.published, "post_id": post_id}
    await InstagramImport.get_or_create(marker, key=post.key)


async def handle_import_post(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The IMPORT_POST job: the post, its files and its marker, unless it is home already."""
    settings = ctx.settings
    post = ExportPost.from_json(payload["post"])
    if await InstagramImport.exists(key=post.key):
        return  # imported by an earlier run of this job, or from another export
    if (copy := await matching.api_copy(post.times)) is not None:
        await _mark_api_copy(post, copy)
        return

    def draft(stored: list[Media]) -> home_copy.Draft:
        return home_copy.Draft(_properties(settings, post, stored), post.published, CLIENT_ID)

    async def mark(created: Post) -> None:
        # The poller may have copied it through the API while the files were read.
        await matching.hold_home_lock()
        if (late := await matching.api_copy(post.times)) is not None:
            raise _CopiedMeanwhile(late)
        await InstagramImport.create(
            key=post.key, post=created, source=matching.IMPORTED, published=post.published
        )

    files = _read_files(settings, _zip_paths(settings, payload), post)
    try:
        created = await home_copy.create_with_files(settings, files, draft, mark)
    except _CopiedMeanwhile as exc:  # the files are discarded; the API's copy counts
        await _mark_api_copy(post, exc.copy)
        return
    except IntegrityError:
        if await InstagramImport.exists(key=post.key):
            return  # a concurrent run of this job (its lease ran out) made the post first
        raise
    log.info("instagram import: %s -> /%s", post.key[:12], created.path)


HANDLERS: dict[str, Handler] = {IMPORT: handle_import, IMPORT_POST: handle_import_post}
