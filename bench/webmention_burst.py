"""Benchmark: the job queue's throughput, and a burst of webmentions received, then verified.

Run: `python bench/webmention_burst.py [--count 1000] [--posts 20] [--hosts 1000]
[--concurrency N] [--runs 3]`

Spec: https://www.w3.org/TR/webmention/#receiving-webmentions (receive fast, verify
asynchronously). The real app runs in-process on a throwaway SQLite database. Each run:

* no-op jobs: `--count` jobs of a kind whose handler does nothing, drained by the real
  `Worker` (the queue's own cost per job: claim, run, record);
* receive: `--count` webmentions POSTed to /webmention all at once through ASGI (a GET
  of a static file, as many times, is the baseline);
* verify: the real `Worker` with the real handlers (`wiring.job_handlers`) verifies them
  all, fetching every source over HTTP from a small server on loopback (a child process,
  so its CPU is not the worker's). Sources are h-entry replies on `--hosts` host names that
  all resolve to 127.0.0.1: a worker fetches one host at most once a second (politeness,
  `HEARTH_WEBMENTION_FETCH_INTERVAL`), so fewer hosts than the rate measured would measure
  that limit instead.

The verify figure also gives this process's CPU time per verification (every thread's:
the parsing runs in threads; the source server's is not counted): on a machine shared with
other work it varies less than the rate.

`--runs` repeats everything (a fresh database each time) and prints each run and the
medians. It exits non-zero if any webmention is lost.
"""

from __future__ import annotations

import argparse
import asyncio
import ipaddress
import json
import statistics
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
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
from hearth.server.webmention.webmention_settings import with_webmention
from hearth.wiring import job_handlers

SITE = "https://example.test/"
LOOPBACK = "127.0.0.1"
# The receiving limits (429, 503) are for the open web, not for a burst we send ourselves.
UNLIMITED = 10**9


def source_url(port: int, hosts: int, n: int) -> str:
    return f"http://person{n % hosts}.example:{port}/replies/{n}"


def source_page(url: str, target: str, n: int) -> str:
    author = url.rsplit("/", 2)[0] + "/"
    return (
        "<!doctype html><html><head><title>Reply</title></head><body>"
        f'<article class="h-entry"><a class="u-url" href="{url}">#</a>'
        f'<a class="p-author h-card" href="{author}">Person {n}</a>'
        f'<a class="u-in-reply-to" href="{target}">{target}</a>'
        f'<div class="e-content"><p>Reply number {n}, with <b>markup</b>.</p></div>'
        '<time class="dt-published" datetime="2026-05-05T10:00:00Z">May 5</time>'
        "</article></body></html>"
    )


# The source server ------------------------------------------------------------------------


async def serve_sources(targets: list[str], hosts: int) -> None:
    """Answer GET /replies/{n} (HTTP/1.1, keep-alive) with reply n; print the port, serve on."""
    port = 0

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while True:
                head = await reader.readuntil(b"\r\n\r\n")
                n = int(head.split(b" ", 2)[1].rsplit(b"/", 1)[1])
                url = source_url(port, hosts, n)
                body = source_page(url, targets[n % len(targets)], n).encode()
                writer.write(
                    b"HTTP/1.1 200 OK\r\nContent-Type: text/html; charset=utf-8\r\n"
                    b"Content-Length: %d\r\n\r\n%s" % (len(body), body)
                )
                await writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(answer, LOOPBACK, 0, backlog=1024)
    port = server.sockets[0].getsockname()[1]
    print(port, flush=True)
    async with server:
        await server.serve_forever()


async def start_source_server(
    targets: list[str], hosts: int
) -> tuple[asyncio.subprocess.Process, int]:
    child = await asyncio.create_subprocess_exec(
        sys.executable, __file__, "--serve", json.dumps(targets), str(hosts),
        stdout=asyncio.subprocess.PIPE,
    )  # fmt: skip
    assert child.stdout is not None
    return child, int(await child.stdout.readline())


# Measuring -------------------------------------------------------------------------------


async def burst(count: int, send: Callable[[int], Awaitable[httpx.Response]]) -> float:
    """Seconds to get `count` answers to `send`, all started at once; each must be 2xx."""
    began = time.perf_counter()
    answers = await asyncio.gather(*(send(n) for n in range(count)))
    elapsed = time.perf_counter() - began
    failed = [a.status_code for a in answers if not a.is_success]
    assert not failed, f"{len(failed)} requests failed: {failed[:5]}"
    return elapsed


@dataclass
class Drained:
    seconds: float  # wall clock
    cpu: float  # this process's CPU seconds (every thread; the source server is a child)


async def drain(worker: Worker, done: Callable[[], Awaitable[bool]]) -> Drained:
    """Time for `worker` to run until `done()` (checked every 20 ms)."""
    stop = asyncio.Event()
    began, cpu = time.perf_counter(), time.process_time()
    running = asyncio.create_task(worker.run(stop))
    while not await done():  # noqa: ASYNC110 - the condition is a database query
        await asyncio.sleep(0.02)
    drained = Drained(time.perf_counter() - began, time.process_time() - cpu)
    stop.set()
    await running
    return drained


def worker_options(concurrency: int | None) -> dict[str, Any]:
    return {} if concurrency is None else {"concurrency": concurrency}


async def noop_jobs(settings: Settings, count: int, concurrency: int | None) -> float:
    """Seconds for the real worker to run `count` no-op jobs."""

    async def noop(ctx: JobContext, payload: dict[str, Any]) -> None:
        return None

    for n in range(count):
        await job_queue.enqueue("bench.noop", {}, key=f"noop-{n}")
    worker = Worker(settings, {"bench.noop": noop}, **worker_options(concurrency))

    async def all_done() -> bool:
        return await Job.filter(kind="bench.noop", state=JobState.DONE).count() == count

    return (await drain(worker, all_done)).seconds


@dataclass
class Run:
    noop_s: float
    static_s: float
    receive_s: float
    verify_s: float
    verify_cpu_s: float
    lost: int


async def one_run(count: int, posts: int, hosts: int, concurrency: int | None) -> Run:
    with tempfile.TemporaryDirectory() as tmp:
        settings = Settings(
            url=SITE,
            data_dir=Path(tmp),
            moderation="all",
            allowed_private_networks=(ipaddress.ip_network(f"{LOOPBACK}/32"),),
        )
        settings = with_webmention(
            settings, per_host_per_minute=UNLIMITED, per_minute=UNLIMITED, max_queued=UNLIMITED
        )
        app = create_app(settings)
        async with app.router.lifespan_context(app):
            noop_s = await noop_jobs(settings, count, concurrency)
            targets = [
                SITE + (await create_post({"content": [f"Post {i}"]}, slug=f"post-{i}")).path
                for i in range(posts)
            ]
            server, port = await start_source_server(targets, hosts)
            try:
                transport = httpx.ASGITransport(app=app)
                async with httpx.AsyncClient(transport=transport, base_url=SITE) as client:

                    async def static(n: int) -> httpx.Response:
                        return await client.get("/static/hearth.css")

                    async def webmention(n: int) -> httpx.Response:
                        form = {"source": source_url(port, hosts, n), "target": targets[n % posts]}
                        return await client.post("/webmention", data=form)

                    static_s = await burst(count, static)
                    receive_s = await burst(count, webmention)

                async def resolve(host: str) -> list[str]:
                    return [LOOPBACK]

                async with create_http_client(settings, resolver=resolve) as http:
                    worker = Worker(
                        settings, job_handlers(), http=http, **worker_options(concurrency)
                    )

                    async def verified() -> bool:
                        pending = Interaction.filter(state=InteractionState.PENDING)
                        return not await pending.exists()

                    verified_in = await drain(worker, verified)
            finally:
                server.kill()
                await server.wait()
            accepted = await Interaction.filter(state=InteractionState.ACCEPTED).count()
            stored = await Interaction.all().count()
            done = await Job.filter(kind="webmention.verify", state=JobState.DONE).count()
    lost = max(count - accepted, count - stored, count - done)
    return Run(noop_s, static_s, receive_s, verified_in.seconds, verified_in.cpu, lost)


def report(count: int, run: Run) -> str:
    return (
        f"no-op {count / run.noop_s:7.0f} jobs/s | receive {count / run.receive_s:6.0f} req/s"
        f" (static {count / run.static_s:6.0f}) | verify {count / run.verify_s:6.0f} /s"
        f" ({run.verify_cpu_s * 1000 / count:.2f} CPU ms each)"
        + (f" | LOST {run.lost}" if run.lost else "")
    )


async def main(count: int, posts: int, hosts: int, concurrency: int | None, runs: int) -> int:
    shown = "default" if concurrency is None else concurrency
    print(f"{count} jobs; {count} webmentions to {posts} posts from {hosts} hosts; "
          f"worker concurrency {shown}")  # fmt: skip
    results = []
    for _ in range(runs):
        results.append(await one_run(count, posts, hosts, concurrency))
        print(report(count, results[-1]), flush=True)
    if runs > 1:
        median = Run(
            *(statistics.median(getattr(r, f) for r in results) for f in Run.__annotations__)
        )
        print("median:", report(count, median))
    if any(r.lost for r in results):
        print("LOST: some webmentions were not verified")
        return 1
    return 0


if __name__ == "__main__":
    if sys.argv[1:2] == ["--serve"]:
        asyncio.run(serve_sources(json.loads(sys.argv[2]), int(sys.argv[3])))
        raise SystemExit(0)
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--count", type=int, default=1000)
    parser.add_argument("--posts", type=int, default=20)
    parser.add_argument("--hosts", type=int, default=1000)
    parser.add_argument("--concurrency", type=int, default=None, help="default: the Worker's")
    parser.add_argument("--runs", type=int, default=1)
    args = parser.parse_args()
    wiring.install(wiring.features())  # the features' tables and post-change listeners
    raise SystemExit(
        asyncio.run(main(args.count, args.posts, args.hosts, args.concurrency, args.runs))
    )
