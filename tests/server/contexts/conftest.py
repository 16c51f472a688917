"""Fixtures of the link-context tests: a made-up web of pages behind the guarded client."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass, field

import httpx
import pytest

from hearth.server.contexts.fetching import ACCEPT
from hearth.server.core.http import HearthClient, create_http_client
from hearth.server.core.settings import Settings

PUBLIC_ADDRESS = "93.184.216.34"


@dataclass
class Pages:
    """Answers by URL (404 for any other), and the URLs asked for, in order (`asked`: every
    request; `fetched`: the link-context fetches, known by their Accept header)."""

    pages: dict[str, httpx.Response] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    asked: list[str] = field(default_factory=list)
    fetched: list[str] = field(default_factory=list)

    def add(
        self,
        url: str,
        body: str | bytes,
        *,
        status: int = 200,
        content_type: str = "text/html; charset=utf-8",
        delay: float = 0.0,
    ) -> None:
        content = body.encode() if isinstance(body, str) else body
        headers = {"Content-Type": content_type}
        self.pages[url] = httpx.Response(status, content=content, headers=headers)
        self.delays[url] = delay

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        url = str(request.url)
        self.asked.append(url)
        if request.headers.get("accept") == ACCEPT:
            self.fetched.append(url)
        await asyncio.sleep(self.delays.get(url, 0.0))
        found = self.pages.get(url)
        if found is None:
            return httpx.Response(404, text="Not found")
        return httpx.Response(found.status_code, content=found.content, headers=found.headers)


async def public_resolve(host: str) -> Sequence[str]:
    """Every made-up host is on a public address, except `private.example`."""
    return ["10.0.0.7" if host == "private.example" else PUBLIC_ADDRESS]


@pytest.fixture(name="web")
def web_fixture() -> Pages:
    return Pages()


@pytest.fixture(name="http")
async def http_fixture(settings: Settings, web: Pages) -> AsyncIterator[HearthClient]:
    """The guarded client Hearth fetches with, on the made-up web."""
    async with create_http_client(
        settings, transport=httpx.MockTransport(web), resolver=public_resolve
    ) as client:
        yield client
