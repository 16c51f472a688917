"""Importing the whole Instagram history from the data-export zip(s), as durable jobs.

The export names no Instagram media ids or permalinks, so an imported post gets no
u-syndication, and its key is made from its first file and its time (`export_json`). The
caption becomes the same properties as in an API copy (`pesos`).

    hearth instagram import-zip PATH... --> queue_import: zips copied to DATA_DIR/imports/
        --> IMPORT job (keyed by the zips' hashes): streams the posts
            --> one IMPORT_CHUNK job per CHUNK_POSTS posts (keyed by the zips and its place)
                --> each post: files + post, unless its marker says it is home
                --> a post that fails: handed to its own IMPORT_POST job (keyed by the post)

* The export is streamed, never held: the posts files are read a post at a time
  (`export_zip.open_export`), media files are read from the zip one by one as their post is
  imported, never extracted, so memory stays flat however large the export.
* `queue_import` reads the export once (a pass over its JSON, not its media) so a wrong zip is
  refused at the command, then keeps a copy of each zip named by its SHA-256, so the jobs do
  not depend on the original staying put; the same zips queued again find their job and queue
  nothing.
* Few jobs, so the queue's cost per job hardly counts: the IMPORT job turns the export into
  chunks of CHUNK_POSTS posts, each a job whose payload holds its posts (a few hundred bytes
  each). A chunk's key is the zips' and its place in the export, so an IMPORT job run again
  after a crash finds the chunks it queued before and queues only the rest.
* Each post is imported idempotently, whether by its chunk or its own job. Its files go
  through the core's media service (`hearth.server.core.media.ingest.prepare`, what
  `ingest_bytes` does: type from the bytes, image checks, EXIF and GPS stripped, HEIC stored
  as JPEG), read from the zip, checked and written in one trip to a worker thread, and are
  served only once their Media rows are recorded with the post. The post, those rows and its
  `InstagramImport` marker are created and announced with `post_changed` in one transaction.
  The marker's key is the post's key, so a chunk run again after a crash (or the same post
  in another export) skips the posts that are home and makes no second one.
* A chunk makes its posts GROUP_POSTS at a time, each group in one transaction (one commit,
  one lock and one look for API copies for them all: `_import_group`); a group that fails
  is rolled back whole and its posts are made one by one as an IMPORT_POST job makes its
  one (`home_copy.create_with_files`: a failure leaves no stored file). Meanwhile the chunk
  writes the files of the next posts (`_FilesAhead`), so the photos' checks (Pillow, in
  threads) overlap the database work; a kill -9 can leave those few posts' files unrecorded
  in the store, never served (never a post twice).
* A post that cannot be imported in its chunk (a broken file, one of a type Hearth does not
  store, one missing from the zips, or any other error) is handed to its own IMPORT_POST
  job, which tries it again on its own, with the queue's retries, and fails with the reason
  where the admin lists failed jobs. The chunk goes on with the other posts.
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
from collections.abc import AsyncGenerator, AsyncIterator, Callable, Generator, Iterator, Sequence
from contextlib import aclosing
from dataclasses import dataclass
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

from tortoise.exceptions import IntegrityError
from tortoise.transactions import in_transaction

from hearth.server.core import job_queue
from hearth.server.core.events import post_changed
from hearth.server.core.job_worker import Handler, JobContext
from hearth.server.core.media.files import StoredFile, media_url, record, unlink
from hearth.server.core.media.ingest import prepare, written_in_thread
from hearth.server.core.media.refusals import MediaRefused
from hearth.server.core.models import Job, Media, Post
from hearth.server.core.posts import create_post
from hearth.server.core.progress import ProgressFactory, quiet
from hearth.server.core.settings import Settings
from hearth.syndication.instagram import home_copy, matching, pesos
from hearth.syndication.instagram.export_zip import (
    ExportError,
    ExportPost,
    ExportReader,
    open_export,
    read_member,
)
from hearth.syndication.instagram.tables import CopyState, InstagramImport, InstagramMedia

log = logging.getLogger(__name__)

IMPORT = "instagram.import_zip"
IMPORT_CHUNK = "instagram.import_chunk"
IMPORT_POST = "instagram.import_post"
# The client_id of imported posts, beside the API copies' "instagram".
CLIENT_ID = "instagram-export"
# Posts per IMPORT_CHUNK job: a few seconds of work (so a stopping worker's grace period
# covers one, and progress shows as chunks finish), a payload of some 30 KB, and a hundred
# jobs for 10,000 posts however fast or slow the queue is per job.
CHUNK_POSTS = 100
# Posts a chunk makes in one transaction: one commit, one lock and one look for API copies
# for them all (about a third of a post's database work), while a transaction stays a few
# tens of milliseconds, so other writers (a Micropub post, the worker's heartbeat) hardly wait.
GROUP_POSTS = 10
# Posts whose files a chunk writes ahead of the group being created: enough to keep both
# cores busy with the photos' checks while the database works. The files are on disk, not in
# memory; a kill -9 leaves at most these posts' files (and a group's) unrecorded in the store,
# never served, and never a post twice.
FILES_AHEAD = GROUP_POSTS + 2
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


class _Seen:
    """Post keys met so far, to give each post once: 16 bytes of each key (a few dozen bytes
    a post in all, so even this stays small for the largest export)."""

    def __init__(self) -> None:
        self._keys: set[bytes] = set()

    def first(self, post: ExportPost) -> bool:
        """True the first time `post` (by its key) is met."""
        key = bytes.fromhex(post.key[:32])
        if key in self._keys:
            return False
        self._keys.add(key)
        return True


def _unique(posts: Iterator[ExportPost]) -> Iterator[ExportPost]:
    """Each post once: the same post in two parts or two exports has the same key."""
    seen = _Seen()
    return (post for post in posts if seen.first(post))


def _count_posts(paths: Sequence[Path]) -> int:
    """How many posts the export holds; ExportError if it is no export, or broken."""
    with open_export(paths) as reader:
        return sum(1 for _ in _unique(reader.posts()))


def _import_key(names: Sequence[str]) -> str:
    """The IMPORT job's key: the same zips, in any order, are the same import."""
    hashes = "\n".join(sorted(set(names)))
    return f"{IMPORT}:{hashlib.sha256(hashes.encode()).hexdigest()}"


async def queue_import(
    settings: Settings, paths: Sequence[Path], progress: ProgressFactory = quiet
) -> Queued:
    """Check the export in `paths`, keep copies, and queue its import (once per set of zips).

    `progress` is told the bytes of the zips as their copies are kept, the long part of a
    large export. Raises ExportError, with a message for the owner, when the zips are not an
    export.
    """
    posts = await asyncio.to_thread(_count_posts, paths)
    with progress(sum(path.stat().st_size for path in paths)) as steps:
        names = [
            await asyncio.to_thread(_keep_copy, settings, path, steps.advance) for path in paths
        ]
    key = _import_key(names)
    earlier = await Job.get_or_none(idempotency_key=key)
    job = await job_queue.enqueue(IMPORT, {"zips": names}, key=key)
    return Queued(job, new=earlier is None, posts=posts)


def _zip_names(payload: dict[str, Any]) -> list[str]:
    names = payload.get("zips")
    if not isinstance(names, list) or not all(_KEPT_NAME.match(str(n)) for n in names):
        raise job_queue.PermanentFailure("the job names no kept zip files")
    return [str(name) for name in names]


def _zip_paths(settings: Settings, payload: dict[str, Any]) -> list[Path]:
    return [imports_dir(settings) / name for name in _zip_names(payload)]


def _chunks(reader: ExportReader) -> Generator[list[ExportPost], None, None]:
    """The export's posts, each once, CHUNK_POSTS at a time; skipped entries logged."""
    posts = _unique(
        reader.posts(lambda reason: log.warning("instagram import: skipped %s", reason))
    )
    chunk: list[ExportPost] = []
    for post in posts:
        chunk.append(post)
        if len(chunk) == CHUNK_POSTS:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


async def handle_import(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The IMPORT job: the export's posts, streamed into IMPORT_CHUNK jobs (each queued once)."""
    names = _zip_names(payload)
    prefix = f"{IMPORT_CHUNK}:{_import_key(names).partition(':')[2]}"
    try:
        reader = await asyncio.to_thread(ExportReader, _zip_paths(ctx.settings, payload))
    except ExportError as exc:
        raise job_queue.PermanentFailure(str(exc)) from None
    queued = 0
    chunks = _chunks(reader)
    try:
        # The reading (zip and JSON) runs in a thread, a chunk at a time: memory stays one
        # chunk's, and the event loop stays free for the worker's heartbeat.
        while chunk := await asyncio.to_thread(next, chunks, None):
            data = {"zips": names, "posts": [post.to_json() for post in chunk]}
            await job_queue.enqueue(IMPORT_CHUNK, data, key=f"{prefix}:{queued}")
            queued += 1
    except ExportError as exc:
        raise job_queue.PermanentFailure(str(exc)) from None
    finally:
        chunks.close()  # its posts file first, then the zips under it
        reader.close()
    log.info("instagram import: %d chunks of up to %d posts queued", queued, CHUNK_POSTS)


def _prepare_file(
    settings: Settings, paths: list[Path], post: ExportPost, index: int
) -> StoredFile:
    """File `index` of the post read from its zip, checked, cleaned and written to the media
    store, unrecorded; blocking (one trip to a worker thread for all of it)."""
    item = post.media[index]
    if item.part is None or item.member is None or item.part >= len(paths):
        raise job_queue.PermanentFailure(f"{item.uri} is not in the export's zip files")
    try:
        data = read_member(paths[item.part], item.member, settings.media_max_bytes)
        return prepare(settings, data, item.basename)
    except ExportError as exc:
        raise job_queue.PermanentFailure(str(exc)) from None
    except MediaRefused as exc:
        raise job_queue.PermanentFailure(f"{item.basename}: {exc.reason}") from None


async def _read_file(
    settings: Settings, paths: list[Path], post: ExportPost, index: int
) -> StoredFile:
    """`_prepare_file` in a worker thread (none left behind if the chunk is cancelled)."""
    return await written_in_thread(settings, partial(_prepare_file, settings, paths, post, index))


async def _read_files(
    settings: Settings, paths: list[Path], post: ExportPost
) -> AsyncGenerator[StoredFile, None]:
    """Each file of the post written to the media store (unrecorded), in order;
    PermanentFailure if one cannot be (the caller removes those written before it)."""
    for index in range(len(post.media)):
        yield await _read_file(settings, paths, post, index)


async def _store_all(settings: Settings, paths: list[Path], post: ExportPost) -> list[StoredFile]:
    """Every file of the post written, or none (those written before a failure are removed)."""
    stored: list[StoredFile] = []
    try:
        async with aclosing(_read_files(settings, paths, post)) as files:
            async for file in files:
                stored.append(file)
    except BaseException:
        unlink(settings, stored)
        raise
    return stored


async def _recorded(
    settings: Settings, files: AsyncIterator[StoredFile]
) -> AsyncGenerator[Media, None]:
    """Each written file recorded as a Media row on its own (a post made on its own: its
    transaction discards the rows again if it fails)."""
    async for file in files:
        yield await record(settings, file)


def _properties(
    settings: Settings, post: ExportPost, stored: Sequence[Media | StoredFile]
) -> dict[str, Any]:
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


async def _import_post(
    settings: Settings, post: ExportPost, files: AsyncGenerator[Media, None]
) -> None:
    """Create the post from the files `files` stores, with its marker, in one transaction,
    unless the API copied it meanwhile. The caller has checked it is not home yet."""

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

    try:
        created = await home_copy.create_with_files(settings, files, draft, mark)
    except _CopiedMeanwhile as exc:  # the files are discarded; the API's copy counts
        await _mark_api_copy(post, exc.copy)
        return
    except IntegrityError:
        if await InstagramImport.exists(key=post.key):
            return  # a concurrent run (its lease ran out) made the post first
        raise
    log.info("instagram import: %s -> /%s", post.key[:12], created.path)


async def handle_import_post(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The IMPORT_POST job: one post, its files and its marker, unless it is home already."""
    settings = ctx.settings
    post = ExportPost.from_json(payload["post"])
    if await InstagramImport.exists(key=post.key):
        return  # imported by an earlier run of this job, or from another export
    if (copy := await matching.api_copy(post.times)) is not None:
        await _mark_api_copy(post, copy)
        return
    files = _read_files(settings, _zip_paths(settings, payload), post)
    await _import_post(settings, post, _recorded(settings, files))


class _FilesAhead:
    """The files of a chunk's posts, written a few posts ahead of the ones being created.

    `take(post)` waits for the post's files and starts on those of a post further on. The
    tasks do in worker threads what `ingest.prepare` does (Pillow and zlib release the
    GIL), while the chunk creates posts on the database. `close` cancels what was not taken
    and removes its files.
    """

    def __init__(self, settings: Settings, paths: list[Path], posts: list[ExportPost]) -> None:
        self._settings = settings
        self._paths = paths
        self._waiting = iter(posts)
        self._tasks: dict[str, asyncio.Task[list[StoredFile]]] = {}
        for _ in range(FILES_AHEAD):
            self._start_next()

    def _start_next(self) -> None:
        if (post := next(self._waiting, None)) is not None:
            work = _store_all(self._settings, self._paths, post)
            self._tasks[post.key] = asyncio.create_task(work)

    async def take(self, post: ExportPost) -> list[StoredFile]:
        """The post's written files (raises what writing them raised)."""
        task = self._tasks.pop(post.key)
        self._start_next()
        return await task

    async def close(self) -> None:
        tasks = list(self._tasks.values())
        self._tasks.clear()
        for task in tasks:
            task.cancel()
        if tasks:
            await asyncio.wait(tasks)
        done = [task for task in tasks if not task.cancelled() and task.exception() is None]
        unlink(self._settings, [file for task in done for file in task.result()])


async def _not_home(posts: list[ExportPost]) -> list[ExportPost]:
    """Those of `posts` with no marker yet (not imported by an earlier run or export)."""
    keys = [post.key for post in posts]
    found = await InstagramImport.filter(key__in=keys).values_list("key", flat=True)
    home = {str(key) for key in found}
    return [post for post in posts if post.key not in home]


async def _api_copies_near(posts: list[ExportPost]) -> bool:
    """Whether any media copied through the API is near the chunk's times at all: most
    chunks have none, and then no post needs its own look (`mark` looks again anyway)."""
    times = [seconds for post in posts for seconds in post.times]
    if not times:
        return False
    start = datetime.fromtimestamp(min(times), UTC) - matching.TOLERANCE
    end = datetime.fromtimestamp(max(times), UTC) + matching.TOLERANCE
    return await InstagramMedia.filter(
        copy_state=CopyState.COPIED, post_id__isnull=False, timestamp__gte=start, timestamp__lte=end
    ).exists()


async def _hand_over(names: list[str], post: ExportPost, exc: Exception) -> None:
    """Give a post that failed in its chunk its own IMPORT_POST job (retried, and failing
    with its reason, on its own), so the rest of the chunk goes on."""
    log.warning("instagram import: %s failed in its chunk (%s): queued on its own",
                post.key[:12], exc)  # fmt: skip
    data = {"zips": names, "post": post.to_json()}
    await job_queue.enqueue(IMPORT_POST, data, key=f"{IMPORT_POST}:{post.key}")


class _OnTheirOwn(Exception):
    """The group cannot be made in one go: a media copied through the API is near it."""


async def _import_group(
    settings: Settings, group: list[tuple[ExportPost, list[StoredFile]]]
) -> list[Post]:
    """Make the group's posts, files and markers in one transaction (one commit, one lock
    and one look for API copies for them all); all or nothing."""
    async with in_transaction():
        await matching.hold_home_lock()
        # Checked again under the lock, for the whole group: the poller may have copied one
        # of them since the chunk looked. Then each is made on its own, to find which.
        if await _api_copies_near([post for post, _ in group]):
            raise _OnTheirOwn
        # One INSERT for the group's files: they are served from the commit on, with the posts.
        if rows := [file.row() for _, files in group for file in files]:
            await Media.bulk_create(rows)
        made: list[Post] = []
        for post, files in group:
            properties = _properties(settings, post, files)
            made.append(
                await create_post(properties, published=post.published, client_id=CLIENT_ID)
            )
        await InstagramImport.bulk_create(
            InstagramImport(key=post.key, post_id=created.id, source=matching.IMPORTED,
                            published=post.published)
            for (post, _), created in zip(group, made, strict=True)
        )  # fmt: skip
        for created in made:
            await post_changed(settings, created)
    return made


async def _import_alone(
    settings: Settings, names: list[str], post: ExportPost, files: list[StoredFile]
) -> None:
    """One post of a group that could not be made in one go, on its own (`_import_post`);
    handed to its own job if it fails."""
    try:
        await _import_post(settings, post, _recorded(settings, _given(files)))
    except Exception as exc:  # handed over with its reason, not lost
        unlink(settings, files)  # those never recorded (the recorded ones are discarded)
        await _hand_over(names, post, exc)
    except BaseException:
        unlink(settings, files)
        raise


async def _given(files: list[StoredFile]) -> AsyncGenerator[StoredFile, None]:
    for file in files:
        yield file


async def _import_ready(
    settings: Settings, names: list[str], group: list[tuple[ExportPost, list[StoredFile]]]
) -> None:
    """The group in one transaction; if that fails (an API copy near, a post made by a
    concurrent run, any error), it is rolled back and each post is made on its own."""
    try:
        made = await _import_group(settings, group)
    except Exception as exc:
        log.info("instagram import: a group of %d posts is made post by post (%r)",
                 len(group), exc)  # fmt: skip
        for post, files in group:
            await _import_alone(settings, names, post, files)
        return
    except BaseException:
        unlink(settings, [file for _, files in group for file in files])
        raise
    for (post, _), created in zip(group, made, strict=True):
        log.info("instagram import: %s -> /%s", post.key[:12], created.path)


async def handle_import_chunk(ctx: JobContext, payload: dict[str, Any]) -> None:
    """The IMPORT_CHUNK job: each of its posts that is not home yet, oldest first."""
    settings = ctx.settings
    names = _zip_names(payload)
    given = [ExportPost.from_json(data) for data in payload["posts"]]
    # Oldest first, as posts were made (the export lists them newest first).
    posts = await _not_home(sorted(given, key=lambda post: post.published))
    if await _api_copies_near(posts):
        kept = []
        for post in posts:
            if (copy := await matching.api_copy(post.times)) is not None:
                await _mark_api_copy(post, copy)
            else:
                kept.append(post)
        posts = kept
    ahead = _FilesAhead(settings, _zip_paths(settings, payload), posts)
    try:
        for start in range(0, len(posts), GROUP_POSTS):
            group: list[tuple[ExportPost, list[StoredFile]]] = []
            for post in posts[start : start + GROUP_POSTS]:
                try:
                    group.append((post, await ahead.take(post)))
                except Exception as exc:  # a file that cannot be stored: handed over
                    await _hand_over(names, post, exc)
            if group:
                await _import_ready(settings, names, group)
    finally:
        await asyncio.shield(ahead.close())
    log.info("instagram import: chunk of %d posts done, %d new or handed over",
             len(payload["posts"]), len(posts))  # fmt: skip


HANDLERS: dict[str, Handler] = {
    IMPORT: handle_import,
    IMPORT_CHUNK: handle_import_chunk,
    IMPORT_POST: handle_import_post,
}
