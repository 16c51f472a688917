"""Benchmark: the Instagram round trip's two bulk paths, each against a direct baseline.

Run: `python bench/instagram.py [--posts 300] [--media 100]`

1. History import: an export zip of `--posts` posts (small real JPEGs, every fifth post a
   carousel of three) goes through `history.queue_import` and the real worker with
   `job_handlers()`, one job at a time as `hearth worker` runs them, until the queue is dry.
   That includes the follow-up jobs each new post queues: a webmention to the caption's tag
   link, answered 404 by an `httpx.MockTransport` (no WebSub hub is configured). Baseline: the
   same posts made directly, `hearth.server.core.media.ingest.ingest_bytes` for each file
   then `create_post`.
2. PESOS copy: the fake Instagram (`hearth.syndication.instagram.fake`) serves `--media` media
   (IMAGE, CAROUSEL_ALBUM of three images, VIDEO with its thumbnail, in turn) on 127.0.0.1;
   one `poll.poll_once` pages /me/media, downloads every file over loopback HTTP through
   Hearth's guarded client and makes the posts. Baseline: the same posts made directly from
   the same files, already in memory.

Each of the four runs gets its own fresh SQLite data dir in a temp directory. It prints
posts/s, the time ratios, where the worker's time went, the poll's HTTP requests per post, and
checks that every post was made exactly once (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
from starlette.datastructures import Secret

from hearth import wiring
from hearth.server.core import db
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import Handler, JobContext, Worker
from hearth.server.core.media.files import media_url
from hearth.server.core.media.ingest import ingest_bytes
from hearth.server.core.models import Job, JobState, Post
from hearth.server.core.posts import create_post
from hearth.server.core.settings import ALL_NETWORKS, Settings
from hearth.syndication.instagram import connection, history, pesos, poll
from hearth.syndication.instagram.client import InstagramClient
from hearth.syndication.instagram.fake import FakeInstagram, serve_instagram
from hearth.syndication.instagram.fake.fake_cdn import jpeg_bytes
from hearth.syndication.instagram.graph import Media
from hearth.syndication.instagram.silo_settings import InstagramSettings
from hearth.wiring import job_handlers

SITE = "https://example.test/"
START = datetime(2020, 1, 1, tzinfo=UTC)
# One post of the export: its time, caption and files (name, bytes).
ExportPost = tuple[datetime, str, list[tuple[str, bytes]]]


@asynccontextmanager
async def fresh_site(data_dir: Path, **settings: Any) -> AsyncIterator[Settings]:
    site = Settings(url=SITE, data_dir=data_dir, **settings)
    async with db.connect(site):
        yield site


async def made_once(expected: int) -> str:
    """'ok' if exactly `expected` posts exist, each at its own time (the bench's times are
    unique, so a post made twice shows as a repeated time); else what is wrong."""
    times = await Post.all().values_list("published", flat=True)
    if len(times) == expected == len(set(times)):
        return "ok"
    return f"WRONG: {len(times)} posts, {len(set(times))} distinct, {expected} expected"


# History import -------------------------------------------------------------------------------


def export_posts(count: int) -> list[ExportPost]:
    posts = []
    for n in range(count):
        files = [(f"bench_{n}_{i}.jpg", jpeg_bytes(f"{n}-{i}")) for i in range(1 if n % 5 else 3)]
        posts.append((START + timedelta(hours=n), f"Day {n} at the lake #bench{n % 10}", files))
    return posts


def write_export(path: Path, posts: list[ExportPost]) -> Path:
    """A 2025-layout export zip (as tests/syndication/instagram/export_setup.py builds it)."""
    wrap = "instagram-bench-2025-01-01-AbCdEf/"
    entries: list[dict[str, Any]] = []
    items: list[dict[str, Any]]
    with zipfile.ZipFile(path, "w") as archive:
        for when, caption, files in posts:
            stamp, items = int(when.timestamp()), []
            for name, data in files:
                archive.writestr(f"{wrap}media/posts/202001/{name}", data)
                items.append({"uri": f"media/posts/202001/{name}", "creation_timestamp": stamp})
            if len(items) == 1:  # a single photo carries the caption in its media item
                entries.append({"media": [{**items[0], "title": caption}]})
            else:
                entries.append({"media": items, "title": caption, "creation_timestamp": stamp})
        archive.writestr(f"{wrap}your_instagram_activity/media/posts_1.json", json.dumps(entries))
    return path


async def import_directly(settings: Settings, posts: list[ExportPost]) -> float:
    began = time.perf_counter()
    for when, caption, files in posts:
        stored = [await ingest_bytes(settings, data, name) for name, data in files]
        photos = {"photo": [media_url(settings, media) for media in stored]}
        properties = pesos.caption_properties(caption) | photos
        await create_post(properties, published=when, client_id=history.CLIENT_ID)
    return time.perf_counter() - began


def timed(handler: Handler, kind: str, spent: dict[str, float], runs: Counter[str]) -> Handler:
    async def run(ctx: JobContext, payload: dict[str, Any]) -> None:
        began = time.perf_counter()
        try:
            await handler(ctx, payload)
        finally:
            spent[kind] += time.perf_counter() - began
            runs[kind] += 1

    return run


async def import_through_queue(settings: Settings, path: Path) -> tuple[float, str]:
    """Seconds from `queue_import` until the queue is dry; and what the worker ran."""
    spent: dict[str, float] = defaultdict(float)
    runs: Counter[str] = Counter()
    handlers = {kind: timed(h, kind, spent, runs) for kind, h in job_handlers().items()}

    def not_found(request: httpx.Request) -> httpx.Response:
        return httpx.Response(404, text="no webmention endpoint here")

    async def resolve(host: str) -> list[str]:
        return ["93.184.215.14"]  # a public address: the guard lets it through to the mock

    transport = httpx.MockTransport(not_found)
    async with create_http_client(settings, transport=transport, resolver=resolve) as http:
        worker = Worker(settings, handlers, http=http)
        began = time.perf_counter()
        await history.queue_import(settings, [path])
        while await worker.run_once():
            pass
        elapsed = time.perf_counter() - began
    jobs = ", ".join(f"{kind} {runs[kind]} ({spent[kind]:.2f} s)" for kind in sorted(runs))
    outside = elapsed - sum(spent.values())
    dead = Counter(await Job.filter(state=JobState.DEAD).values_list("kind", flat=True))
    queued = await Job.filter(state=JobState.QUEUED).count()
    ends = f"dead: {dict(dead) or 'none'} (the mock's 404s), still queued: {queued}"
    return elapsed, f"{jobs}; outside handlers {outside:.2f} s\n  {ends}"


# PESOS copy -----------------------------------------------------------------------------------


def seed(fake: FakeInstagram, count: int) -> Counter[str]:
    """`count` media, oldest first, all older than the first-comment window (as on a first poll)."""
    kinds = ("IMAGE", "CAROUSEL_ALBUM", "VIDEO")
    now = datetime.now(UTC).replace(microsecond=0)
    for n in range(count):
        kind = kinds[n % 3]
        children = ("IMAGE",) * 3 if kind == "CAROUSEL_ALBUM" else ()
        when = now - timedelta(days=3, hours=count - n)
        fake.add_media(kind, caption=f"Copy {n} #bench{n % 10}", children=children, when=when)
    return Counter(kinds[n % 3] for n in range(count))


def instagram_settings(fake: FakeInstagram) -> dict[str, Any]:
    instagram = InstagramSettings(
        api_url=fake.base.rstrip("/"), app_id=fake.app_id, app_secret=Secret(fake.app_secret)
    )
    return {"sections": (instagram,), "allowed_private_networks": ALL_NETWORKS}


async def copy_directly(settings: Settings, fake: FakeInstagram) -> tuple[float, float]:
    """Seconds to make the posts from files in memory; and to list and download them first."""
    fetch_began = time.perf_counter()
    async with create_http_client(settings) as http:
        client = InstagramClient(http, settings, fake.token)
        media: list[Media] = []
        after: str | None = None
        while True:
            page = await client.list_media(after)
            media += page.items
            if not (page.has_next and page.after):
                break
            after = page.after
        urls = [url for item in media for url in pesos.remote_urls(item)]
        files = {url: (await http.get(url)).raise_for_status().content for url in urls}
    began = time.perf_counter()
    fetch_s = began - fetch_began
    for item in media:
        local = {}
        for url in pesos.remote_urls(item):
            stored = await ingest_bytes(settings, files[url], PurePosixPath(url).name)
            local[url] = media_url(settings, stored)
        properties, published = pesos.to_post(item, local)
        await create_post(properties, published=published, client_id="instagram")
    return time.perf_counter() - began, fetch_s


async def copy_by_poll(settings: Settings, fake: FakeInstagram) -> tuple[float, Counter[str]]:
    """Seconds for one `poll_once` after connecting; its requests to the fake, by kind."""
    async with create_http_client(settings) as http:
        await connection.connect(settings, http, fake.token)
        fake.requests.clear()
        began = time.perf_counter()
        result = await poll.poll_once(settings, http)
        elapsed = time.perf_counter() - began
    assert result.failed == 0, result
    kinds = Counter("file" if path.startswith("/cdn/") else path for _, path in fake.requests)
    return elapsed, kinds


# The run ---------------------------------------------------------------------------------------


async def main(count: int, media: int) -> int:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        posts = export_posts(count)
        export = write_export(tmp / "export.zip", posts)
        async with fresh_site(tmp / "import-direct") as settings:
            direct_s = await import_directly(settings, posts)
            checks = [f"direct import {await made_once(count)}"]
        async with fresh_site(tmp / "import-queue") as settings:
            queue_s, worker_ran = await import_through_queue(settings, export)
            checks.append(f"queued import {await made_once(count)}")
        with serve_instagram() as fake:
            types = seed(fake, media)
            async with fresh_site(tmp / "pesos-direct", **instagram_settings(fake)) as settings:
                copy_s, fetch_s = await copy_directly(settings, fake)
                checks.append(f"direct copy {await made_once(media)}")
            async with fresh_site(tmp / "pesos-poll", **instagram_settings(fake)) as settings:
                poll_s, requests = await copy_by_poll(settings, fake)
                checks.append(f"poll {await made_once(media)}")
    files = sum(len(p[2]) for p in posts)
    carousels = sum(len(p[2]) > 1 for p in posts)
    print(f"History import: {count} posts ({carousels} carousels of 3), {files} JPEGs, one zip")
    print(f"direct : {count / direct_s:7.1f} posts/s ({direct_s:.2f} s) baseline")
    print(f"queue  : {count / queue_s:7.1f} posts/s ({queue_s:.2f} s until the queue is dry)")
    print(f"queue / direct = {queue_s / direct_s:.1f}x")
    print(f"  worker ran: {worker_ran}")
    mix = ", ".join(f"{n} {kind}" for kind, n in sorted(types.items()))
    print(f"PESOS copy: {media} media ({mix}) from the fake Instagram on 127.0.0.1")
    print(f"direct : {media / copy_s:7.1f} posts/s ({copy_s:.2f} s, files in memory) baseline")
    print(f"poll   : {media / poll_s:7.1f} posts/s ({poll_s:.2f} s for one poll_once)")
    print(f"poll / direct = {poll_s / copy_s:.1f}x")
    by_kind = ", ".join(f"{n} {kind}" for kind, n in requests.most_common())
    total = sum(requests.values())
    print(f"  HTTP requests: {total} = {total / media:.2f} per post ({by_kind})")
    print(f"  the same listing and downloads alone, in a plain loop: {fetch_s:.2f} s")
    print("checks: " + "; ".join(checks))
    return 0 if all(check.endswith("ok") for check in checks) else 1


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300)
    parser.add_argument("--media", type=int, default=100)
    args = parser.parse_args()
    logging.basicConfig(level=logging.ERROR)  # not each 404 webmention's warning
    wiring.install(wiring.features())  # the features' tables and post-change listeners
    raise SystemExit(asyncio.run(main(args.posts, args.media)))
