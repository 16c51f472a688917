"""Benchmark: the Instagram round trip's two bulk paths, each against a direct baseline.

Run: `python bench/instagram.py [--posts 300] [--media 100] [--runs 1] [--photo-size 1080]
[--keep-export ZIP]`

1. History import: an export zip of `--posts` posts (realistic photos: 1080 px wide JPEGs of
   about 250 KB, square, portrait and landscape, each file's bytes its own; every fifth post
   a carousel of three) goes through `history.queue_import` and the real worker with
   `job_handlers()`, one job at a time as `hearth worker` runs them, until the queue is dry.
   That includes the follow-up jobs each new post queues: a webmention to the caption's link,
   answered 404 by an `httpx.MockTransport` (no WebSub hub is configured). Baseline: the
   same posts made directly, `hearth.server.core.media.ingest.ingest_bytes` for each file
   then `create_post`, one after the other.
   Each run of either goes in a fresh child process with its own SQLite data dir, so the
   peak resident memory it reports (VmHWM) is that run's alone; `--runs` repeats both, in
   turn, and the medians are printed.
2. PESOS copy (skipped with `--media 0`): the fake Instagram
   (`hearth.syndication.instagram.fake`) serves `--media` media (IMAGE, CAROUSEL_ALBUM of
   three images, VIDEO with its thumbnail, in turn) on 127.0.0.1; one `poll.poll_once`
   pages /me/media, downloads every file over loopback HTTP through Hearth's guarded client
   and makes the posts. Baseline: the same posts made directly from the same files, already
   in memory.

It prints posts/s, CPU time a post (all threads: steadier than wall time on a shared
machine), the ratios, peak memory, where the worker's time went, the poll's HTTP requests
per post, and checks that every post was made exactly once (exit status 1 if not).
"""

from __future__ import annotations

import argparse
import asyncio
import io
import json
import logging
import resource
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
import zipfile
from collections import Counter, defaultdict
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path, PurePosixPath
from typing import Any

import httpx
from PIL import Image, ImageFilter
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
from hearth.syndication.instagram.graph import Media
from hearth.syndication.instagram.silo_settings import InstagramSettings
from hearth.wiring import job_handlers

SITE = "https://example.test/"
START = datetime(2020, 1, 1, tzinfo=UTC)
# Distinct pictures the photos are made of (each file is still unique, see `photo`).
_POOL = 12
# Instagram's shapes at 1080 px wide: square, portrait 4:5, landscape 1.91:1.
_SHAPES = (1.0, 1.25, 1 / 1.91)
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


def peak_rss_mb() -> float:
    """This process's peak resident set (VmHWM), in MB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return float("nan")


# History import -------------------------------------------------------------------------------


@cache
def _picture(index: int, width: int) -> bytes:
    """A photo-like JPEG (smooth colour, grain: about 250 KB at 1080 x 1350, quality 85)."""
    size = (width, round(width * _SHAPES[index % len(_SHAPES)]))
    ramp = Image.linear_gradient("L").resize(size)
    turned = ramp.rotate(index * 37 % 360).resize(size)
    grain = Image.effect_noise(size, 60).filter(ImageFilter.GaussianBlur(1))
    picture = Image.merge("RGB", (ramp, turned, grain))
    picture = Image.blend(picture, Image.merge("RGB", (grain, grain, grain)), 0.25)
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=85)
    return out.getvalue()


def photo(name: str, index: int, width: int) -> bytes:
    """One of the pool's pictures with a JPEG comment naming the file, so no two files of
    the export have the same bytes (the comment is metadata: the import strips it)."""
    base, text = _picture(index % _POOL, width), name.encode()
    comment = b"\xff\xfe" + (len(text) + 2).to_bytes(2, "big") + text
    return base[:2] + comment + base[2:]


def export_post(n: int, width: int) -> ExportPost:
    names = [f"bench_{n}_{i}.jpg" for i in range(1 if n % 5 else 3)]
    files = [(name, photo(name, n + i, width)) for i, name in enumerate(names)]
    return START + timedelta(hours=n), f"Day {n} at the lake #bench{n % 10}", files


def export_posts(count: int, width: int) -> Iterator[ExportPost]:
    """The bench's posts, made as they are needed (10,000 posts of photos do not fit in
    memory at once, and must not: the peak memory measured is the import's)."""
    return (export_post(n, width) for n in range(count))


def write_export(path: Path, posts: Iterator[ExportPost]) -> Path:
    """A 2025-layout export zip (as tests/syndication/instagram/export_setup.py builds it),
    deflated as Instagram's are."""
    wrap = "instagram-bench-2025-01-01-AbCdEf/"
    entries: list[dict[str, Any]] = []
    items: list[dict[str, Any]]
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED, compresslevel=1) as archive:
        for when, caption, files in posts:
            stamp, items = int(when.timestamp()), []
            for name, data in files:
                archive.writestr(f"{wrap}media/posts/202001/{name}", data)
                items.append({"uri": f"media/posts/202001/{name}", "creation_timestamp": stamp})
            if len(items) == 1:  # a single photo carries the caption in its media item
                entries.append({"media": [{**items[0], "title": caption}]})
            else:
                entries.append({"media": items, "title": caption, "creation_timestamp": stamp})
        # Newest first, as Instagram writes it.
        posts_json = json.dumps(entries[::-1], indent=2)
        archive.writestr(f"{wrap}your_instagram_activity/media/posts_1.json", posts_json)
    return path


async def import_directly(settings: Settings, count: int, width: int) -> float:
    began = time.perf_counter()
    for when, caption, files in export_posts(count, width):
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


async def child(way: str, data_dir: Path, count: int, width: int, export: Path) -> dict[str, Any]:
    """One run of the import, `direct` or through the `queue`, in this (fresh) process."""
    async with fresh_site(data_dir) as settings:
        if way == "direct":
            seconds, detail = await import_directly(settings, count, width), ""
        else:
            seconds, detail = await import_through_queue(settings, export)
        check = await made_once(count)
    used = resource.getrusage(resource.RUSAGE_SELF)
    cpu = used.ru_utime + used.ru_stime  # all threads: the event loop, SQLite's, Pillow's
    return {"seconds": seconds, "cpu_s": cpu, "peak_mb": peak_rss_mb(), "detail": detail,
            "check": check}  # fmt: skip


def run_child(way: str, tmp: Path, count: int, width: int, export: Path) -> dict[str, Any]:
    """`child` in a new process; its data dir is removed afterwards (it holds GBs of photos)."""
    data_dir = tmp / f"site-{way}"
    argv = [sys.executable, __file__, "--child", way, "--posts", str(count), "--photo-size",
            str(width), "--data-dir", str(data_dir), "--export", str(export)]  # fmt: skip
    try:
        done = subprocess.run(argv, check=True, capture_output=True, text=True)  # noqa: S603 - our own command
    finally:
        shutil.rmtree(data_dir, ignore_errors=True)
    result: dict[str, Any] = json.loads(done.stdout.splitlines()[-1])
    return result


def _summary(result: dict[str, Any], count: int) -> str:
    return (f"{count / result['seconds']:.1f} posts/s, {result['cpu_s'] / count * 1000:.1f} ms "
            f"CPU a post, {result['peak_mb']:.0f} MB")  # fmt: skip


def _median(results: list[dict[str, Any]], key: str) -> float:
    return statistics.median(float(result[key]) for result in results)


def history_import(
    tmp: Path, count: int, width: int, runs: int, kept: Path | None = None
) -> list[str]:
    """The history import's runs, printed; their checks. `kept`: where the export zip is
    kept between runs of the bench (made there if missing)."""
    began = time.perf_counter()
    export = kept or tmp / "export.zip"
    if not export.exists():
        write_export(export, export_posts(count, width))
    size = export.stat().st_size / 1e6
    files = sum(1 if n % 5 else 3 for n in range(count))
    carousels = sum(n % 5 == 0 for n in range(count))
    print(f"History import: {count} posts ({carousels} carousels of 3), {files} JPEGs "
          f"{width} px wide, one zip of {size:.0f} MB (ready in "
          f"{time.perf_counter() - began:.0f} s)")  # fmt: skip
    direct: list[dict[str, Any]] = []
    queue: list[dict[str, Any]] = []
    for n in range(runs):  # in turn, so both see the same (shared, noisy) machine
        direct.append(run_child("direct", tmp, count, width, export))
        queue.append(run_child("queue", tmp, count, width, export))
        print(f"  run {n + 1}: direct {_summary(direct[-1], count)}; "
              f"queue {_summary(queue[-1], count)}", flush=True)  # fmt: skip
    direct_s, queue_s = _median(direct, "seconds"), _median(queue, "seconds")
    of = f"median of {runs}" if runs > 1 else "one run"
    print(f"direct : {count / direct_s:7.1f} posts/s ({direct_s:.2f} s), "
          f"{_median(direct, 'cpu_s') / count * 1000:.1f} ms CPU a post, peak RSS "
          f"{_median(direct, 'peak_mb'):.0f} MB ({of}) baseline")  # fmt: skip
    print(f"queue  : {count / queue_s:7.1f} posts/s ({queue_s:.2f} s until the queue is dry), "
          f"{_median(queue, 'cpu_s') / count * 1000:.1f} ms CPU a post, peak RSS "
          f"{_median(queue, 'peak_mb'):.0f} MB ({of})")  # fmt: skip
    print(
        f"queue / direct = {queue_s / direct_s:.2f}x (time), "
        f"{_median(queue, 'cpu_s') / _median(direct, 'cpu_s'):.2f}x (CPU)"
    )
    print(f"  worker ran (last run): {queue[-1]['detail']}")
    return [f"direct import {r['check']}" for r in direct] + [
        f"queued import {r['check']}" for r in queue
    ]


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


async def pesos_copy(tmp: Path, media: int) -> list[str]:
    """The PESOS copy, printed; its checks."""
    with serve_instagram() as fake:
        types = seed(fake, media)
        async with fresh_site(tmp / "pesos-direct", **instagram_settings(fake)) as settings:
            copy_s, fetch_s = await copy_directly(settings, fake)
            checks = [f"direct copy {await made_once(media)}"]
        async with fresh_site(tmp / "pesos-poll", **instagram_settings(fake)) as settings:
            poll_s, requests = await copy_by_poll(settings, fake)
            checks.append(f"poll {await made_once(media)}")
    mix = ", ".join(f"{n} {kind}" for kind, n in sorted(types.items()))
    print(f"PESOS copy: {media} media ({mix}) from the fake Instagram on 127.0.0.1")
    print(f"direct : {media / copy_s:7.1f} posts/s ({copy_s:.2f} s, files in memory) baseline")
    print(f"poll   : {media / poll_s:7.1f} posts/s ({poll_s:.2f} s for one poll_once)")
    print(f"poll / direct = {poll_s / copy_s:.1f}x")
    by_kind = ", ".join(f"{n} {kind}" for kind, n in requests.most_common())
    total = sum(requests.values())
    print(f"  HTTP requests: {total} = {total / media:.2f} per post ({by_kind})")
    print(f"  the same listing and downloads alone, in a plain loop: {fetch_s:.2f} s")
    return checks


async def main(args: argparse.Namespace) -> int:
    with tempfile.TemporaryDirectory() as tmp_name:
        tmp = Path(tmp_name)
        checks = []
        if args.posts:
            checks += history_import(tmp, args.posts, args.photo_size, args.runs, args.keep_export)
        if args.media:
            checks += await pesos_copy(tmp, args.media)
    print("checks: " + "; ".join(dict.fromkeys(checks)))
    return 0 if all(check.endswith("ok") for check in checks) else 1


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--posts", type=int, default=300, help="posts in the export (0: skip)")
    parser.add_argument("--media", type=int, default=100, help="media to poll (0: skip)")
    parser.add_argument("--runs", type=int, default=1, help="runs of each import (medians)")
    parser.add_argument("--photo-size", type=int, default=1080, help="photo width in px")
    parser.add_argument("--keep-export", type=Path, metavar="ZIP",
                        help="keep the export here, and use it if it is there already (it "
                        "must have been made with the same --posts and --photo-size)")  # fmt: skip
    # One run in this process, for the parent (see `run_child`).
    parser.add_argument("--child", choices=["direct", "queue"], help=argparse.SUPPRESS)
    parser.add_argument("--data-dir", type=Path, help=argparse.SUPPRESS)
    parser.add_argument("--export", type=Path, help=argparse.SUPPRESS)
    return parser.parse_args()


if __name__ == "__main__":
    arguments = parse_args()
    logging.basicConfig(level=logging.ERROR)  # not each 404 webmention's warning
    wiring.install(wiring.features())  # the features' tables and post-change listeners
    if arguments.child:
        run = child(arguments.child, arguments.data_dir, arguments.posts,
                    arguments.photo_size, arguments.export)  # fmt: skip
        print(json.dumps(asyncio.run(run)))
        raise SystemExit(0)
    raise SystemExit(asyncio.run(main(arguments)))
