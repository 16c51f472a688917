"""Benchmark: a burst of webmentions received at once, then all verified, none lost.

Run: `python bench/webmention_burst.py [--count 1000] [--posts 20] [--concurrency 4]`

Spec: https://www.w3.org/TR/webmention/#receiving-webmentions (receive fast, verify
asynchronously). The real app runs in-process on a throwaway SQLite database; `--count`
webmentions are POSTed to /webmention all at once through ASGI, then a worker verifies
them; every source is a fake h-entry reply served through `httpx.MockTransport` behind the
real guarded client (so no network time is measured, only Hearth's own work). Baselines in
the same run: the same number of GETs of a static file (receive side) and of no-op jobs
through the same worker (verify side). It exits non-zero if any webmention is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import httpx

from hearth import wiring
from hearth.app import create_app
from hearth.server.core import job_queue
from hearth.server.core.http import create_http_client
from hearth.server.core.job_worker import JobContext, Worker
from hearth.server.core.models import Interaction, InteractionState, Job, JobState
from hearth.server.core.posts import create_post
from hearth.server.core.settings import Settings
from hearth.wiring import job_handlers

SITE = "https://example.test/"


def source_url(n: int) -> str:
    return f"https://person{n % 97}.example/replies/{n}"


def source_page(target: str, n: int) -> str:
    return (
        "<!doctype html><html><head><title>Reply</title></head><body>"
        f'<article class="h-entry"><a class="u-url" href="{source_url(n)}">#</a>'
        f'<a class="p-author h-card" href="https://person{n % 97}.example/">Person {n % 97}</a>'
        f'<a class="u-in-reply-to" href="{target}">{target}</a>'
        f'<div class="e-content"><p>Reply number {n}, with <b>markup</b>.</p></div>'
        '<time class="dt-published" datetime="2026-05-05T10:00:00Z">May 5</time>'
        "</article></body></html>"
    )


async def burst(count: int, send: Callable[[int], Awaitable[httpx.Response]]) -> float:
    """Seconds to get `count` answers to `send`, all started at once; each must be 2xx."""
    began = time.perf_counter()
    answers = await asyncio.gather(*(send(n) for n in range(count)))
    elapsed = time.perf_counter() - began
    failed = [a.status_code for a in answers if not a.is_success]
    assert not failed, f"{len(failed)} requests failed: {failed[:5]}"
    return elapsed


async def drain(worker: Worker, done: Callable[[], Awaitable[bool]]) -> float:
    """Seconds for `worker` to run until `done()`."""
    stop = asyncio.Event()
    began = time.perf_counter()
    running = asyncio.create_task(worker.run(stop))
    while not await done():  # noqa: ASYNC110 - the condition is a database query
        await asyncio.sleep(0.05)
    elapsed = time.perf_counter() - began
    stop.set()
    await running
    return elapsed


async def main(count: int, posts: int, concurrency: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(url=SITE, data_dir=Path(tmp), moderation="all")
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            targets = [
                SITE + (await create_post({"content": [f"Post {i}"]}, slug=f"post-{i}")).path
                for i in range(posts)
            ]
            pages = {source_url(n): source_page(targets[n % posts], n) for n in range(count)}

            def remote(request: httpx.Request) -> httpx.Response:
                html = pages[str(request.url)]
                return httpx.Response(200, text=html, headers={"Content-Type": "text/html"})

            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:

                async def static(n: int) -> httpx.Response:
                    return await client.get("/static/hearth.css")

                async def webmention(n: int) -> httpx.Response:
                    form = {"source": source_url(n), "target": targets[n % posts]}
                    return await client.post("/webmention", data=form)

                static_s = await burst(count, static)
                receive_s = await burst(count, webmention)

            async def resolve(host: str) -> list[str]:
                return ["93.184.215.14"]

            async with create_http_client(
                settings, transport=httpx.MockTransport(remote), resolver=resolve
            ) as http:
                worker = Worker(
                    settings, job_handlers(), http=http, concurrency=concurrency, poll_interval=0.01
                )

                async def verified() -> bool:
                    return not await Interaction.filter(state=InteractionState.PENDING).exists()

                verify_s = await drain(worker, verified)

            accepted = await Interaction.filter(state=InteractionState.ACCEPTED).count()
            stored = await Interaction.all().count()
            jobs_done = await Job.filter(state=JobState.DONE).count()

            async def noop(ctx: JobContext, payload: dict[str, Any]) -> None:
                return None

            for n in range(count):
                await job_queue.enqueue("bench.noop", {}, key=f"noop-{n}")
            noop_worker = Worker(
                settings, {"bench.noop": noop}, concurrency=concurrency, poll_interval=0.01
            )

            async def noops_done() -> bool:
                return await Job.filter(kind="bench.noop", state=JobState.DONE).count() == count

            noop_s = await drain(noop_worker, noops_done)

    print(f"{count} webmentions to {posts} posts, worker concurrency {concurrency}")
    print(f"receive: {count / receive_s:8.0f} req/s  ({receive_s:.2f} s for the burst)")
    print(
        f"static : {count / static_s:8.0f} req/s  baseline; receive is {receive_s / static_s:.1f}x"
    )
    print(f"verify : {count / verify_s:8.0f} /s     ({verify_s:.2f} s until none pending)")
    print(f"no-op  : {count / noop_s:8.0f} jobs/s baseline; verify is {verify_s / noop_s:.1f}x")
    print(f"stored {stored}, accepted {accepted}, verification jobs done {jobs_done}")
    lost = count - accepted
    if lost or stored != count or jobs_done != count:
        print(f"LOST: {lost} webmentions were not verified")
        return 1
    return 0


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--concurrency", type=int, default=4)
    args = parser.parse_args()
    wiring.install(wiring.features())  # the features' tables and post-change listeners
    raise SystemExit(asyncio.run(main(args.count, args.posts, args.concurrency)))
