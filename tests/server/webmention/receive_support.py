"""Helpers of the receiving tests: fake remote sites, sending a webmention, running the queue.

Remote sources are `FakeWeb` pages served through `httpx.MockTransport`, wrapped by the real
guarded client with a fake resolver that gives every made-up host a public address (and
`private.example` a private one), so the address guard, redirects, time and byte limits
all run as in production. Hearth itself is the real app (`client` fixture); its queue is
run with `Worker.run_once`. The `web` and `worker` fixtures built on these are in this
directory's conftest.py; `post` (a note to respond to) is in tests/conftest.py.
"""

from __future__ import annotations

import asyncio
import io
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import httpx
from PIL import Image

from hearth.server.core.job_worker import Worker
from hearth.server.core.models import Interaction, Job, JobState, Post

SITE = "https://example.test/"
PUBLIC_ADDRESS = "93.184.215.14"
PRIVATE_HOSTS = {"private.example": "10.0.0.7"}


@dataclass
class Page:
    """One fake response: `body` may be bytes, text, or an async byte stream."""

    body: Any = ""
    status: int = 200
    content_type: str | None = "text/html; charset=utf-8"
    headers: Mapping[str, str] = field(default_factory=dict)
    # Seconds to wait before answering (a slow site).
    delay: float = 0.0


class FakeWeb:
    """Made-up sites keyed by URL (`scheme://host[:port]/path?query`), 404 elsewhere."""

    def __init__(self) -> None:
        self.pages: dict[str, Page | Callable[[httpx.Request], Page]] = {}
        self.requests: list[httpx.Request] = []

    def add(self, url: str, body: Any = "", **options: Any) -> None:
        self.pages[url] = Page(body, **options)

    def fetched(self, url: str) -> int:
        """How many requests went to `url`."""
        return sum(1 for request in self.requests if self._key(request) == url)

    @staticmethod
    def _key(request: httpx.Request) -> str:
        # Plain-http requests arrive addressed to the checked IP, with the Host header kept.
        path = request.url.raw_path.decode()
        return f"{request.url.scheme}://{request.headers['host']}{path}"

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        entry = self.pages.get(self._key(request))
        page = entry(request) if callable(entry) else entry
        if page is None:
            return httpx.Response(404, text="Not found")
        if page.delay:
            await asyncio.sleep(page.delay)
        headers = dict(page.headers)
        if page.content_type:
            headers["Content-Type"] = page.content_type
        body = page.body.encode() if isinstance(page.body, str) else page.body
        return httpx.Response(page.status, headers=headers, content=body)


async def fake_resolve(host: str) -> Sequence[str]:
    return [PRIVATE_HOSTS.get(host, PUBLIC_ADDRESS)]


def permalink(post: Post) -> str:
    return SITE + post.path


async def deliver(client: httpx.AsyncClient, source: str, target: str) -> httpx.Response:
    """POST a webmention the way senders do."""
    return await client.post("/webmention", data={"source": source, "target": target})


async def run_jobs(worker: Worker) -> int:
    """Run every job that is due now; returns how many ran."""
    ran = 0
    while await worker.run_once():
        ran += 1
    return ran


async def make_retries_due() -> None:
    """Pull every queued retry to now, as if its backoff had passed."""
    await Job.filter(state=JobState.QUEUED).update(run_at=datetime.now(UTC))


async def only_response() -> Interaction:
    (response,) = await Interaction.all()
    return response


async def received(
    client: httpx.AsyncClient, worker: Worker, source: str, target: str
) -> Interaction:
    """Send one webmention, run the queue, and return its row."""
    answer = await deliver(client, source, target)
    assert answer.status_code == 201, answer.text
    await run_jobs(worker)
    return await Interaction.get(source=source)


def html_page(body: str, head: str = "") -> str:
    return (
        f"<!doctype html><html><head><title>Source</title>{head}</head><body>{body}</body></html>"
    )


def reply_page(target: str, content: str = "Great post!", *, author: str = "") -> str:
    """An h-entry reply to `target`, like webmention.rocks's receiver test page."""
    author = author or ('<a class="p-author h-card" href="https://alice.example/">Alice</a>')
    return html_page(
        f'<article class="h-entry">{author}'
        f'<p>In reply to <a class="u-in-reply-to" href="{target}">{target}</a></p>'
        f'<div class="e-content">{content}</div>'
        '<time class="dt-published" datetime="2026-05-05T09:30:00+02:00">5 May</time>'
        "</article>"
    )


def image_bytes(kind: str = "PNG", size: tuple[int, int] = (8, 8)) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", size, (200, 80, 40)).save(buffer, format=kind)
    return buffer.getvalue()
